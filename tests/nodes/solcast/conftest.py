"""The local provider server the PV provider tests talk to: ``tests/nodes/solar/conftest.py``'s."""

from tests.nodes.solar.conftest import api

__all__ = ["api"]
