"""Replay providers: forecasts and prices served from recorded data.

The demo site and the backtest use the same mechanism: a ``replay.dataset``
connection holds the data, a ``replay.forecast`` node asks it what is known now;
the ``sample`` providers (``replay.prices``, ``replay.pv``) serve it as inputs.
"""

from nodes.inputs.node import provider_node
from nodes.replay.dataset import ReplayDataset
from nodes.replay.forecast import ReplayForecast
from nodes.replay.providers import PROVIDERS

NODE_TYPES = [ReplayForecast, *(provider_node(p) for p in PROVIDERS)]
CONNECTION_TYPES = [ReplayDataset]
