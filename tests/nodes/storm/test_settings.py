"""The site config sections of the Open-Meteo, BOM and storm packages: defaults that validate."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml

from nodes import bom, open_meteo, storm

EXAMPLE = """
open_meteo:
  forecast_days: 3
  every: 1h
bom:
  location_aac: QLD_PT001
  district_aac: QLD_PW015
  area_names: [Brisbane, Brisbane City, Southeast Coast]
  warnings: [IDQ21033, IDQ21035, IDQ21037, IDQ21038]
  every: 10m
  every_active: 5m
storm:
  arm_probability: 0.7
  disarm_probability: 0.4
  reserve_soc: 0.8
  lead: 0s
"""


@pytest.mark.parametrize("package", [open_meteo, bom, storm])
def test_defaults_validate_against_the_schema(package: ModuleType) -> None:
    assert set(package.SETTINGS_SCHEMA) == set(package.SETTINGS_DEFAULTS)
    for section, schema in package.SETTINGS_SCHEMA.items():
        assert schema["additionalProperties"] is False
        assert all("description" in p for p in schema["properties"].values()), section
        jsonschema.validate(package.SETTINGS_DEFAULTS[section], schema)


def test_the_example_in_the_report_validates() -> None:
    schemas: dict[str, Any] = {
        **open_meteo.SETTINGS_SCHEMA,
        **bom.SETTINGS_SCHEMA,
        **storm.SETTINGS_SCHEMA,
    }
    for section, values in yaml.safe_load(EXAMPLE).items():
        jsonschema.validate(values, schemas[section])


def test_a_typo_is_refused() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"arm_probabilty": 0.7}, storm.SETTINGS_SCHEMA["storm"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"warnings": ["Q21033"]}, bom.SETTINGS_SCHEMA["bom"])
