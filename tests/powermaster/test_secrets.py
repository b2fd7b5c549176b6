"""Keys live in secrets.yaml: bound at load, revealed only on use, named when missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowengine.errors import InvalidFlows
from flowengine.secrets import MissingSecret, reveal
from flowengine.summary import mask_secrets, summarize
from powermaster.config import load_site_config

SITE = """\
site:
  name: Test
amber:
  api_key: !secret amber_api_key
"""


def _write(tmp_path: Path, secrets: str | None) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    if secrets is not None:
        (tmp_path / "secrets.yaml").write_text(secrets)
    return path


@pytest.fixture(autouse=True)
def _amber_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in amber section, so this test does not depend on the provider's schema."""
    from powermaster import config

    schema = {"type": "object", "properties": {"api_key": {"type": "string"}}}
    monkeypatch.setitem(config.SITE_SCHEMA["properties"], "amber", schema)


def test_a_secret_is_revealed_only_on_purpose(tmp_path: Path) -> None:
    settings = load_site_config(_write(tmp_path, "amber_api_key: psk_abc123\n"))
    key = settings["amber"]["api_key"]
    assert reveal(key) == "psk_abc123"
    shown = [
        str(key),
        repr(key),
        json.dumps(settings),
        json.dumps(mask_secrets(settings)),
        repr(summarize(settings)),
    ]
    assert not any("psk_abc123" in text for text in shown)


def test_a_missing_secret_is_named_where_it_is_used(tmp_path: Path) -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(_write(tmp_path, "other: x\n"))
    text = str(caught.value)
    assert "site.yaml:4" in text and "amber_api_key" in text and "secrets.yaml" in text


def test_revealing_an_unbound_secret_says_which(tmp_path: Path) -> None:
    from flowengine.secrets import SecretRef

    with pytest.raises(MissingSecret, match="'solcast_key'"):
        reveal(SecretRef("solcast_key"))


def test_a_broken_secrets_file_is_named_but_never_quoted(tmp_path: Path) -> None:
    with pytest.raises(InvalidFlows) as caught:
        load_site_config(_write(tmp_path, "ok: 1\namber_api_key: psk_abc123: oops\n"))
    text = str(caught.value)
    assert "cannot read secrets.yaml (line 2, column " in text
    assert "psk_abc123" not in text and str(tmp_path) not in text.split(":", 1)[1]
