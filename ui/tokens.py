"""API tokens: what a script sends as ``Authorization: Bearer <token>`` instead of signing in.

A token is ``pm_`` and 32 random bytes (URL-safe base64), shown once when it is made.
Only its SHA-256 is kept, in ``<data dir>/ui-tokens`` beside the password file
(JSON, written atomically, mode 0600): a 256-bit random token needs no slow hash, and
a copy of the file opens nothing. A token is checked against every stored hash in
constant time. It opens ``/api/*`` only (``ui.security``): no page, not ``/password``
and not ``/api/tokens``, where tokens are made and revoked from a signed-in session
with its CSRF token. A password change leaves tokens alone; a revoke ends one at once.

When a token was last used is kept exactly in memory but written at most once per
``TOUCH_S``: a script calling every minute must not rewrite the SD card every minute.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from flowengine.atomic import write_atomic
from ui.limits import read_json

log = logging.getLogger("power_master.ui")

TOKENS_FILE = "ui-tokens"
TOKEN_PREFIX = "pm_"
MAX_TOKENS = 50
MAX_NAME = 64
#: A last use (of a token or a session) is written to disk at most this often.
TOUCH_S = 600.0


class TokenError(ValueError):
    """A token that cannot be made; the message says why, ``status`` how to answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ApiToken:
    id: str
    name: str
    sha256: str  # hex digest of the token; the token itself is never kept
    created: float
    last_used: float | None = None
    written: float | None = field(default=None, repr=False)  # last_used as last written

    def view(self) -> dict[str, Any]:
        """What the owner sees of it: never the token, nor its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "last_used": self.last_used,
        }


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: Any) -> str:
    """The name, trimmed, if it may be a token's; else ``TokenError`` saying why."""
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise TokenError("give the token a name (what uses it: Home Assistant, a script)")
    if len(text) > MAX_NAME:
        raise TokenError(f"a name has at most {MAX_NAME} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in text):
        raise TokenError("a name cannot hold control characters")
    return text


@dataclass
class ApiTokens:
    """The tokens, in memory and (with a ``data_dir``) in its ``ui-tokens`` file."""

    data_dir: Path | None = None
    clock: Callable[[], float] = time.time
    _tokens: list[ApiToken] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.data_dir is not None:
            self._tokens = _read(Path(self.data_dir) / TOKENS_FILE)

    def listed(self) -> list[dict[str, Any]]:
        return [token.view() for token in self._tokens]

    def create(self, name: Any) -> tuple[ApiToken, str]:
        """A new token and its text, the only time the text is known."""
        name = check_name(name)
        if len(self._tokens) >= MAX_TOKENS:
            raise TokenError(f"at most {MAX_TOKENS} tokens: revoke one first", status=409)
        text = TOKEN_PREFIX + secrets.token_urlsafe(32)
        ident = secrets.token_hex(4)
        while any(token.id == ident for token in self._tokens):
            ident = secrets.token_hex(4)
        token = ApiToken(ident, name, digest(text), self.clock())
        self._tokens.append(token)
        try:
            self._save()
        except OSError:  # never shown, so it must not open anything either
            self._tokens.remove(token)
            raise
        log.info("API token %r (%s) made", name, ident)
        return token, text

    def revoke(self, ident: str) -> ApiToken | None:
        """Forget the token ``ident`` (it opens nothing from now on); None if unknown."""
        found = next((token for token in self._tokens if token.id == ident), None)
        if found is not None:
            self._tokens.remove(found)
            self._save()
            log.info("API token %r (%s) revoked", found.name, found.id)
        return found

    def check(self, text: str) -> ApiToken | None:
        """The token ``text`` is, else None: compared with every hash in constant time."""
        wanted = bytes.fromhex(digest(text))
        found = None
        for token in self._tokens:
            if hmac.compare_digest(bytes.fromhex(token.sha256), wanted):
                found = token
        if found is not None:
            found.last_used = now = self.clock()
            if found.written is None or now - found.written >= TOUCH_S:
                self._save(quietly=True)
        return found

    def _save(self, quietly: bool = False) -> None:
        """Write the file; ``quietly`` logs a failure instead (a last-use time only)."""
        if self.data_dir is None:
            return
        record = {
            "version": 1,
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "sha256": t.sha256,
                    "created": t.created,
                    "last_used": t.last_used,
                }
                for t in self._tokens
            ],
        }
        try:
            write_atomic(Path(self.data_dir) / TOKENS_FILE, json.dumps(record, indent=1))
        except OSError:
            if not quietly:
                raise
            log.exception("the API token file could not be written")
            return
        for token in self._tokens:
            token.written = token.last_used


def _read(path: Path) -> list[ApiToken]:
    """The tokens in ``path``; none if it is missing, and none (logged) if it is broken:
    a token that cannot be checked opens nothing, and the service still starts."""
    try:
        record = json.loads(path.read_text())
        tokens = [
            ApiToken(
                str(t["id"]),
                str(t["name"]),
                str(t["sha256"]),
                float(t["created"]),
                None if t.get("last_used") is None else float(t["last_used"]),
            )
            for t in record["tokens"]
        ]
        for token in tokens:
            bytes.fromhex(token.sha256)
            token.written = token.last_used
    except FileNotFoundError:
        return []
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.error(
            "%s: not an API token file (%s): no API token opens anything until one "
            "is made in Settings, which rewrites it",
            path,
            exc,
        )
        return []
    return tokens


def routes(tokens: ApiTokens) -> list[BaseRoute]:
    """``/api/tokens``: list (GET) and make (POST ``{"name": ...}``), and ``DELETE
    /api/tokens/{id}`` to revoke. Reached only from a signed-in session (``ui.security``
    refuses a bearer token here), whose CSRF token every write carries."""

    def refused(message: str, status: int = 422) -> Response:
        problems = [{"field": "name", "message": message}]
        return JSONResponse({"error": "token refused", "problems": problems}, status_code=status)

    async def listing(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            return JSONResponse({"tokens": tokens.listed()})
        try:
            body = await read_json(request, empty={})
        except ValueError:
            body = None
        if not isinstance(body, dict) or set(body) - {"name"}:
            return refused('the body must be a JSON object like {"name": "Home Assistant"}')
        try:
            token, text = tokens.create(body.get("name"))
        except TokenError as exc:
            return refused(str(exc), exc.status)
        return JSONResponse({**token.view(), "token": text}, status_code=201)

    async def revoke(request: Request) -> Response:
        found = tokens.revoke(request.path_params["token_id"])
        if found is None:
            return JSONResponse({"error": "no such token"}, status_code=404)
        return JSONResponse({"revoked": found.view()})

    return [
        Route("/api/tokens", listing, methods=["GET", "POST"]),
        Route("/api/tokens/{token_id}", revoke, methods=["DELETE"]),
    ]
