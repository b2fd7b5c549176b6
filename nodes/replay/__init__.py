"""Replay providers: prices and PV served from recorded data, in the providers' shapes.

The demo site and the backtest use the same mechanism: ``sources: sample``
makes ``inputs.prices`` and ``inputs.pv`` replay the shipped sample data, or
the scenario a backtest supplies (``settings["replay_dataset"]``). The sample
data lives here too (``sample``, ``profile``, ``data/``), so node packages never
import the service for it; the service's simulator and backtests import it from here.
"""

from nodes.inputs.node import provider_node
from nodes.replay.dataset import Dataset
from nodes.replay.providers import PROVIDERS

NODE_TYPES = [provider_node(p) for p in PROVIDERS]

__all__ = ["NODE_TYPES", "PROVIDERS", "Dataset"]
