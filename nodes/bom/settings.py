"""The ``bom`` section of site.yaml: where to fetch, which products, which area is ours."""

from __future__ import annotations

from typing import Any

from flowengine.schema import DURATION
from nodes.bom.areas import DEFAULT_AREA_NAMES, DEFAULT_DISTRICT_AAC, DEFAULT_LOCATION_AAC

PRODUCT_ID = {"type": "string", "pattern": r"^ID[A-Z]\d{5}$"}

DEFAULTS: dict[str, Any] = {
    "host": "ftp.bom.gov.au",
    "port": 21,
    "directory": "/anon/gen/fwo",
    # Queensland warning products (protocols.md 5.2); what each is about is read from its content.
    "warnings": ["IDQ21033", "IDQ21035", "IDQ21037", "IDQ21038"],
    "warning_format": "xml",
    "precis": "IDQ11295",
    "location_aac": DEFAULT_LOCATION_AAC,
    "district_aac": DEFAULT_DISTRICT_AAC,
    "area_names": list(DEFAULT_AREA_NAMES),
    "every": "10m",
    "every_active": "5m",
    "precis_every": "1h",
    "timeout_s": 20.0,
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Bureau of Meteorology warnings and précis, fetched over anonymous FTP.",
    "properties": {
        "host": {"type": "string", "description": "FTP host (ftp.bom.gov.au)"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "FTP port"},
        "directory": {"type": "string", "description": "where the products are (/anon/gen/fwo)"},
        "warnings": {
            "type": "array",
            "items": PRODUCT_ID,
            "description": "warning product IDs to watch; what each is about is read from "
            "its content, not its ID",
        },
        "warning_format": {
            "enum": ["xml", "cap"],
            "description": "fetch <ID>.xml (BOM's own layout) or <ID>.cap.xml (CAP 1.2)",
        },
        "precis": {**PRODUCT_ID, "description": "the précis (town forecasts) product"},
        "location_aac": {"type": "string", "description": "our town in the précis (QLD_PT001)"},
        "district_aac": {"type": "string", "description": "our forecast district (QLD_PW015)"},
        "area_names": {
            "type": "array",
            "items": {"type": "string"},
            "description": "names of our council area, town and district as warnings list them",
        },
        "every": {**DURATION, "description": "fetch this often (10m)"},
        "every_active": {
            **DURATION,
            "description": "fetch this often while a warning for our area is in force (5m)",
        },
        "precis_every": {**DURATION, "description": "re-download the précis this often (1h)"},
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "seconds to wait for the FTP server",
        },
    },
    "additionalProperties": False,
}
