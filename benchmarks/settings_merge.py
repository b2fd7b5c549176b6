"""Seconds for a settings edit of N new keys (issue 16, failure 4: 16k keys took 6 s and
200k over ten minutes, under the settings lock, when each new key walked its section).

Two figures per N: ``merge`` is the merge alone (the patch into the round-trip
document), which must grow in step with N; ``prepare`` is the whole edit check as the
settings API runs it (merge, dump, schema), which refuses an edit over
``MAX_SITE_BYTES`` before reading site.yaml. Best of --repeat runs.

    python benchmarks/settings_merge.py [--repeat 3]

On this machine: merge 1k 0.010 s, 10k 0.06 s, 100k 0.81 s (6-10 µs a key; before the fix
8k keys took 4.3 s); prepare 1k 0.07 s, 10k 0.76 s, 100k 0.07 s (refused at the size check).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ruamel.yaml.comments import CommentedMap

from flows import SITE_CONFIG
from powermaster import settings

SIZES = (1_000, 10_000, 100_000)


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def merge(n: int) -> None:
    document = settings._round_trip().load(SITE_CONFIG.read_text())
    assert isinstance(document, CommentedMap)
    editor = settings._Editor({}, {})
    editor.merge(document, {"site": {f"k{i}": i for i in range(n)}}, ())
    assert len(document["site"]) > n


def prepare(config: Path, n: int) -> None:
    try:
        settings.prepare(config, {"site": {f"k{i}": i for i in range(n)}})
    except settings.InvalidSettings:
        pass  # unknown keys (or too many): refused, as the API would
    else:
        raise AssertionError("the schema takes no unknown keys in site")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "site.yaml"
        config.write_text(SITE_CONFIG.read_text())
        for n in SIZES:
            merged = best(partial(merge, n), args.repeat)
            checked = best(partial(prepare, config, n), args.repeat)
            print(
                f"{n:>7} new keys: merge {merged:7.3f} s ({merged / n * 1e6:5.1f} µs a key), "
                f"prepare {checked:7.3f} s"
            )


if __name__ == "__main__":
    main()
