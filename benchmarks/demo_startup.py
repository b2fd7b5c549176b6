"""How fast the demo comes up, and how it ticks at --speed 300.

Starts ``power-master run --speed 300`` as a user would (own process, simulator
and UI on free ports), then prints: seconds until /api/health says ok, control
ticks per real second, and how far the simulated SOC moved.

    python benchmarks/demo_startup.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    web, sim = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "powermaster.cli",
                "run",
                "--speed",
                "300",
                "--port",
                str(web),
                "--simulator-port",
                str(sim),
                "--data-dir",
                data,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{web}"
            ok_after = None
            while time.perf_counter() - started < 30:
                try:
                    if get(f"{base}/api/health")["status"] == "ok":
                        ok_after = time.perf_counter() - started
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            print(f"/api/health ok after {ok_after:.2f} s" if ok_after else "never ok in 30 s")
            first = get(f"{base}/api/flows/control")
            soc_first = get(f"{base}/api/state")["soc"]
            count0 = _reads(first)
            time.sleep(args.seconds)
            count1 = _reads(get(f"{base}/api/flows/control"))
            soc_last = get(f"{base}/api/state")["soc"]
            print(f"control ticks: {(count1 - count0) / args.seconds:.2f} per real second")
            print(f"simulated SOC: {soc_first} -> {soc_last}")
        finally:
            proc.terminate()
            proc.wait(10)


def _reads(flow: dict[str, object]) -> int:
    nodes = flow["nodes"]
    assert isinstance(nodes, list)
    return int(next(n["count"] for n in nodes if n["id"] == "read"))


if __name__ == "__main__":
    main()
