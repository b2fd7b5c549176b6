"""Site config sections come from the packages that own them, through the registry."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine import Registry, default_registry
from flowengine.registry import RegistryError
from flowengine.settings import SiteSection, sections_from
from powermaster.config import DEFAULTS, SITE_SCHEMA


def test_every_installed_packages_sections_are_in_the_site_schema_with_defaults() -> None:
    sections = default_registry().sections
    assert {"amber", "billing", "loads", "mqtt", "notify", "homeassistant", "tariff"} <= set(
        sections
    )
    for name, section in sections.items():
        assert SITE_SCHEMA["properties"][name] == section.schema
        if section.defaults is not None:
            assert DEFAULTS[name] == section.defaults
    assert "tariff" not in DEFAULTS  # a section without defaults stays out until written


def test_a_section_check_sees_its_own_section_and_two_owners_are_refused() -> None:
    seen: list[Any] = []
    (section,) = sections_from(
        {"pool": {"type": "object"}}, {"pool": {}}, {"pool": lambda data: seen.append(data) or []}
    )
    assert section.check is not None
    assert section.check({"pool": {"on": True}, "other": 1}) == []
    assert section.check({"other": 1}) == []
    assert seen == [{"on": True}]
    registry = Registry()
    registry.add_all([SiteSection("pool", {}, owner="a")])
    with pytest.raises(RegistryError, match="'pool' is claimed twice: by a and b"):
        registry.add_all([SiteSection("pool", {"type": "object"}, owner="b")])
