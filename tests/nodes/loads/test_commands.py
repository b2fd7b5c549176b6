"""Manual load commands: checked, stored in global.load_commands, dropped by auto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from flowengine.context import ContextStore
from flowengine.database import open_database
from nodes.loads.commands import InvalidLoadCommand, active_commands, set_load_command
from nodes.loads.manager import ManualCommand

T0 = 1_750_000_000.0
SETTINGS: dict[str, Any] = {"loads": {"pool": {}, "hot_water": {}}}


@pytest.fixture
def store(tmp_path: Path) -> ContextStore:
    return ContextStore(open_database(tmp_path / "engine.db"), VirtualClock(T0))


def test_on_until_a_time_is_stored_and_auto_removes_it(store: ContextStore) -> None:
    clock = VirtualClock(T0)
    stored = set_load_command(store, clock, "pool", "on", T0 + 3600, "api", SETTINGS)

    assert stored == {
        "load": "pool",
        "command": "on",
        "until": T0 + 3600,
        "source": "api",
        "set_at": T0,
    }
    assert store.get("global", "load_commands") == {
        "pool": {"command": "on", "until": T0 + 3600, "source": "api", "set_at": T0}
    }
    set_load_command(store, clock, "hot_water", "off", None, "mqtt", SETTINGS)
    set_load_command(store, clock, "pool", "auto", None, "mqtt", SETTINGS)
    assert list(store.get("global", "load_commands")) == ["hot_water"]


def test_a_node_scope_works_too_and_knows_the_loads_it_reported(store: ContextStore) -> None:
    scope = store.scope("global")
    scope.set("loads", {"pool": {"state": "off"}})

    set_load_command(scope, VirtualClock(T0), "pool", "off")
    assert store.get("global", "load_commands")["pool"]["command"] == "off"
    with pytest.raises(InvalidLoadCommand, match="no load named 'spa'; known: pool"):
        set_load_command(scope, VirtualClock(T0), "spa", "off")


@pytest.mark.parametrize(
    ("name", "command", "until", "source", "expected"),
    [
        ("pol", "on", None, "api", [("name", "no load named 'pol'; did you mean 'pool'?")]),
        ("pool", "boost", None, "api", [("command", "must be one of on, off, auto, not 'boost'")]),
        ("pool", "on", T0 - 1, "api", [("until", f"{T0 - 1:g} is not in the future (now {T0:g})")]),
        ("pool", "on", "1h", "api", [("until", "must be epoch seconds or null, not '1h'")]),
        (
            "pool",
            "auto",
            T0 + 60,
            "api",
            [("until", "auto takes no until (it ends the manual command)")],
        ),
        ("pool", "on", None, "", [("source", "must be text of 1 to 40 characters")]),
        (
            None,
            None,
            None,
            "api",
            [
                ("name", "no load named None; known: hot_water, pool"),
                ("command", "must be one of on, off, auto, not None"),
            ],
        ),
    ],
)
def test_a_bad_request_names_each_field(
    store: ContextStore,
    name: object,
    command: object,
    until: object,
    source: object,
    expected: list[tuple[str, str]],
) -> None:
    with pytest.raises(InvalidLoadCommand) as caught:
        set_load_command(store, VirtualClock(T0), name, command, until, source, SETTINGS)
    assert [(p.field, p.message) for p in caught.value.problems] == expected
    assert store.get("global", "load_commands") is None  # nothing stored


def test_only_commands_in_force_are_active() -> None:
    stored = {
        "pool": {"command": "on", "until": T0 + 60, "source": "api"},
        "spa": {"command": "off", "until": T0, "source": "api"},  # ends now
        "water": {"command": "off", "until": None, "source": "ha"},
        "junk": "on",
        "bad_until": {"command": "on", "until": "later"},
    }
    assert active_commands(stored, T0) == {
        "pool": ManualCommand("on", T0 + 60, "api"),
        "water": ManualCommand("off", None, "ha"),
    }
    assert active_commands(None, T0) == {}
