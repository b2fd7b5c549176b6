"""Expressions and ``{{ }}`` templates in flow files, evaluated in a sandbox.

Home Assistant's choice: Jinja2's ``ImmutableSandboxedEnvironment`` (no ``_``
attributes, nothing that mutates, no imports), narrowed further so an expression
is also bounded in time and memory: no statements but ``{% if %}``, no filters
that repeat their input (``center``, ``indent``, ``format``, ``slice`` ...), a
``range`` of at most 10,000, strings and lists made by ``*`` ``+`` ``~`` at most
100,000 long, ``**`` on small numbers only, and method calls only from a short
list of harmless ones (``lower``, ``split``, ``get``, ``isoformat`` ...).

Durations may be written as in YAML: ``now + 1h``, ``30m``, ``1h30m``.

Expressions see ``payload``, ``topic``, ``msg``, ``flow`` and ``global`` (the
context, read-only), ``now`` (the engine's clock in the site's zone),
``settings`` (the site config; secrets show only their names) and ``env``
(environment variables whose names start with ``POWER_MASTER_``).
docs/writing-flows.md lists every name, filter and refused construct.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.filters import do_round as _JINJA_ROUND
from jinja2.filters import sync_do_sum as _JINJA_SUM
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_environment

from flowengine.durations import DURATION_PATTERN, parse_duration

#: Longest expression or template text accepted.
MAX_SOURCE_CHARS = 4000
#: Longest string or list an operator may build, and the largest ``range``.
MAX_ITEMS = 100_000
#: Largest ``round`` precision either way (a huge one takes seconds to compute).
MAX_ROUND_DIGITS = 20
MAX_RANGE = 10_000
#: Largest integer ``**`` may make, in bits.
MAX_POWER_BITS = 4096
#: Longest text a template may render.
MAX_RENDER_CHARS = 1_000_000
ENV_PREFIX = "POWER_MASTER_"

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
_SYNTAX_WORDS = (
    ("unexpected end of template, expected 'end of print statement'", "'{{' is never closed"),
    ("unexpected 'end of print statement'", "it ends too early"),
    ("unexpected 'end of template'", "it ends too early"),
)
#: A plain dotted path, looked up without the sandbox's render machinery.
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_CONSTANTS = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"}
)
_CHAR_HINTS = {
    "&": " (write and)",
    "|": " (write or; | alone applies a filter)",
    "!": " (write not)",
}
_SPECIAL_NAMES = frozenset({"self", "super", "caller", "varargs", "kwargs", "loop"})
_ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.TemplateData)
_NUMBER_THEN_UNIT = re.compile(r"(ms|s|m|h|d)((\d+(\.\d+)?)(ms|s|m|h|d))*")


class ExpressionError(ValueError):
    """An expression that is refused (at load) or fails (at run time), in plain words."""


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
    starts = [to_epoch(i["start"]) if isinstance(i, Mapping) and "start" in i else None
              for i in items]  # fmt: skip
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


_ENV = _make_environment()


# -- compiling -------------------------------------------------------------------------------


def _with_durations(source: str) -> str:
    """``now + 1h30m`` -> ``now + duration(5400.0)``: YAML's durations inside expressions."""
    try:
        tokens = list(_ENV.lexer.tokeniter(source, None, state="variable"))
    except TemplateSyntaxError:
        return source  # compiling reports it, with its line
    out: list[str] = []
    index = 0
    while index < len(tokens):
        _, kind, value = tokens[index]
        nxt = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind in ("integer", "float") and nxt is not None and nxt[1] == "name":
            text = value + nxt[2]
            if _NUMBER_THEN_UNIT.fullmatch(nxt[2]) and re.fullmatch(DURATION_PATTERN, text):
                out.append(f"duration({parse_duration(text)!r})")
                index += 2
                continue
        out.append(value)
        index += 1
    return "".join(out)


