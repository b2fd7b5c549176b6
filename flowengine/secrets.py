"""Secrets (API keys, passwords) kept out of config files, traces, logs and the UI.

Config files say ``api_key: !secret amber_api_key``; the value lives in a
``secrets.yaml`` beside them (Home Assistant's convention), which is never
shown anywhere. ``attach_secrets`` binds each reference to its value once, at
load; a node calls ``reveal`` at the moment it needs the real string.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowengine.yamlsource import SecretRef, parse_file

JsonPath = tuple[str | int, ...]


class MissingSecret(LookupError):
    """A ``!secret`` whose name has no value."""


def load_secrets(path: Path) -> dict[str, str]:
    """The name -> value mapping in ``path`` (empty when the file does not exist).

    Read with the one YAML loader (size, encoding and alias limits); its errors name a
    line and a reason, never the text of the line (the line is a secret)."""
    if not path.exists():
        return {}
    data = parse_file(path).data or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of secret names to values")
    return {str(name): str(value) for name, value in data.items()}


def attach_secrets(data: Any, secrets: Mapping[str, str], path: JsonPath = ()) -> list[JsonPath]:
    """Bind every SecretRef in ``data`` to its value; the paths of those with none."""
    missing: list[JsonPath] = []
    if isinstance(data, SecretRef):
        name = str.__str__(data)
        if name in secrets:
            data._value = secrets[name]
        else:
            missing.append(path)
    elif isinstance(data, dict):
        for key, value in data.items():
            missing += attach_secrets(value, secrets, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            missing += attach_secrets(value, secrets, (*path, index))
    return missing


def reveal(value: Any) -> str:
    """The real string behind a config value: a secret's value, or the plain value itself."""
    if isinstance(value, SecretRef):
        if value._value is None:
            raise MissingSecret(f"secret {str.__str__(value)!r} has no value in secrets.yaml")
        return value._value
    return str(value)


def is_secret(value: Any) -> bool:
    return isinstance(value, SecretRef)


__all__ = ["MissingSecret", "SecretRef", "attach_secrets", "is_secret", "load_secrets", "reveal"]
