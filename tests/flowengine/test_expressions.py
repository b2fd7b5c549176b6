"""The expression and template language: what it can do, what it refuses, and a fuzz of
both that finds no way to Python's internals, imports, files, the network, or unbounded
time and memory."""

from __future__ import annotations

import time
import tracemalloc
import types
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine.expressions import (
    MAX_ITEMS,
    ContextView,
    Expression,
    ExpressionError,
    Template,
    plain,
    to_epoch,
)

BRISBANE = ZoneInfo("Australia/Brisbane")
NOW = datetime(2026, 12, 7, 17, 0, tzinfo=BRISBANE)
GLOBALS: dict[str, Any] = {
    "telemetry": {"soc": 0.95, "grid_w": 1200},
    "price_now": {"import": 0.42},
    "slots": [  # a plan's: ISO starts, 30 minutes each
        {"start": "2026-12-07T16:30:00+10:00", "mode": "self_use"},
        {"start": "2026-12-07T17:00:00+10:00", "mode": "hold"},
        {"start": "2026-12-07T17:30:00+10:00", "mode": "force_charge"},
    ],
    "intervals": [  # a prices reading's: epoch start and end
        {"start": NOW.timestamp() - 300, "end": NOW.timestamp() + 300, "import_price": 0.42},
    ],
    "label": "a key, not the view's label",
}


