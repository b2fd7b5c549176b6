"""The power-master command: validate, nodes, schema, graph, run's options."""

from __future__ import annotations

import argparse
import dataclasses
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from flowengine import VirtualClock
from flows import FLOWS_DIR, SITE_CONFIG
from powermaster.cli import _parser, main, run_options
from powermaster.datadir import default_data_dir
from powermaster.service import Options, Service


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
    for name in (
        "foxess.read",
        "foxess.command",
        "planning.plan",
        "control.hierarchy",
        "inputs.prices",
        "amber.prices",
        "forecast.aggregate",
        "core.context_set",
    ):
        assert f"\n{name}\n" in f"\n{out}"
    assert "config connection (required)" in out


def test_run_shadow_asks_for_shadow_mode_over_the_site_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built: list[Options] = []

    class Stop(Exception):
        pass

    def service(options: Options) -> None:
        built.append(options)
        raise Stop

    monkeypatch.setattr("powermaster.cli.Service", service)
    with pytest.raises(Stop):
        main(["run", "--shadow", "--data-dir", str(tmp_path)])
    with pytest.raises(Stop):
        main(["run", "--data-dir", str(tmp_path)])
    assert [options.shadow for options in built] == [True, False]


def test_every_option_of_every_command_shows_its_default() -> None:
    commands = next(
        a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    assert {"run", "set-password", "simulate", "backtest", "test", "graph"} <= set(commands)
    for name, command in commands.items():
        text = " ".join(command.format_help().split())
        for action in command._actions:
            if not action.option_strings or action.required or action.dest == "help":
                continue
            help = " ".join(command._get_formatter()._expand_help(action).split())
            assert "(default: " in help and "(default: None)" not in help, (name, help)
            assert help in text, (name, help)
    run = " ".join(commands["run"].format_help().split())
    assert f"(default: {default_data_dir()})" in run and "(default: 8080)" in run


def test_the_default_data_dir_is_the_platforms_state_dir_outside_the_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "power-master"
    assert _parser().parse_args(["run"]).data_dir == tmp_path / "power-master"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_data_dir() == Path.home() / ".local" / "state" / "power-master"
    assert FLOWS_DIR.parent not in default_data_dir().parents


async def test_the_demo_runs_on_and_edits_its_copy_in_the_data_dir(
    tmp_path: Path, free_port: int
) -> None:
    shipped = SITE_CONFIG.read_bytes()
    data = tmp_path / "data"
    args = _parser().parse_args(
        ["run", "--data-dir", str(data), "--simulator-port", str(free_port)]
    )
    options = dataclasses.replace(run_options(args), ui=False, watch=False)
    assert options.config == data / "site.yaml" and options.config.read_bytes() == shipped
    start = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
    site = Service(options, clock=VirtualClock(start))
    await site.start()
    try:
        await site.apply_settings({"battery": {"soc_min": 0.15}})
    finally:
        await site.stop()
    assert SITE_CONFIG.read_bytes() == shipped
    assert "soc_min: 0.15" in options.config.read_text()
    again = run_options(args)  # a restart runs on the copy as edited
    assert again.config == options.config and "soc_min: 0.15" in again.config.read_text()


def test_a_users_own_config_and_flows_copy_are_used_in_place(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    args = _parser().parse_args(["run", "--config", str(mine), "--data-dir", str(tmp_path / "d")])
    assert run_options(args).config == mine
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "site.yaml").write_text(SITE_CONFIG.read_text())
    args = _parser().parse_args(["run", "--flows", str(flows), "--data-dir", str(tmp_path / "d")])
    assert run_options(args).config == flows / "site.yaml"
    assert not (tmp_path / "d").exists()


def test_simulate_on_a_port_in_use_says_so_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["simulate", "--port", str(port)]) == 2
    said = capsys.readouterr().err
    assert f"cannot listen on tcp 127.0.0.1:{port}" in said and "Give another with --port" in said
    assert "Traceback" not in said