def _refusal(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        return f"{_plain_syntax(exc.message or '')}{where}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, SecurityError):
        return f"not allowed: {_without_addresses(str(exc))}"
    return str(exc)


class Expression:
    """One expression, compiled once: ``payload.soc > 0.9 and global.price_now.import > 0.3``.

    A plain dotted path (``payload.soc``, ``global.telemetry.soc``), the commonest kind,
    is looked up directly with the same meaning and messages; anything else runs in the
    sandbox, given only the names it uses."""

    __slots__ = ("_compiled", "_globals", "_names", "_path", "_template", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        if not isinstance(source, str) or not source.strip():
            raise ExpressionError("an expression cannot be empty")
        if len(source) > MAX_SOURCE_CHARS:
            raise ExpressionError(f"an expression may be at most {MAX_SOURCE_CHARS} characters")
        try:
            rewritten = _with_durations(source)
            tree = _ENV.parse("{{ " + rewritten + " }}")
            _refuse_special_names(tree, source)
            self._compiled = _ENV.compile_expression(rewritten, False)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"expression {source!r}: {_refusal(exc)}") from None
        _refuse_unknown(tree, source)
        used = dict.fromkeys(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")
        self._names = tuple(n for n in used if n not in _ENV.globals)
        #: Jinja's own call merges every global into a new context each time (a third of
        #: an evaluation); the globals this expression uses are given with its names instead.
        self._globals = {n: _ENV.globals[n] for n in used if n in _ENV.globals}
        self._template = self._compiled._template
        stripped = source.strip()
        path = tuple(stripped.split("."))
        plain = _PATH.fullmatch(stripped) and path[0] not in _CONSTANTS
        self._path = path if plain and not any(p.startswith("_") for p in path) else None

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        if self._path is not None:
            return self._lookup(scope)
        names = {name: scope[name] for name in self._names if name in scope}
        return _run(lambda: _defined(self._call(names)), self.source)

    def _call(self, names: dict[str, Any]) -> Any:
        context = self._template.new_context({**self._globals, **names}, shared=True)
        for _ in self._template.root_render_func(context):
            pass
        return context.vars["result"]

    def _lookup(self, scope: Mapping[str, Any]) -> Any:
        assert self._path is not None
        head, *rest = self._path
        if head not in scope:
            raise ExpressionError(f"{self.source!r}: '{head}' is undefined")
        value = scope[head]
        for part in rest:
            if isinstance(value, Mapping):
                if part in value:
                    value = value[part]
                    continue
                value = _ENV.getattr(value, part)
            else:
                value = _ENV.getattr(value, part)  # the sandbox's own rules for objects
            if isinstance(value, Undefined):
                raise ExpressionError(f"{self.source!r}: {value._undefined_message}")
        return value

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


class Template:
    """Text with ``{{ }}`` parts. A text that is one ``{{ expr }}`` gives expr's own value."""

    __slots__ = ("_compiled", "_names", "_single", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        if len(source) > MAX_SOURCE_CHARS:
            raise ExpressionError(f"a template may be at most {MAX_SOURCE_CHARS} characters")
        stripped = source.strip()
        self._single: Expression | None = None
        inner = stripped[2:-2] if stripped.startswith("{{") and stripped.endswith("}}") else None
        if inner is not None and "{{" not in inner and "}}" not in inner and "{%" not in inner:
            self._single = Expression(inner)
            return
        rewritten = _templated_durations(source)
        try:
            tree = _ENV.parse(rewritten)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"template {source!r}: {_refusal(exc)}") from None
        for node in tree.body:
            _refuse_statements(node, source)
        _refuse_special_names(tree, source)
        _refuse_unknown(tree, source)
        used = dict.fromkeys(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")
        self._names = tuple(n for n in used if n not in _ENV.globals)
        try:
            self._compiled = _ENV.from_string(rewritten)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"template {source!r}: {_refusal(exc)}") from None

    def render(self, scope: Mapping[str, Any]) -> Any:
        if self._single is not None:
            return self._single.evaluate(scope)
        names = {name: scope[name] for name in self._names if name in scope}
        text = _run(lambda: self._compiled.render(**names), self.source)
        if len(text) > MAX_RENDER_CHARS:
            raise ExpressionError(f"template {self.source!r} rendered over {MAX_RENDER_CHARS:,}")
        return text

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def _plain_syntax(message: str) -> str:
    """Jinja's parser, in words about the expression as written (it parses it wrapped in
    ``{{ }}``, so its own messages speak of braces and offsets the writer never typed)."""
    text = message.rstrip(".")
    for jinja_words, ours in _SYNTAX_WORDS:
        text = text.replace(jinja_words, ours)
    if match := re.fullmatch(r"unexpected '\}', expected '([)\]}])'", text):
        opener = {")": "(", "]": "[", "}": "{"}[match.group(1)]
        return f"a '{opener}' is never closed"
    if match := re.fullmatch(r"unexpected char '(.)' at (\d+)", text):
        char, hint = match.group(1), _CHAR_HINTS.get(match.group(1), "")
        return f"'{char}' cannot be used here{hint}"
    if match := re.fullmatch(r"expected token 'end of print statement', got '(.*)'", text):
        got = match.group(1)
        hint = " (compare with ==; expressions assign nothing)" if got == "=" else ""
        return f"'{got}' cannot follow here{hint}"
    return text


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _templated_durations(source: str) -> str:
    return re.sub(
        r"\{\{(-?)(.*?)(-?)\}\}",
        lambda m: "{{" + m.group(1) + _with_durations(m.group(2)) + m.group(3) + "}}",
        source,
    )


def _refuse_unknown(tree: nodes.Template, source: str) -> None:
    """Names, filters and tests that do not exist, and '%' on text, refused at load: a
    typo is found when the flow is checked, not the first time the branch runs."""
    known = set(Scope.NAMES) | set(_ENV.globals)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in known:
            raise ExpressionError(
                f"{source!r}: '{name.name}' is not a name expressions know "
                f"({', '.join(sorted(Scope.NAMES))}, or a function: "
                f"{', '.join(sorted(_ENV.globals))})"
            )
    for used in tree.find_all(nodes.Filter):
        if used.name not in _ENV.filters:
            raise ExpressionError(f"{source!r}: there is no filter '{used.name}'")
    for test in tree.find_all(nodes.Test):
        if test.name not in _ENV.tests:
            raise ExpressionError(f"{source!r}: there is no test '{test.name}'")
    for mod in tree.find_all(nodes.Mod):
        if isinstance(mod.left, nodes.Const) and isinstance(mod.left.value, str):
            raise ExpressionError(
                f"{source!r} is not allowed: '%' formatting of text is not allowed; write a "
                "{{ }} template"
            )


def _refuse_special_names(tree: nodes.Template, source: str) -> None:
    """Jinja gives ``self``, ``super``, ``caller``... meaning in templates: not here."""
    for name in tree.find_all(nodes.Name):
        if name.name in _SPECIAL_NAMES:
            raise ExpressionError(f"{source!r}: '{name.name}' is undefined")


def _refuse_statements(node: nodes.Node, source: str) -> None:
    if not isinstance(node, _ALLOWED_STATEMENTS):
        word = type(node).__name__.lower()
        raise ExpressionError(
            f"template {source!r}: '{{% {word} %}}' is not allowed; only {{{{ }}}} and "
            "{% if %} are (use a core.switch or core.split node to branch or loop)"
        )
    if isinstance(node, nodes.If):
        for child in (*node.body, *node.elif_, *node.else_):
            _refuse_statements(child, source)


def _run(call: Callable[[], Any], source: str) -> Any:
    try:
        return call()
    except UndefinedError as exc:
        raise ExpressionError(f"{source!r}: {exc.message}") from None
    except SecurityError as exc:
        reason = _without_addresses(str(exc))
        raise ExpressionError(f"{source!r} is not allowed: {reason}") from None
    except TemplateError as exc:
        raise ExpressionError(f"{source!r}: {exc}") from None
    except RecursionError:
        raise ExpressionError(f"{source!r}: nested too deeply") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise ExpressionError(f"{source!r}: {type(exc).__name__}: {exc}") from None


def _without_addresses(text: str) -> str:
    return re.sub(r"<(?:built-in method|function) ([\w.]+)[^>]*>", r"\1()", text)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def expression_fields(
    config: Any, schema: Mapping[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """(path, "expression" or "template", text) of each expression a config holds.

    A config schema marks them: ``"x-expression": true`` on a property that is an
    expression, ``"x-template": true`` on text that may hold ``{{ }}``."""
    alternatives = [s for key in ("anyOf", "oneOf", "allOf") for s in schema.get(key, ())]
    if isinstance(config, str):
        if schema.get("x-expression"):
            yield path, "expression", config
        elif schema.get("x-template") and is_template(config):
            yield path, "template", config
        else:
            yield from _first(expression_fields(config, a, path) for a in alternatives)
        return
    if isinstance(config, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in config.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                yield from expression_fields(value, sub, (*path, key))
    elif isinstance(config, list) and isinstance(schema.get("items"), Mapping):
        for index, value in enumerate(config):
            yield from expression_fields(value, schema["items"], (*path, index))
    seen: set[tuple[str | int, ...]] = set()
    for alternative in alternatives:
        for found in expression_fields(config, alternative, path):
            if found[0] not in seen:
                seen.add(found[0])
                yield found


def _first(
    found: Iterator[Iterator[tuple[tuple[str | int, ...], str, str]]],
) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    for each in found:
        items = list(each)
        if items:
            yield from items[:1]
            return


def context_reads(source: str, template: bool = False) -> list[str]:
    """The context keys an expression (or a template) reads: ``global.plan``, ``flow.n``."""
    try:
        tree = _ENV.parse(source if template else "{{ " + _with_durations(source) + " }}")
    except (TemplateError, RecursionError):
        return []
    found: list[str] = []
    for found_node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        node: Any = found_node
        inner = node.node
        if isinstance(inner, nodes.Name) and inner.name in ("global", "flow"):
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(key, str):
                found.append(f"{inner.name}.{key}")
    return list(dict.fromkeys(found))


def check_expression(source: str) -> None:
    """Raise ``ExpressionError`` if ``source`` would be refused (flow validation)."""
    Expression(source)


def check_template(source: str) -> None:
    if is_template(source):
        Template(source)


# -- the names an expression sees --------------------------------------------------------------


class ContextView(Mapping[str, Any]):
    """One context scope, read-only: ``global.telemetry.soc``; a missing key is undefined."""

    __slots__ = ("_scope", "label")

    def __init__(self, scope: Any, label: str = "global") -> None:
        self._scope = scope
        self.label = label  # not reachable from an expression: names after a dot are keys

    def __getitem__(self, key: str) -> Any:
        missing = object()
        value = self._scope.peek(key, missing)
        if value is missing:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._scope.keys())

    def __len__(self) -> int:
        return len(self._scope.keys())


def environment_view() -> dict[str, str]:
    return {k[len(ENV_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}


class Scope(Mapping[str, Any]):
    """The names an expression in a node sees, each made only when one is used: the
    message, the context, ``now`` in the site's zone, the settings, the environment."""

    NAMES = ("payload", "topic", "msg", "flow", "global", "now", "settings", "env")
    __slots__ = ("_ctx", "_made", "_msg")

    def __init__(self, ctx: Any, msg: Any = None, extra: Mapping[str, Any] | None = None):
        self._ctx = ctx
        self._msg = msg
        self._made: dict[str, Any] = dict(extra or {})

    def __getitem__(self, name: str) -> Any:
        made = self._made
        if name in made:
            return made[name]
        if name not in self.NAMES:
            raise KeyError(name)
        value = made[name] = self._make(name)
        return value

    def _make(self, name: str) -> Any:
        ctx, msg = self._ctx, self._msg
        if name == "payload":
            return getattr(msg, "payload", None)
        if name == "topic":
            return getattr(msg, "topic", "")
        if name == "msg":
            return {"payload": self["payload"], "topic": self["topic"]}
        if name in ("flow", "global"):
            return ContextView(ctx.flow if name == "flow" else ctx.globals, name)
        if name == "now":
            zone = ZoneInfo(getattr(ctx, "timezone", None) or "UTC")
            return datetime.fromtimestamp(ctx.clock.time(), zone)
        if name == "settings":
            return ctx.settings
        return environment_view()

    def __contains__(self, name: object) -> bool:
        return name in self._made or name in self.NAMES

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.NAMES, *self._made]))

    def __len__(self) -> int:
        return len(list(iter(self)))


def scope_for(ctx: Any, msg: Any = None, **extra: Any) -> Scope:
    """The names an expression in a node sees (made as they are used)."""
    return Scope(ctx, msg, extra)


# -- values out of expressions -----------------------------------------------------------------


def to_epoch(value: Any) -> float:
    """Epoch seconds from a datetime, an ISO 8601 text or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a time")
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        try:
            return to_epoch(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time: give a datetime, ISO 8601 text or epoch seconds")


def plain(value: Any) -> Any:
    """A result as JSON data: datetimes as ISO 8601 text, durations as seconds."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{value!r} is not a number JSON can hold")
    return value
