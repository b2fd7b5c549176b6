"""The Jinja2 sandbox expressions run in, narrowed so an expression can reach nothing
but data and always ends: the limits, the functions and filters it offers, the checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Undefined
from jinja2.exceptions import SecurityError
from jinja2.filters import do_round as _JINJA_ROUND
from jinja2.filters import sync_do_sum as _JINJA_SUM
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_environment

from flowengine.durations import parse_duration
from flowengine.expressions.scope import ContextView
from flowengine.expressions.values import to_epoch

#: Longest string or list an operator may build, and the largest ``range``.
MAX_ITEMS = 100_000
#: Largest ``round`` precision either way (a huge one takes seconds to compute).
MAX_ROUND_DIGITS = 20
MAX_RANGE = 10_000
#: Largest integer ``**`` may make, in bits.
MAX_POWER_BITS = 4096

_REMOVED_FILTERS = (
    "center",
    "indent",
    "wordwrap",
    "format",
    "slice",
    "random",
    "pprint",
    "urlize",
    "xmlattr",
    "safe",
    "forceescape",
    "escape",
    "e",
    "filesizeformat",
    "replace",
)
#: Methods an expression may call, by the type that owns them.
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "lower",
            "upper",
            "strip",
            "lstrip",
            "rstrip",
            "startswith",
            "endswith",
            "split",
            "rsplit",
            "splitlines",
            "title",
            "capitalize",
            "casefold",
            "count",
            "find",
            "rfind",
            "index",
            "isdigit",
            "isnumeric",
            "isalpha",
            "isalnum",
            "isspace",
            "removeprefix",
            "removesuffix",
            "partition",
            "rpartition",
            "join",
        }
    ),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
    datetime: frozenset(
        {
            "isoformat",
            "strftime",
            "timestamp",
            "weekday",
            "isoweekday",
            "date",
            "time",
            "astimezone",
            "replace",
        }
    ),
    date: frozenset({"isoformat", "strftime", "weekday", "isoweekday"}),
    time: frozenset({"isoformat", "strftime"}),
    timedelta: frozenset({"total_seconds"}),
}


class _Undefined(ChainableUndefined, StrictUndefined):
    """A missing name or field: ``global.prices.data | default([])`` may walk past it, but
    using it (comparing, printing, counting) fails the run and says what was missing."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        if isinstance(owner, ContextView) and isinstance(self._undefined_name, str):
            return f"{owner.label}.{self._undefined_name} is not set"
        return str(super()._undefined_message)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of text is not allowed; write a {{ }} template")
        result = super().call_binop(context, operator, left, right)
        _check_size(result)
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and not isinstance(obj, ContextView) and attribute in obj:
            return obj[attribute]  # payload.items is the field 'items' when there is one
        if isinstance(obj, ContextView):  # global.keys is the key 'keys', not a method
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def is_safe_callable(self, obj: Any) -> bool:
        if any(obj is allowed for allowed in _CALLABLE):
            return True
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        for kind, names in _SAFE_METHODS.items():
            if isinstance(owner, kind) and name in names:
                return super().is_safe_callable(obj)
        return False


