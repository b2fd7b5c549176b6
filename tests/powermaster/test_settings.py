"""Settings edited live: secrets masked, bad edits refused with nothing changed, good
ones written with the owner's comments kept and in force in the running flows."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import VirtualClock
from flowengine.secrets import reveal
from flows import SITE_CONFIG
from nodes.core.connections import SqliteDatabase
from nodes.inputs.refresh import InputNode
from nodes.replay import SITE_METER, SiteMeterConnection
from nodes.replay.providers import ReplayUsage
from powermaster import settings
from powermaster.config import SITE_SCHEMA
from powermaster.service import Options, Service

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
KEY = "psk_0123TOPSECRET"
SECRETS = f"# keep out of git\namber_api_key: {KEY}\n"
AMBER = "amber:\n  api_key: !secret amber_api_key   # from app.amber.com.au\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_CONFIG.read_text() + AMBER)
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    return path


def problems_of(caught: pytest.ExceptionInfo[settings.InvalidSettings]) -> dict[str, str]:
    return {p.field: p.message for p in caught.value.problems}


def test_the_view_masks_every_secret_and_shows_no_secret_name(config: Path) -> None:
    view = settings.view(config, {})
    assert KEY not in json.dumps(view)
    assert "amber_api_key" not in json.dumps([view["values"], view["overrides"]])  # its name
    assert view["values"]["amber"]["api_key"] == {"secret": True, "set": True}
    assert view["values"]["mqtt"]["password"] == {"secret": True, "set": False}
    assert view["schema"]["properties"]["mqtt"]["properties"]["password"]["writeOnly"] is True
    assert view["values"]["battery"]["soc_min"] == 0.10
    assert view["defaults"]["planner"]["horizon_hours"] == 48


def test_the_view_says_what_is_wrong_with_a_refused_hand_edit(config: Path) -> None:
    """The form shows the file; a hand edit the service refused is named there, not shown
    as if it were in force with no problems."""
    assert settings.view(config, {})["problems"] == []
    config.write_text(config.read_text().replace("  soc_min: 0.10", "  soc_min: 10", 1))
    (problem,) = settings.view(config, {})["problems"]
    assert "'battery.soc_min' must be at most 1, not 10" in problem["message"]
    assert problem["message"].startswith("site.yaml:")
    assert "refused: the last good settings run" in problem["message"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"battery": {"soc_min": 1.5}}, "battery.soc_min"),
        ({"battery": {"soc_min": 0.9, "soc_max": 0.5}}, "battery.soc_min"),
        ({"battery": {"capacity": 12}}, "battery.capacity"),
        ({"gird": {"max_import_w": 1}}, "gird"),
        ({"control": {"min_hold": {"$yaml": "{hold: [5m"}}}, "control.min_hold"),
        (
            {"control": {"schedule": [{"from": "25:00", "to": "09:00", "mode": "hold"}]}},
            "control.schedule.0.from",
        ),
    ],
)
def test_a_bad_edit_is_refused_at_its_field_and_nothing_is_written(
    config: Path, patch: dict[str, object], field: str
) -> None:
    before = config.read_bytes(), (config.parent / "secrets.yaml").read_bytes()
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, patch)
    assert field in problems_of(caught)
    assert (config.read_bytes(), (config.parent / "secrets.yaml").read_bytes()) == before


def test_an_edit_keeps_the_comments_and_adds_keys_in_their_section(config: Path) -> None:
    edit = settings.prepare(
        config,
        {
            "battery": {"soc_min": 0.2},
            "planner": {"horizon_hours": 24},
            "control": {
                "schedule": [
                    {"days": "weekdays", "from": "16:00", "to": "21:00", "mode": "self_use"}
                ]
            },
        },
    )
    assert edit.changed == ["battery.soc_min", "control.schedule", "planner.horizon_hours"]
    assert edit.site_text is not None and edit.secrets_text is None
    old, new = config.read_text().splitlines(), edit.site_text.splitlines()
    assert [line for line in new if line not in old] == [
        "  soc_min: 0.2           # hard floor: never commanded below this",
        "  horizon_hours: 24",
        '  schedule: [{days: weekdays, from: "16:00", to: "21:00", mode: self_use}]',
    ]
    assert [line for line in old if line not in new] == [
        "  soc_min: 0.10          # hard floor: never commanded below this"
    ]
    assert edit.settings["control"]["schedule"][0]["from"] == "16:00"  # not 960 (YAML 1.1)


def test_a_new_secret_goes_to_secrets_yaml_only(config: Path) -> None:
    edit = settings.prepare(
        config, {"mqtt": {"password": "hunter2-mqtt"}, "amber": {"api_key": "psk_NEW"}}
    )
    edit.write()
    site, secrets = config.read_text(), (config.parent / "secrets.yaml").read_text()
    assert "hunter2-mqtt" not in site and "psk_NEW" not in site
    assert "password: !secret mqtt_password" in site
    assert "api_key: !secret amber_api_key   # from app.amber.com.au" in site
    assert secrets == "# keep out of git\namber_api_key: psk_NEW\nmqtt_password: hunter2-mqtt\n"
    assert stat.S_IMODE((config.parent / "secrets.yaml").stat().st_mode) == 0o600
    assert reveal(edit.settings["mqtt"]["password"]) == "hunter2-mqtt"
    assert edit.changed == ["amber.api_key", "mqtt.password"]


def test_a_stored_secret_never_follows_an_edit_somewhere_new(config: Path) -> None:
    """Write-only means no way round: a stored key cannot be named into another field,
    nor sent to a new address without being typed again."""
    site = config.read_text()
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"mqtt": {"password": {"$yaml": "!secret amber_api_key"}}})
    assert "tags (!...) are not taken here" in problems_of(caught)["mqtt.password"]
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"amber": {"base_url": "http://attacker.example/v1"}})
    assert "type it again" in problems_of(caught)["amber.api_key"]
    assert config.read_text() == site
    moved = settings.prepare(
        config, {"amber": {"base_url": "http://proxy.lan/v1", "api_key": "psk_RETYPED"}}
    )
    assert reveal(moved.settings["amber"]["api_key"]) == "psk_RETYPED"


def test_yaml_text_that_could_explode_or_smuggle_is_refused(config: Path) -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"site": {"name": {"$yaml": bomb}}})
    assert "anchors and aliases" in problems_of(caught)["site.name"]
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"site": {"name": {"$yaml": "x" * 20_001}}})
    assert "at most 20000 characters" in problems_of(caught)["site.name"]


def test_a_mask_or_nothing_keeps_a_secret_and_null_restores_a_default(config: Path) -> None:
    edit = settings.prepare(
        config,
        {
            "amber": {"api_key": {"secret": True, "set": True}},
            "mqtt": {"password": ""},
            "battery": {"soc_min": None},
        },
    )
    assert edit.changed == ["battery.soc_min"] and edit.secrets_text is None
    assert "  soc_min:" not in (edit.site_text or "")
    assert edit.settings["battery"]["soc_min"] == 0.10


def service(config: Path, port: int) -> Service:
    options = Options(config=config, data_dir=config.parent / "data", simulator_port=port, ui=False)
    return Service(options, clock=VirtualClock(START))


async def test_a_refused_edit_leaves_the_running_service_as_it_was(
    config: Path, free_port: int
) -> None:
    site = service(config, free_port)
    await site.start()
    try:
        before, running = config.read_bytes(), json.dumps(site.settings, default=str)
        with pytest.raises(settings.InvalidSettings) as caught:
            await site.apply_settings({"battery": {"soc_min": 1.5}, "bogus": 1})
        assert set(problems_of(caught)) == {"battery.soc_min", "bogus"}
        assert config.read_bytes() == before
        assert json.dumps(site.settings, default=str) == running
        assert site.engine.started
    finally:
        await site.stop()


async def test_a_good_edit_is_written_and_in_force_without_a_restart(
    config: Path, free_port: int
) -> None:
    clock = VirtualClock(START)
    site = Service(
        Options(config=config, data_dir=config.parent / "data", simulator_port=free_port, ui=False),
        clock=clock,
    )
    await site.start()
    try:
        await clock.advance(600)
        plan = site.engine.context.get("global", "plan")
        assert plan and site.engine.flows["control"].nodes["read"].count >= 2
        settings_dict, meter = site.settings, site.engine.connections[SITE_METER]
        view = await site.apply_settings(
            {
                "planner": {"break_even_delta": 0.07},
                "control": {"min_hold": {"$yaml": "5m"}},
                "amber": {"api_key": "psk_REPLACED"},
            }
        )
        assert view["changed"] == ["amber.api_key", "control.min_hold", "planner.break_even_delta"]
        assert "psk_REPLACED" not in json.dumps(view) and KEY not in json.dumps(view)
        assert "break_even_delta: 0.07      # what selling stored energy must beat" in (
            config.read_text()
        )
        assert view["values"]["planner"]["break_even_delta"] == 0.07
        assert view["overrides"] == {"inverter.port": free_port}
        assert view["overridden_by"] == {
            "inverter.port": f"the simulator (run without --inverter, port {free_port})"
        }
        # in place: the engine's and every node's settings are the service's dict
        assert site.settings is settings_dict and site.engine.settings is settings_dict
        control = site.engine.flows["control"]
        assert control.nodes["read"].node.ctx.settings["planner"]["break_even_delta"] == 0.07
        assert site.settings["control"]["min_hold"] == "5m"
        assert reveal(site.settings["amber"]["api_key"]) == "psk_REPLACED"
        # what this process adds is kept: the simulator's port in the settings; the data
        # dir and the simulated meter are the engine's, not settings
        assert site.settings["inverter"]["port"] == free_port
        assert site.engine.connections[SITE_METER] is meter
        assert site.engine.data_dir == config.parent / "data"
        assert site.engine.context.get("global", "plan")["created_at"] >= plan["created_at"]
        await clock.advance(600)  # the control flow ticks again on the new settings
        assert control is site.engine.flows["control"] and control.nodes["read"].count >= 2
        ticks = site.engine.traces.recent("control", 3)
        assert all(run["outcome"] == "ok" for run in ticks)
        assert site.health()["status"] == "ok"
    finally:
        await site.stop()


async def test_the_settings_are_the_site_config_alone(config: Path, free_port: int) -> None:
    """Every node's settings are the site config's sections and nothing else: the data
    directory is the engine's (``ctx.data_dir``), and the simulated meter reaches the
    usage provider as the ``site_meter`` connection the service provides."""
    site = service(config, free_port)
    await site.start()
    try:
        usage = site.engine.flows["settle"].nodes["usage"].node
        ctx = usage.ctx
        assert set(ctx.settings) <= set(SITE_SCHEMA["properties"])
        assert "site_meter" not in ctx.settings and "data_dir" not in ctx.settings
        assert ctx.data_dir == config.parent / "data"
        meter = ctx.connection(SITE_METER)
        assert isinstance(meter, SiteMeterConnection) and meter.meter is not None
        assert isinstance(usage, InputNode) and isinstance(usage.provider, ReplayUsage)
        assert usage.provider.meter is meter.meter
        # the site database is where it always was, in the data directory
        site_db = site.engine.connections["site_db"]
        assert isinstance(site_db, SqliteDatabase)
        assert site_db.path == config.parent / "data" / "site.db"
    finally:
        await site.stop()


def test_an_unknown_source_is_refused_before_anything_restarts(config: Path) -> None:
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"sources": {"prices": "anything"}})
    assert (
        "must be one of amber, none, sample, tariff, not 'anything'"
        in (problems_of(caught)["sources.prices"])
    )


def test_the_view_names_the_command_line_option_a_running_value_comes_from(
    config: Path,
) -> None:
    """``--inverter`` wins over the file's host and port: the form says so beside them, so an
    edit there is not taken for one in force."""
    data = config.parent / "data"
    site = Service(
        Options(
            config=config,
            data_dir=data,
            ui=False,
            inverter="192.0.2.10:8899",
            shadow=True,
            mqtt="10.0.0.2:1883",
        )
    )
    view = site.settings_view()
    assert view["overrides"]["inverter.host"] == "192.0.2.10"
    assert view["overridden_by"] == {
        "inverter.host": "--inverter 192.0.2.10:8899",
        "inverter.port": "--inverter 192.0.2.10:8899",
        "control.mode": "--shadow",
        "mqtt.host": "--mqtt 10.0.0.2:1883",
    }  # mqtt.port is the file's own 1883: nothing to say
    serial = Service(Options(config=config, data_dir=data, ui=False, inverter="/dev/ttyUSB0"))
    by = serial.settings_view()["overridden_by"]
    assert by == {"inverter.transport": "--inverter /dev/ttyUSB0"}
