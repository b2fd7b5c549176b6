"""The shared connection that holds a replayed dataset."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from flowengine.node import Connection


class Dataset(Protocol):
    """Anything that can say what was known at time ``t`` for the next ``slots`` slots."""

    slot_seconds: int

    def forecast(self, t: float, slots: int) -> dict[str, Any]: ...


class ReplayDataset(Connection):
    type_name = "replay.dataset"
    description = "Recorded prices, PV and load, served as forecasts (demo and backtests)."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "dataset": {
                "enum": ["sample", "provided"],
                "description": "'sample': the shipped sample data; "
                "'provided': one the service supplies "
                "(a backtest scenario)",
            }
        },
        "additionalProperties": False,
    }
    dataset: Dataset | None = None

    async def open(self) -> None:
        kind = self.config.get("dataset", "sample")
        provided = self.settings.get("replay_dataset")
        if kind == "provided" or provided is not None:
            if provided is None:
                raise ValueError("dataset 'provided' needs the service to supply one")
            self.dataset = provided
        else:
            from powermaster.sampledata import sample_dataset

            self.dataset = sample_dataset()