def _check_power(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if max(abs(left), 2).bit_length() * abs(right) > MAX_POWER_BITS:
            raise SecurityError("the power is too large to compute")
    elif isinstance(left, int | float) and isinstance(right, int | float) and abs(right) > 1e6:
        raise SecurityError("the power is too large to compute")


def _check_repeat(seq: Any, times: Any) -> None:
    if isinstance(seq, int) and isinstance(times, int) and not isinstance(seq, bool):
        if seq.bit_length() + times.bit_length() > MAX_POWER_BITS:
            raise SecurityError("the product is too large to compute")
    elif isinstance(seq, str | list | tuple) and isinstance(times, int):  # noqa: SIM102
        if _weight(seq) * times > MAX_ITEMS:
            raise SecurityError(f"the result would hold more than {MAX_ITEMS:,} items")


def _weight(value: Any) -> int:
    """How much a sequence holds, counting the length of each text or list in it: a list
    of a thousand 100,000-character texts is not small because it has few items."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value) + sum(len(v) for v in value if isinstance(v, str | list | tuple))
    return 1


def _check_size(value: Any) -> None:
    if isinstance(value, str | list | tuple) and _weight(value) > MAX_ITEMS:
        raise SecurityError(f"the result would hold more than {MAX_ITEMS:,} items")


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"a range may have at most {MAX_RANGE:,} numbers")
    return rng


def _duration(value: Any) -> timedelta:
    """``duration('1h30m')`` or ``duration(90)``: a timedelta to add to ``now``."""
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=parse_duration(value))


def _as_timestamp(value: Any) -> float:
    """Epoch seconds of a datetime, an ISO 8601 text or a number (Home Assistant's name)."""
    return to_epoch(value)


def _safe_min(*values: Any) -> Any:
    return min(*values) if len(values) > 1 else min(values[0])


def _safe_max(*values: Any) -> Any:
    return max(*values) if len(values) > 1 else max(values[0])


def _int(value: Any = 0) -> int:
    return int(value)


def _float(value: Any = 0.0) -> float:
    return float(value)


def _bool(value: Any = False) -> bool:
    return bool(value)


def _str(value: Any = "") -> str:
    return str(value)


def _dict(**items: Any) -> dict[str, Any]:
    return dict(items)


def _round_function(value: Any, digits: int | None = None) -> Any:
    if digits is not None and not -MAX_ROUND_DIGITS <= int(digits) <= MAX_ROUND_DIGITS:
        raise SecurityError(f"round to at most {MAX_ROUND_DIGITS} digits either way")
    return round(value) if digits is None else round(value, digits)


# Plain functions, never the types themselves: a type's attributes lead to its internals.
_FUNCTIONS: dict[str, Any] = {
    "range": _range,
    "duration": _duration,
    "as_timestamp": _as_timestamp,
    "min": _safe_min,
    "max": _safe_max,
    "abs": abs,
    "round": _round_function,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "str": _str,
    "len": len,
    "dict": _dict,
}


_CALLABLE = tuple(_FUNCTIONS.values())


def _at(items: Any, when: Any) -> Any:
    """``global.plan.slots | at(now)``: the item whose [start, end) holds ``when``, or none.

    ``start``/``end`` may be epoch seconds or ISO 8601; an item without ``end`` lasts
    until the next one starts (the last as long as the one before it, else 30 minutes)."""
    if isinstance(items, Undefined) or not isinstance(items, list | tuple):
        return None
    moment = to_epoch(when)
    starts = [
        to_epoch(i["start"]) if isinstance(i, Mapping) and "start" in i else None for i in items
    ]
    for index, item in enumerate(items):
        start = starts[index]
        if start is None:
            continue
        if "end" in item and item["end"] is not None:
            end = to_epoch(item["end"])
        elif index + 1 < len(items) and starts[index + 1] is not None:
            end = starts[index + 1]  # type: ignore[assignment]
        elif index > 0 and starts[index - 1] is not None:
            end = start + (start - starts[index - 1])  # type: ignore[operator]
        else:
            end = start + 1800.0
        if start <= moment < end:
            return item
    return None


def _replace_filter(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    grows = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:  # a negative count replaces every one, as None
        grows = min(grows, count)
    else:
        count = None
    if len(text) + grows * max(len(new) - len(old), 0) > MAX_ITEMS:
        raise SecurityError(f"the result would be longer than {MAX_ITEMS:,} characters")
    return text.replace(old, new, -1 if count is None else count)


def _round(value: Any, precision: int = 0, method: str = "common") -> Any:
    if not -MAX_ROUND_DIGITS <= int(precision) <= MAX_ROUND_DIGITS:
        raise SecurityError(f"round to at most {MAX_ROUND_DIGITS} digits either way")
    return _JINJA_ROUND(value, precision, method)  # type: ignore[arg-type]


def _sum(env: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, int | float) or isinstance(start, bool):
        raise SecurityError("sum adds numbers; join lists with + instead")
    return _JINJA_SUM(env, iterable, attribute, start)


def _bounded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result is checked like an operator's: never more than MAX_ITEMS."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args:
            items = args[1] if len(args) > 1 and not isinstance(args[0], str) else args[0]
            if isinstance(items, list | tuple) and _weight(list(items)) > MAX_ITEMS:
                raise SecurityError(f"the result would hold more than {MAX_ITEMS:,} items")
        if name == "batch":
            size = args[1] if len(args) > 1 else kwargs.get("linecount", 0)
            if isinstance(size, int) and size > MAX_ITEMS:
                raise SecurityError(f"batches of at most {MAX_ITEMS:,}")
        result = function(*args, **kwargs)
        _check_size(result)
        return result

    for marker in ("jinja_pass_arg",):  # keep what tells Jinja to pass the environment
        if hasattr(function, marker):
            setattr(bounded, marker, getattr(function, marker))
    return bounded


def _make_environment() -> _Sandbox:
    env = _Sandbox(undefined=_Undefined, autoescape=False)
    for name in _REMOVED_FILTERS:
        env.filters.pop(name, None)
    env.filters["replace"] = _replace_filter
    env.filters["round"] = _round
    env.filters["sum"] = pass_environment(_sum)
    for name in ("join", "batch", "string", "tojson", "list", "map", "unique", "sort"):
        env.filters[name] = _bounded(name, env.filters[name])
    env.filters["as_timestamp"] = _as_timestamp
    env.filters["at"] = _at
    env.globals.clear()
    env.globals.update(_FUNCTIONS)
    return env


SANDBOX = _make_environment()
