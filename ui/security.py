"""The door in front of every page and API: sign-in, CSRF, same origin.

``RequireLogin`` is plain ASGI middleware around the whole app. Without a live
session a page redirects to ``/login`` and an API answers 401; every write
(POST, PUT, PATCH, DELETE) must carry the session's CSRF token, in the
``X-CSRF-Token`` header (the pages' ``fetch`` calls) or a ``csrf_token`` form
field (the pages' forms), and may not come from another origin. A session
signed in with the one-time password is sent to ``/password`` by every page
until the owner sets one, and counts as signed out on the open routes. Only the
sign-in page, the static files and ``/api/health`` (for monitoring) are open;
``/metrics`` checks a bearer token of its own (``ui.metrics``).

Without a session, ``Authorization: Bearer <API token>`` (``ui.tokens``) opens the
other ``/api/*`` routes, writes included, with no CSRF token: a browser never sends
that header to another site's request by itself, so a forged request cannot carry
it. It opens no page, not ``/password`` and not ``/api/tokens`` (a stolen token must
not make more), and those are refused unchecked. A wrong token is 401 and counts as
a wrong password; while sign-ins wait, so do bearer tries (429, ``Retry-After``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response

from ui.auth import Auth, Session

COOKIE = "pm_session"
HEALTH_PATH = "/api/health"
OPEN_PATHS = ("/login", HEALTH_PATH, "/metrics")  # /metrics checks its own token
OPEN_PREFIXES = ("/static/", "/api/webhook/")  # a webhook's id is its key
#: Methods that only read; every other method is a write and needs the CSRF token.
READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: A form body bigger than this is refused before it is read whole.
MAX_FORM_BYTES = 64 * 1024
#: What a one-time-password session may still reach before it sets a password.
SETTING_UP = ("/password", "/logout")
#: Where tokens are made and revoked: a signed-in session only, never a token.
TOKENS_PATH = "/api/tokens"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def by_token(scope: Scope) -> bool:
    """Whether this request came with a valid API token (and no session)."""
    return scope.get("state", {}).get("token") is True


def session_of(scope: Scope) -> Session | None:
    """The session the middleware found for this request (None: signed out)."""
    found = scope.get("state", {}).get("session")
    return found if isinstance(found, Session) else None


class RequireLogin:
    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies = cookie_parser(headers.get("cookie", ""))
        session = self.auth.session(cookies.get(COOKIE))
        path, method = scope["path"], scope["method"]
        # /api/health is open, but a token opens its checks as it opens every /api/* route.
        checked = not _open(path) or path == HEALTH_PATH
        bearer = _bearer(headers) if session is None and checked else None
        if bearer is not None:
            client = scope.get("client")
            refusal = self._bearer_refusal(
                path, method, headers, bearer, client[0] if client else ""
            )
            if refusal is not None:
                await refusal(scope, receive, send)
            else:  # no CSRF token to check: see above
                scope.setdefault("state", {})["token"] = True
                await self.app(scope, receive, send)
            return
        # Past the set-password page a one-time-password session is a stranger to the
        # handlers: the open routes (/metrics, /api/health) give it no more than anyone.
        scope.setdefault("state", {})["session"] = (
            None
            if session is not None and session.must_set_password and path not in SETTING_UP
            else session
        )
        refusal = self._refusal(path, method, headers, session)
        writes = method not in READS
        if refusal is None and writes and session is not None and not _open(path):
            refusal, receive = await self._check_csrf(scope, receive, headers, session)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(
        self, path: str, method: str, headers: Headers, session: Session | None
    ) -> Response | None:
        if method not in READS and not _same_origin(headers):
            return _refuse(403, "a write from another site is refused")
        if _open(path):
            return None
        if session is None:
            if path.startswith("/api/") or method != "GET":
                return _refuse(401, "sign in first (POST /login)")
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        if session.must_set_password and path not in SETTING_UP:
            # Signed in with the printed one-time password: nothing but setting one's own.
            if path.startswith("/api/") or method != "GET":
                return _refuse(403, "set your own password first (/password)")
            return RedirectResponse("/password", status_code=303)
        return None

    def _bearer_refusal(
        self, path: str, method: str, headers: Headers, token: str, address: str
    ) -> Response | None:
        """Why a request with ``token`` and no session is refused, or None to serve it."""
        if method not in READS and not _same_origin(headers):
            return _refuse(403, "a write from another site is refused")
        if not path.startswith("/api/"):
            return _refuse(403, "an API token opens /api/* only: pages need a sign-in")
        if path == TOKENS_PATH or path.startswith(TOKENS_PATH + "/"):
            return _refuse(403, "API tokens are made and revoked in Settings, signed in")
        wait = self.auth.wait_for(address)
        if wait:  # refused unchecked, as a sign-in is while guessing goes on
            refusal = _refuse(429, "too many wrong passwords or tokens: try again later")
            refusal.headers["Retry-After"] = str(math.ceil(wait))
            return refusal
        if self.auth.bearer(token, address) is None:
            refusal = _refuse(401, "wrong or revoked API token")
            refusal.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return refusal
        return None

    async def _check_csrf(
        self, scope: Scope, receive: Receive, headers: Headers, session: Session
    ) -> tuple[Response | None, Receive]:
        token = headers.get("x-csrf-token")
        if token is None and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                return _refuse(413, "form too large"), receive
            fields = parse_qs(body.decode("latin-1")).get("csrf_token")
            token = fields[0] if fields else None
            receive = _replay(body, receive)
        if not self.auth.check_csrf(session, token):
            return _refuse(403, "missing or wrong CSRF token (X-CSRF-Token)"), receive
        return None, receive


class SecurityHeaders:
    """Every response: nothing loaded from elsewhere (``policy``), no framing, no
    sniffing, no referrer sent to other sites."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _bearer(headers: Headers) -> str | None:
    """The token of ``Authorization: Bearer <token>``, else None."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _same_origin(headers: Headers) -> bool:
    """No ``Origin`` (curl, a script) or one naming this host: a browser's cross-site
    write always says where it comes from."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == headers.get("host", "")


def _refuse(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real one's
    messages (a disconnect, when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
