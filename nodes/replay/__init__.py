"""Replay providers: prices and PV served from recorded data, in the providers' shapes.

The demo site and the backtest use the same mechanism: ``sources: sample``
makes ``inputs.prices`` and ``inputs.pv`` replay the shipped sample data, or
the scenario a backtest provides as the ``replay_dataset`` connection
(``replay.dataset``), and
``inputs.usage`` read the simulated site's meter, which the service or the
backtest provides as the ``site_meter`` connection (``replay.meter``). The sample
data lives here too (``sample``, ``profile``, ``data/``), so node packages never
import the service for it; the service's simulator and backtests import it from here.
"""

from flowengine.registry import Declared
from nodes.inputs.refresh import provider_node
from nodes.replay.dataset import Dataset
from nodes.replay.meter import SITE_METER, SiteMeterConnection
from nodes.replay.providers import PROVIDERS
from nodes.replay.scenario import REPLAY_DATASET, ReplayDatasetConnection

NODE_TYPES: list[Declared] = [
    *(provider_node(p) for p in PROVIDERS),
    SiteMeterConnection,
    ReplayDatasetConnection,
]

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "REPLAY_DATASET",
    "SITE_METER",
    "Dataset",
    "ReplayDatasetConnection",
    "SiteMeterConnection",
]
