"""Work on a prices reading, whatever its provider: ``prices.spike`` watches for spikes."""

from flowengine.registry import Declared
from nodes.prices.spike import PriceSpike

NODE_TYPES: list[Declared] = [PriceSpike]

__all__ = ["NODE_TYPES", "PriceSpike"]
