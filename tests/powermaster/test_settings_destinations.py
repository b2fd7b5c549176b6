"""Secrets follow their section: a stored secret is never kept where the address beside it
(``settings.DESTINATION_KEYS``) changed, by a field, ``$yaml`` on that field, ``$yaml`` on
the mapping that holds both, or ``$yaml`` on the whole section (issue 16, failure 2)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowengine.secrets import is_secret, reveal
from flowengine.summary import is_secret_key
from flows import SITE_CONFIG
from powermaster import settings
from powermaster.config import SITE_SCHEMA

MQTT = """mqtt:
  host: broker.lan
  password: !secret mqtt_password
  tls: {ca_file: /etc/ssl/broker.pem}
"""
SECTIONS = """amber:
  api_key: !secret amber_api_key
notify:
  ntfy: {topic: !secret ntfy_topic, token: !secret ntfy_token}
  email: {host: smtp.lan, port: 587, password: !secret email_password, username: me,
          from: pm@home.lan, to: [me@home.lan]}
  webhook:
    url: !secret webhook_url
    headers: {Authorization: !secret webhook_auth}
loads:
  pool:
    adapter: shelly_gen2
    host: 192.168.1.50
    password: !secret pool_password
    power_w: 1200
    run_time: 4h
solcast:
  api_key: !secret solcast_api_key
"""
STORED = {
    "amber_api_key": "psk_AMBER",
    "mqtt_password": "MQTT_PW",
    "ntfy_topic": "NTFY_TOPIC",
    "ntfy_token": "tk_NTFY",
    "email_password": "EMAIL_PW",
    "webhook_url": "https://hooks.example/KEY",
    "webhook_auth": "Bearer WEBHOOK",
    "pool_password": "POOL_PW",
    "solcast_api_key": "SOLCAST",
}
MASK = {"secret": True, "set": True}

#: (the mapping, an address in it, a new value, the secrets it holds: typed again to allow)
MOVES: list[tuple[tuple[str, ...], str, Any, dict[str, Any]]] = [
    (("amber",), "base_url", "http://elsewhere.example/v1", {"api_key": "psk_NEW"}),
    (("mqtt",), "host", "mqtt.elsewhere.example", {"password": "NEW"}),
    (("mqtt",), "port", 8883, {"password": "NEW"}),
    (("mqtt",), "tls", {"ca_file": "/tmp/their.pem"}, {"password": "NEW"}),
    (
        ("notify", "ntfy"),
        "server",
        "https://ntfy.elsewhere.example",
        {"topic": "NEW_TOPIC", "token": "tk_NEW"},
    ),
    (("notify", "email"), "host", "smtp.elsewhere.example", {"password": "NEW"}),
    (("notify", "email"), "port", 2525, {"password": "NEW"}),
    (("notify", "email"), "security", "none", {"password": "NEW"}),
    (("notify", "email"), "ca_file", "/tmp/their.pem", {"password": "NEW"}),
    (
        ("notify", "webhook"),
        "url",
        "https://elsewhere.example/hook",
        {"url": "https://elsewhere.example/hook", "headers": {"Authorization": "Bearer NEW"}},
    ),
    (("loads", "pool"), "host", "10.9.9.9", {"password": "NEW"}),
    (("loads", "pool"), "port", 8080, {"password": "NEW"}),
    (("solcast",), "base_url", "http://elsewhere.example", {"api_key": "NEW"}),
]
ROUTES = ("field", "field $yaml", "mapping $yaml", "section $yaml")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    site = SITE_CONFIG.read_text()
    old_mqtt = site[site.index("mqtt:") : site.index("\n\n", site.index("mqtt:")) + 1]
    path = tmp_path / "site.yaml"
    path.write_text(site.replace(old_mqtt, MQTT) + SECTIONS)
    (tmp_path / "secrets.yaml").write_text("".join(f"{k}: {v}\n" for k, v in STORED.items()))
    return path


def nested(path: tuple[str, ...], value: dict[str, Any]) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


def leaves(mapping: dict[str, Any], prefix: tuple[str, ...]) -> list[str]:
    """The field names of a nested mapping's leaves."""
    found = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            found += leaves(value, (*prefix, key))
        else:
            found.append(".".join((*prefix, key)))
    return found


