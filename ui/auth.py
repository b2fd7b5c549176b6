"""Who may use the web UI: one owner's password, sessions that expire, CSRF tokens,
and API tokens for scripts (``ui.tokens``).

The password is kept as a scrypt hash (``hashlib.scrypt``, memory-hard, in the
standard library) in ``<data dir>/ui-password``, written atomically with mode
0600; ``power-master set-password`` writes it for scripted installs. Until one
is set, a one-time password printed at start-up signs the owner in, and every
page then asks for a password of their own (Home Assistant's onboarding, with
the printed password closing the race for whoever finds the page first).

Sessions are keyed by a random token in an HttpOnly, SameSite=Strict cookie, and
kept in ``<data dir>/ui-sessions`` (mode 0600, written atomically) so a restart
signs nobody out; the file holds each cookie's SHA-256, never the cookie, so a copy
of it opens nothing. A session's last use is written at most once per ``TOUCH_S``
(the SD card is not rewritten per request): after a restart it may end that much
sooner than it would have. Each session remembers which password it was opened
under, so a password set by ``set-password`` ends the sessions from before it.
Each session carries its own CSRF token, which every write must echo
(``X-CSRF-Token`` header or ``csrf_token`` form field).

Guessing is slowed twice over: five wrong passwords lock one address out for five
minutes, and since addresses are free to an attacker (IPv6 on a LAN), past a budget
of wrong passwords from all addresses together everyone waits before the next try
(``Guessing``): doubling, a minute at most, so once the guessing stops the owner
waits a minute at most. While it goes on, a browser the owner has signed in from
before is not made to wait (OWASP's device cookies): each sign-in gives it a
``pm_device`` cookie signed with a key made from the password's hash, so it is
worth nothing once the password changes; its own wrong passwords lock it out as an
address's do. A wrong API token counts as a wrong password, and a bearer try waits
as a sign-in does (``bearer``): guessing tokens is slowed the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flowengine.atomic import write_atomic
from ui.tokens import TOUCH_S, ApiToken, ApiTokens, digest

log = logging.getLogger("power_master.ui")

PASSWORD_FILE = "ui-password"
SESSIONS_FILE = "ui-sessions"
#: Past this many live sessions a sign-in ends the one unused longest (a script
#: signing in every minute must not grow the sessions file without end).
MAX_SESSIONS = 50
MIN_PASSWORD_LENGTH = 8
#: scrypt cost: 16 MiB and ~60 ms on a Raspberry Pi 4, slow enough to make guessing dear.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
#: A session unused this long ends; none lives longer than MAX_AGE_S.
IDLE_S = 12 * 3600.0
MAX_AGE_S = 30 * 86400.0
#: Wrong passwords allowed per address before it must wait LOCKOUT_S.
MAX_FAILURES = 5
LOCKOUT_S = 300.0
#: Wrong passwords allowed from all addresses together in GLOBAL_WINDOW_S: addresses are
#: free to whoever guesses (IPv6 on a LAN), so past this every sign-in is slowed.
GLOBAL_BUDGET = 30
GLOBAL_WINDOW_S = 3600.0
#: Past the budget each wrong password doubles the wait before anyone's next try, from
#: GLOBAL_FIRST_WAIT_S up to GLOBAL_MAX_WAIT_S: guessing crawls, the owner waits a minute
#: at most, and the waits shrink again as the wrong passwords age out of the window.
GLOBAL_FIRST_WAIT_S = 1.0
GLOBAL_MAX_WAIT_S = 60.0
#: The cookie of a browser that has signed in before, and how long it is known.
DEVICE_COOKIE = "pm_device"
DEVICE_MAX_AGE_S = 365 * 86400

Clock = Callable[[], float]


class PasswordError(ValueError):
    """A password that cannot be set; the message says why."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), the form kept in the password file."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    salt_text, digest_text = (base64.b64encode(b).decode() for b in (salt, digest))
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt_text}${digest_text}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a stored hash (in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


def check_new_password(password: str) -> str:
    """The password if it may be set, else ``PasswordError`` saying why."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password != password.strip():
        raise PasswordError("a password must not start or end with spaces")
    return password


def write_password(data_dir: Path, password: str) -> Path:
    """Hash ``password`` into ``<data_dir>/ui-password`` (atomically, mode 0600)."""
    path = Path(data_dir) / PASSWORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"hash": hash_password(check_new_password(password)), "set_at": time.time()}
    write_atomic(path, json.dumps(record))
    os.chmod(path, 0o600)
    return path


def read_password_hash(data_dir: Path) -> str | None:
    path = Path(data_dir) / PASSWORD_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise PasswordError(
            f"{path}: not a password file ({exc}); set-password rewrites it"
        ) from None
    stored = record.get("hash") if isinstance(record, dict) else None
    if not isinstance(stored, str):
        raise PasswordError(f"{path}: no password hash in it; set-password rewrites it")
    return stored


@dataclass
class Session:
    token: str
    csrf: str
    created: float
    seen: float
    #: Signed in with the one-time password: every page asks for a real one first.
    must_set_password: bool = False
    #: Which password it was opened under (``Auth._password_key``).
    password: str = ""
    written: float | None = field(default=None, repr=False)  # ``seen`` as last written


@dataclass
class Guessing:
    """Wrong passwords from every address together, beside the per-address lockout: within
    ``GLOBAL_BUDGET`` nobody waits; past it everyone does, longer after each wrong one.
    Logged once when it starts and once when it ends, never per try."""

    clock: Clock
    _wrong: deque[tuple[float, str]] = field(default_factory=deque)
    _episode: int = 0  # wrong passwords since the slowing began (0: not slowing)

    def wait(self) -> float:
        """Seconds before anyone may try a password (0: now)."""
        now = self._forget()
        over = len(self._wrong) - GLOBAL_BUDGET
        if over < 0:
            return 0.0
        delay = min(GLOBAL_MAX_WAIT_S, GLOBAL_FIRST_WAIT_S * 2.0 ** min(over, 32))
        return max(0.0, self._wrong[-1][0] + delay - now)

    def wrong(self, address: str) -> None:
        self._wrong.append((self._forget(), address))
        if self._episode:
            self._episode += 1
        elif len(self._wrong) >= GLOBAL_BUDGET:
            self._episode = 1
            log.warning(
                "sign-in: %d wrong passwords from %d addresses in %.0f min: every sign-in now "
                "waits, up to %.0f s after each wrong one, until they stop",
                len(self._wrong),
                len({a for _, a in self._wrong}),
                GLOBAL_WINDOW_S / 60,
                GLOBAL_MAX_WAIT_S,
            )

    def _forget(self) -> float:
        """Now, with the wrong passwords older than the window dropped (which may end
        the slowing)."""
        now = self.clock()
        while self._wrong and now - self._wrong[0][0] >= GLOBAL_WINDOW_S:
            self._wrong.popleft()
        if self._episode and len(self._wrong) < GLOBAL_BUDGET:
            log.warning(
                "sign-in: the wrong passwords have stopped (%d while slowed); "
                "sign-in no longer waits",
                self._episode,
            )
            self._episode = 0
        return now


@dataclass
class Auth:
    """The owner's password and the signed-in sessions. ``data_dir`` None keeps the
    password in memory only (tests, and a demo run with ``one_time_password``)."""

    data_dir: Path | None = None
    clock: Clock = time.time
    one_time_password: str | None = None
    _stored: str | None = None
    _sessions: dict[str, Session] = field(default_factory=dict)
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _guessing: Guessing = field(init=False)
    tokens: ApiTokens = field(init=False)

    def __post_init__(self) -> None:
        self._guessing = Guessing(lambda: self.clock())
        self.tokens = ApiTokens(self.data_dir, lambda: self.clock())
        if self.data_dir is not None:
            self._stored = read_password_hash(self.data_dir)
            self._sessions = self._read_sessions()
        if self._stored is None and self.one_time_password is None:
            self.one_time_password = secrets.token_urlsafe(9)

    @classmethod
    def with_password(cls, password: str, clock: Clock = time.time) -> Auth:
        """An owner whose password is ``password``, kept in memory (tests)."""
        auth = cls(None, clock, one_time_password="")
        auth._stored = hash_password(check_new_password(password))
        auth.one_time_password = None
        return auth

    @property
    def password_set(self) -> bool:
        return self._stored is not None

    # -- signing in and out -----------------------------------------------------

    def locked_for(self, address: str) -> float:
        """Seconds ``address`` must wait before trying another password (0: none)."""
        now = self.clock()
        recent = [t for t in self._failures.get(address, []) if now - t < LOCKOUT_S]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        if len(recent) < MAX_FAILURES:
            return 0.0
        return max(0.0, LOCKOUT_S - (now - recent[-MAX_FAILURES]))

    def wait_for(self, address: str, device: str | None = None) -> float:
        """Seconds before ``address`` may try a password: its own lockout, or everyone's
        wait once too many passwords were wrong from all addresses (0: none). A known
        ``device`` (its cookie) waits only for its own and its address's lockout."""
        known = self.known_device(device)
        if known is not None:  # its own lockout only: an address may be shared (a proxy, NAT)
            return self.locked_for(known)
        return max(self.locked_for(address), self._guessing.wait())

    # -- browsers the owner signed in from (device cookies) ---------------------

    def device_cookie(self) -> str | None:
        """A new device cookie's value (after a sign-in with the real password)."""
        if self._stored is None:
            return None
        ident = secrets.token_urlsafe(16)
        return f"{ident}.{self._device_mac(ident)}"

    def known_device(self, cookie: str | None) -> str | None:
        """The key its failures are counted under, if ``cookie`` is one of our device
        cookies under the current password; else None."""
        ident, _, mac = (cookie or "").partition(".")
        if not ident or self._stored is None or not _same(mac, self._device_mac(ident)):
            return None
        return f"device:{ident}"

    def _device_mac(self, ident: str) -> str:
        assert self._stored is not None
        key = hashlib.sha256(b"pm-device-cookie\0" + self._stored.encode()).digest()
        return hmac.new(key, ident.encode(), hashlib.sha256).hexdigest()

    def login(self, password: str, address: str = "", device: str | None = None) -> Session | None:
        """A new session for the right password, else None (the failure is counted; a
        try while ``wait_for`` says wait is refused unchecked and not counted)."""
        if self.wait_for(address, device):
            return None
        if self.data_dir is not None:  # set-password may have run meanwhile
            try:
                self._stored = read_password_hash(self.data_dir) or self._stored
            except PasswordError:
                log.exception("the password file cannot be read; the last one read stands")
        if self._stored is not None and verify_password(password, self._stored):
            return self._open(must_set_password=False)
        once = self.one_time_password
        if self._stored is None and once and _same(password, once):
            return self._open(must_set_password=True)
        self._wrong(address, self.known_device(device))
        return None

    def _wrong(self, address: str, device: str | None = None) -> None:
        now = self.clock()
        if device is not None:  # a known browser's own mistakes lock it out, nobody else
            self._failures.setdefault(device, []).append(now)
            self._say_if_locked(device, "a browser signed in from before")
            return
        self._guessing.wrong(address)
        # Addresses whose failures aged out are forgotten: addresses cost an attacker nothing.
        self._failures = {
            a: times for a, times in self._failures.items() if times and now - times[-1] < LOCKOUT_S
        }
        self._failures.setdefault(address, []).append(now)
        self._say_if_locked(address, address or "an unknown address")

    def _say_if_locked(self, key: str, who: str) -> None:
        """Log once, when a wrong password locks ``key`` out."""
        now = self.clock()
        if sum(now - t < LOCKOUT_S for t in self._failures.get(key, [])) == MAX_FAILURES:
            log.warning(
                "sign-in: %d wrong passwords from %s: it waits %.0f min",
                MAX_FAILURES,
                who,
                LOCKOUT_S / 60,
            )

    def _open(self, must_set_password: bool) -> Session:
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            now,
            now,
            must_set_password,
            self._password_key(),
        )
        self._sessions[digest(session.token)] = session
        for key in sorted(self._sessions, key=lambda k: self._sessions[k].seen)[:-MAX_SESSIONS]:
            del self._sessions[key]
        self._save_sessions()
        return session

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie's token (its idle clock restarts), else None."""
        if not token:
            return None
        key = digest(token)
        found = self._sessions.get(key)
        if found is None:
            return None
        now = self.clock()
        if not self._live(found, now):
            del self._sessions[key]
            self._save_sessions()
            return None
        found.token, found.seen = token, now  # a session read from the file learns its token
        if found.written is None or now - found.written >= TOUCH_S:
            self._save_sessions()
        return found

    def logout(self, token: str | None) -> None:
        if token and self._sessions.pop(digest(token), None) is not None:
            self._save_sessions()

    def _live(self, session: Session, now: float) -> bool:
        """Not idle too long, not too old, and opened under the password in force."""
        return (
            now - session.seen <= IDLE_S
            and now - session.created <= MAX_AGE_S
            and session.password == self._password_key()
        )

    def _password_key(self) -> str:
        """Names the password in force (not a way to it): sessions opened under another
        one are over (``set-password`` run meanwhile)."""
        if self._stored is None:
            return ""
        return hashlib.sha256(b"pm-session\0" + self._stored.encode()).hexdigest()[:32]

    def _read_sessions(self) -> dict[str, Session]:
        """The live sessions in the sessions file; none if it is missing or broken (then
        everyone signs in again, as after a restart before sessions were kept)."""
        assert self.data_dir is not None
        path = Path(self.data_dir) / SESSIONS_FILE
        try:
            record = json.loads(path.read_text())
            sessions = {
                str(s["key"]): Session(
                    "",
                    str(s["csrf"]),
                    float(s["created"]),
                    float(s["seen"]),
                    bool(s["must_set_password"]),
                    str(s["password"]),
                    float(s["seen"]),
                )
                for s in record["sessions"]
            }
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("%s: not a sessions file (%s): everyone signs in again", path, exc)
            return {}
        now = self.clock()
        return {key: s for key, s in sessions.items() if self._live(s, now)}

    def _save_sessions(self) -> None:
        """Write the live sessions (a failure is logged: they still work until a restart)."""
        if self.data_dir is None:
            return
        now = self.clock()
        self._sessions = {k: s for k, s in self._sessions.items() if self._live(s, now)}
        record = {
            "version": 1,
            "sessions": [
                {
                    "key": key,
                    "csrf": s.csrf,
                    "created": s.created,
                    "seen": s.seen,
                    "must_set_password": s.must_set_password,
                    "password": s.password,
                }
                for key, s in self._sessions.items()
            ],
        }
        try:
            write_atomic(Path(self.data_dir) / SESSIONS_FILE, json.dumps(record, indent=1))
        except OSError:
            log.exception("the sessions file could not be written: a restart signs out")
            return
        for session in self._sessions.values():
            session.written = session.seen

    # -- API tokens (ui.tokens) ------------------------------------------------------

    def bearer(self, token: str, address: str = "") -> ApiToken | None:
        """The API token ``token`` is, else None: a wrong one counts as a wrong password
        from ``address``, and a try while ``wait_for`` says wait is refused unchecked
        and not counted, as a sign-in is."""
        if self.wait_for(address):
            return None
        found = self.tokens.check(token)
        if found is None:
            self._wrong(address)
        return found

    # -- the password -----------------------------------------------------------

    def set_password(self, new: str, session: Session, current: str | None = None) -> None:
        """Set (or change) the password from a signed-in session; every other session
        ends, and this one no longer needs to set one. Changing a password needs the
        current one: a stolen session must not lock its owner out."""
        if self._stored is not None and not verify_password(current or "", self._stored):
            raise PasswordError("the current password is not right")
        check_new_password(new)
        if self.data_dir is not None:
            write_password(self.data_dir, new)
            self._stored = read_password_hash(self.data_dir)
        else:
            self._stored = hash_password(new)
        self.one_time_password = None
        session.must_set_password = False
        session.password = self._password_key()
        self._sessions = {digest(session.token): session}
        self._save_sessions()

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return bool(token) and _same(session.csrf, token or "")


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two texts, whatever characters they hold."""
    return hmac.compare_digest(a.encode(), b.encode())
