"""Shelly relays on 127.0.0.1 that answer as the devices do (protocols §6.2-§6.4).

``FakeShellyGen1`` serves ``/shelly``, ``/relay/<ch>`` and ``/meter/<ch>`` with
HTTP Basic auth when it has a password. ``FakeShellyGen2`` serves full JSON-RPC
frames on ``POST /rpc`` and, with a password, checks RFC 7616 Digest auth the
way the device does: a 401 challenge (realm = the device id, qop=auth,
algorithm=SHA-256, a fresh nonce), then the client's response hash recomputed
from the password, the nonce, nc, cnonce, the method and the URI. Both record
every request, and can be told to hang, answer garbage, or keep their relay
where it is whatever they are told (a stuck contactor).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GEN2_ID = "shellyplus1pm-a8032ab1c2d3"
_PAIR = re.compile(r'(\w+)=("([^"]*)"|[^,\s]*)')
GEN1_POWER_W = 1834.2  # §6.2's example meter reading
GEN2_POWER_W = 1841.6  # §6.3's example status


@dataclass
class Relay:
    on: bool = False
    timer_s: float = 0.0  # the auto-flip-back asked with the last turn-on (0: none)
    stuck: bool = False  # ignores commands (a welded contactor, a device in another mode)

    def turn(self, on: bool, timer_s: float) -> bool:
        was_on = self.on
        if not self.stuck:
            self.on = on
            self.timer_s = timer_s if on else 0.0
        return was_on

    def fire_timer(self) -> None:
        """The device's own safety: a relay on with a timer flips back off."""
        if self.on and self.timer_s:
            self.on, self.timer_s = False, 0.0


@dataclass
class Behaviour:
    hang: bool = False  # accept the request and never answer (until stopped)
    garbage: str | None = None  # answer 200 with this body instead
    status: int | None = None  # answer with this HTTP status (and a short text)


class _Server:
    def __init__(self, port: int) -> None:
        self.port = port
        self.host = "127.0.0.1"
        self.relays: dict[int, Relay] = {0: Relay(), 1: Relay()}
        self.behaviour = Behaviour()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def misbehave(self) -> web.Response | None:
        if self.behaviour.hang:
            await self._release.wait()
        if self.behaviour.garbage is not None:
            return web.Response(text=self.behaviour.garbage, content_type="text/html")
        if self.behaviour.status is not None:
            return web.Response(status=self.behaviour.status, text="Internal Server Error")
        return None


