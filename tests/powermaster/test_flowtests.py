"""power-master test: the shipped flows' tests pass (CI runs them here too), and a test's
settings are the site config beside the flows with its patch over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import FLOWS_DIR
from powermaster.cli import main
from powermaster.flowtests import SettingsPatchError, merge_patch, site_settings_for


def test_every_shipped_flow_has_tests() -> None:
    flows = {p.stem for p in FLOWS_DIR.glob("*.yaml") if not p.name.endswith(".test.yaml")}
    flows -= {"site", "connections"}
    tested = {p.name.removesuffix(".test.yaml") for p in FLOWS_DIR.glob("*.test.yaml")}
    assert flows - tested == set()


def test_power_master_test_passes_on_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(FLOWS_DIR)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert not [line for line in out if line.startswith("FAIL")]
    assert out[-1].startswith(f"{sum(1 for line in out if line.startswith('PASS'))} passed, 0 ")


def test_k_and_a_failing_test_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in FLOWS_DIR.glob("*.yaml"):
        if not path.name.endswith(".test.yaml"):
            (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "errors.test.yaml").write_text(
        "tests:\n  - name: wrong\n    input: {payload: 1}\n    expect: {nodes: {log: {count: 2}}}\n"
    )
    assert main(["test", str(tmp_path), "-k", "wrong", "-v"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL errors.test.yaml: wrong (")
    assert out[1] == f"    {tmp_path}/errors.test.yaml:4: node 'log' expected 2 message(s), got 1"
    assert out[-1].startswith("0 passed, 1 failed in ")


def test_settings_are_the_site_config_with_the_patch_over_it() -> None:
    settings = site_settings_for(FLOWS_DIR, {"battery": {"max_charge_w": 2500}})
    assert settings["battery"]["max_charge_w"] == 2500
    assert settings["battery"]["capacity_kwh"] == 10.4  # from flows/site.yaml
    assert "data_dir" not in settings  # the test's engine has it (Engine(data_dir=...))
    with pytest.raises(SettingsPatchError, match="capacity_kwh"):
        site_settings_for(FLOWS_DIR, {"battery": {"capacity_kwh": -1}})


def test_merge_patch() -> None:
    patched = merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}})
    assert patched == {"a": {"c": 2, "d": 3}}


def test_the_readme_example_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Testing a flow", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    for path in FLOWS_DIR.glob("*.yaml"):
        if not path.name.endswith(".test.yaml"):
            (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "control.test.yaml").write_text(example)
    assert main(["test", str(tmp_path)]) == 0, capsys.readouterr().out


def test_a_stub_that_gives_what_the_real_node_never_would_fails_the_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "connections.yaml").write_text(
        "connections: [{id: inverter, type: foxess.modbus}]\n"
    )
    (tmp_path / "f.yaml").write_text(
        "flow: f\nnodes:\n"
        "  - {id: read, type: foxess.read, config: {connection: inverter}, wires: [log]}\n"
        "  - {id: log, type: core.log}\n"
    )
    (tmp_path / "f.test.yaml").write_text(
        "tests:\n"
        "  - name: a stub with SOC as text\n"
        "    stubs:\n"
        "      read: {output: {timestamp: 0, soc: half, pv_w: 0, load_w: 0, battery_w: 0,\n"
        "                      grid_w: 0, grid_lost: false}}\n"
        "    input: {payload: null}\n"
    )
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path}/f.test.yaml:4: node 'read' (foxess.read): its stub here gives what "
        "foxess.read never gives on 'out': soc: 'half' is not of type 'number'"
    ) in out