def edit_by(route: str, config: Path, move: tuple[Any, ...], retype: bool) -> dict[str, Any]:
    """The patch that makes ``move`` by ``route``, as the Settings form (or a script) would."""
    where, key, value, typed = move
    changes = {key: value, **(typed if retype else {})}
    if route == "field":
        return nested(where, changes)
    if route == "field $yaml":
        return nested(where, {**changes, key: {"$yaml": json.dumps(value)}})
    values = settings.view(config, {})["values"]  # every secret as a mask: kept if sent back
    top = values[where[0]]
    mapping = top
    for part in where[1:]:
        mapping = mapping[part]
    mapping.update(changes)
    if route == "mapping $yaml":
        return nested(where, {"$yaml": json.dumps(mapping)})
    return {where[0]: {"$yaml": json.dumps(top)}}


def test_the_fixture_loads_as_it_is(config: Path) -> None:
    edit = settings.prepare(config, {})
    assert edit.changed == []
    assert reveal(edit.settings["notify"]["webhook"]["url"]) == STORED["webhook_url"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("move", MOVES, ids=lambda m: ".".join((*m[0], m[1])))
def test_a_changed_address_needs_its_secrets_typed_again(
    config: Path, move: tuple[Any, ...], route: str
) -> None:
    where, key, _, typed = move
    before = config.read_bytes(), (config.parent / "secrets.yaml").read_bytes()
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, edit_by(route, config, move, retype=False))
    refused = {p.field: p.message for p in caught.value.problems}
    address = ".".join((*where, key))
    kept = [name for name in leaves(typed, where) if name != address]
    assert sorted(refused) == sorted(kept)
    assert all(f"type it again: {address} changed" in message for message in refused.values())
    assert (config.read_bytes(), (config.parent / "secrets.yaml").read_bytes()) == before

    edit = settings.prepare(config, edit_by(route, config, move, retype=True))
    assert any(name.startswith(address) for name in edit.changed)
    assert set(leaves(typed, where)) <= set(edit.changed)


def test_the_issues_attack_keeps_the_key_home(config: Path) -> None:
    """Failure 2 as the probe sent it: the whole section as YAML, the key left masked."""
    text = "api_key: {secret: true, set: true}\nbase_url: http://elsewhere.example"
    with pytest.raises(settings.InvalidSettings) as caught:
        settings.prepare(config, {"amber": {"$yaml": text}})
    assert [p.field for p in caught.value.problems] == ["amber.api_key"]


def test_secrets_with_an_unchanged_address_stay_without_retyping(config: Path) -> None:
    edit = settings.prepare(
        config,
        {
            "amber": {"$yaml": "api_key: ''\nsite_id: abc123"},
            "mqtt": {
                "host": "broker.lan",
                "keepalive_s": 30,
                "tls": {"$yaml": "{ca_file: /etc/ssl/broker.pem}"},
            },
            "notify": {"email": {"to": ["other@home.lan"], "host": "smtp.lan"}},
        },
    )
    assert edit.changed == ["amber.site_id", "mqtt.keepalive_s", "notify.email.to"]
    assert reveal(edit.settings["amber"]["api_key"]) == STORED["amber_api_key"]


def test_every_address_beside_a_secret_is_a_destination() -> None:
    """A field that looks like an address, in a mapping of the schema that holds a secret,
    is in DESTINATION_KEYS: a new section's ``api_url`` cannot slip past the rule."""
    looks_like_address = re.compile(r"url|host|server|endpoint|port|tls|security|ca_|cert|keyfile")
    missing = []
    stack: list[Any] = [SITE_SCHEMA]
    while stack:
        schema = stack.pop()
        if isinstance(schema, list):
            stack.extend(schema)
        elif isinstance(schema, dict):
            properties = schema.get("properties") or {}
            if any(is_secret_key(name) for name in properties) or "!secret" in json.dumps(
                properties
            ):
                missing += [
                    name
                    for name in properties
                    if looks_like_address.search(name) and name not in settings.DESTINATION_KEYS
                ]
            stack.extend(schema.values())
    assert missing == []


