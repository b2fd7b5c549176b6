"""Replay providers: forecasts and prices served from recorded data.

The demo site and the backtest use the same mechanism: a ``replay.dataset``
connection holds the data, a ``replay.forecast`` node asks it what is known now.
"""

from nodes.replay.dataset import ReplayDataset
from nodes.replay.forecast import ReplayForecast

NODE_TYPES = [ReplayForecast]
CONNECTION_TYPES = [ReplayDataset]
