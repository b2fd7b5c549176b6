"""Site config sections come from the packages that own them, through the registry."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine import Registry, default_registry
from flowengine.registry import RegistryError
from flowengine.settings import SiteSection, sections_from
from powermaster.config import DEFAULTS, SITE_SCHEMA


def words_off(schema: Any) -> Any:
    """A schema without its titles and descriptions: what it allows, nothing of its words."""
    if isinstance(schema, dict):
        return {k: words_off(v) for k, v in schema.items() if k not in ("title", "description")}
    if isinstance(schema, list):
        return [words_off(item) for item in schema]
    return schema


def test_every_installed_packages_sections_are_in_the_site_schema_with_defaults() -> None:
    sections = default_registry().sections
    assert {"amber", "billing", "loads", "mqtt", "notify", "homeassistant", "tariff"} <= set(
        sections
    )
    for name, section in sections.items():
        # The site schema adds a title (and help where a package gave none) for the
        # Settings form (powermaster.config); the rules themselves are the package's.
        assert words_off(SITE_SCHEMA["properties"][name]) == words_off(section.schema)
        assert SITE_SCHEMA["properties"][name]["title"]
        if section.defaults is not None:
            assert DEFAULTS[name] == section.defaults
    assert "tariff" not in DEFAULTS  # a section without defaults stays out until written


def test_a_section_check_sees_its_own_section_and_two_owners_are_refused() -> None:
    seen: list[Any] = []

    def check(data: Any) -> list[Any]:
        seen.append(data)
        return []

    (section,) = sections_from({"pool": {"type": "object"}}, {"pool": {}}, {"pool": check})
    assert section.check is not None
    assert section.check({"pool": {"on": True}, "other": 1}) == []
    assert section.check({"other": 1}) == []
    assert seen == [{"on": True}]
    registry = Registry()
    registry.add_all([SiteSection("pool", {}, owner="a")])
    with pytest.raises(RegistryError, match="'pool' is claimed twice: by a and b"):
        registry.add_all([SiteSection("pool", {"type": "object"}, owner="b")])
