"""Schemas for editors: what makes VS Code (and any YAML language server) complete node
types and config keys in flow files and the site config, and flag mistakes as you type.

Each shipped YAML file starts with a ``# yaml-language-server: $schema=./...`` comment
naming a schema file beside it; ``power-master schema --write DIR`` (re)writes those
files for a flows folder, so a copy of flows/ carries its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowengine import default_registry
from flowengine.atomic import write_atomic
from flowengine.schema import editor_schema
from powermaster.config import SITE_SCHEMA

FLOW_SCHEMA_FILE = "flow.schema.json"
SITE_SCHEMA_FILE = "site.schema.json"


def schema_comment(file_name: str) -> str:
    """The first line a YAML file needs for a language server to use ``file_name``."""
    return f"# yaml-language-server: $schema=./{file_name}"


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for this installation's node packages."""
    return {FLOW_SCHEMA_FILE: editor_schema(default_registry()), SITE_SCHEMA_FILE: SITE_SCHEMA}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write both schema files into ``directory``; the paths written."""
    written = []
    for name, schema in schemas().items():
        path = Path(directory) / name
        write_atomic(path, render(schema))
        written.append(path)
    return written
