"""deploy/power-master.service: the unit the README installs on a Raspberry Pi."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from powermaster.cli import _parser, main
from ui.server import ServerLimits

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "power-master.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text())
    return parser


def test_it_runs_the_service_as_its_own_user_from_the_standard_places() -> None:
    service = unit()["Service"]
    assert service["User"] == service["Group"] == "power-master"
    command = shlex.split(service["ExecStart"])
    assert command[0] == "/opt/power-master/venv/bin/power-master"
    assert command[-1] == "$POWER_MASTER_OPTS"  # from power-master.env: the inverter
    assert service["EnvironmentFile"] == "-/etc/power-master/power-master.env"
    opts = ["--inverter", "192.0.2.10:502", "--mqtt", "192.0.2.20:1883"]
    args = _parser().parse_args(command[1:-1] + opts)  # the CLI takes exactly these
    assert args.func.__name__ == "_run"
    assert str(args.config) == "/etc/power-master/site.yaml"
    assert str(args.data_dir) == "/var/lib/power-master"
    assert args.host == "0.0.0.0"
    assert args.inverter == "192.0.2.10:502"
    assert service["StateDirectory"] == service["ConfigurationDirectory"] == "power-master"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_it_restarts_logs_to_the_journal_and_stops_cleanly() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartSec"]
    assert service["StandardOutput"] == service["StandardError"] == "journal"
    assert service["KillSignal"] == "SIGTERM"
    # the inverter is handed back on SIGTERM: Modbus through a gateway takes seconds
    assert int(service["TimeoutStopSec"].removesuffix("s")) >= 30


def test_a_site_config_refused_on_a_first_start_is_not_restarted_in_a_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_bytes(b"\xff\xfe not a site config")
    status = main(["run", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    assert f"{config}:1:1: not UTF-8 text" in capsys.readouterr().err
    assert str(status) in unit()["Service"]["RestartPreventExitStatus"].split()


def test_it_may_write_only_its_own_directories() -> None:
    service = unit()["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["ReadWritePaths"].split() == ["/var/lib/power-master", "/etc/power-master"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_finds_nothing_wrong(tmp_path: Path) -> None:
    """``systemd-analyze verify``, the program swapped for one that is here."""
    text = UNIT.read_text().replace("/opt/power-master/venv/bin/power-master", "/bin/true")
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


def test_its_memory_and_file_limits_are_set_from_measured_figures() -> None:
    """Issue 16: MemoryMax over twice the peak measured under hostile requests (the unit's
    comment says it), LimitNOFILE well over the web server's connection cap."""
    service = unit()["Service"]
    measured = re.search(r"measured peak (\d+) MB", UNIT.read_text())
    assert measured, "the unit says the measured peak MemoryMax is set from"
    memory_max = int(service["MemoryMax"].removesuffix("M"))
    assert 2 * int(measured[1]) <= memory_max <= 512  # room, yet a leak is stopped on a Pi
    assert int(service["LimitNOFILE"]) >= 10 * ServerLimits().max_connections
