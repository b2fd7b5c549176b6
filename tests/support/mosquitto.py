"""A private Mosquitto broker on a free port, started and stopped by the test itself.

It never touches the machine's own broker (port 1883): every test gets a fresh
process with its own config in a temporary directory, no persistence (a restart
forgets retained messages and sessions, as a broker whose store was lost does),
and readiness is read from the broker's own log line, not guessed with a sleep.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

INSTALL_HINT = (
    "the mosquitto binary is not installed: apt-get install mosquitto "
    "(Debian/Raspberry Pi OS) or brew install mosquitto; .ci/run installs it"
)


def mosquitto_binary() -> str:
    for candidate in ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """One broker process; ``start`` / ``stop`` may repeat on the same port (a restart)."""

    def __init__(self, directory: Path, port: int | None = None, password_file: Path | None = None):
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.config = directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            "log_dest stderr",
            "log_type information",
            "log_type notice",
            "log_type error",
            "log_type warning",
        ]
        if password_file is None:
            lines.append("allow_anonymous true")
        else:
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        if self.process is not None:
            return
        process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # blocks until the broker says it runs (or dies)
            seen.append(line)
            # "Opening ... listen socket" comes before the socket listens; "running"
            # comes once every listener is up.
            if " running" in line and "mosquitto version" in line:
                break
        else:
            raise RuntimeError("mosquitto did not start:\n" + "".join(seen))
        # From here on nobody reads stderr: send it nowhere so the pipe never fills.
        self.process = process
        self._drain = subprocess.Popen(["cat"], stdin=process.stderr, stdout=subprocess.DEVNULL)
        process.stderr.close()  # cat holds the pipe now

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        process.wait(timeout=10)
        self._drain.wait(timeout=10)

    def kill(self) -> None:
        """Stop without a goodbye (as a crash or power cut would)."""
        if self.process is not None:
            self.process.kill()
        self.stop()

    def restart(self) -> None:
        self.stop()
        self.start()
