"""Signing in and out, and setting the owner's password, as plain HTML forms.

The forms work without JavaScript. The sign-in form carries a CSRF token of its
own (a cookie it must match, since there is no session yet); the others carry
the session's, which the middleware checks (``ui.security``).
"""

from __future__ import annotations

import math
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from ui.auth import DEVICE_COOKIE, DEVICE_MAX_AGE_S, Auth, PasswordError
from ui.limits import read_form
from ui.security import COOKIE, session_of

LOGIN_CSRF = "pm_login_csrf"


def routes(auth: Auth, templates: Jinja2Templates) -> list[BaseRoute]:
    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    async def login(request: Request) -> Response:
        target = _local(request.query_params.get("next"))
        if request.method in ("GET", "HEAD"):  # HEAD is a read: never a write without a token
            if session_of(request.scope) is not None:
                return RedirectResponse(target, status_code=303)
            return _login_page(page, request, target)
        form = await read_form(request)
        cookie = request.cookies.get(LOGIN_CSRF)
        given = form.get("csrf_token")
        if (
            not cookie
            or not isinstance(given, str)
            or not secrets.compare_digest(cookie.encode(), given.encode())
        ):
            return _login_page(
                page, request, target, "The form was stale: please try again.", status=400
            )
        address = request.client.host if request.client else ""
        device = request.cookies.get(DEVICE_COOKIE)
        wait = auth.wait_for(address, device)
        if wait:  # refused unchecked: a try now would be one more guess
            message = (
                f"Too many wrong passwords: try again in {_duration(wait)} "
                "(this password was not checked)."
            )
            return _login_page(page, request, target, message, status=429, retry_after=wait)
        session = auth.login(str(form.get("password") or ""), address, device)
        if session is None:
            wait = auth.wait_for(address, device)
            message = "That password is not right." + (
                f" Too many wrong ones: try again in {_duration(wait)}." if wait else ""
            )
            return _login_page(page, request, target, message, status=401, retry_after=wait)
        response = RedirectResponse(
            "/password" if session.must_set_password else target, status_code=303
        )
        # A browser-session cookie: the server ends sessions (idle and absolute limits).
        response.set_cookie(
            COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_CSRF)
        known = None if session.must_set_password else auth.device_cookie()
        if known is not None:  # this browser skips everyone's wait while guessing goes on
            response.set_cookie(
                DEVICE_COOKIE,
                known,
                max_age=int(DEVICE_MAX_AGE_S),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    async def logout(request: Request) -> Response:
        auth.logout(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def password(request: Request) -> Response:
        session = session_of(request.scope)
        assert session is not None  # the middleware lets no one here without one
        if request.method in ("GET", "HEAD"):  # HEAD is a read: never a write without a token
            return page(request, "password.html", title="Password", first=session.must_set_password)
        form = await read_form(request)
        new, again = str(form.get("password") or ""), str(form.get("again") or "")
        current = str(form.get("current") or "")
        problem = None
        if new != again:
            problem = "The two passwords differ."
        else:
            try:
                auth.set_password(new, session, current)
            except PasswordError as exc:
                problem = str(exc)
        if problem is not None:
            return page(
                request,
                "password.html",
                status=422,
                title="Password",
                first=session.must_set_password,
                problem=problem,
            )
        return RedirectResponse("/?password=set", status_code=303)

    return [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/password", password, methods=["GET", "POST"]),
    ]


def _login_page(
    page: Any,
    request: Request,
    target: str,
    problem: str | None = None,
    status: int = 200,
    retry_after: float = 0.0,
) -> Response:
    token = secrets.token_urlsafe(24)
    response: Response = page(
        request,
        "login.html",
        status=status,
        title="Sign in",
        next=target,
        login_csrf=token,
        problem=problem,
    )
    response.set_cookie(
        LOGIN_CSRF,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    if retry_after:
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    return response


def _duration(seconds: float) -> str:
    """A wait as a person reads it: whole seconds under two minutes, else minutes."""
    return f"{math.ceil(seconds)} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def _local(target: str | None) -> str:
    """Only a path on this site is a place to go back to after signing in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"
