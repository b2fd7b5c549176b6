"""The engine: builds flows and connections from a ``FlowSet`` and runs them."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flowengine.changes import FlowChanges, compare
from flowengine.clock import Clock, VirtualClock
from flowengine.context import ContextStore
from flowengine.database import open_database
from flowengine.events import EventBus, RunEvents
from flowengine.node import Connection
from flowengine.observe import FlowObserver, Observers
from flowengine.registry import Registry
from flowengine.runtime import FlowRuntime, RunHandle
from flowengine.spec import FlowSet
from flowengine.stats import RunStats
from flowengine.traces import RunTrace, TraceStore
from flowengine.triggers import TRIGGER_TYPES, Trigger, WebhookTrigger

log = logging.getLogger("flowengine")

TRACE_FLUSH_SECONDS = 2.0
SETTLE_CHECK_S = 0.05  # real seconds between checks while a run is busy on real I/O


class Engine:
    """Runs a set of flows on one clock, with one context store and trace store."""

    def __init__(
        self,
        registry: Registry,
        clock: Clock,
        database: Path | str = ":memory:",
        settings: Mapping[str, Any] | None = None,
        timezone: str = "UTC",
        keep_traces: int = 20,
        trigger_types: Mapping[str, type[Trigger]] | None = None,
        freeze_gc: bool = True,
        *,
        data_dir: Path | str = ".",
        provided: Iterable[Connection] = (),
    ) -> None:
        self.registry = registry
        self.clock = clock
        #: The site config, as nodes read it (``ctx.settings``): settings only, never a
        #: live object or a path of the host's (those are ``provided`` and ``data_dir``).
        self.settings: Mapping[str, Any] = settings or {}
        self.timezone = timezone
        #: Where the files the flows keep belong (a ``core.sqlite``'s file is relative to
        #: it): ``ctx.data_dir`` for nodes, ``data_dir`` for connections.
        self.data_dir = Path(data_dir)
        #: Connections the host made (live objects of its own), by id: see ``provide``.
        self.provided: dict[str, Connection] = {}
        self.provide(*provided)
        self.trigger_types = {**TRIGGER_TYPES, **registry.triggers, **(trigger_types or {})}
        self.db = open_database(database)
        self.context = ContextStore(self.db, clock)
        self.traces = TraceStore(self.db, keep_traces)
        #: keep_traces=0 (a backtest: nobody opens a month of runs) skips the step
        #: previews and the trace writes; runs, outcomes and errors are the same.
        self.tracing = keep_traces > 0
        self.events = EventBus()
        #: Who watches runs and steps (``observe``); the live events are the first.
        self.observers = Observers()
        self.observe(RunEvents(self.events, self._counts))
        #: Each flow's run outcomes and durations (for /metrics), kept across reloads.
        self.run_stats: dict[str, RunStats] = {}
        self.flows: dict[str, FlowRuntime] = {}
        self.connections: dict[str, Connection] = {}
        #: Webhook triggers by id, while their flows run (the web app routes POSTs to them).
        self.webhooks: dict[str, WebhookTrigger] = {}
        self.flowset = FlowSet({}, {})
        self._idle = asyncio.Event()
        self._idle.set()
        self._flusher: asyncio.Task[None] | None = None
        self.started = False
        self.freeze_gc = freeze_gc
        if isinstance(clock, VirtualClock) and clock.settle_hook is None:
            clock.settle_hook = self.settle

    async def start(self, flowset: FlowSet) -> None:
        """Open connections, build every flow, then start them (triggers last).

        An engine that was stopped starts again afresh (new nodes and connections,
        the same context and traces): a hot reload of the settings does just that."""
        if isinstance(self.clock, VirtualClock) and self.clock.settle_hook is None:
            self.clock.settle_hook = self.settle  # (a stop gave it up)
        self.flowset = flowset
        self.flows.clear()
        self.connections.clear()
        for conn_spec in flowset.connections.values():  # before anything is opened
            given = self.provided.get(conn_spec.id)
            if given is not None and not isinstance(
                given, self.registry.connections[conn_spec.type]
            ):
                raise TypeError(
                    f"the flows declare connection '{conn_spec.id}' a {conn_spec.type}, "
                    f"but the host provided a {type(given).__name__}"
                )
        self.connections.update(self.provided)
        for conn_spec in flowset.connections.values():
            if conn_spec.id in self.provided:
                continue  # the host's own, in place of one built from the declaration
            kind = self.registry.connections[conn_spec.type]
            connection = kind(conn_spec.id, dict(conn_spec.config), self.clock, self.settings)
            connection.data_dir = self.data_dir
            await connection.open()
            self.connections[conn_spec.id] = connection
        for flow_spec in flowset.flows.values():
            self.flows[flow_spec.id] = FlowRuntime(self, flow_spec)
        for flow in self.flows.values():
            await flow.start()
        self.started = True
        self._flusher = asyncio.create_task(self._flush_traces(), name="trace-flusher")
        if self.freeze_gc:
            # Everything built so far lives as long as the process. Moving it out of the
            # collector's sight keeps each collection small: about a third more
            # messages per second through a chain (benchmarks/engine_throughput.py).
            gc.collect()
            gc.freeze()

    async def stop(self, grace: float = 0.0) -> None:
        """Stop every flow and close the connections.

        Runs in progress are cancelled; with ``grace`` every trigger stops first and
        the runs get up to ``grace`` real seconds to finish what they are doing
        (a run waiting for virtual time is not waited for: nothing moves it now).
        """
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        if grace > 0:
            for flow in self.flows.values():
                await flow.halt()
            await self._drain(grace)
        for flow in list(self.flows.values()):
            await flow.stop()
        for conn_id, connection in self.connections.items():
            if self.provided.get(conn_id) is connection:
                continue  # the host's: it closes it, when it is done with it
            try:
                await connection.close()
            except OSError:
                log.exception("connection %s failed to close", connection.connection_id)
        self.traces.flush()
        self.started = False
        clock = self.clock
        if isinstance(clock, VirtualClock) and clock.settle_hook == self.settle:
            # A stopped engine waits for nothing: the next engine on this clock (a
            # restarted service) must be the one the clock waits for.
            clock.settle_hook = None

    async def reload(self, flowset: FlowSet, grace: float = 0.0) -> FlowChanges:
        """Put ``flowset`` in force, touching only the flows that changed.

        Removed and changed flows take no new runs; their runs in progress get up to
        ``grace`` real seconds to finish, then are cancelled. Changed and added flows
        start from their new spec (a ``start`` trigger fires: it is that flow's start);
        the others carry on, their runs and timers untouched. A changed connection
        restarts every flow: which flows use a connection is not all declared (a node
        may name one in its settings or by default). The context and traces carry on.
        If a new flow cannot be built or started, the old versions are put back and
        the error is raised.
        """
        changes = compare(self.flowset, flowset)
        if changes.connections:
            await self.stop(grace)
            await self.start(flowset)
            return changes
        # Build first: a node refusing its config leaves the running flows as they were.
        new_ids, old_ids = (*changes.added, *changes.changed), (*changes.removed, *changes.changed)
        fresh = {f: FlowRuntime(self, flowset.flows[f]) for f in new_ids}
        old_set, old_flows = self.flowset, dict(self.flows)
        await self._retire([old_flows[f] for f in old_ids], grace)
        self.flowset = flowset
        self._put_flows({f: fresh.get(f) or old_flows[f] for f in flowset.flows})
        try:
            for flow in fresh.values():
                await flow.start()
        except Exception:  # put the old versions back, then let the caller know why
            log.exception("flows %s did not start: the previous versions are back", list(fresh))
            await self._retire(list(fresh.values()), 0.0)
            back = {f: FlowRuntime(self, old_set.flows[f]) for f in old_ids}
            self.flowset = old_set
            self._put_flows({f: back.get(f) or old_flows[f] for f in old_set.flows})
            for flow in back.values():
                await flow.start()
            raise
        return changes

    def _put_flows(self, flows: dict[str, FlowRuntime]) -> None:
        """In place: whoever holds ``self.flows`` sees the flows running now."""
        self.flows.clear()
        self.flows.update(flows)

    async def _retire(self, flows: list[FlowRuntime], grace: float) -> None:
        """Stop ``flows``: no new runs, those in progress get ``grace`` seconds, then go."""
        for flow in flows:
            await flow.halt()
        if grace > 0:
            await self._drain(grace, flows)
        for flow in flows:
            await flow.stop()
            self.events.forget_flow(flow.id)

    def provide(self, *connections: Connection) -> None:
        """Hand the engine connections the host made, around live objects of its own (a
        simulated site's meter), each under its ``connection_id``, from the next start on.

        Nodes reach them as any other, ``ctx.connection(id)``. Where the flows declare the
        id (``connections:``, so validation knows the name and its type) the provided one
        stands in for the one the engine would build, and must be of the declared type;
        a declared id the host provides nothing for is built from the flows as usual. The
        engine neither opens nor closes a provided connection: it is the host's."""
        for connection in connections:
            self.provided[connection.connection_id] = connection

    def close(self) -> None:
        self.db.close()

    def observe(self, observer: FlowObserver) -> Callable[[], None]:
        """Tell ``observer`` of every run and step from now on, in every flow (reloaded
        ones too); returns the function that stops it."""
        return self.observers.add(observer)

    def _counts(self, flow_id: str) -> dict[str, int]:
        flow = self.flows.get(flow_id)
        return {n.id: n.count for n in flow.nodes.values()} if flow else {}

    # -- runs -----------------------------------------------------------------

    def trigger(
        self,
        flow_id: str,
        payload: Any = None,
        source: str = "manual",
        to: tuple[str, ...] | None = None,
    ) -> str | None:
        """Start a run of ``flow_id`` by hand; returns its run id, or None if dropped."""
        handle = self.start_run(flow_id, payload, source, to)
        return handle.run_id if handle else None

    def start_run(
        self,
        flow_id: str,
        payload: Any = None,
        source: str = "manual",
        to: tuple[str, ...] | None = None,
    ) -> RunHandle | None:
        flow = self.flows.get(flow_id)
        if flow is None:
            raise KeyError(f"no flow named '{flow_id}'")
        handle = flow.trigger(payload, source, to)
        if handle is not None:
            self._idle.clear()
        return handle

    def run_finished(self) -> None:
        if all(flow.idle() for flow in self.flows.values()):
            self._idle.set()

    def is_idle(self) -> bool:
        return all(flow.idle() for flow in self.flows.values())

    async def wait_idle(self) -> None:
        """Wait until no run is active or queued in any flow."""
        while not self.is_idle():
            self._idle.clear()
            await self._idle.wait()

    async def settle(self) -> None:
        """Wait until every run is finished or waiting for virtual time to move.

        The virtual clock calls this after each wake-up, so work started at
        10:00 (including real I/O, such as a Modbus round trip) is done before
        the clock moves to 10:05.
        """
        clock = self.clock
        sleeping = clock.sleeping_tasks if isinstance(clock, VirtualClock) else set()
        while True:
            busy = [
                task
                for flow in self.flows.values()
                for task in flow.active_tasks()
                if not task.done() and task not in sleeping
            ]
            if not busy:
                return
            if not isinstance(clock, VirtualClock):
                await asyncio.wait(busy, timeout=0.001, return_when=asyncio.FIRST_COMPLETED)
                continue
            # Wake when a busy run ends or some task starts waiting on the clock (the
            # timeout is only a safety net for waits the engine cannot see).
            rest = clock.next_sleeper()
            try:
                await asyncio.wait(
                    [*busy, rest], timeout=SETTLE_CHECK_S, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                rest.cancel()

    async def _drain(self, grace: float, flows: Iterable[FlowRuntime] | None = None) -> None:
        """Wait up to ``grace`` seconds for the active runs (of ``flows``, else of every
        flow) to end by themselves."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        clock = self.clock
        draining = list(self.flows.values() if flows is None else flows)
        while (remaining := deadline - loop.time()) > 0:
            sleeping = clock.sleeping_tasks if isinstance(clock, VirtualClock) else set()
            busy = [
                task
                for flow in draining
                for task in flow.active_tasks()
                if not task.done() and task not in sleeping
            ]
            if not busy:
                return
            await asyncio.wait(
                busy, timeout=min(remaining, SETTLE_CHECK_S), return_when=asyncio.FIRST_COMPLETED
            )

    async def _flush_traces(self) -> None:
        while True:
            await asyncio.sleep(TRACE_FLUSH_SECONDS)  # real time: persistence, not logic
            self.traces.flush()

    # -- views ----------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        return [flow.describe() for flow in self.flows.values()]


#: How much virtual time ``run_to_end`` lets a run take before it gives up on it.
RUN_TO_END_LIMIT_S = 7 * 86400.0


async def run_to_end(
    engine: Engine,
    flow_id: str,
    payload: Any = None,
    *,
    source: str = "manual",
    limit: float = RUN_TO_END_LIMIT_S,
) -> RunTrace:
    """Start a run of ``flow_id`` and move the engine's virtual clock until it is over;
    its trace.

    A run that waits (a retry's backoff, a delay, a request's time limit) waits on the
    clock, and a virtual clock moves only when told: this settles the engine, then jumps
    to the next time anyone waits for (timers and delays fire on the way), and again,
    until the run ends. So a test or tool sees an hour of retries in no wall time, in
    the order they would have happened. Other flows' timers fire on the way too.

    Raises ``TimeoutError`` if the run is still going ``limit`` virtual seconds on, and
    ``RuntimeError`` if its run mode drops it or it waits for something the clock cannot
    move (nobody waits on the clock, yet the run is not over).
    """
    clock = engine.clock
    if not isinstance(clock, VirtualClock):
        raise TypeError("run_to_end moves a VirtualClock; on real time, await the run")
    handle = engine.start_run(flow_id, payload, source)
    if handle is None:
        raise RuntimeError(f"flow '{flow_id}' dropped the run: a run is still going")
    give_up = clock.time() + limit
    await clock.settle()
    while not handle.done.done():
        deadline = clock.next_deadline()
        if deadline is None:
            raise RuntimeError(f"the run of '{flow_id}' waits for something no clock moves")
        if deadline > give_up:
            raise TimeoutError(f"the run of '{flow_id}' is still going after {limit:g} s")
        await clock.run_until(deadline)
    return await handle.wait()
