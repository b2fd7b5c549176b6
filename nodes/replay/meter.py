"""The simulated site's meter, as the connection the ``sample`` usage provider reads.

A live object of the host's (``powermaster.sim.retailer``'s ``SimulatedRetailer``: the
demo's, or a backtest's), it reaches the flows as a connection the host provides
(``Engine(provided=[SiteMeterConnection.of(meter, clock)])``), never through the
settings. The flows declare it (``flows/connections.yaml``: ``site_meter``, a
``replay.meter``), so validation knows the name; where nobody provides one (a real
inverter, a flow test) the engine builds it from that declaration, without a meter,
and ``sources.usage: sample`` says there is no simulated site.
"""

from __future__ import annotations

from typing import Any, Protocol

from flowengine import Clock, Connection, NodeContext

#: The id the flows declare the meter under, and the host provides it under.
SITE_METER = "site_meter"


class SiteMeter(Protocol):
    """The simulated site's meter as its retailer bills it (powermaster.sim.retailer)."""

    slot_seconds: float

    def usage(self, since: float, now: float) -> list[dict[str, Any]]: ...


class SiteMeterConnection(Connection):
    """The simulated site's meter, when its host provides one (``meter``)."""

    type_name = "replay.meter"
    description = (
        "The simulated site's meter (the demo, a backtest), which the service or the backtest "
        "provides; the sample usage provider reads it. Without one (a real inverter, a flow "
        "test) it holds no meter."
    )
    #: The meter the host provided; None in one built from the flows' declaration alone.
    meter: SiteMeter | None = None

    @classmethod
    def of(
        cls, meter: SiteMeter, clock: Clock, connection_id: str = SITE_METER
    ) -> SiteMeterConnection:
        """The connection a host hands the engine for its meter (``Engine(provided=...)``)."""
        connection = cls(connection_id, {}, clock, {})
        connection.meter = meter
        return connection


def site_meter(ctx: NodeContext) -> SiteMeter | None:
    """The meter of the ``site_meter`` connection; None where there is no such connection or
    it holds no meter (no simulated site)."""
    try:
        connection = ctx.connection(SITE_METER)
    except KeyError:
        return None
    if not isinstance(connection, SiteMeterConnection):
        raise TypeError(
            f"connection '{SITE_METER}' is a {getattr(connection, 'type_name', '?')}, "
            f"not a {SiteMeterConnection.type_name}"
        )
    return connection.meter