class FakeShellyGen1(_Server):
    """A Shelly 1PM (Gen1): §6.2's endpoints and payloads; no meter when ``metered`` is off."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        metered: bool = True,
    ) -> None:
        super().__init__(port)
        self.username, self.password, self.metered = username, password, metered
        self.requests: list[tuple[str, dict[str, str]]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/shelly", self._shelly)
        app.router.add_get("/relay/{channel}", self._relay)
        app.router.add_get("/meter/{channel}", self._meter)

    async def _shelly(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "type": "SHSW-PM",
                "mac": "A8032AB1C2D3",
                "auth": self.password is not None,
                "fw": "20230913-114008",
            }
        )

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.password is None:
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") == f"Basic {token}":
            return None
        return web.Response(
            status=401,
            text="401 Unauthorized",
            headers={"WWW-Authenticate": 'Basic realm="SHSW-PM#A8032AB1C2D3"'},
        )

    async def _relay(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        refused = self._refused(request) or await self.misbehave()
        if refused is not None:
            return refused
        relay = self.relays[int(request.match_info["channel"])]
        turn = request.query.get("turn")
        if turn in ("on", "off", "toggle"):
            on = not relay.on if turn == "toggle" else turn == "on"
            relay.turn(on, float(request.query.get("timer", 0)))
        timer = relay.timer_s if relay.on else 0
        return web.json_response(
            {
                "ison": relay.on,
                "has_timer": bool(timer),
                "timer_started": 1768453200 if timer else 0,
                "timer_duration": timer,
                "timer_remaining": timer,
                "overpower": False,
                "source": "http",
            }
        )

    async def _meter(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query)))
        refused = self._refused(request) or await self.misbehave()
        if refused is not None:
            return refused
        if not self.metered:
            return web.Response(status=404, text="Not Found")
        relay = self.relays[int(request.match_info["channel"])]
        return web.json_response(
            {
                "power": GEN1_POWER_W if relay.on else 0.0,
                "is_valid": True,
                "overpower": 0,
                "timestamp": 1768453200,
                "counters": [30.5, 30.1, 29.9],
                "total": 512340,
            }
        )


@dataclass
class DigestCheck:
    """What the server found in one Authorization header."""

    ok: bool
    why: str = ""
    fields: dict[str, str] = field(default_factory=dict)


class FakeShellyGen2(_Server):
    """A Shelly Plus 1PM: JSON-RPC frames on POST /rpc (§6.3), Digest SHA-256 auth (§6.4)."""

    def __init__(self, port: int, password: str | None = None, device_id: str = GEN2_ID) -> None:
        super().__init__(port)
        self.password = password
        self.device_id = device_id
        self.frames: list[dict[str, Any]] = []  # every frame that got past auth
        self.challenges = 0
        self.digests: list[DigestCheck] = []
        self.error_next: dict[str, Any] | None = None  # answer the next frame with this error
        self.wrong_id = False  # echo another frame id (a confused device or proxy)
        self._nonces: dict[str, int] = {}  # nonce -> highest nc seen
        self.delay_s = 0.0
        self.in_flight = 0
        self.most_in_flight = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/shelly", self._shelly)
        app.router.add_post("/rpc", self._rpc)

    async def _shelly(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "name": None,
                "id": self.device_id,
                "mac": "A8032AB1C2D3",
                "model": "SNSW-001P16EU",
                "gen": 2,
                "fw_id": "20231107-164738",
                "ver": "1.1.0",
                "app": "Plus1PM",
                "auth_en": bool(self.password),
                "auth_domain": self.device_id if self.password else None,
            }
        )

    async def _rpc(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)  # a slow device: lets requests overlap
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        if self.password is not None:
            header = request.headers.get("Authorization")
            if header is None:
                return self._challenge()
            check = self.check_digest(header, request.method, request.path_qs)
            self.digests.append(check)
            if not check.ok:
                return self._challenge()
        misbehaving = await self.misbehave()
        if misbehaving is not None:
            return misbehaving
        frame = await request.json()
        self.frames.append(frame)
        answer: dict[str, Any] = {"id": frame.get("id"), "src": self.device_id}
        if self.wrong_id:
            answer["id"] = (frame.get("id") or 0) + 1000
        if self.error_next is not None:
            answer["error"], self.error_next = self.error_next, None
        else:
            answer.update(self._call(frame.get("method"), frame.get("params") or {}))
        return web.json_response(answer)

    def _call(self, method: Any, params: dict[str, Any]) -> dict[str, Any]:
        relay = self.relays.get(params.get("id", 0))
        if relay is None:
            return {
                "error": {
                    "code": -105,
                    "message": f"Argument 'id', value {params['id']} not found!",
                }
            }
        if method == "Switch.Set":
            if "on" not in params:
                return {"error": {"code": -103, "message": "Missing required argument 'on'!"}}
            was_on = relay.turn(bool(params["on"]), float(params.get("toggle_after", 0)))
            return {"result": {"was_on": was_on}}
        if method == "Switch.GetStatus":
            status: dict[str, Any] = {
                "id": params.get("id", 0),
                "source": "WS_in",
                "output": relay.on,
                "apower": GEN2_POWER_W if relay.on else 0.0,
                "voltage": 241.3,
                "current": 7.72 if relay.on else 0.0,
                "freq": 50.0,
                "aenergy": {
                    "total": 48215.312,
                    "by_minute": [30611.2, 30587.0, 30640.9],
                    "minute_ts": 1768453260,
                },
                "temperature": {"tC": 47.9, "tF": 118.2},
            }
            if relay.on and relay.timer_s:
                status.update(timer_started_at=1768453200.0, timer_duration=relay.timer_s)
            return {"result": status}
        return {"error": {"code": 404, "message": f"No handler for {method}"}}

    def _challenge(self) -> web.Response:
        self.challenges += 1
        nonce = secrets.token_hex(8)
        self._nonces[nonce] = 0
        header = f'Digest qop="auth", realm="{self.device_id}", nonce="{nonce}", algorithm=SHA-256'
        return web.json_response(
            {"code": 401, "message": "Unauthorized"},
            status=401,
            headers={"WWW-Authenticate": header},
        )

    def check_digest(self, header: str, method: str, uri: str) -> DigestCheck:
        """Recompute RFC 7616's response for ``header`` from the password, as the device does."""
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return DigestCheck(False, f"scheme {scheme!r}")
        fields = _pairs(rest)
        expected = {
            "username": "admin",
            "realm": self.device_id,
            "uri": uri,
            "qop": "auth",
            "algorithm": "SHA-256",
        }
        for key, value in expected.items():
            if fields.get(key) != value:
                return DigestCheck(False, f"{key} {fields.get(key)!r} != {value!r}", fields)
        nonce, nc_text, cnonce = fields.get("nonce", ""), fields.get("nc", ""), fields.get("cnonce")
        if nonce not in self._nonces:
            return DigestCheck(False, "nonce we never issued", fields)
        if not cnonce:
            return DigestCheck(False, "no cnonce", fields)
        nc = int(nc_text, 16)
        if nc <= self._nonces[nonce]:
            return DigestCheck(False, f"nc {nc_text} replayed", fields)
        assert self.password is not None
        ha1 = _sha256(f"admin:{self.device_id}:{self.password}")
        ha2 = _sha256(f"{method}:{uri}")
        response = _sha256(f"{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}")
        if fields.get("response") != response:
            return DigestCheck(False, "response hash does not match the password", fields)
        self._nonces[nonce] = nc
        return DigestCheck(True, "", fields)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pairs(text: str) -> dict[str, str]:
    """``a="x, y", b=z`` as a dict (quoted values may hold commas)."""
    return {m[1]: m[3] if m[2].startswith('"') else m[2] for m in _PAIR.finditer(text)}
