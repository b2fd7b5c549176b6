"""The context store: scopes, copies and shared reads, change listeners, and a SQLite
file (WAL) that holds every value the moment it is set."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine import VirtualClock
from flowengine.context import GLOBAL, ContextRef, ContextStore
from flowengine.database import open_database
from flowengine.dotted import MISSING, dig

START = 1_767_571_200.0  # 2026-01-05 00:00 UTC

Change = tuple[str, str, Any, Any]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def store(clock: VirtualClock) -> Iterator[ContextStore]:
    db = open_database(":memory:")
    yield ContextStore(db, clock)
    db.close()


def heard(store: ContextStore, scope: str | None = None, key: str | None = None) -> list[Change]:
    """Every change the store reports to a listener (of ``scope``/``key`` only, if given)."""
    changes: list[Change] = []
    store.listen(lambda *change: changes.append(change), scope, key)
    return changes


def test_get_gives_a_copy_so_edits_to_it_stay_with_the_caller(store: ContextStore) -> None:
    store.set(GLOBAL, "plan", {"slots": [1, 2]})
    mine = store.get(GLOBAL, "plan")
    mine["slots"].append(3)
    assert store.get(GLOBAL, "plan") == {"slots": [1, 2]}
    assert store.get(GLOBAL, "plan") is not store.get(GLOBAL, "plan")


def test_set_keeps_the_value_as_it_was_then_not_the_callers_object(store: ContextStore) -> None:
    value = {"slots": [1, 2]}
    store.set(GLOBAL, "plan", value)
    value["slots"].append(3)
    assert store.get(GLOBAL, "plan") == {"slots": [1, 2]}
    assert store.peek(GLOBAL, "plan") == {"slots": [1, 2]}


def test_peek_shares_one_stored_object_until_the_next_set(store: ContextStore) -> None:
    store.set(GLOBAL, "plan", {"v": 1})
    first = store.peek(GLOBAL, "plan")
    assert store.peek(GLOBAL, "plan") is first
    store.set(GLOBAL, "plan", {"v": 2})
    assert store.peek(GLOBAL, "plan") == {"v": 2} and first == {"v": 1}


def test_a_missing_key_gives_the_default(store: ContextStore) -> None:
    assert store.get(GLOBAL, "nothing") is None
    assert store.get(GLOBAL, "nothing", 7) == 7
    assert store.peek("flow:a", "nothing", []) == []
    store.set(GLOBAL, "cleared", None)
    assert store.get(GLOBAL, "cleared", 7) is None  # a stored null is a value


def test_scopes_keep_their_own_keys(store: ContextStore) -> None:
    store.set(GLOBAL, "count", 1)
    store.set("flow:a", "count", 2)
    store.set("flow:a", "alpha", 0)
    store.set("flow:b", "count", 3)
    assert [store.get(s, "count") for s in (GLOBAL, "flow:a", "flow:b")] == [1, 2, 3]
    assert store.keys("flow:a") == ["alpha", "count"]
    assert store.keys(GLOBAL) == ["count"]
    assert store.keys("flow:c") == []


def test_a_scope_is_a_view_of_the_store(store: ContextStore) -> None:
    flow = store.scope("flow:a")
    flow.set("count", 5)
    assert store.get("flow:a", "count") == 5 and store.get(GLOBAL, "count") is None
    store.set("flow:a", "other", [1])
    assert flow.keys() == ["count", "other"]
    assert flow.peek("other") is store.peek("flow:a", "other")


@pytest.mark.parametrize("value", [object(), {"x": float("nan")}, [float("inf")], {1, 2}])
def test_a_value_that_is_not_json_is_refused_and_changes_nothing(
    store: ContextStore, value: Any
) -> None:
    store.set(GLOBAL, "kept", {"ok": True})
    changes = heard(store)
    with pytest.raises(ValueError, match="'kept' must hold JSON data"):
        store.set(GLOBAL, "kept", value)
    assert store.get(GLOBAL, "kept") == {"ok": True} and changes == []


def test_a_listener_hears_each_change_with_the_value_before_it(store: ContextStore) -> None:
    changes = heard(store)
    store.set(GLOBAL, "mode", "charge")
    store.set(GLOBAL, "mode", "hold")
    assert changes == [
        (GLOBAL, "mode", "charge", None),
        (GLOBAL, "mode", "hold", "charge"),
    ]


def test_setting_an_equal_value_is_no_change(store: ContextStore) -> None:
    store.set(GLOBAL, "plan", {"a": 1, "b": [1, 2]})
    changes = heard(store)
    store.set(GLOBAL, "plan", {"b": [1, 2], "a": 1})  # a new object, keys in another order
    assert changes == []
    store.set(GLOBAL, "plan", {"a": 1, "b": [2, 1]})  # lists keep their order
    assert len(changes) == 1


def test_a_listener_hears_only_its_scope_and_key(store: ContextStore) -> None:
    everything = heard(store)
    flow_a = heard(store, scope="flow:a")
    plans = heard(store, key="plan")
    global_plan = heard(store, GLOBAL, "plan")
    store.set(GLOBAL, "plan", 1)
    store.set("flow:a", "plan", 2)
    store.set("flow:a", "count", 3)
    store.set(GLOBAL, "count", 4)
    assert [c[2] for c in everything] == [1, 2, 3, 4]
    assert [c[2] for c in flow_a] == [2, 3]
    assert [c[2] for c in plans] == [1, 2]
    assert [c[2] for c in global_plan] == [1]


def test_a_listener_that_stopped_listening_hears_nothing_more(store: ContextStore) -> None:
    changes: list[Change] = []
    stop = store.listen(lambda *change: changes.append(change))
    store.set(GLOBAL, "a", 1)
    stop()
    store.set(GLOBAL, "a", 2)
    assert [c[2] for c in changes] == [1]


def test_each_set_is_on_disk_at_once_in_a_wal_file(tmp_path: Path, clock: VirtualClock) -> None:
    path = tmp_path / "engine.db"
    with closing(open_database(path)) as db:
        ContextStore(db, clock).set("flow:a", "count", {"n": 3})
        # Still open, never committed by hand: another connection sees it, as would the
        # service restarted after a power cut.
        with closing(sqlite3.connect(path)) as reader:
            assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows = reader.execute("SELECT scope, key, value, updated FROM context").fetchall()
            assert rows == [("flow:a", "count", '{"n":3}', START)]
            again = ContextStore(reader, clock)
            assert again.get("flow:a", "count") == {"n": 3} and again.keys("flow:a") == ["count"]


async def test_an_unchanged_value_is_not_written_again(tmp_path: Path, clock: VirtualClock) -> None:
    with closing(open_database(tmp_path / "engine.db")) as db:
        store = ContextStore(db, clock)
        store.set(GLOBAL, "plan", {"v": 1})
        await clock.advance(300)
        store.set(GLOBAL, "plan", {"v": 1})
        updated = "SELECT updated FROM context WHERE key = 'plan'"
        assert db.execute(updated).fetchone()[0] == START
        store.set(GLOBAL, "plan", {"v": 2})
        assert db.execute(updated).fetchone()[0] == START + 300


def test_a_dotted_path_names_a_place_inside_a_stored_value(store: ContextStore) -> None:
    """How triggers and nodes read ``global.telemetry.soc``: the key, then a path in it."""
    store.set(GLOBAL, "telemetry", {"soc": 0.5, "slots": [{"mode": "a"}, {"mode": "b"}]})
    value = store.peek(GLOBAL, "telemetry")
    assert dig(value, ["soc"]) == 0.5
    assert dig(value, ["slots", "1", "mode"]) == "b"
    assert dig(value, ["slots", "-2", "mode"]) == "a"
    assert dig(value, []) is value
    for nowhere in (["slots", "2"], ["slots", "x"], ["soc", "deeper"], ["none"]):
        assert dig(value, nowhere) is MISSING
    assert dig({"gone": None}, ["gone"]) is None  # a stored null is not a missing place
    assert dig({"0": "key"}, ["0"]) == "key"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=10,
)
#: Values alike in Python but not in JSON, or alike in JSON but not in Python.
look_alikes = st.sampled_from(
    [1, 1.0, True, 0.0, -0.0, "1", None, [1, 2], [2, 1], {"a": 1, "b": 2}, {"b": 2, "a": 1}]
)
sets = st.lists(
    st.tuples(
        st.sampled_from([GLOBAL, "flow:a"]), st.sampled_from(["k", "l"]), look_alikes | json_values
    ),
    max_size=25,
)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: 1 and 1.0 or True are not the same value; key order does not count."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b and str(a) == str(b)  # str tells -0.0 from 0.0


@settings(max_examples=100, deadline=None)
@given(sets=sets)
def test_a_store_reopened_holds_the_last_value_set_and_every_change_was_heard(
    tmp_path_factory: pytest.TempPathFactory, sets: list[tuple[str, str, Any]]
) -> None:
    path = tmp_path_factory.mktemp("context") / "engine.db"
    clock = VirtualClock(START)
    with closing(open_database(path)) as db:
        store = ContextStore(db, clock)
        changes = heard(store)
        last: dict[tuple[str, str], Any] = {}
        expected: list[Change] = []
        for scope, key, value in sets:
            slot = (scope, key)
            if slot not in last or not _same(last[slot], value):
                expected.append((scope, key, value, last.get(slot)))
            last[slot] = value
            store.set(scope, key, value)
        assert [c[:3] for c in changes] == [c[:3] for c in expected]
        assert all(_same(c[3], e[3]) for c, e in zip(changes, expected, strict=True))
        for (scope, key), value in last.items():
            assert _same(store.peek(scope, key), value)
    with closing(open_database(path)) as db:
        again = ContextStore(db, clock)
        for (scope, key), value in last.items():
            assert _same(again.get(scope, key), value)
        assert again.keys(GLOBAL) == sorted(k for s, k in last if s == GLOBAL)


# -- context key names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "root", "key", "path", "scope"),
    [
        ("global.plan", "global", "plan", (), "global"),
        ("global.override.until", "global", "override", ("until",), "global"),
        ("global.plan.slots.0.mode", "global", "plan", ("slots", "0", "mode"), "global"),
        ("flow.count", "flow", "count", (), "flow:control"),
        ("flow.last.price", "flow", "last", ("price",), "flow:control"),
    ],
)
def test_a_key_name_parses_to_its_scope_key_and_the_path_inside(
    name: str, root: str, key: str, path: tuple[str, ...], scope: str
) -> None:
    ref = ContextRef.parse(name)
    assert (ref.root, ref.key, ref.path) == (root, key, path)
    assert ref.scope("control") == scope


@pytest.mark.parametrize(
    "name", ["", "global", "global.", "flow", "plan", "globals.plan", "global..x", "flow.a.", "x.y"]
)
def test_a_bad_key_name_is_refused_saying_how_to_write_one(name: str) -> None:
    refused = r"is not a context key: write global\.<key> or flow\.<key>"
    with pytest.raises(ValueError, match=refused):
        ContextRef.parse(name)


def test_a_parsed_key_reaches_the_value_the_store_holds(store: ContextStore) -> None:
    store.set(GLOBAL, "override", {"until": START + 600, "mode": "force_charge"})
    store.set("flow:control", "last", {"price": 0.31})
    until = ContextRef.parse("global.override.until")
    price = ContextRef.parse("flow.last.price")
    assert dig(store.get(until.scope("control"), until.key), until.path) == START + 600
    assert dig(store.get(price.scope("control"), price.key), price.path) == 0.31
    assert store.get(price.scope("other"), price.key) is None  # another flow's own keys
