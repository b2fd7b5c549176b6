"""Files from the BOM's anonymous FTP server (protocols.md 5.1).

``ftplib`` blocks, so each download runs in a worker thread with a socket
timeout; retries wait on the engine's clock like HTTP fetches do. A file the
server does not have (reply 550) is ``None``, not an error: a warning product
that is not on the server is a warning not in force.
"""

from __future__ import annotations

import asyncio
import ftplib
import io
from collections.abc import Sequence
from dataclasses import dataclass

from flowengine.clock import Clock
from nodes.inputs.fetch import FetchError, RetryPolicy


@dataclass(frozen=True)
class FtpSite:
    host: str
    port: int
    directory: str
    timeout_s: float

    def __str__(self) -> str:
        return f"ftp://{self.host}:{self.port}{self.directory}"


async def download(
    site: FtpSite, names: Sequence[str], clock: Clock, policy: RetryPolicy
) -> dict[str, bytes | None]:
    """Each of ``names`` in ``site.directory`` (None where missing), or FetchError."""
    last = ""
    for attempt in range(policy.attempts):
        try:
            return await asyncio.to_thread(_download, site, names)
        except ftplib.error_perm as exc:  # refused for good (login, directory): do not repeat
            raise FetchError(f"{site}: {_reply(exc)}") from None
        except TimeoutError:
            last = f"no answer within {site.timeout_s:g} s"
        except (OSError, EOFError, ftplib.Error) as exc:  # refused, reset, 4xx "try later"
            last = f"{type(exc).__name__}: {_reply(exc)}"
        if attempt + 1 < policy.attempts:
            await clock.sleep(min(policy.max_backoff_s, policy.backoff_s * 2**attempt))
    raise FetchError(f"{site}: {last} (after {policy.attempts} attempts)")


def _download(site: FtpSite, names: Sequence[str]) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {}
    with ftplib.FTP(timeout=site.timeout_s) as ftp:
        ftp.connect(site.host, site.port)
        ftp.login()  # anonymous
        ftp.set_pasv(True)
        ftp.cwd(site.directory)
        for name in names:
            buffer = io.BytesIO()
            try:
                ftp.retrbinary(f"RETR {name}", buffer.write)
            except ftplib.error_perm as exc:
                if not str(exc).startswith("550"):
                    raise
                files[name] = None
            else:
                files[name] = buffer.getvalue()
    return files


def _reply(exc: BaseException) -> str:
    return str(exc).strip().replace("\n", " ")[:200] or type(exc).__name__
