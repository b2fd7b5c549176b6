"""How much a request may carry: its body by path, a form's fields, JSON's depth and strings.

``RequestLimits`` is ASGI middleware in front of the whole app. It answers 413 for a
body over its path's limit (``BODY_LIMITS``), from the ``Content-Length`` before a
byte is read or the moment the bytes read pass it (a chunked body has no length),
and 415 for a multipart body: no route here takes files, so none is spooled to
disk. Handlers read bodies with ``read_json`` and ``read_form``: JSON no deeper than
``JsonLimits.depth`` with no string (key or value) longer than ``JsonLimits.string``,
a form of a few short fields and no files. Past a limit they raise ``BadBody``, which
the app answers with 400 naming the field (``bad_body``); a body that is not JSON
raises ``ValueError`` as ``json.loads`` does, for the handler's own answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

KIB = 1024
#: The largest body a path takes, by prefix (the first that matches).
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/settings", 256 * KIB),  # as powermaster.settings bounds an edit
    ("/api/webhook/", 64 * KIB),  # a flow's payload
    ("/api/flows/", 64 * KIB),  # a manual trigger's payload
)
#: Every other path: the sign-in and password forms, an override, a load command.
DEFAULT_BODY = 16 * KIB
#: A form has a CSRF token and at most three passwords; none takes a file.
FORM_FIELDS = 8
FORM_FIELD_BYTES = 4 * KIB

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class JsonLimits:
    depth: int = 32
    string: int = 4 * KIB


#: An override, a load command: a few short fields.
API_JSON = JsonLimits()
#: A flow's payload (trigger, webhook) and a settings edit (YAML text of a section).
LONG_JSON = JsonLimits(string=64 * KIB)


class BadBody(Exception):
    """A body past a limit: answered 400 naming ``field`` ("" for the whole body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class BodyTooLarge(Exception):
    """Raised from ``receive`` once the bytes read pass the path's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {limit} bytes")
        self.limit = limit


async def bad_body(request: Request, exc: Exception) -> Response:
    """The app's answer to ``BadBody`` (an exception handler)."""
    assert isinstance(exc, BadBody)
    problem = {"field": exc.field, "message": exc.message}
    return JSONResponse({"error": "body refused", "problems": [problem]}, status_code=400)


def body_limit(path: str) -> int:
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY)


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        refusal = _refusal(Headers(scope=scope), limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)
        except ClientDisconnect:
            pass  # gone before its body was read (or timed out): nobody to answer


def _refusal(headers: Headers, limit: int) -> Response | None:
    if headers.get("content-type", "").lower().lstrip().startswith("multipart/"):
        return JSONResponse(
            {"error": "no route here takes files: send JSON or a plain form"}, status_code=415
        )
    length = headers.get("content-length", "").strip()
    if length.isdigit() and (len(length) > 12 or int(length) > limit):
        return _too_large(limit)
    return None


def _too_large(limit: int) -> Response:
    return JSONResponse({"error": f"the body is over {limit} bytes here"}, status_code=413)


def whole_number(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``; None if it is anything else
    (a sign, a fraction, other scripts' digits, too many digits for ``int``)."""
    digits = text.strip().lstrip("0") or ("0" if text.strip() else "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(high)):
        return None
    value = int(digits)
    return value if low <= value <= high else None


async def read_form(request: Request) -> FormData:
    """The request's form: a few short fields and no files (a 400 past that)."""
    return await request.form(max_files=0, max_fields=FORM_FIELDS, max_part_size=FORM_FIELD_BYTES)


async def read_json(request: Request, limits: JsonLimits = API_JSON, empty: Any = None) -> Any:
    """The body as JSON (``empty`` when there is none); ``ValueError`` if it is not
    JSON, ``BadBody`` past ``limits``."""
    body = await request.body()
    return parse_json(body, limits) if body.strip() else empty


def parse_json(body: bytes, limits: JsonLimits = API_JSON) -> Any:
    try:
        value = json.loads(body)
    except RecursionError:  # the decoder's own guard, far below a crash but far above ours
        raise BadBody("", f"the JSON is nested deeper than {limits.depth} levels") from None
    check_json(value, limits)
    return value


def check_json(value: Any, limits: JsonLimits) -> None:
    """``BadBody`` naming the first place ``value`` nests too deep or holds too long a
    string. A loop, not recursion: whatever the depth, it cannot overflow the stack."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if len(item) > limits.string:
                raise BadBody(where, f"is longer than {limits.string} characters")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= limits.depth:
            raise BadBody(where, f"nests deeper than {limits.depth} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else key
                if len(key) > limits.string:
                    raise BadBody(where, f"has a key longer than {limits.string} characters")
                stack.append((child, name, depth + 1))
        else:
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
