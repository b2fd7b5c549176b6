"""The one error expressions raise: refused at load, or failing when they run."""


class ExpressionError(ValueError):
    """An expression that is refused (at load) or fails (at run time), in plain words."""
