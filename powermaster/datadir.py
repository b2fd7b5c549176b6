"""Where a running service keeps its state, and the demo's own copy of its site config.

The default data directory follows the platform's convention, outside any checkout:
``$XDG_STATE_HOME/power-master`` (``~/.local/state/power-master``) on Linux. The demo
runs on a copy of the shipped ``flows/site.yaml`` made there on its first start, so
Settings edits the copy and never the repository's file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flowengine.atomic import write_atomic
from flows import SITE_CONFIG
from powermaster.config import SECRETS_FILE

APP = "power-master"


def default_data_dir() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / APP
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP
    return Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state") / APP


def demo_site_config(data_dir: Path) -> Path:
    """The data directory's copy of the shipped site config (and of a ``secrets.yaml``
    beside it), made on the first start; later starts run on the copy as edited."""
    copy = data_dir / SITE_CONFIG.name
    if not copy.exists():
        secrets = SITE_CONFIG.parent / SECRETS_FILE
        if secrets.is_file():  # before the site config: its copy marks the copying done
            write_atomic(data_dir / SECRETS_FILE, secrets.read_bytes())
        write_atomic(copy, SITE_CONFIG.read_bytes(), mode=0o644)
    return copy