class Scope:
    """A context scope as nodes see one (``peek`` and ``keys``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def peek(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def keys(self) -> list[str]:
        return sorted(self.values)


SCOPE: dict[str, Any] = {
    "payload": {"plugged": True, "soc": 0.93, "list": [1, 2, 3], "text": "on"},
    "topic": "home/ev/plugged",
    "msg": {"payload": {"plugged": True}, "topic": "home/ev/plugged"},
    "global": ContextView(Scope(GLOBALS), "global"),
    "flow": ContextView(Scope({"count": 3}), "flow"),
    "now": NOW,
    "settings": {"battery": {"capacity_kwh": 10.0}},
    "env": {"SITE": "home"},
}


def ev(source: str) -> Any:
    return Expression(source).evaluate(SCOPE)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("payload.plugged and global.telemetry.soc > 0.9", True),
        ("global.price_now.import > 0.30", True),
        ("global.price_now['import'] * 100", 42.0),
        ("now + 1h", NOW + timedelta(hours=1)),
        ("now + 1h30m - 15m", NOW + timedelta(minutes=75)),
        ("(now + 2d).weekday()", 2),
        ("now.hour >= 17 and now.strftime('%a') == 'Mon'", True),
        ("duration('45m').total_seconds()", 2700.0),
        ("as_timestamp(now) == as_timestamp('2026-12-07T07:00:00+00:00')", True),
        ("flow.missing | default(7)", 7),
        ("global.none is defined", False),
        ("payload.list | sum", 6),
        ("payload.list | map('string') | join(',')", "1,2,3"),
        ("min(payload.list) + max(4, 5)", 6),
        ("settings.battery.capacity_kwh * 0.5", 5.0),
        ("env.SITE", "home"),
        ("topic.split('/')[1]", "ev"),
        ("'charging' if payload.text == 'on' else 'idle'", "charging"),
        ("payload.text | upper", "ON"),
        ("'x' * 3", "xxx"),
        ("range(3) | list", [0, 1, 2]),
        ("2 ** 10", 1024),
        ("'a b' | replace(' ', '-')", "a-b"),
        ("global.prices.data.intervals | default([]) | length", 0),  # walks past what is missing
        ("(global.slots | at(now)).mode", "hold"),
        ("(global.slots | at(now + 30m)).mode", "force_charge"),
        ("global.slots | at(now + 1h)", None),
        ("(global.intervals | at(now)).import_price", 0.42),
        ("global.label", "a key, not the view's label"),
        ("global.keys | default(none)", None),  # a key like any other, never a method
    ],
)
def test_what_an_expression_can_say(source: str, value: Any) -> None:
    assert ev(source) == value


#: Each refused construct and the words that say why (the docs list these).
REFUSED = [
    ("().__class__", "not allowed"),
    ("payload.__class__.__mro__", "not allowed"),
    ("now.__class__", "not allowed"),
    ("payload | attr('__class__')", "not allowed"),
    ("''.__class__.__base__.__subclasses__()", "not allowed"),
    ("range.__globals__", "not allowed"),
    ("now.tzinfo.from_file('/etc/passwd')", "not safely callable"),
    ("now.fromtimestamp(0)", "not safely callable"),
    ("dict.fromkeys(range(10))", "has no attribute 'fromkeys'"),
    ("str.maketrans('a', 'b')", "has no attribute 'maketrans'"),
    ("'{0.__class__}'.format(1)", "not safely callable"),
    ("'%s' % payload", "'%' formatting"),
    ("payload | upperr", "No filter named 'upperr'"),
    ("payload is numbr", "No test named 'numbr'"),
    ("'x' * 1000000", "more than 100,000"),
    ("payload.list * 100000", "more than 100,000"),
    ("2 ** 5000", "too large"),
    ("9 ** 99999", "too large"),
    ("range(10 ** 9)", "at most"),
    ("'a' | center(10 ** 9)", "No filter named 'center'"),
    ("1 | format", "No filter named 'format'"),
    ("'x' | indent(10 ** 9)", "No filter named 'indent'"),
    ("payload.list | slice(10 ** 9)", "No filter named 'slice'"),
    ("('x' * 99999) | replace('x', 'yy')", "longer than"),
    ("lipsum(10 ** 6)", "'lipsum' is not a name expressions know"),
    ("cycler", "'cycler' is not a name expressions know"),
    ("self", "'self' is undefined"),
    ("config", "'config' is not a name expressions know"),
    ("__import__('os')", "not a name expressions know"),
    ("open('/etc/passwd')", "not a name expressions know"),
    ("payload.nothing", "has no attribute 'nothing'"),
    ("payload.nothing > 0.9", "has no attribute 'nothing'"),
    ("global.absent.soc > 1", "global.absent is not set"),
    ("flow.absent", "flow.absent is not set"),
    ("1 / 0", "ZeroDivisionError"),
]


@pytest.mark.parametrize(("source", "why"), REFUSED)
def test_what_is_refused_and_why(source: str, why: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert why in str(caught.value)
    assert "0x" not in str(caught.value)  # no memory addresses in what people read


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "{% import 'os' as os %}",
        "x = 1",
        "payload >",
        "(" * 3000 + ")" * 3000,
        "x" * 5000,
    ],
)
def test_what_does_not_compile(source: str) -> None:
    with pytest.raises(ExpressionError):
        Expression(source)


@pytest.mark.parametrize(
    "source",
    [
        "{% for x in range(10) %}{% for y in range(10) %}.{% endfor %}{% endfor %}",
        "{% include 'site.yaml' %}",
        "{% extends 'base' %}",
        "{% macro m() %}{% endmacro %}",
        "{% set x = 1 %}",
        "{% with x = 1 %}{% endwith %}",
        "{% filter upper %}x{% endfilter %}",
    ],
)
def test_templates_take_no_statements_but_if(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        Template(source)
    assert "not allowed" in str(caught.value) or "template" in str(caught.value)


def test_a_lone_template_keeps_its_type_and_text_templates_render_text() -> None:
    assert Template("{{ now + 1h }}").render(SCOPE) == NOW + timedelta(hours=1)
    assert Template("{{ payload.list }}").render(SCOPE) == [1, 2, 3]
    assert Template("SOC {{ (payload.soc * 100) | round | int }} %").render(SCOPE) == "SOC 93 %"
    assert Template("{% if payload.plugged %}in{% else %}out{% endif %}").render(SCOPE) == "in"


def test_results_become_json_data_and_times_epochs() -> None:
    assert plain({"until": NOW, "for": timedelta(minutes=5)}) == {
        "until": "2026-12-07T17:00:00+10:00",
        "for": 300.0,
    }
    assert to_epoch(NOW) == to_epoch("2026-12-07T07:00:00Z") == NOW.timestamp()
    with pytest.raises(ValueError, match="is not a time"):
        to_epoch("tomorrow")


# -- the fuzz ------------------------------------------------------------------------------------

NAMES = [
    "payload",
    "global",
    "flow",
    "now",
    "settings",
    "env",
    "msg",
    "topic",
    "range",
    "dict",
    "duration",
    "min",
    "max",
    "len",
    "str",
    "int",
    "lipsum",
    "cycler",
    "namespace",
    "self",
    "os",
    "__builtins__",
    "config",
    "request",
    "open",
    "getattr",
    "joiner",
]
ATTRIBUTES = [
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__init__",
    "__dict__",
    "__code__",
    "__self__",
    "__func__",
    "__base__",
    "__builtins__",
    "__import__",
    "mro",
    "format",
    "format_map",
    "center",
    "ljust",
    "zfill",
    "join",
    "replace",
    "items",
    "keys",
    "get",
    "tzinfo",
    "from_file",
    "fromtimestamp",
    "strftime",
    "hour",
    "isoformat",
    "gi_frame",
    "f_globals",
    "real",
    "soc",
    "list",
    "telemetry",
    "append",
    "update",
    "pop",
    "clear",
    "expandtabs",
    "encode",
    "translate",
]
FILTERS = [
    "attr('__class__')",
    "attr('mro')",
    "map('string')",
    "join",
    "list",
    "sum",
    "center(99999999)",
    "format",
    "replace('a', 'bbbbbbbbbb')",
    "indent(999999)",
    "string",
    "int",
    "tojson",
    "sort",
    "unique",
    "batch(3)",
    "wordcount",
    "first",
    "groupby('x')",
    "selectattr('__class__')",
    "map(attribute='__class__')",
    "default(1)",
    "length",
    "reverse",
    "round",
    "abs",
    "dictsort",
    "items",
    "batch(100000000, 1)",
    "round(-100000000)",
    "replace('a', 'xxxxxxxxxx', -1)",
    "sum(start=[])",
    "join('-')",
    "string",
    "at(now)",
]
LITERALS = [
    "0",
    "1",
    "7",
    "99999",
    "1.5",
    "-3",
    "('x' * 99999)",
    "(range(9999) | list)",
    "'x'",
    "'%s'",
    "'{}'",
    "'{0.__class__}'",
    "[1, 2, 3]",
    "{'a': 1}",
    "()",
    "none",
    "true",
    "1h",
    "30m",
]
BINARY = ["+", "-", "*", "**", "%", "//", "/", "~", "and", "or", "==", "<", "in"]

atoms = st.sampled_from(NAMES + LITERALS)


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(ATTRIBUTES)).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, st.lists(inner, max_size=2)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]}) | {t[1]}"),
        st.tuples(inner, st.sampled_from(BINARY), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


expressions = st.recursive(atoms, _extend, max_leaves=12)
SAFE_RESULT_TYPES = (
    type(None),
    bool,
    int,
    float,
    str,
    list,
    tuple,
    dict,
    datetime,
    timedelta,
    range,
)


def _no_internals(value: Any, depth: int = 0) -> None:
    """What an expression gives is data (or one of its own helpers), never Python's machinery."""
    assert not isinstance(value, types.ModuleType | types.FrameType | types.CodeType)
    assert not isinstance(value, type)
    if isinstance(value, dict) and depth < 3:
        for item in value.values():
            _no_internals(item, depth + 1)
    if isinstance(value, list | tuple) and depth < 3:
        for item in value[:50]:
            _no_internals(item, depth + 1)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=expressions)