# -- the rule as an invariant over edits hypothesis makes ------------------------------

PLACES: dict[tuple[str, ...], dict[str, list[Any]]] = {
    ("amber",): {
        "base_url": ["http://elsewhere.example"],
        "api_key": [MASK, "", "NEW"],
        "site_id": ["abc"],
    },
    ("mqtt",): {
        "host": ["broker.lan", "evil.example"],
        "port": [1883, 8883],
        "tls": [{"ca_file": "/etc/ssl/broker.pem"}, {"ca_file": "/tmp/x.pem"}, True],
        "password": [MASK, "", "NEW"],
        "keepalive_s": [30],
    },
    ("notify", "ntfy"): {
        "server": ["https://ntfy.sh", "https://evil.example"],
        "topic": [MASK, "", "NEW"],
        "token": [MASK, "", "NEW"],
    },
    ("notify", "email"): {
        "host": ["smtp.lan", "evil.example"],
        "security": ["none", "tls"],
        "password": [MASK, "", "NEW"],
        "subject_prefix": ["x"],
    },
    ("notify", "webhook"): {"url": [MASK, "", "https://evil.example/x"]},
    ("notify", "webhook", "headers"): {"Authorization": [MASK, "", "Bearer NEW"]},
    ("loads", "pool"): {
        "host": ["192.168.1.50", "10.0.0.9"],
        "password": [MASK, "", "NEW"],
        "power_w": [900],
    },
}


@st.composite
def edits(draw: st.DrawFn) -> dict[str, Any]:
    """One to three mappings changed, each field by value or as ``$yaml``, or the mapping
    whole as ``$yaml`` (then what it leaves out goes: often refused by the schema)."""
    patch: dict[str, Any] = {}
    for where in draw(st.lists(st.sampled_from(sorted(PLACES)), min_size=1, max_size=3)):
        choices = PLACES[where]
        keys = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, unique=True))
        changes = {key: draw(st.sampled_from(choices[key])) for key in keys}
        if draw(st.booleans()):
            changes = {"$yaml": json.dumps(changes)}
        else:
            changes = {
                key: {"$yaml": json.dumps(value)} if draw(st.booleans()) else value
                for key, value in changes.items()
            }
        target = patch
        for part in where[:-1]:
            target = target.setdefault(part, {})
        if "$yaml" not in target:
            target.setdefault(where[-1], changes)
    return patch


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def revealed(value: Any) -> Any:
    if is_secret(value):
        return ("secret", reveal(value))
    if isinstance(value, dict):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


def secret_paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if is_secret(data):
        return [path]
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in secret_paths(value, (*path, key))]
    return []


@functools.cache
def loaded(config: Path) -> Any:
    return revealed(settings.prepare(config, {}).settings)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(patch=edits())
def test_no_accepted_edit_keeps_a_secret_beside_a_new_address(
    config: Path, patch: dict[str, Any]
) -> None:
    """Whatever the edit: refused, or each secret in force after it was typed in it or has
    every address in the mappings that hold it as it was. (prepare writes nothing, so one
    config serves every example.)"""
    before = loaded(config)
    try:
        edit = settings.prepare(config, patch)
    except settings.InvalidSettings:
        return
    after = revealed(edit.settings)
    for path in secret_paths(edit.settings):
        if ".".join(map(str, path)) in edit.changed:
            continue
        for n in range(1, len(path)):
            for key in settings.DESTINATION_KEYS:
                assert at(before, (*path[:n], key)) == at(after, (*path[:n], key)), (path, key)
