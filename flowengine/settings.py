"""Sections of the application's settings file that node packages own.

A package lists ``SiteSection`` objects among its ``NODE_TYPES`` (as it lists trigger
types there), each with its schema, defaults and the checks a schema cannot say.
The application's settings schema, defaults and checks are made from the registry,
so an installed package brings its settings with it and nobody assembles them by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: A check of the whole (schema-valid) settings: problems with a ``path`` and a ``message``.
SettingsCheck = Callable[[Mapping[str, Any]], list[Any]]


@dataclass(frozen=True)
class SiteSection:
    """One top-level section of the settings file (``loads:``, ``billing:``...)."""

    name: str
    schema: dict[str, Any]
    #: What the section holds when the file leaves it out (None: it is left out).
    defaults: Any = None
    check: SettingsCheck | None = None
    #: Which package declared it (for errors about two packages claiming one section).
    owner: str = ""

    @property
    def type_name(self) -> str:
        return f"section {self.name}"


def object_section(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of a mapping with these keys and no others (a site.yaml section)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def sections_from(
    schema: Mapping[str, dict[str, Any]],
    defaults: Mapping[str, Any],
    checks: Mapping[str, Callable[[Any], list[Any]]] | None = None,
    owner: str = "",
) -> list[SiteSection]:
    """Sections from a package's ``SETTINGS_SCHEMA``/``_DEFAULTS``/``_CHECKS`` mappings (a
    check there takes its own section's data)."""
    sections = []
    for name, section_schema in schema.items():
        check = (checks or {}).get(name)
        sections.append(
            SiteSection(
                name,
                section_schema,
                defaults.get(name),
                _on_section(name, check) if check else None,
                owner,
            )
        )
    return sections


def _on_section(name: str, check: Callable[[Any], list[Any]]) -> SettingsCheck:
    def run(data: Mapping[str, Any]) -> list[Any]:
        return check(data[name]) if name in data else []

    return run
