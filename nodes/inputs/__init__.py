"""Inputs from the outside world: providers behind one fetch-validate-store-age node.

The ``inputs.<kind>`` node types live here; each provider package adds its own
pinned node type (``amber.prices``, ...), by which ``registry`` finds its providers.
"""

from __future__ import annotations

from nodes.inputs.refresh import InputNode, kind_node, provider_node

NODE_TYPES = [
    kind_node("prices", "Import and feed-in prices from the source in sources.prices."),
    kind_node("pv", "The PV forecast (P10/P50/P90) from the source in sources.pv."),
    kind_node("weather", "The weather forecast from the source in sources.weather."),
    kind_node("storm", "Storm warnings and storm probability from the source in sources.storm."),
    kind_node(
        "usage",
        "The retailer's metered usage (billable kWh and cost per slot) from the "
        "source in sources.usage, for settling the ledger.",
    ),
]

__all__ = ["NODE_TYPES", "InputNode", "kind_node", "provider_node"]
