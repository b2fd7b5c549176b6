"""bom.storm against a local anonymous FTP server laid out like ftp.bom.gov.au.

The product files are made up in the protocols.md 5.3/5.4 layouts
(tests/fixtures/bom/README.md). After each failure the node's ``out`` carries
the last good reading (or None), ``problem`` says what went wrong and where,
and global.storm holds nothing invalid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, run_to_end
from tests.nodes.bom.ftp_server import DIRECTORY, LocalBom, local_bom, silent_server
from tests.nodes.storm.harness import forget, seen, start

T0 = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()  # 16:00 in Brisbane
WARNINGS = ["IDQ21033.xml", "IDQ21035.xml", "IDQ21037.xml", "IDQ21038.xml"]

FLOW = """
flow: storm
nodes:
  - id: bom
    type: bom.storm
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@dataclass
class Fetched:
    out: Any
    problem: Any
    in_context: Any

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.out["data"]
        return data


class Site:
    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        self.engine = engine
        self.clock = clock

    async def fetch(self, after_s: float = 0.0) -> Fetched:
        if after_s:
            await self.clock.advance(after_s)
        forget()
        trace = await run_to_end(self.engine, "storm")
        assert trace.outcome == "ok", trace.error
        (out,) = seen("out")
        problems = seen("problem")
        return Fetched(
            out, problems[0] if problems else None, self.engine.context.get("global", "storm")
        )


@pytest.fixture
def bom(tmp_path: Path, free_port: int) -> Iterator[LocalBom]:
    with local_bom(tmp_path, free_port) as server:
        server.put("IDQ11295", "IDQ11295.xml")
        yield server


@pytest.fixture
async def site(free_port: int) -> AsyncIterator[Any]:
    engines: list[Engine] = []

    async def make(**section: Any) -> Site:
        clock = VirtualClock(T0)
        settings = {"bom": {"host": "127.0.0.1", "port": free_port, "timeout_s": 5.0, **section}}
        engine = await start(FLOW, clock, settings)
        engines.append(engine)
        return Site(engine, clock)

    yield make
    for engine in engines:
        await engine.stop()
        engine.close()


async def test_warnings_precis_and_probability_for_our_area(bom: LocalBom, site: Any) -> None:
    bom.put("IDQ21033", "warning_southeast_coast.xml")
    bom.put("IDQ21037", "warning_far_north_cyclone.xml")
    fetched = await (await site()).fetch()
    assert fetched.problem is None
    assert bom.retrieved == [*WARNINGS, "IDQ11295.xml"]
    reading = fetched.out
    assert reading["kind"] == "storm" and reading["provider"] == "bom"
    assert reading["issued_at"] == epoch(2026, 1, 15, 5, 50)  # the newest product
    by_product = {w["product"]: w for w in fetched.data["warnings"]}
    assert set(by_product) == {"IDQ21033", "IDQ21037"}  # the other two are not on the server
    assert by_product["IDQ21033"]["ours"] is True
    assert by_product["IDQ21037"]["ours"] is False
    assert [p["icon"] for p in fetched.data["precis"]] == [16, 3, 11, 1]
    first, second, *_ = fetched.data["probability"]
    # Tier 1 (0.9) until the warning expires, then the précis storm: 0.6 x 70 % rain.
    assert (first["start"], first["end"], first["p"]) == (T0, epoch(2026, 1, 15, 8, 50), 0.9)
    assert first["evidence"][0].startswith("IDQ21033: Severe Thunderstorm Warning")
    assert (second["end"], second["p"]) == (epoch(2026, 1, 15, 14, 0), 0.42)
    assert fetched.in_context == reading


async def test_missing_warning_files_are_no_warnings_not_a_failure(
    bom: LocalBom, site: Any
) -> None:
    fetched = await (await site()).fetch()
    assert fetched.problem is None
    assert fetched.data["warnings"] == []
    assert max(p["p"] for p in fetched.data["probability"]) == 0.42  # the précis alone


async def test_a_warning_for_another_district_adds_no_risk(bom: LocalBom, site: Any) -> None:
    bom.put("IDQ21033", "warning_central_highlands.xml")
    fetched = await (await site()).fetch()
    (found,) = fetched.data["warnings"]
    assert found["ours"] is False
    assert max(p["p"] for p in fetched.data["probability"]) == 0.42


async def test_a_cancelled_warning_is_listed_but_adds_no_risk(bom: LocalBom, site: Any) -> None:
    bom.put("IDQ21033", "warning_southeast_coast_cancelled.xml")
    fetched = await (await site()).fetch()
    (found,) = fetched.data["warnings"]
    assert found["phase"] == "cancelled" and found["ours"] is True
    assert max(p["p"] for p in fetched.data["probability"]) == 0.42


