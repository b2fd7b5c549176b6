"""BOM warnings and précis (made-up files in the protocols.md 5.3/5.4 layouts) to our shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from nodes.bom.areas import OurArea, names_in
from nodes.bom.precis import parse_precis
from nodes.bom.warning import category, parse_warning
from nodes.inputs.provider import InvalidPayload
from tests.nodes.bom.ftp_server import FIXTURES

NOW = datetime(2026, 1, 15, 6, 0, tzinfo=UTC).timestamp()
OURS = OurArea.from_settings({})


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def warning(fixture: str, product: str = "IDQ21033", now: float = NOW) -> dict[str, object]:
    return parse_warning((FIXTURES / fixture).read_bytes(), product, OURS, now)


def test_a_thunderstorm_warning_for_our_district() -> None:
    assert warning("warning_southeast_coast.xml") == {
        "product": "IDQ21033",
        "title": "Severe Thunderstorm Warning for DAMAGING WINDS and LARGE HAILSTONES for people "
        "in parts of the Southeast Coast Forecast District.",
        "category": "thunderstorm",
        "phase": "new",
        "areas": ["Southeast Coast"],
        "issued_at": epoch(2026, 1, 15, 5, 50),
        "expires_at": epoch(2026, 1, 15, 8, 50),
        "ours": True,
    }


def test_a_warning_for_another_district_is_not_ours() -> None:
    found = warning("warning_central_highlands.xml")
    assert found["category"] == "thunderstorm" and found["phase"] == "new"
    assert found["ours"] is False


def test_the_id_does_not_decide_what_a_warning_is() -> None:
    found = warning("warning_unknown_id_brisbane_city.xml", product="IDQ20999")
    assert found["category"] == "thunderstorm"
    assert found["ours"] is True  # Brisbane City council area
    assert found["areas"] == ["Logan City", "Redland City", "Brisbane City"]
    # IDQ21037 carries a cyclone warning here; IDQ21038 a flood warning: both read from the text.
    assert warning("warning_far_north_cyclone.xml", "IDQ21037")["category"] == "cyclone"
    assert warning("warning_flood_brisbane_river.xml", "IDQ21038")["category"] == "flood"


def test_cancelled_and_expired_warnings_are_not_in_force() -> None:
    assert warning("warning_southeast_coast_cancelled.xml")["phase"] == "cancelled"
    later = epoch(2026, 1, 15, 9, 0)
    assert warning("warning_southeast_coast.xml", now=later)["phase"] == "expired"
    assert warning("warning_far_north_cyclone.xml")["phase"] == "update"


def test_a_cap_warning_reads_like_the_bom_layout() -> None:
    found = warning("warning_southeast_coast.cap.xml")
    assert found["category"] == "thunderstorm"
    assert found["phase"] == "new"
    assert found["ours"] is True
    assert found["issued_at"] == epoch(2026, 1, 15, 5, 50)  # 15:50+10:00
    assert found["expires_at"] == epoch(2026, 1, 15, 8, 50)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Severe Weather Warning for DAMAGING WINDS and HEAVY RAINFALL that may lead to FLASH "
            "FLOODING",
            "severe_weather",
        ),
        ("Tropical Cyclone Warning for Cooktown to Cairns", "cyclone"),
        ("Final Flood Warning for the Logan River", "flood"),
        ("Fire Weather Warning for Southeast Coast", "other"),
    ],
)
def test_categories_come_from_the_words(title: str, expected: str) -> None:
    assert category(title) == expected


def test_area_names_match_whole_names_only() -> None:
    assert OURS.has_name("Brisbane City Council Area")
    assert OURS.has_name("Southeast Coast, Darling Downs and Granite Belt")
    assert not OURS.has_name("North Brisbane Bay")
    assert not OURS.has_name("Central Highlands and Coalfields")
    assert OURS.has_aac("qld_pw015")
    assert names_in("Logan, Redland City and Brisbane City Council Areas") >= {"brisbane city"}


def test_our_area_comes_from_settings() -> None:
    emerald = OurArea.from_settings(
        {"location_aac": "QLD_PT045", "district_aac": "QLD_PW011", "area_names": ["Emerald"]}
    )
    data = (FIXTURES / "warning_central_highlands.xml").read_bytes()
    assert parse_warning(data, "IDQ21033", emerald, NOW)["ours"] is True


def test_the_precis_for_our_town() -> None:
    issued, periods = parse_precis(
        (FIXTURES / "IDQ11295.xml").read_bytes(), "IDQ11295", "QLD_PT001"
    )
    assert issued == epoch(2026, 1, 15, 5, 40)
    assert [p["storm"] for p in periods] == [True, False, True, False]
    assert periods[0] == {
        "start": epoch(2026, 1, 15, 5, 40),
        "end": epoch(2026, 1, 15, 14, 0),
        "icon": 16,
        "text": "Possible storm this evening.",
        "rain_chance_pct": 70,
        "storm": True,
    }
    assert periods[2]["icon"] == 11  # a storm by its words, not its icon
    assert periods[2]["rain_chance_pct"] == 60


def test_a_precis_without_our_town_says_which_setting_to_check() -> None:
    data = (FIXTURES / "IDQ11295.xml").read_bytes()
    with pytest.raises(InvalidPayload, match=r"no area QLD_PT999 .*bom.location_aac"):
        parse_precis(data, "IDQ11295", "QLD_PT999")


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda x: x[: len(x) // 2], "bom IDQ11295: malformed XML: "),
        (lambda x: x.replace(b'start-time-utc="2026-01-15T05:40:00Z"', b""), "no start-time-utc"),
        (lambda x: x.replace(b"2026-01-15T05:40:00Z", b"15/01/2026 05:40"), "not an ISO 8601"),
        (lambda x: x.replace(b">70%<", b">170%<"), "rain chance 170% is outside"),
        (lambda x: x.replace(b">16<", b">storm<"), "'storm' is not a whole number"),
    ],
)
def test_a_broken_precis_says_what_and_where(edit: Callable[[bytes], bytes], says: str) -> None:
    data = edit((FIXTURES / "IDQ11295.xml").read_bytes())
    with pytest.raises(InvalidPayload, match=f".*{says}"):
        parse_precis(data, "IDQ11295", "QLD_PT001")


def test_a_broken_warning_says_what_and_where() -> None:
    with pytest.raises(InvalidPayload, match=r"bom IDQ21033: malformed XML: mismatched tag: line"):
        parse_warning(b"<product><amoc></product>", "IDQ21033", OURS, NOW)
    with pytest.raises(InvalidPayload, match="root is <html>"):
        parse_warning(b"<html><body>Not found</body></html>", "IDQ21033", OURS, NOW)
    data = (FIXTURES / "warning_southeast_coast.xml").read_bytes()
    with pytest.raises(InvalidPayload, match="no warning title"):
        parse_warning(data.replace(b"warning_title", b"headline"), "IDQ21033", OURS, NOW)
