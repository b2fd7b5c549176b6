"""The Power Master flows and the default site config, shipped as package data."""

from pathlib import Path

FLOWS_DIR = Path(__file__).resolve().parent
SITE_CONFIG = FLOWS_DIR / "site.yaml"
