"""What the host hands the engine besides the flows and the settings: connections it made
itself around live objects (``Engine(provided=...)``, ``Engine.provide``), and the data
directory (``Engine(data_dir=...)``). Neither travels in the settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flowengine import Connection, Engine, Message, Node, VirtualClock, load_flow_text, run_to_end
from tests.flowengine.helpers import Collect, registry

START = 1_750_000_000.0


class Counter:
    """A live object of the host's: something only the host can make."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> int:
        self.reads += 1
        return self.reads


class CounterLink(Connection):
    """A connection around a ``Counter`` (none in one the engine builds from the flows)."""

    type_name = "test.counter"
    description = "A host's counter, as a connection."
    counter: Counter | None = None
    opened: ClassVar[list[Path]] = []
    closed: ClassVar[int] = 0

    @classmethod
    def of(cls, counter: Counter, clock: VirtualClock, connection_id: str) -> CounterLink:
        link = cls(connection_id, {}, clock, {})
        link.counter = counter
        return link

    async def open(self) -> None:
        CounterLink.opened.append(self.data_dir)

    async def close(self) -> None:
        CounterLink.closed += 1


class OtherLink(Connection):
    type_name = "test.other"
    description = "Any other connection type."


class ReadCounter(Node):
    """Gives what its connection's counter reads (None: no counter), and its data dir."""

    type_name = "test.read_counter"
    description = "Reads the counter of the connection its config names."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"link": {"type": "string", "x-connection": "test.counter"}},
        "required": ["link"],
        "additionalProperties": False,
    }

    def process(self, msg: Message) -> Message:
        link = self.ctx.connection(self.config["link"])
        counter = link.counter if isinstance(link, CounterLink) else None
        msg.payload = {
            "read": None if counter is None else counter.read(),
            "data_dir": self.ctx.data_dir,
            "settings": dict(self.ctx.settings),
        }
        return msg


FLOW = """
flow: count
connections:
  - {id: counter, type: test.counter}
  - {id: spare, type: test.counter}
nodes:
  - {id: read, type: test.read_counter, config: {link: counter}, wires: {out: [out]}}
  - {id: out, type: test.collect}
"""


def reg() -> Any:
    return registry(CounterLink, OtherLink, ReadCounter)


async def read_once(engine: Engine) -> dict[str, Any]:
    Collect.seen = {}
    trace = await run_to_end(engine, "count")
    assert trace.outcome == "ok", trace.error
    (payload,) = Collect.seen["out"]
    assert isinstance(payload, dict)
    return payload


@pytest.fixture(autouse=True)
def counted() -> None:
    CounterLink.opened, CounterLink.closed = [], 0


async def test_a_provided_connection_stands_in_for_the_declared_one(tmp_path: Path) -> None:
    clock = VirtualClock(START)
    counter = Counter()
    provided = CounterLink.of(counter, clock, "counter")
    settings = {"site": {"name": "x"}}
    engine = Engine(
        reg(), clock, settings=settings, freeze_gc=False, data_dir=tmp_path, provided=[provided]
    )
    await engine.start(load_flow_text(FLOW, reg()))
    try:
        assert engine.connections["counter"] is provided
        assert (await read_once(engine))["read"] == 1
        assert counter.reads == 1
        # The declared one nobody provided is built, data dir set, and opened as ever;
        # the provided one is the host's: never opened (nor closed, below) by the engine.
        assert isinstance(engine.connections["spare"], CounterLink)
        assert engine.connections["spare"].counter is None
        assert CounterLink.opened == [tmp_path]
    finally:
        await engine.stop()
    assert CounterLink.closed == 1
    # A restart (a settings edit does one) keeps what the host provided.
    await engine.start(engine.flowset)
    try:
        assert (await read_once(engine))["read"] == 2
    finally:
        await engine.stop()
        engine.close()


async def test_provide_after_building_takes_effect_at_the_next_start() -> None:
    clock = VirtualClock(START)
    engine = Engine(reg(), clock, freeze_gc=False)
    flows = load_flow_text(FLOW, reg())
    await engine.start(flows)
    assert (await read_once(engine))["read"] is None  # declared, built, no counter in it
    await engine.stop()
    engine.provide(CounterLink.of(Counter(), clock, "counter"))
    await engine.start(flows)
    try:
        assert (await read_once(engine))["read"] == 1
    finally:
        await engine.stop()
        engine.close()


async def test_a_provided_connection_the_flows_do_not_declare_is_reachable_too() -> None:
    clock = VirtualClock(START)
    flow = FLOW.replace("  - {id: counter, type: test.counter}\n", "").replace(
        "link: counter", "link: spare"
    )
    extra = CounterLink.of(Counter(), clock, "extra")
    engine = Engine(reg(), clock, freeze_gc=False, provided=[extra])
    await engine.start(load_flow_text(flow, reg()))
    try:
        assert isinstance(engine.connections["extra"], CounterLink)
        assert set(engine.connections) == {"extra", "spare"}
    finally:
        await engine.stop()
        engine.close()


async def test_a_provided_connection_of_another_type_than_declared_is_refused() -> None:
    clock = VirtualClock(START)
    wrong = OtherLink("counter", {}, clock, {})
    engine = Engine(reg(), clock, freeze_gc=False, provided=[wrong])
    said = "declare connection 'counter' a test.counter, but the host provided a OtherLink"
    with pytest.raises(TypeError, match=re.escape(said)):
        await engine.start(load_flow_text(FLOW, reg()))
    engine.close()


async def test_the_data_dir_is_the_engines_not_a_setting(tmp_path: Path) -> None:
    """Nodes see it as ``ctx.data_dir``, connections as ``data_dir``; a ``core.sqlite``
    keeps its file there. The settings hold only what the host passed as settings."""
    clock = VirtualClock(START)
    flow = FLOW.replace(
        "connections:\n", "connections:\n  - {id: db, type: core.sqlite, config: {file: kept.db}}\n"
    )
    settings = {"site": {"name": "x"}}
    engine = Engine(reg(), clock, settings=settings, freeze_gc=False, data_dir=tmp_path)
    await engine.start(load_flow_text(flow, reg()))
    try:
        payload = await read_once(engine)
        assert payload["data_dir"] == tmp_path
        assert payload["settings"] == {"site": {"name": "x"}}
        assert engine.connections["db"].data_dir == tmp_path
        assert (tmp_path / "kept.db").exists()
    finally:
        await engine.stop()
        engine.close()


async def test_without_a_data_dir_files_go_in_the_working_directory() -> None:
    engine = Engine(reg(), VirtualClock(START), freeze_gc=False)
    assert engine.data_dir == Path(".")
    engine.close()
