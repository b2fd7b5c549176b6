"""The shared MQTT connection (paho-mqtt) that MQTT nodes, triggers and Home Assistant use.

paho runs its network loop in its own thread and reconnects by itself with a
growing delay; every callback is handed to the asyncio loop, so handlers run
where the engine runs. After each (re)connect the connection subscribes again
to every filter it was asked for (a broker restart forgets them), publishes
``online`` retained on ``<prefix>/status`` and calls the ``on_connect``
listeners (Home Assistant re-announces there). The last will publishes
``offline`` retained on the same topic, so HA marks every entity unavailable
when the service dies.

Keys missing from the flow's config come from the site config's ``mqtt``
section; with no host anywhere the connection stays off (publishing is a no-op)
and the rest of the service runs as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from flowengine.clock import Clock
from flowengine.node import Connection
from flowengine.secrets import reveal

log = logging.getLogger("power_master.mqtt")

Handler = Callable[..., Awaitable[None] | None]  # (topic, payload[, retained])
ConnectListener = Callable[[], Awaitable[None] | None]

DEFAULTS: dict[str, Any] = {
    "host": "",
    "port": 1883,
    "username": "",
    "password": "",
    "tls": False,
    "client_id": "",
    "keepalive_s": 60,
    "prefix": "power_master",
    "reconnect_min_s": 1,
    "reconnect_max_s": 60,
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "the MQTT broker (Mosquitto, Home Assistant's add-on...)",
    "properties": {
        "host": {"type": "string", "description": "empty: no MQTT"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "username": {"type": "string"},
        "password": {"description": "write !secret mqtt_password"},
        "tls": {
            "description": "true, or {ca_file, certfile, keyfile, insecure}",
            "anyOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "properties": {
                        "ca_file": {"type": "string"},
                        "certfile": {"type": "string"},
                        "keyfile": {"type": "string"},
                        "insecure": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            ],
        },
        "client_id": {"type": "string"},
        "keepalive_s": {"type": "integer", "minimum": 5, "maximum": 3600},
        "prefix": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_\-/]+$",
            "description": "base of every topic Power Master publishes (docs/mqtt.md)",
        },
        "reconnect_min_s": {"type": "number", "minimum": 0.1},
        "reconnect_max_s": {"type": "number", "minimum": 1},
    },
    "additionalProperties": False,
}


@dataclass
class _Subscription:
    topic_filter: str
    handler: Handler
    qos: int
    with_retain: bool = False


class MqttBroker(Connection):
    """One MQTT client session shared by every MQTT node and trigger of the service."""

    type_name = "mqtt.broker"
    description = "An MQTT broker session: reconnects, re-subscribes, last-will availability."
    config_schema: ClassVar[dict[str, Any]] = SETTINGS_SCHEMA

    def __init__(
        self, connection_id: str, config: dict[str, Any], clock: Clock, settings: Mapping[str, Any]
    ) -> None:
        super().__init__(connection_id, config, clock, settings)
        self._subscriptions: list[_Subscription] = []
        self._listeners: list[ConnectListener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None
        self._connected = False
        self.connects = 0  # how many times a session came up (tests, /metrics)

    # -- configuration --

    def option(self, key: str) -> Any:
        """The connection config, else the site's ``mqtt`` section, else the default."""
        if key in self.config:
            return self.config[key]
        return (self.settings.get("mqtt") or {}).get(key, DEFAULTS[key])

    @property
    def enabled(self) -> bool:
        return bool(self.option("host"))

    @property
    def prefix(self) -> str:
        return str(self.option("prefix")).rstrip("/")

    @property
    def status_topic(self) -> str:
        return f"{self.prefix}/status"

    @property
    def connected(self) -> bool:
        return self._connected

    # -- lifecycle --

    async def open(self) -> None:
        if not self.enabled:
            log.info("mqtt: no host configured, MQTT is off")
            return
        self._loop = asyncio.get_running_loop()
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.option("client_id") or f"power-master-{self.connection_id}",
            clean_session=True,
        )
        username = self.option("username")
        if username:
            client.username_pw_set(username, _reveal(self.option("password")) or None)
        self._configure_tls(client)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(
            min_delay=max(1, round(self.option("reconnect_min_s"))),
            max_delay=max(1, round(self.option("reconnect_max_s"))),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        # connect_async + loop_start: paho keeps retrying (with its backoff) while the
        # broker is down, and never blocks the service's start.
        client.connect_async(
            self.option("host"), int(self.option("port")), keepalive=int(self.option("keepalive_s"))
        )
        client.loop_start()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        was_connected, self._connected = self._connected, False  # no "reconnecting" line
        if was_connected:
            # A clean goodbye: the last will only fires when the link breaks.
            info = client.publish(self.status_topic, "offline", qos=1, retain=True)
            await asyncio.to_thread(info.wait_for_publish, 2.0)
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    def _configure_tls(self, client: paho.Client) -> None:
        tls = self.option("tls")
        if not tls:
            return
        options = tls if isinstance(tls, dict) else {}
        client.tls_set(
            ca_certs=options.get("ca_file"),
            certfile=options.get("certfile"),
            keyfile=options.get("keyfile"),
            cert_reqs=ssl.CERT_NONE if options.get("insecure") else ssl.CERT_REQUIRED,
        )
        if options.get("insecure"):
            client.tls_insecure_set(True)

    # -- publishing and subscribing --

    async def publish(self, topic: str, payload: Any, qos: int = 0, retain: bool = False) -> bool:
        """Publish now if connected (QoS 1/2 are also queued by paho while the link is
        down); dicts and lists go as JSON. False when MQTT is off or the link is down."""
        client = self._client
        if client is None:
            return False
        result = client.publish(topic, encode(payload), qos=qos, retain=retain)
        return result.rc == paho.MQTT_ERR_SUCCESS

    def subscribe(
        self, topic_filter: str, handler: Handler, qos: int = 0, *, with_retain: bool = False
    ) -> Callable[[], None]:
        """Call ``handler(topic, payload)`` in the event loop for each message on the filter
        (``+`` and ``#`` wildcards), now and after every reconnect; with ``with_retain``,
        ``handler(topic, payload, retained)`` (a command must not act on a stale retained
        message). Returns the unsubscribe."""
        paho.topic_matches_sub(topic_filter, "x")  # raises ValueError on a malformed filter
        subscription = _Subscription(topic_filter, handler, qos, with_retain)
        self._subscriptions.append(subscription)
        if self._client is not None and self._connected:
            self._client.subscribe(topic_filter, qos)

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
            still_wanted = any(s.topic_filter == topic_filter for s in self._subscriptions)
            if self._client is not None and self._connected and not still_wanted:
                self._client.unsubscribe(topic_filter)

        return unsubscribe

    def on_connect(self, listener: ConnectListener) -> Callable[[], None]:
        """Call ``listener`` after every (re)connect, and now if connected already."""
        self._listeners.append(listener)
        if self._connected and self._loop is not None:
            self._loop.call_soon(self._run, listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- paho callbacks (paho's thread) --

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Any = None,
    ) -> None:
        if reason.is_failure:
            log.warning("mqtt: broker refused the connection: %s", reason)
            return
        self._connected = True
        self.connects += 1
        log.info("mqtt: connected to %s:%s", self.option("host"), self.option("port"))
        for topic_filter in dict.fromkeys(s.topic_filter for s in self._subscriptions):
            qos = max(s.qos for s in self._subscriptions if s.topic_filter == topic_filter)
            client.subscribe(topic_filter, qos)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        if self._loop is not None:
            for listener in list(self._listeners):
                self._loop.call_soon_threadsafe(self._run, listener)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: Any,
        reason: ReasonCode,
        properties: Any = None,
    ) -> None:
        if self._connected:
            log.warning("mqtt: disconnected (%s); reconnecting", reason)
        self._connected = False

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if self._loop is None:
            return
        topic, payload, retained = message.topic, bytes(message.payload), bool(message.retain)
        for subscription in list(self._subscriptions):
            if paho.topic_matches_sub(subscription.topic_filter, topic):
                args = (topic, payload, retained) if subscription.with_retain else (topic, payload)
                self._loop.call_soon_threadsafe(self._run, subscription.handler, *args)

    # -- the event loop side --

    def _run(self, callback: Callable[..., Awaitable[None] | None], *args: Any) -> None:
        """Run a handler in the loop; a coroutine becomes a task; a failure is logged."""
        try:
            result = callback(*args)
        except Exception:
            log.exception("mqtt: handler for %s failed", args[0] if args else "connect")
            return
        if asyncio.iscoroutine(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(_log_failure)


def encode(payload: Any) -> bytes:
    """What goes on the wire: bytes as they are, text as UTF-8, data as JSON."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    if payload is None:
        return b""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def decode(payload: bytes) -> Any:
    """A message's payload as data when it is JSON, else as text (``on``, ``21.5`` -> 21.5)."""
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _reveal(value: Any) -> str:
    return reveal(value) if value else ""


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("mqtt: handler failed", exc_info=task.exception())
