"""The one YAML loader refuses what would blow up the service, at the place it is written:
alias bombs, files over the size limit, bytes that are not text, control characters."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.secrets import load_secrets
from flowengine.yamlsource import (
    MAX_ALIASED_VALUES,
    MAX_YAML_BYTES,
    YamlSyntaxError,
    parse_file,
    parse_text,
)


def alias_bomb(levels: int = 8, width: int = 10) -> str:
    """``levels`` of ``width`` aliases each: width**levels values from a few hundred bytes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def refusal(text: str, file: str = "f.yaml") -> str:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_text(text, file)
    return str(caught.value)


def test_an_alias_bomb_is_refused_where_it_passes_the_limit_within_bounded_memory() -> None:
    tracemalloc.start()
    try:
        message = refusal(alias_bomb())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a3 is the first line whose aliases add more than 10,000 values (10**4 + ...)
    assert message == (
        f"f.yaml:4:5: the aliases here add more than {MAX_ALIASED_VALUES:,} values to the "
        "file: write the values out"
    )
    assert peak < 20 * 1024 * 1024  # the bomb would be a billion values


def test_aliases_that_repeat_a_value_a_few_times_still_load() -> None:
    doc = parse_text("reading: &r {soc: 0.5, power_w: 1200}\nagain: *r\nlist: [*r, *r]\n", "f")
    assert doc.data["again"] == doc.data["reading"] == {"soc": 0.5, "power_w": 1200}
    assert doc.data["list"] == [doc.data["reading"]] * 2


@settings(max_examples=40, deadline=None)
@given(levels=st.integers(2, 12), width=st.integers(2, 12))
def test_whatever_the_shape_of_the_aliases_what_they_add_is_bounded(
    levels: int, width: int
) -> None:
    text = alias_bomb(levels, width)
    try:
        doc = parse_text(text, "f")
    except YamlSyntaxError as exc:
        assert "aliases here add more than" in str(exc)
        return
    total = sum(width**level for level in range(1, levels + 2))
    assert total <= 2 * MAX_ALIASED_VALUES + width  # loaded only if small
    assert len(doc.data) == levels + 1


def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("flow: big\n" + "# padding\n" * (MAX_YAML_BYTES // 10 + 1))
    with pytest.raises(YamlSyntaxError) as caught:
        parse_file(big)
    size = big.stat().st_size
    assert str(caught.value) == (
        f"{big}:1:1: the file is {size:,} bytes, over the {MAX_YAML_BYTES:,}-byte limit "
        "of a YAML file"
    )
    assert "over the" in refusal("x" * (MAX_YAML_BYTES + 1))  # text from the API too


def test_a_file_of_random_bytes_says_where_the_text_stops(tmp_path: Path) -> None:
    broken = tmp_path / "control.yaml"
    broken.write_bytes(b"flow: control\nnodes:\n  - id: \xfe\x9c\x00junk")
    with pytest.raises(YamlSyntaxError) as caught:
        parse_file(broken)
    assert str(caught.value) == (
        f"{broken}:3:9: not UTF-8 text: byte 0xfe cannot start a character (is this a YAML file?)"
    )


def test_a_control_character_is_located() -> None:
    assert refusal("flow: x\nname: a\x07b\n") == (
        "f.yaml:2:8: YAML syntax: control characters are not allowed (character U+0007)"
    )


def test_a_secrets_file_with_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(alias_bomb())
    with pytest.raises(YamlSyntaxError, match="aliases here add more than"):
        load_secrets(secrets)