def test_fuzzed_expressions_stay_in_the_sandbox_and_within_bounds(source: str) -> None:
    tracemalloc.start()
    started = time.process_time()
    try:
        try:
            value = Expression(source).evaluate(SCOPE)
        except ExpressionError:
            return  # refused or failed, in words: fine
        _no_internals(value)
        if isinstance(value, str | list | tuple):
            assert len(value) <= MAX_ITEMS * 4
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Termination and memory are safety bounds, not speed targets: generous on purpose.
        assert time.process_time() - started < 5.0, source
        assert peak < 64 * 1024 * 1024, source


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(expressions, min_size=1, max_size=3), text=st.text(max_size=20))
def test_fuzzed_templates_stay_in_the_sandbox(parts: list[str], text: str) -> None:
    source = text.replace("{", "(").replace("}", ")") + "".join(f"{{{{ {p} }}}}" for p in parts)
    try:
        rendered = Template(source).render(SCOPE)
    except ExpressionError:
        return
    _no_internals(rendered)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("('a' * 100000) | replace('a', 'x' * 100000, -1)", "longer than"),
        ("(['x' * 100000] * 100000) | join", "more than 100,000 items"),
        ("'-'.join(['x' * 1000] * 1000)", "more than 100,000 items"),
        ("[1] | batch(100000000, 1) | list", "batches of at most"),
        ("round(1, -10000000)", "round to at most 20 digits"),
        ("1 | round(-100000000)", "round to at most 20 digits"),
        ("[[1], [2]] | sum(start=[])", "sum adds numbers"),
    ],
)
def test_what_a_review_found_is_bounded(source: str, why: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert why in str(caught.value)


def test_a_field_named_like_a_method_is_the_field_in_both_ways_of_evaluating() -> None:
    scope = {**SCOPE, "payload": {"values": [1, 2, 3], "items": 4}}
    assert Expression("payload.values").evaluate(scope) == [1, 2, 3]
    assert Expression("payload.values | length").evaluate(scope) == 3
    assert Expression("payload.items > 3").evaluate(scope) is True


def test_durations_and_whitespace_control_in_longer_templates() -> None:
    assert Template("until {{ (now + 1h).strftime('%H:%M') }}").render(SCOPE) == "until 18:00"
    assert Template("{{- 1 -}} x").render(SCOPE) == "1x"
