"""Our MQTT topics, and the controllable loads with the ids their topics use.

One place builds every topic so discovery, states and commands cannot drift
apart (the layout table is in this package's ``__init__``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nodes.homeassistant.settings import HomeAssistantSettings, SettingsError, check_object_id

ON, OFF = "ON", "OFF"
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True, slots=True)
class Load:
    """A controllable load: its key in settings ``loads``, its id in topics, its name in HA."""

    key: str
    object_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str
    discovery_prefix: str
    device_id: str

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Topics:
        ha = HomeAssistantSettings.from_settings(settings)
        return cls(ha.topic_prefix, ha.discovery_prefix, ha.device_id)

    @property
    def status(self) -> str:
        """Ours: ``online`` / ``offline`` (retained; the last will says ``offline``)."""
        return f"{self.prefix}/status"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def discovery(self) -> str:
        return f"{self.discovery_prefix}/device/{self.device_id}/config"

    @property
    def ha_status(self) -> str:
        """HA's birth and last will: on ``online``, publish discovery and states again."""
        return f"{self.discovery_prefix}/status"

    @property
    def override_mode_set(self) -> str:
        return f"{self.prefix}/override/mode/set"

    @property
    def override_mode_state(self) -> str:
        return f"{self.prefix}/override/mode/state"

    @property
    def reserve_soc_set(self) -> str:
        return f"{self.prefix}/config/reserve_soc/set"

    @property
    def reserve_soc_state(self) -> str:
        return f"{self.prefix}/config/reserve_soc/state"

    @property
    def target_soc_set(self) -> str:
        return f"{self.prefix}/target/soc/set"

    @property
    def target_soc_state(self) -> str:
        return f"{self.prefix}/target/soc/state"

    @property
    def target_by_set(self) -> str:
        return f"{self.prefix}/target/by/set"

    @property
    def target_by_state(self) -> str:
        return f"{self.prefix}/target/by/state"

    @property
    def target_hard_set(self) -> str:
        return f"{self.prefix}/target/hard/set"

    @property
    def target_hard_state(self) -> str:
        return f"{self.prefix}/target/hard/state"

    @property
    def target_set(self) -> str:
        return f"{self.prefix}/target/active/set"

    @property
    def target_state(self) -> str:
        return f"{self.prefix}/target/active/state"

    def flexible_state(self, load_id: str) -> str:
        """A flexible load's JSON (power, setpoint, energies, deadline...), like ``state``."""
        return f"{self.prefix}/flexible/{load_id}/state"

    def flexible_target_set(self, load_id: str, unit: str) -> str:
        """Its one-off target's amount: ``unit`` is ``soc`` (%) or ``energy`` (kWh)."""
        return f"{self.prefix}/flexible/{load_id}/target/{unit}/set"

    def flexible_target_state(self, load_id: str, unit: str) -> str:
        return f"{self.prefix}/flexible/{load_id}/target/{unit}/state"

    def flexible_by_set(self, load_id: str) -> str:
        return f"{self.prefix}/flexible/{load_id}/target/by/set"

    def flexible_by_state(self, load_id: str) -> str:
        return f"{self.prefix}/flexible/{load_id}/target/by/state"

    def flexible_active_set(self, load_id: str) -> str:
        return f"{self.prefix}/flexible/{load_id}/target/active/set"

    def flexible_active_state(self, load_id: str) -> str:
        return f"{self.prefix}/flexible/{load_id}/target/active/state"

    def load_set(self, load: Load) -> str:
        return f"{self.prefix}/load/{load.object_id}/set"

    def load_state(self, load: Load) -> str:
        return f"{self.prefix}/load/{load.object_id}/state"

    def command_topics(
        self, loads: Iterable[Load], flexible: Iterable[tuple[str, str]] = ()
    ) -> list[str]:
        """Every topic HA sends commands on: subscribe to these (not to a wildcard).
        ``flexible``: each flexible load's id and its target's unit (``soc``, ``energy``)."""
        return [
            self.override_mode_set,
            self.reserve_soc_set,
            self.target_soc_set,
            self.target_by_set,
            self.target_hard_set,
            self.target_set,
            *(self.load_set(load) for load in loads),
            *(
                topic
                for load_id, unit in flexible
                for topic in (
                    self.flexible_target_set(load_id, unit),
                    self.flexible_by_set(load_id),
                    self.flexible_active_set(load_id),
                )
            ),
        ]


def object_id(text: str) -> str:
    """``text`` as an id HA accepts, changed only where it must be: a load id from
    settings (``pool_pump``, ``Pool-Pump``) stays as it is; ``"Pool pump #2"``
    becomes ``"Pool_pump_2"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9_-]+", "_", ascii_text).strip("_")


def loads_from(loads: Mapping[str, Any] | Iterable[str] | None) -> list[Load]:
    """The loads in settings ``loads`` (key -> {name, ...}) or a list of names, sorted by id.

    Two loads whose ids come out the same, or a name with nothing usable in it, is
    an error naming them: an id must stay put, since HA keys the entity on it.
    """
    if loads is None:
        return []
    if isinstance(loads, str):
        raise SettingsError(f"loads must be a mapping or a list of names, not {loads!r}")
    entries: list[tuple[str, str]] = []
    if isinstance(loads, Mapping):
        for key, spec in loads.items():
            name = spec.get("name") if isinstance(spec, Mapping) else None
            entries.append((str(key), str(name or key)))
    else:
        entries = [(str(name), str(name)) for name in loads]
    found: dict[str, Load] = {}
    for key, name in entries:
        made = object_id(key)
        if not made:
            raise SettingsError(f"loads.{key}: has no letters or digits to make an id from")
        check_object_id(made, f"loads.{key}")
        if made in found:
            raise SettingsError(
                f"loads.{key} and loads.{found[made].key} both make the id {made!r}: rename one"
            )
        found[made] = Load(key, made, name)
    return [found[made] for made in sorted(found)]
