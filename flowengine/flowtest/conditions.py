"""What a flow test expects of a value, and how far off what it got is.

A condition is plain data, compared as a subset:

- a mapping: each key must match; a dotted key (``slots.0.mode``) walks into
  mappings and lists; keys not named are not checked;
- a list: as long as the value, item by item;
- a number: equal to within a billionth (float arithmetic is not exact);
- anything else: equal.

A mapping whose keys start with ``$`` is an operator instead:
``{$contains: x}`` (text holding x, a list with an item matching x, a mapping
with key x), ``{$between: [low, high]}`` (inclusive), ``{$len: n}`` (its length
matches n, itself a condition), ``{$exists: false}`` (as a key's condition: the
key is absent), and ``{$not: condition}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from flowengine.clock import local_iso
from flowengine.dotted import MISSING, dig
from flowengine.durations import parse_duration

OPERATORS = ("$contains", "$between", "$len", "$exists", "$not")
_TIME = re.compile(r"^\$(now|iso)(?:([+-])(.+))?$")


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every way ``actual`` fails ``expected``, each as 'where: expected ..., got ...'."""
    if _is_operator(expected):
        return _operators(expected, actual, path)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping | list):
            return [f"{_at(path)}expected a mapping, got {_show(actual)}"]
        found: list[str] = []
        for key, condition in expected.items():
            where = f"{path}.{key}" if path else str(key)
            value = lookup(actual, str(key))
            if value is MISSING:
                if not (_is_operator(condition) and condition.get("$exists") is False):
                    found.append(f"{where}: missing (expected {_show(condition)}){_keys(actual)}")
                continue
            found += mismatches(condition, value, where)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{_at(path)}expected a list, got {_show(actual)}"]
        if len(actual) != len(expected):
            count = f"expected {len(expected)} items, got {len(actual)}"
            return [f"{_at(path)}{count}: {_show(actual)}"]
        return [
            problem
            for index, (want, got) in enumerate(zip(expected, actual, strict=True))
            for problem in mismatches(want, got, f"{path}.{index}" if path else str(index))
        ]
    if _number(expected) and _number(actual):
        if math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9):
            return []
    elif expected == actual and type(expected) is type(actual):
        return []
    return [f"{_at(path)}expected {_show(expected)}, got {_show(actual)}"]


def lookup(value: Any, dotted: str) -> Any:
    """The value at a dotted path (``a.b.0``), or a private marker when there is none."""
    return dig(value, dotted.split("."))


def missing(value: Any) -> bool:
    return value is MISSING


def with_times(value: Any, now: float) -> Any:
    """``value`` with every ``$now``/``$iso`` text (``$now-20m``, ``$iso+1h``) made a
    time: epoch seconds for ``$now``, ISO 8601 (UTC) for ``$iso``."""
    if isinstance(value, str):
        match = _TIME.match(value)
        if match is None:
            return value
        kind, sign, amount = match.groups()
        at = now + (parse_duration(amount) * (-1 if sign == "-" else 1) if amount else 0.0)
        return at if kind == "now" else local_iso(at, UTC)
    if isinstance(value, Mapping):
        return {key: with_times(item, now) for key, item in value.items()}
    if isinstance(value, list):
        return [with_times(item, now) for item in value]
    return value


def time_problems(value: Any) -> list[str]:
    """Every ``$now``/``$iso`` text in ``value`` whose duration does not parse."""
    if isinstance(value, str):
        match = _TIME.match(value)
        if match is None or match.group(3) is None:
            return []
        try:
            parse_duration(match.group(3))
        except ValueError as exc:
            return [f"{value!r}: {exc}"]
        return []
    if isinstance(value, Mapping):
        return [p for item in value.values() for p in time_problems(item)]
    if isinstance(value, list):
        return [p for item in value for p in time_problems(item)]
    return []


def operator_problems(condition: Any) -> list[str]:
    """Operators that are unknown or mixed with plain keys, anywhere in ``condition``."""
    if isinstance(condition, Mapping):
        ops = [k for k in condition if str(k).startswith("$")]
        problems = [
            f"unknown operator '{k}'; known: {', '.join(OPERATORS)}"
            for k in ops
            if k not in OPERATORS
        ]
        if ops and len(ops) != len(condition):
            problems.append(f"operators ({', '.join(ops)}) cannot sit beside plain keys")
        between = condition.get("$between")
        if "$between" in condition and not (
            isinstance(between, list) and len(between) == 2 and all(map(_number, between))
        ):
            problems.append("$between takes [low, high]")
        return problems + [p for item in condition.values() for p in operator_problems(item)]
    if isinstance(condition, list):
        return [p for item in condition for p in operator_problems(item)]
    return []


def _operators(ops: Mapping[str, Any], actual: Any, path: str) -> list[str]:
    found: list[str] = []
    for op, arg in ops.items():
        if op == "$contains" and not _contains(actual, arg):
            found.append(
                f"{_at(path)}expected something containing {_show(arg)}, got {_show(actual)}"
            )
        elif op == "$between":
            low, high = arg
            if not (_number(actual) and low <= actual <= high):
                found.append(f"{_at(path)}expected between {low} and {high}, got {_show(actual)}")
        elif op == "$len":
            if not isinstance(actual, list | str | Mapping):
                found.append(f"{_at(path)}expected something with a length, got {_show(actual)}")
            else:
                found += [
                    f"{_at(path)}length: {p.split(': ', 1)[-1]}"
                    for p in mismatches(arg, len(actual))
                ]
        elif op == "$exists" and arg is False:
            found.append(f"{_at(path)}expected no value, got {_show(actual)}")
        elif op == "$not" and not mismatches(arg, actual):
            found.append(f"{_at(path)}expected anything but {_show(arg)}, got {_show(actual)}")
    return found


def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(wanted, str) and wanted in actual
    if isinstance(actual, list):
        return any(not mismatches(wanted, item) for item in actual)
    if isinstance(actual, Mapping):
        return isinstance(wanted, str) and wanted in actual
    return False


def _is_operator(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(str(k).startswith("$") for k in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _keys(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"; it has {', '.join(map(str, value)) or 'no keys'}"
    return f"; it has {len(value)} items"


def _at(path: str) -> str:
    return f"{path}: " if path else ""


def _show(value: Any, limit: int = 120) -> str:
    text = repr(value) if isinstance(value, str) else _plain(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if abs(value) >= 1 else repr(value)
    return repr(value)
