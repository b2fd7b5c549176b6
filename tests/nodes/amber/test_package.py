"""What nodes.amber gives the rest of Power Master: its providers, node types and settings."""

from __future__ import annotations

import jsonschema
import pytest

import nodes.amber
from nodes.amber import NODE_TYPES, PROVIDERS, SETTINGS_DEFAULTS, SETTINGS_SCHEMA


def test_exports() -> None:
    assert [(p.kind, p.name, p.settings_key) for p in PROVIDERS] == [
        ("prices", "amber", "amber"),
        ("usage", "amber", "amber"),
    ]
    assert [n.type_name for n in NODE_TYPES] == [
        "amber.prices",
        "amber.usage",
        "section amber",
    ]  # and its site.yaml section
    assert set(nodes.amber.__all__) >= {
        "PROVIDERS",
        "NODE_TYPES",
        "SETTINGS_SCHEMA",
        "SETTINGS_DEFAULTS",
    }


def test_the_settings_schema_takes_the_defaults_and_a_real_section() -> None:
    schema = SETTINGS_SCHEMA["amber"]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(SETTINGS_DEFAULTS["amber"])) == []
    section = {"api_key": "psk_x", "site_id": "01J", "resolution": 5, "every": "2m"}
    assert list(validator.iter_errors(section)) == []
    assert all("description" in p for p in schema["properties"].values())


@pytest.mark.parametrize(
    "section",
    [{"resolution": 15}, {"next": -1}, {"every": "soon"}, {"apikey": "x"}, {"usage_days": 91}],
)
def test_the_settings_schema_refuses_mistakes(section: dict[str, object]) -> None:
    validator = jsonschema.Draft202012Validator(SETTINGS_SCHEMA["amber"])
    assert list(validator.iter_errors(section)) != []
