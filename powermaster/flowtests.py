"""Power Master's harness for flow tests (``power-master test``, docs/flow-tests.md).

A test runs on the site config beside its flows (``site.yaml``, or the defaults
without one) with the test's ``settings`` merged over it (a JSON merge patch:
a value replaces, a mapping merges, ``null`` removes) and checked as loading
checks it; its data directory is a temporary one. Only the SQLite files there
are opened for real: the inverter, HTTP and MQTT stay offline.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowengine import default_registry
from flowengine.flowtest import Harness
from flowengine.registry import Registry
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_file
from powermaster.config import SECRETS_FILE, check_site_config, merge_defaults
from powermaster.service import NOT_FLOW_FILES

SITE_FILE = "site.yaml"
LOCAL_CONNECTIONS = frozenset({"core.sqlite"})


class SettingsPatchError(ValueError):
    """A test's settings patch makes a site config that does not load."""


def harness(registry: Registry | None = None) -> Harness:
    return Harness(
        registry=registry or default_registry(),
        settings=site_settings_for,
        timezone=lambda settings: str(settings["site"]["timezone"]),
        local_connections=LOCAL_CONNECTIONS,
        exclude=NOT_FLOW_FILES,
    )


def site_settings_for(flows_dir: Path, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The site config beside the flows with ``patch`` over it, as the service runs it."""
    site = flows_dir / SITE_FILE
    try:
        base = parse_file(site).data if site.exists() else {}
    except YamlSyntaxError as exc:
        raise SettingsPatchError(str(exc.problem)) from None
    doc = SourceDoc(f"{SITE_FILE} with the test's settings", merge_patch(base or {}, patch))
    problems = check_site_config(doc, flows_dir / SECRETS_FILE)
    if problems:
        raise SettingsPatchError("; ".join(p.message for p in problems))
    return merge_defaults(doc.data)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: ``patch`` over ``target`` (neither is changed)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    merged = dict(copy.deepcopy(target)) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
