"""Compiling expressions and ``{{ }}`` templates: durations as YAML writes them, what is
refused at load and why (in the writer's own terms), and running them in the sandbox."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError

from flowengine.durations import DURATION_PATTERN, parse_duration
from flowengine.expressions.errors import ExpressionError
from flowengine.expressions.sandbox import SANDBOX
from flowengine.expressions.scope import Scope

#: Longest expression or template text accepted.
MAX_SOURCE_CHARS = 4000
#: Longest text a template may render.
MAX_RENDER_CHARS = 1_000_000
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


def _with_durations(source: str) -> str:
    """``now + 1h30m`` -> ``now + duration(5400.0)``: YAML's durations inside expressions."""
    try:
        tokens = list(SANDBOX.lexer.tokeniter(source, None, state="variable"))
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
            tree = SANDBOX.parse("{{ " + rewritten + " }}")
            _refuse_special_names(tree, source)
            self._compiled = SANDBOX.compile_expression(rewritten, False)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"expression {source!r}: {_refusal(exc)}") from None
        _refuse_unknown(tree, source)
        used = dict.fromkeys(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")
        self._names = tuple(n for n in used if n not in SANDBOX.globals)
        #: Jinja's own call merges every global into a new context each time (a third of
        #: an evaluation); the globals this expression uses are given with its names instead.
        self._globals = {n: SANDBOX.globals[n] for n in used if n in SANDBOX.globals}
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
                value = SANDBOX.getattr(value, part)
            else:
                value = SANDBOX.getattr(value, part)  # the sandbox's own rules for objects
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
            tree = SANDBOX.parse(rewritten)
        except (TemplateError, RecursionError) as exc:
            raise ExpressionError(f"template {source!r}: {_refusal(exc)}") from None
        for node in tree.body:
            _refuse_statements(node, source)
        _refuse_special_names(tree, source)
        _refuse_unknown(tree, source)
        used = dict.fromkeys(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")
        self._names = tuple(n for n in used if n not in SANDBOX.globals)
        try:
            self._compiled = SANDBOX.from_string(rewritten)
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
    known = set(Scope.NAMES) | set(SANDBOX.globals)
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in known:
            raise ExpressionError(
                f"{source!r}: '{name.name}' is not a name expressions know "
                f"({', '.join(sorted(Scope.NAMES))}, or a function: "
                f"{', '.join(sorted(SANDBOX.globals))})"
            )
    for used in tree.find_all(nodes.Filter):
        if used.name not in SANDBOX.filters:
            raise ExpressionError(f"{source!r}: there is no filter '{used.name}'")
    for test in tree.find_all(nodes.Test):
        if test.name not in SANDBOX.tests:
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
        tree = SANDBOX.parse(source if template else "{{ " + _with_durations(source) + " }}")
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
