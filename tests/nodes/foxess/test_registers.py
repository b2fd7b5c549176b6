"""Word codecs and read planning for the KH map (protocols.md §1.2-§1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.foxess import registers as r


@pytest.mark.parametrize(
    ("value", "word"),
    [(-1, 0xFFFF), (-3000, 0xF448), (-32768, 0x8000), (-1500, 0xFA24), (0, 0), (32767, 0x7FFF)],
)
def test_i16_twos_complement_round_trips(value: int, word: int) -> None:
    assert r.encode_i16(value) == word
    assert r.decode_i16(word) == value


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-1850, (0xFFFF, 0xF8C6)),
        (-1, (0xFFFF, 0xFFFF)),
        (-(2**31), (0x8000, 0)),
        (-70000, (0xFFFE, 0xEE90)),
        (3120, (0, 0x0C30)),
        (70000, (1, 0x1170)),
    ],
)
def test_i32_high_word_first_round_trips(value: int, words: tuple[int, int]) -> None:
    assert r.encode_i32(value) == words
    assert r.decode_i32(*words) == value


@given(st.integers(-(2**31), 2**31 - 1))
def test_i32_round_trip_any(value: int) -> None:
    assert r.decode_i32(*r.encode_i32(value)) == value


def test_u32_and_out_of_range() -> None:
    assert r.encode_u32(15000) == (0, 0x3A98)
    assert r.decode_u32(0, 0x3A98) == 15000
    for bad in (
        lambda: r.encode_i16(32768),
        lambda: r.encode_i16(-32769),
        lambda: r.encode_i32(2**31),
        lambda: r.encode_u16(-1),
    ):
        with pytest.raises(ValueError):
            bad()


def test_versions_are_hex_digits() -> None:
    assert r.decode_version(0x0133) == "1.33"
    assert r.decode_version(0x0150) == "1.50"
    assert r.encode_version("1.58") == 0x0158


def test_model_string_round_trip() -> None:
    words = r.encode_ascii("KH10.5", 16)
    assert words[:3] == [0x4B48, 0x3130, 0x2E35]
    assert r.decode_ascii(words) == "KH10.5"


def test_field_decode_applies_type_and_gain() -> None:
    assert r.KH133_MAP["battery_power"].decode({31022: 0xFA24}) == -1500
    assert r.KH133_MAP["grid_ct"].decode({39168: 0xFFFF, 39169: 0xF8C6}) == -1850
    assert r.KH133_MAP["battery_temp"].decode({31023: 253}) == pytest.approx(25.3)
    assert r.PRE133_MAP["pv1_current"].scale == 0.1
    assert r.KH133_MAP["pv1_current"].scale == 0.01


@pytest.mark.parametrize("firmware", list(r.Firmware))
def test_block_plan_never_touches_invalid_ranges(firmware: r.Firmware) -> None:
    fields = r.register_map(firmware).values()
    wanted = {a for f in fields for a in f.addresses} | set(r.SETTINGS)
    blocks = r.plan_blocks(wanted)
    covered = {a for b in blocks for a in range(b.start, b.end + 1)}
    assert covered >= wanted
    assert len(blocks) < len(wanted)  # small valid gaps are bridged, not read one by one
    for block in blocks:
        assert block.count <= 20
        assert not any(r.is_invalid(a) for a in range(block.start, block.end + 1))
        if any(r.is_single_read(a) for a in range(block.start, block.end + 1)):
            assert block.count == 1


def test_block_plan_refuses_invalid_addresses() -> None:
    with pytest.raises(ValueError, match="41012"):
        r.plan_blocks([41011, 41012])


def test_maps_differ_where_the_firmware_classes_differ() -> None:
    assert r.KH133_MAP["grid_ct"].address == 39168
    assert r.PRE133_MAP["grid_ct"].address == 31049
    assert r.KH133_MAP["pv1_power"].address == 39279
    assert r.PRE133_MAP["pv4_power"].address == 31044
    assert r.PRE133_MAP["load_power"].kind == "i32"