async def test_an_unknown_product_id_is_read_by_its_content(bom: LocalBom, site: Any) -> None:
    bom.put("IDQ20999", "warning_unknown_id_brisbane_city.xml")
    fetched = await (await site(warnings=["IDQ20999"])).fetch()
    (found,) = fetched.data["warnings"]
    assert (found["category"], found["ours"]) == ("thunderstorm", True)
    assert fetched.data["probability"][0]["p"] == 0.9


async def test_cap_files_when_asked_for(bom: LocalBom, site: Any) -> None:
    bom.put("IDQ21033", "warning_southeast_coast.cap.xml", suffix=".cap.xml")
    fetched = await (await site(warning_format="cap")).fetch()
    assert bom.retrieved[0] == "IDQ21033.cap.xml"
    (found,) = fetched.data["warnings"]
    assert (found["category"], found["ours"], found["phase"]) == ("thunderstorm", True, "new")


async def test_a_malformed_warning_keeps_the_last_good_reading(bom: LocalBom, site: Any) -> None:
    storm = await site()
    good = (await storm.fetch()).out
    bom.put_bytes("IDQ21033.xml", b"<?xml version='1.0'?>\n<product>\n  <amoc>\n")
    fetched = await storm.fetch(after_s=600)
    assert fetched.problem["error"].startswith("bom IDQ21033: malformed XML: no element found")
    assert fetched.problem["kept"] == good["issued_at"]
    assert fetched.out == good and fetched.in_context == good


async def test_a_malformed_precis_is_downloaded_again(bom: LocalBom, site: Any) -> None:
    bom.put_bytes("IDQ11295.xml", b"<product><amoc><identifier>IDQ11295</amoc></product>")
    storm = await site()
    fetched = await storm.fetch()
    assert "bom IDQ11295: malformed XML: mismatched tag" in fetched.problem["error"]
    assert fetched.out is None and fetched.in_context is None
    bom.put("IDQ11295", "IDQ11295.xml")
    fetched = await storm.fetch(after_s=600)
    assert fetched.problem is None
    assert bom.retrieved.count("IDQ11295.xml") == 2


async def test_a_missing_precis_is_a_problem(bom: LocalBom, site: Any) -> None:
    bom.remove("IDQ11295")
    fetched = await (await site()).fetch()
    assert fetched.problem["error"].endswith("the précis IDQ11295.xml is not on the server")
    assert fetched.out is None and fetched.in_context is None


async def test_a_wrong_directory_fails_at_once(bom: LocalBom, site: Any) -> None:
    storm = await site(directory="/anon/gen/nowhere")
    fetched = await storm.fetch()
    assert "550" in fetched.problem["error"]
    assert "after" not in fetched.problem["error"]  # not repeated
    assert storm.clock.time() == T0


async def test_a_server_that_is_down(site: Any) -> None:
    storm = await site()  # nothing listens on the port
    fetched = await storm.fetch()
    assert "ConnectionRefusedError" in fetched.problem["error"]
    assert fetched.problem["error"].endswith("(after 3 attempts)")
    assert storm.clock.time() == T0 + 2 + 4  # backoff on the virtual clock
    assert fetched.out is None and fetched.in_context is None


async def test_a_server_that_never_answers_times_out(free_port: int, site: Any) -> None:
    with silent_server(free_port):
        storm = await site(timeout_s=0.2)
        fetched = await storm.fetch()
    assert fetched.problem["error"] == (
        f"ftp://127.0.0.1:{free_port}{DIRECTORY}: no answer within 0.2 s (after 3 attempts)"
    )
    assert fetched.out is None and fetched.in_context is None


async def test_every_10_minutes_and_every_5_while_our_warning_is_in_force(
    bom: LocalBom, site: Any
) -> None:
    storm = await site()
    await storm.fetch()
    await storm.fetch(after_s=300)
    assert bom.retrieved.count("IDQ21033.xml") == 1  # quiet: 10 minutes
    bom.put("IDQ21033", "warning_southeast_coast.xml")
    await storm.fetch(after_s=300)
    assert bom.retrieved.count("IDQ21033.xml") == 2
    await storm.fetch(after_s=300)
    assert bom.retrieved.count("IDQ21033.xml") == 3  # our warning in force: 5 minutes
    assert bom.retrieved.count("IDQ11295.xml") == 1  # the précis only hourly


async def test_the_precis_is_downloaded_again_after_an_hour(bom: LocalBom, site: Any) -> None:
    storm = await site()
    for _ in range(7):
        await storm.fetch(after_s=600)
    assert bom.retrieved.count("IDQ21033.xml") == 7
    assert bom.retrieved.count("IDQ11295.xml") == 2
