"""The data a backtest replays, as the connection the replay providers read.

A live object of the host's (a backtest's ``ScenarioDataset``), it reaches the flows
as a connection the host provides (``Engine(provided=[ReplayDatasetConnection.of(...)])``),
never through the settings. The flows declare it (``flows/connections.yaml``:
``replay_dataset``, a ``replay.dataset``), so validation knows the name; where nobody
provides one (the demo, a flow test) the engine builds it from that declaration, empty,
and the replay providers serve the shipped sample data.
"""

from __future__ import annotations

from flowengine import Clock, Connection, NodeContext
from nodes.replay.dataset import Dataset
from nodes.replay.sample import sample_dataset

#: The id the flows declare the dataset under, and the host provides it under.
REPLAY_DATASET = "replay_dataset"


class ReplayDatasetConnection(Connection):
    """What ``sources: sample`` replays, when its host provides it (``dataset``)."""

    type_name = "replay.dataset"
    description = (
        "The prices and PV a backtest replays, which the backtest provides; the sample "
        "providers read it. Without one (the demo, a flow test) they replay the shipped "
        "sample data."
    )
    #: The dataset the host provided; None in one built from the flows' declaration alone.
    dataset: Dataset | None = None

    @classmethod
    def of(
        cls, dataset: Dataset, clock: Clock, connection_id: str = REPLAY_DATASET
    ) -> ReplayDatasetConnection:
        """The connection a host hands the engine for its data (``Engine(provided=...)``)."""
        connection = cls(connection_id, {}, clock, {})
        connection.dataset = dataset
        return connection


def replay_dataset(ctx: NodeContext) -> Dataset:
    """The dataset of the ``replay_dataset`` connection, or else the shipped sample data."""
    try:
        connection = ctx.connection(REPLAY_DATASET)
    except KeyError:
        return sample_dataset()
    if not isinstance(connection, ReplayDatasetConnection):
        raise TypeError(
            f"connection '{REPLAY_DATASET}' is a {getattr(connection, 'type_name', '?')}, "
            f"not a {ReplayDatasetConnection.type_name}"
        )
    return connection.dataset if connection.dataset is not None else sample_dataset()
