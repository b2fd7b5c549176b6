"""The site config: its schema, defaults, and loading with located errors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flowengine.errors import InvalidFlows, Problem
from flowengine.registry import default_registry
from flowengine.schema import DURATION
from flowengine.secrets import attach_secrets, load_secrets
from flowengine.settings import object_section
from flowengine.validate import schema_problems
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_file
from nodes.inputs.catalog import PROVIDERS

#: The sections installed node packages own (loads:, billing:, amber:, mqtt:...), each
#: with its schema, defaults and checks: declared by the package, not listed here.
PACKAGE_SECTIONS = default_registry().sections
#: The order sections are shown in (the Settings page, the schema); others follow by name.
SECTION_ORDER = ("site", "battery", "grid", "inverter", "planner", "control", "sources",
                 "inputs", "simulator", "health", "mqtt", "metrics")  # fmt: skip


def _in_order(sections: dict[str, Any]) -> dict[str, Any]:
    first = [name for name in SECTION_ORDER if name in sections]
    return {name: sections[name] for name in [*first, *(n for n in sections if n not in first)]}

#: Where ``!secret name`` values live: beside the site config, never shown anywhere.
SECRETS_FILE = "secrets.yaml"

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


_section = object_section


def _source(kind: str, what: str) -> dict[str, Any]:
    """``sources.<kind>``: one of the providers installed for it, or none."""
    names = sorted({p.name for p in PROVIDERS if p.kind == kind} | {"none"})
    return {"enum": names, "description": f"where {what} come from: {', '.join(names)}"}


SITE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Power Master site config",
    "type": "object",
    "properties": _in_order({
        "site": _section(
            {
                "name": {"type": "string"},
                "timezone": {"type": "string"},
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            }
        ),
        "battery": _section(
            {
                "capacity_kwh": POSITIVE,
                "max_charge_w": WATTS,
                "max_discharge_w": WATTS,
                "charge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "discharge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "soc_min": FRACTION,
                "soc_max": FRACTION,
                "max_temp_c": {"type": "number"},
                "min_temp_c": {"type": "number"},
            }
        ),
        "grid": _section({"max_import_w": WATTS, "max_export_w": WATTS}),
        "sources": _section(
            {
                "prices": _source("prices", "import and feed-in prices"),
                "pv": _source("pv", "the PV forecast"),
                "weather": _source("weather", "the weather forecast"),
                "storm": _source("storm", "storm warnings"),
                "usage": _source(
                    "usage", "the retailer's metered usage the ledger settles against "
                    "(sample: the simulated site's meter)"),
            }
        ),
        "inputs": _section(
            {
                "stale_after": _section(
                    {"prices": DURATION, "pv": DURATION, "weather": DURATION, "storm": DURATION,
                     "usage": DURATION}
                )
            }
        ),
        "simulator": _section({"soc_initial": FRACTION}),
        "metrics": {
            **_section({"token": {"description": "the bearer token Prometheus scrapes /metrics "
                                  "with: write !secret metrics_token"}}),
            "description": "Prometheus's access to /metrics",
        },
        **{name: section.schema for name, section in PACKAGE_SECTIONS.items()},
    }),
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = _in_order({
    "site": {
        "name": "Power Master site",
        "timezone": "Australia/Brisbane",
        "latitude": -27.47,
        "longitude": 153.03,
    },
    "battery": {
        "capacity_kwh": 10.4,
        "max_charge_w": 5000,
        "max_discharge_w": 5000,
        "charge_efficiency": 0.95,
        "discharge_efficiency": 0.95,
        "soc_min": 0.10,
        "soc_max": 1.0,
        "max_temp_c": 50,
        "min_temp_c": 0,
    },
    "grid": {"max_import_w": 15000, "max_export_w": 5000},
    "sources": {
        "prices": "sample", "pv": "sample", "weather": "none", "storm": "none", "usage": "sample"},
    "inputs": {"stale_after": {
        "prices": "45m", "pv": "8h", "weather": "6h", "storm": "1h", "usage": "3d"}},
    "simulator": {"soc_initial": 0.5},
    "metrics": {},
    **{
        name: copy.deepcopy(section.defaults)
        for name, section in PACKAGE_SECTIONS.items()
        if section.defaults is not None
    },
})


def load_site_config(path: Path) -> dict[str, Any]:
    """Read, validate and fill in defaults; raises ``InvalidFlows`` with located problems."""
    try:
        doc = parse_file(path)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    return load_site_config_doc(doc, path)


def load_site_config_doc(doc: SourceDoc, path: Path) -> dict[str, Any]:
    """A parsed site config, checked as if it were the file at ``path`` (its secrets are
    those beside ``path``) and filled in; raises ``InvalidFlows`` with located problems."""
    problems = check_site_config(doc, path.parent / SECRETS_FILE)
    if problems:
        raise InvalidFlows(problems)
    return merge_defaults(doc.data)


def check_site_config(
    doc: SourceDoc, secrets_file: Path, new_secrets: Mapping[str, str] | None = None
) -> list[Problem]:
    """Every problem with a parsed site config (schema, consistency, secrets), each made by
    ``doc.problem``; binds its ``!secret`` values (``new_secrets`` over the file's)."""
    data = doc.data if doc.data is not None else {}
    doc.data = data
    problems = schema_problems(doc, SITE_SCHEMA)
    if not problems:
        problems = _check_consistency(doc, data)
    if not problems:
        problems = _attach_secrets(doc, data, secrets_file, new_secrets or {})
    return problems


def _attach_secrets(
    doc: Any, data: dict[str, Any], secrets_file: Path, new_secrets: Mapping[str, str]
) -> list[Problem]:
    """Bind ``!secret`` values from the secrets file beside the config; name the missing."""
    try:
        secrets = {**load_secrets(secrets_file), **new_secrets}
    except YamlSyntaxError as exc:  # its message names a line and a reason, never the text
        problem = exc.problem
        return [doc.problem((), f"cannot read {secrets_file.name} (line {problem.line}, "
                                f"column {problem.column}): {problem.message}")]  # fmt: skip
    except (OSError, ValueError, yaml.YAMLError) as exc:
        # Never the parser's own message: it quotes the line, and the line is a secret.
        where = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = "" if where is None else f" (line {where + 1})"
        return [doc.problem((), f"cannot read {secrets_file.name}{at}: {type(exc).__name__}")]
    return [
        doc.problem(where, f"secret {data_at(data, where)!s} is not defined in {secrets_file.name}")
        for where in attach_secrets(data, secrets)
    ]


def data_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def merge_defaults(data: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULTS)
    for section, values in data.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _check_consistency(doc: Any, data: dict[str, Any]) -> list[Problem]:
    problems = [
        doc.problem(tuple(problem.path), problem.message)
        for section in PACKAGE_SECTIONS.values()
        if section.check is not None
        for problem in section.check(data)
    ]
    return problems or _check_battery(doc, data)


def _check_battery(doc: Any, data: dict[str, Any]) -> list[Problem]:
    battery = {**DEFAULTS["battery"], **data.get("battery", {})}
    if battery["soc_min"] >= battery["soc_max"]:
        return [
            doc.problem(
                ("battery", "soc_min"),
                f"battery soc_min ({battery['soc_min']}) must be below "
                f"soc_max ({battery['soc_max']})",
            )
        ]
    return []
