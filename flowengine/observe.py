"""Watching flows run: the one way to see every run and every step as it happens.

The flow-test recorder and the live event stream (``events.RunEvents``) both watch
through here, so neither reaches into a flow or wraps a node. An observer subclasses
``FlowObserver``, overrides the events it wants, and registers with ``Engine.observe``.
Only overridden methods are called: an event nobody watches costs a run one check of
an empty tuple, which is what keeps a step cheap in service and in backtests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowengine.message import Message
    from flowengine.traces import RunTrace


class FlowObserver:
    """Told of runs and their steps, synchronously, as the engine runs them.

    ``at`` is the engine's clock time (virtual in tests and backtests). A run's steps
    come one at a time: each ``step_started`` is followed by that step's ``step_ended``
    or ``step_failed`` before the run's next step. Messages move on to the next node
    after the call, and a node may change a payload in place: keep a copy of what you
    keep. An observer must be quick and must not raise (it runs inside the run).
    """

    def run_triggered(
        self, flow_id: str, run_id: str | None, payload: Any, source: str, at: float
    ) -> None:
        """A run was asked for (a trigger, another flow, by hand). ``run_id`` is None when
        the flow's run mode dropped it; a queued run has its id already."""

    def run_started(self, flow_id: str, run_id: str, source: str, at: float) -> None:
        """A run begins (at once, or when its turn in the queue comes)."""

    def step_started(
        self, flow_id: str, run_id: str, node_id: str, msg: Message, at: float
    ) -> None:
        """Node ``node_id`` is about to process ``msg``."""

    def step_ended(
        self,
        flow_id: str,
        run_id: str,
        node_id: str,
        gave: Mapping[str, list[Message]],
        at: float,
    ) -> None:
        """The node's step is done: what it gave, by output port (empty: nothing)."""

    def step_failed(self, flow_id: str, run_id: str, node_id: str, error: str, at: float) -> None:
        """The node raised or timed out (``error`` as its trace step says it), or its run
        was cancelled under it (``error`` is "cancelled")."""

    def run_ended(self, trace: RunTrace) -> None:
        """A run is over (ok, error or cancelled): its trace, with its steps."""


class Observers:
    """The registered observers' overridden methods, one tuple per event: what the
    runtime calls. A tuple is replaced, never changed, so a call in progress is safe."""

    __slots__ = (
        "_all",
        "run_ended",
        "run_started",
        "run_triggered",
        "step_ended",
        "step_failed",
        "step_started",
    )

    def __init__(self) -> None:
        self._all: tuple[FlowObserver, ...] = ()
        self._rebuild()

    def add(self, observer: FlowObserver) -> Callable[[], None]:
        """Register ``observer``; returns the function that unregisters it."""
        self._all = (*self._all, observer)
        self._rebuild()

        def remove() -> None:
            self._all = tuple(o for o in self._all if o is not observer)
            self._rebuild()

        return remove

    def _rebuild(self) -> None:
        self.run_triggered: tuple[Callable[[str, str | None, Any, str, float], None], ...] = tuple(
            o.run_triggered for o in self._overriding("run_triggered")
        )
        self.run_started: tuple[Callable[[str, str, str, float], None], ...] = tuple(
            o.run_started for o in self._overriding("run_started")
        )
        self.step_started: tuple[Callable[[str, str, str, Message, float], None], ...] = tuple(
            o.step_started for o in self._overriding("step_started")
        )
        self.step_ended: tuple[
            Callable[[str, str, str, Mapping[str, list[Message]], float], None], ...
        ] = tuple(o.step_ended for o in self._overriding("step_ended"))
        self.step_failed: tuple[Callable[[str, str, str, str, float], None], ...] = tuple(
            o.step_failed for o in self._overriding("step_failed")
        )
        self.run_ended: tuple[Callable[[RunTrace], None], ...] = tuple(
            o.run_ended for o in self._overriding("run_ended")
        )

    def _overriding(self, event: str) -> list[FlowObserver]:
        """The observers whose class overrides ``event`` (the others would do nothing)."""
        base = getattr(FlowObserver, event)
        return [o for o in self._all if getattr(type(o), event) is not base]
