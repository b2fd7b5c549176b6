"""An edit's size is bounded before any YAML is read, and its merge costs work in
proportion to its keys (issue 16, failure 4): long text, deep nesting, a huge body and
a site.yaml grown past its limit are refused at their field, and nothing is written."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flows import SITE_CONFIG
from powermaster import settings


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_CONFIG.read_text())
    return path


def refused(config: Path, patch: Any) -> dict[str, str]:
    before = config.read_bytes()
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, patch)
    assert config.read_bytes() == before and not (config.parent / "secrets.yaml").exists()
    return {problem.field: problem.message for problem in caught.value.problems}


def test_a_long_text_is_refused_at_its_field(config: Path) -> None:
    assert refused(config, {"site": {"name": "x" * 4097}}) == {
        "site.name": "at most 4096 characters"
    }
    secret = refused(config, {"mqtt": {"password": "p" * 4097}})  # would be in secrets.yaml
    assert secret == {"mqtt.password": "at most 4096 characters"}
    assert refused(config, {"site": {"name": {"$yaml": "'" + "y" * 5000 + "'"}}}) == {
        "site.name": "at most 4096 characters"
    }
    assert "key of at most 4096" in refused(config, {"site": {"k" * 5000: 1}})["site." + "k" * 40]
    assert settings.prepare(config, {"site": {"name": "x" * 4096}}).changed == ["site.name"]


def test_limits_come_before_site_yaml_is_read(config: Path) -> None:
    """The failure's 30 MB string: refused on its size, not after parsing site.yaml (here
    unreadable as YAML, which would be reported first otherwise)."""
    config.write_text("site: [unclosed\n")
    problems = refused(config, {"site": {"name": "x" * 30_000_000}})
    assert problems == {
        "": "the edit is over 256 KiB: change a few fields at a time",
        "site.name": "at most 4096 characters",
    }
    many = {"site": {f"k{i}": i for i in range(200_000)}}  # the failure's 200k keys
    assert refused(config, many) == {"": "the edit is over 256 KiB: change a few fields at a time"}


def test_nesting_past_the_limit_is_refused_not_a_crash(config: Path) -> None:
    deep = json.loads('{"site": {"name": ' + '{"a": ' * 500 + "1" + "}" * 502)
    assert refused(config, deep) == {"site.name" + ".a" * 14: "nested more than 16 deep"}
    text = "[" * 3000 + "]" * 3000  # the parser recursed on this: RecursionError, a 500
    assert refused(config, {"site": {"name": {"$yaml": text}}}) == {
        "site.name": "nested more than 16 deep"
    }


def test_yaml_text_takes_no_anchor_or_alias_anywhere(config: Path) -> None:
    for text in ("[1, &a 2]", "a: 1\nb: *a", "- x\n- {k: &z v}\n"):
        assert (
            "anchors and aliases"
            in refused(config, {"site": {"name": {"$yaml": text}}})["site.name"]
        )


def test_site_yaml_is_not_grown_past_its_limit(config: Path) -> None:
    filler = "".join(f"# {i:06d} {'.' * 90}\n" for i in range(2_700))  # 264 KiB of comments
    config.write_text(config.read_text() + filler)
    edit = {"site": {"name": "A longer name than the demo's"}}
    [(where, message)] = refused(config, edit).items()
    assert where == "" and re.fullmatch(r"site\.yaml would be 26\d KiB: at most 256 KiB", message)
    shorter = settings.prepare(config, {"site": {"name": "Short"}})  # an owner's big file
    assert shorter.site_text is not None and len(shorter.site_text) < len(config.read_text())


def calls_to_prepare(config: Path, patch: dict[str, Any]) -> int:
    """Python and C function calls made by one ``prepare``: work counted, not timed."""
    count = 0

    def counter(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        count += 1

    sys.setprofile(counter)
    try:
        settings.prepare(config, patch)
    except settings.InvalidSettings:
        pass  # unknown keys: refused by the schema after the merge, as loading does
    finally:
        sys.setprofile(None)
    return count


def test_the_merge_costs_the_same_per_new_key_however_many(config: Path) -> None:
    """Each 500 new keys cost as much as the 500 before them: the old ``_append`` walked
    the whole section for each new key (200k keys: over ten minutes under the lock)."""
    calls = [
        calls_to_prepare(config, {"site": {f"k{i}": i for i in range(n)}})
        for n in (500, 1000, 1500)
    ]
    assert (calls[2] - calls[1]) / (calls[1] - calls[0]) < 1.15, calls


# -- any edit: refused or taken, never a crash, never past a limit ---------------------

SECTIONS = ["site", "battery", "control", "mqtt", "notify", "loads", "amber"]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.integers(4090, 4100).map(lambda n: "x" * n)
    | st.builds(lambda t: {"$yaml": t}, st.text(alphabet="[]{}:,-&*!'\" \nab1", max_size=60)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "host", "port", "soc_min", "x", "password"]), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(patch=st.dictionaries(st.sampled_from(SECTIONS), json_values, max_size=3))
def test_any_edit_is_refused_or_taken_within_the_limits(config: Path, patch: Any) -> None:
    try:
        edit = settings.prepare(config, patch)  # writes nothing: one config for every example
    except settings.InvalidSettings as exc:
        assert exc.problems and all(isinstance(p.field, str) for p in exc.problems)
        return
    text = edit.site_text or config.read_text()
    assert len(text.encode()) <= settings.MAX_SITE_BYTES
    assert max(map(len, text.splitlines())) <= settings.MAX_TEXT + 100
