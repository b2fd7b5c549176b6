"""The power-master command: validate, nodes, schema, graph, run's options."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from flows import FLOWS_DIR
from powermaster.cli import main
from powermaster.service import Options


def test_the_shipped_flows_and_site_config_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FLOWS_DIR)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_broken_flow_and_a_broken_site_config_are_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "bad.yaml"
    flow.write_text("flow: bad\nnodes:\n  - id: a\n    type: foxess.raed\n")
    site = tmp_path / "my-site.yaml"
    site.write_text("battery:\n  capacity_kwh: -3\n")
    assert main(["validate", str(flow), str(site)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{site}:2:17: 'battery.capacity_kwh' must be more than 0, not -3",
        f"{flow}:4:11: node type 'foxess.raed' is unknown; did you mean 'foxess.read'?",
    ]


def test_schema_is_a_valid_json_schema_that_accepts_the_shipped_flows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import yaml

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in FLOWS_DIR.glob("*.yaml"):
        if path.name != "site.yaml" and not path.name.endswith(".test.yaml"):
            assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    assert "foxess.read" in schema["properties"]["nodes"]["items"]["properties"]["type"]["enum"]


def test_graph_mermaid_and_dot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "control", "--format", "mermaid"]) == 0
    mermaid = capsys.readouterr().out
    assert mermaid.startswith("flowchart LR\n")
    assert "    read --> decide" in mermaid
    assert main(["graph", "control", "--format", "dot"]) == 0
    assert '"live_or_shadow" -> "command" [label="otherwise"];' in capsys.readouterr().out


def test_nodes_lists_every_type_with_its_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nodes"]) == 0
    out = capsys.readouterr().out
    for name in ("foxess.read", "foxess.command", "planning.plan", "control.hierarchy",
                 "inputs.prices", "amber.prices", "forecast.aggregate", "core.context_set"):
        assert f"\n{name}\n" in f"\n{out}"
    assert "config connection (required)" in out


def test_run_shadow_asks_for_shadow_mode_over_the_site_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Options] = []

    class Stop(Exception):
        pass

    def service(options: Options) -> None:
        built.append(options)
        raise Stop

    monkeypatch.setattr("powermaster.cli.Service", service)
    with pytest.raises(Stop):
        main(["run", "--shadow"])
    with pytest.raises(Stop):
        main(["run"])
    assert [options.shadow for options in built] == [True, False]
