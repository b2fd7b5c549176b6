"""The connections a device-driving node reaches its devices through: the shared HTTP
session its ``http`` option names (else one of its own), and the MQTT connection its
``mqtt`` option names. Asked for only when a device needs one; a missing or closed one
is a ``LookupError`` saying which, so only that device's load is unavailable.

``loads.manage`` and ``flexible.control`` both drive devices this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from flowengine.node import NodeContext
from nodes.loads.mqtt_switch import MqttClient


class DeviceLinks:
    def __init__(self, ctx: NodeContext, config: Mapping[str, Any], what: str) -> None:
        self._ctx = ctx
        self._config = config
        self._what = what  # "an mqtt load", "an mqtt charger": for the missing-option message
        self._own_session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        name = self._config.get("http")
        if name:
            session = self._connection(name).session
            if session is None:
                raise LookupError(f"HTTP connection '{name}' is not open")
            return session  # type: ignore[no-any-return]
        if self._own_session is None:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    def mqtt(self) -> MqttClient:
        name = self._config.get("mqtt")
        if not name:
            raise LookupError(f"{self._what} needs the node's mqtt option (a connection id)")
        connection = self._connection(name)
        client = (
            connection if hasattr(connection, "publish") else getattr(connection, "client", None)
        )
        if client is None:
            raise LookupError(f"MQTT connection '{name}' is not open (or not an MQTT connection)")
        return client  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Close the session of its own, if it made one."""
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None

    def _connection(self, name: str) -> Any:
        try:
            return self._ctx.connection(name)
        except KeyError:
            raise LookupError(f"no connection named {name!r} in the flows") from None
