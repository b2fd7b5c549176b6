"""Editor support: the shipped flow files name schemas that a YAML language server uses
to complete and check them, the schemas and the node reference are current, and the
schema flags the mistakes people make."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from flowengine import default_registry
from flows import FLOWS_DIR
from powermaster.cli import main
from powermaster.editor import FLOW_SCHEMA_FILE, SITE_SCHEMA_FILE, render, schemas
from powermaster.nodedocs import node_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"
SHIPPED = sorted(p for p in FLOWS_DIR.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((FLOWS_DIR / name).read_text()))


def test_the_shipped_schemas_and_node_reference_are_current() -> None:
    for name, schema in schemas().items():
        assert (FLOWS_DIR / name).read_text() == render(schema), (
            f"flows/{name} is stale: run power-master schema --write flows"
        )
    assert (DOCS / "nodes.md").read_text() == node_reference(default_registry()), (
        "docs/nodes.md is stale: run power-master nodes --markdown > docs/nodes.md"
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_file_names_its_schema_and_passes_it(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    wanted = SITE_SCHEMA_FILE if path.name == "site.yaml" else FLOW_SCHEMA_FILE
    assert first == f"# yaml-language-server: $schema=./{wanted}"
    errors = list(validator(wanted).iter_errors(yaml.safe_load(path.read_text())))
    assert errors == []


def flow_with(node: dict[str, Any], trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "flow": "mine",
        "triggers": [trigger or {"type": "interval", "every": "5m"}],
        "nodes": [node],
    }


@pytest.mark.parametrize(
    ("doc", "complaint"),
    [
        (flow_with({"id": "a", "type": "core.sett"}), "is not one of"),
        (
            flow_with(
                {"id": "a", "type": "ledger.post", "config": {"connection": "db", "gap": "15m"}}
            ),
            "Additional properties are not allowed ('gap' was unexpected)",
        ),
        (flow_with({"id": "a", "type": "core.log"}, {"type": "cron"}), "'cron' is a required"),
        (
            flow_with(
                {"id": "a", "type": "core.log"},
                {"type": "mqtt", "topic": "x/#", "connection": "mqtt"},
            ),
            None,
        ),
        ({"flow": "mine", "nodez": []}, "Additional properties"),
    ],
)
def test_the_schema_flags_mistakes_as_an_editor_would(
    doc: dict[str, Any], complaint: str | None
) -> None:
    errors = [e.message for e in validator(FLOW_SCHEMA_FILE).iter_errors(doc)]
    if complaint is None:
        assert errors == []  # a package's own trigger type (mqtt) is known too
    else:
        assert any(complaint in e for e in errors), errors


def test_schema_write_puts_both_files_in_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--write", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [FLOW_SCHEMA_FILE, SITE_SCHEMA_FILE]
    assert "wrote" in capsys.readouterr().out


def test_nodes_markdown_lists_every_type_with_its_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["nodes", "--markdown"]) == 0
    text = capsys.readouterr().out
    for name in default_registry().nodes:
        assert f"#### `{name}`" in text
    assert "| `gap_after` |" in text and "### `mqtt`" in text
