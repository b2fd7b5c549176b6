"""Manual load commands: on or off by hand (until a time, or until set back to auto).

They live in the global context key ``load_commands`` as ``{load: {command,
until, source, set_at}}`` (``until`` epoch seconds or None), so the loads node
reads them like any other input and they survive a restart. The HTTP API and
Home Assistant both go through ``set_load_command``, which refuses a bad
request with problems that name their field.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from flowengine.clock import Clock
from flowengine.context import GLOBAL, ContextStore
from flowengine.errors import FieldProblem, InvalidRequest
from flowengine.node import ContextScope
from nodes.loads.manager import ManualCommand

COMMANDS_KEY = "load_commands"
#: Where the loads node reports its loads (the known names when no settings are given).
LOADS_KEY = "loads"
COMMANDS = ("on", "off", "auto")
MAX_SOURCE_CHARS = 40


Problem = FieldProblem


class InvalidLoadCommand(InvalidRequest):
    """A refused command; ``problems`` says what is wrong with which field."""


def set_load_command(
    context: ContextStore | ContextScope,
    clock: Clock,
    name: Any,
    command: Any,
    until: Any = None,
    source: Any = "api",
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a manual command, store it in ``global.load_commands``, and return it.

    ``command`` is on, off or auto (auto drops the manual command: the plan
    decides again). ``until`` is an epoch in the future, or None for "until auto".
    The loads known are those of ``settings['loads']`` when given, else those
    the loads node last reported (``global.loads``).
    """
    now = clock.time()
    known = (
        sorted((settings or {}).get("loads") or {})
        if settings is not None
        else sorted(_get(context, LOADS_KEY) or {})
    )
    problems: list[Problem] = []
    _check_name(name, known, problems)
    if command not in COMMANDS:
        problems.append(
            Problem("command", f"must be one of {', '.join(COMMANDS)}, not {command!r}")
        )
    if until is not None:
        if command == "auto":
            problems.append(Problem("until", "auto takes no until (it ends the manual command)"))
        elif (
            isinstance(until, bool)
            or not isinstance(until, int | float)
            or not math.isfinite(until)
        ):
            problems.append(Problem("until", f"must be epoch seconds or null, not {until!r}"))
        elif until <= now:
            problems.append(Problem("until", f"{until:g} is not in the future (now {now:g})"))
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_CHARS:
        problems.append(Problem("source", f"must be text of 1 to {MAX_SOURCE_CHARS} characters"))
    if problems:
        raise InvalidLoadCommand(problems)
    stored = dict(_get(context, COMMANDS_KEY) or {})
    entry = {
        "command": command,
        "until": None if until is None else float(until),
        "source": source.strip(),
        "set_at": now,
    }
    if command == "auto":
        stored.pop(name, None)
    else:
        stored[name] = entry
    _set(context, COMMANDS_KEY, stored)
    return {"load": name, **entry}


def active_commands(stored: Any, now: float) -> dict[str, ManualCommand]:
    """The manual commands still in force at ``now`` (malformed and expired ones are not)."""
    found: dict[str, ManualCommand] = {}
    for name, entry in (stored if isinstance(stored, Mapping) else {}).items():
        if not isinstance(entry, Mapping):
            continue
        until = entry.get("until")
        if until is not None and (isinstance(until, bool) or not isinstance(until, int | float)):
            continue
        command = ManualCommand(str(entry.get("command")), until, str(entry.get("source") or ""))
        if command.active(now):
            found[str(name)] = command
    return found


def _check_name(name: Any, known: list[str], problems: list[Problem]) -> None:
    if not isinstance(name, str) or name not in known:
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else (f"; known: {', '.join(known)}" if known else "; no loads are configured")
        )
        problems.append(Problem("name", f"no load named {name!r}{hint}"))


def _get(context: ContextStore | ContextScope, key: str) -> Any:
    if isinstance(context, ContextStore):
        return context.get(GLOBAL, key)
    return context.get(key)


def _set(context: ContextStore | ContextScope, key: str, value: Any) -> None:
    if isinstance(context, ContextStore):
        context.set(GLOBAL, key, value)
    else:
        context.set(key, value)
