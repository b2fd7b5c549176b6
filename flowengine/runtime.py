"""A running flow: its nodes, its triggers, its runs and their run mode.

Each run is an asyncio task, so one slow or failing node never stalls another
flow. The run mode says what a new trigger does while a run is going, as in
Home Assistant's automations: ``single`` drops it, ``restart`` cancels the
running one, ``queued`` waits its turn, ``parallel`` runs alongside up to
``max_runs``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import time
import traceback
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from flowengine.context import GLOBAL, Scope, flow_scope
from flowengine.errors import NodeFailure
from flowengine.message import Message
from flowengine.node import ERROR_PORT, Node
from flowengine.observe import Observers
from flowengine.spec import FlowSpec, NodeSpec
from flowengine.stats import RunStats
from flowengine.summary import summarize
from flowengine.traces import RunTrace, Step, flow_digest
from flowengine.triggers import Trigger

if TYPE_CHECKING:
    from flowengine.clock import Clock
    from flowengine.engine import Engine

log = logging.getLogger("flowengine")

_RUN_PREFIX = f"{int(time.time()):x}{os.getpid() % 4096:03x}"
_run_counter = itertools.count(1)


def new_run_id() -> str:
    return f"{_RUN_PREFIX}-{next(_run_counter):09d}"


class NodeContextImpl:
    """The ``NodeContext`` a node gets: its view of the engine."""

    def __init__(self, engine: Engine, flow_id: str, node_id: str) -> None:
        self.node_id = node_id
        self.flow_id = flow_id
        self.clock: Clock = engine.clock
        self.timezone = engine.timezone
        self.data_dir = engine.data_dir
        self.log = logging.getLogger(f"flow.{flow_id}.{node_id}")
        self._engine = engine
        self._flow = Scope(engine.context, flow_scope(flow_id))
        self._globals = Scope(engine.context, GLOBAL)
        self.runtime: NodeRuntime | None = None

    @property
    def flow(self) -> Scope:
        return self._flow

    @property
    def globals(self) -> Scope:
        return self._globals

    @property
    def settings(self) -> Mapping[str, Any]:
        return self._engine.settings

    def connection(self, connection_id: str) -> Any:
        return self._engine.connections[connection_id]

    def status(self, text: str, state: str = "ok") -> None:
        if self.runtime is not None:
            self.runtime.set_status(text, state)

    def trigger_flow(self, flow_id: str, payload: Any = None, reason: str = "") -> str | None:
        """Start another flow (e.g. a re-plan); returns its run id, or None if dropped."""
        source = f"{reason} (from {self.flow_id})" if reason else f"flow {self.flow_id}"
        return self._engine.trigger(flow_id, payload, source=source)

    async def call_flow(self, flow_id: str, payload: Any, timeout: float) -> Any:
        """Run another flow and wait (on the engine's clock) for what its core.reply gives."""
        handle = self._engine.start_run(flow_id, payload, source=f"called by {self.flow_id}")
        if handle is None:
            raise RuntimeError(f"flow '{flow_id}' dropped the call: a run is still going")
        if not await self.clock.wait_for(handle.done, timeout):
            raise TimeoutError(f"flow '{flow_id}' gave no reply within {timeout:g} s")
        if handle.done.cancelled():
            raise RuntimeError(f"flow '{flow_id}' was stopped before it replied")
        trace = handle.done.result()
        if trace.outcome != "ok":
            raise RuntimeError(f"flow '{flow_id}' failed: {trace.error or trace.outcome}")
        if not handle.replied:
            raise RuntimeError(f"flow '{flow_id}' ended without a core.reply node answering")
        return handle.reply

    def reply(self, msg: Message) -> None:
        """Answer the call that started this run (a core.reply node)."""
        self._engine.flows[self.flow_id].replies[msg.run_id] = msg.payload

    def notify(self, text: str, level: str = "info", data: Any = None) -> None:
        """A notification event on the engine's bus, and the same line in the log."""
        self.log.log(logging.WARNING if level in ("warn", "error") else logging.INFO, "%s", text)
        self._engine.events.publish(
            {
                "type": "notification",
                "flow": self.flow_id,
                "node": self.node_id,
                "level": level,
                "text": text,
                "data": data,
                "at": self.clock.time(),
            }
        )

    def debug(self, value: Any, topic: str = "") -> None:
        self._engine.events.publish(
            {
                "type": "debug",
                "flow": self.flow_id,
                "node": self.node_id,
                "topic": topic,
                "value": summarize(value),
                "at": self.clock.time(),
            }
        )


class NodeRuntime:
    """One node of a running flow, with its wiring and live status."""

    __slots__ = (
        "count",
        "errors",
        "first_targets",
        "flow",
        "id",
        "is_async",
        "last_error",
        "node",
        "ports",
        "spec",
        "status",
        "wires",
    )

    def __init__(
        self, flow: FlowRuntime, spec: NodeSpec, node: Node, ports: tuple[str, ...]
    ) -> None:
        self.flow = flow
        self.id = spec.id
        self.spec = spec
        self.node = node
        self.ports = ports
        self.wires: dict[str, tuple[NodeRuntime, ...]] = {}
        self.first_targets: tuple[NodeRuntime, ...] = ()
        self.is_async = inspect.iscoroutinefunction(node.process)
        self.count = 0
        self.errors = 0
        self.last_error: str | None = None
        self.status: dict[str, Any] = {"text": "", "state": "idle", "at": None}

    def set_status(self, text: str, state: str = "ok") -> None:
        self.status = {"text": text, "state": state, "at": self.flow.engine.clock.time()}
        self.flow.engine.events.publish(
            {
                "type": "status",
                "flow": self.flow.id,
                "node": self.id,
                "count": self.count,
                "errors": self.errors,
                **self.status,
            }
        )

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.spec.type,
            "name": self.spec.name,
            "wires": {port: [t.id for t in targets] for port, targets in self.wires.items()},
            "count": self.count,
            "errors": self.errors,
            "last_error": self.last_error,
            "status": self.status,
        }


class RunHandle:
    """A started (or queued) run: its id, and its trace once it finishes.

    A run that was called (``core.run_flow`` with ``wait``) answers through a
    ``core.reply`` node: its payload is ``reply`` once the run is done."""

    __slots__ = ("done", "replied", "reply", "run_id")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.done: asyncio.Future[RunTrace] = asyncio.get_running_loop().create_future()
        self.reply: Any = None
        self.replied = False

    async def wait(self) -> RunTrace:
        return await asyncio.shield(self.done)


class FlowRuntime:
    def __init__(self, engine: Engine, spec: FlowSpec) -> None:
        self.engine = engine
        self.spec = spec
        self.id = spec.id
        self.digest = flow_digest(spec.source)
        self.nodes: dict[str, NodeRuntime] = {}
        self.triggers: list[Trigger] = []
        self._active: dict[str, asyncio.Task[None]] = {}
        self._queue: deque[tuple[RunHandle, Any, str, tuple[str, ...] | None, str]] = deque()
        self.dropped = 0
        self._dropping = False  # a drop was logged and no run has started since
        self.running = False
        #: What core.reply nodes answered, by run id, until the run finishes.
        self.replies: dict[str, Any] = {}
        #: Outcomes and durations of this flow's runs, kept by the engine across reloads.
        self.stats: RunStats = engine.run_stats.setdefault(spec.id, RunStats())
        for node_spec in spec.nodes:
            ctx = NodeContextImpl(engine, spec.id, node_spec.id)
            kind = engine.registry.nodes[node_spec.type]
            node = kind(ctx, dict(node_spec.config))
            runtime = NodeRuntime(self, node_spec, node, kind.ports_for(node_spec.config))
            ctx.runtime = runtime
            self.nodes[node_spec.id] = runtime
        for runtime in self.nodes.values():
            runtime.wires = {
                port: tuple(self.nodes[t] for t in targets)
                for port, targets in runtime.spec.wires.items()
            }
            if runtime.ports:
                runtime.first_targets = runtime.wires.get(runtime.ports[0], ())
        self._entry = tuple(self.nodes[n] for n in spec.entry_nodes)

    # -- life cycle -----------------------------------------------------------

    async def start(self) -> None:
        self.engine.traces.remember_flow(self.digest, self.spec.source)
        for runtime in self.nodes.values():
            await runtime.node.start()
        self.running = True
        for trigger_spec in self.spec.triggers:
            trigger = self.engine.trigger_types[trigger_spec.type](trigger_spec, self)
            self.triggers.append(trigger)
            await trigger.start()

    async def halt(self) -> None:
        """Take no new runs: stop the triggers and drop the queued runs; those in
        progress carry on."""
        self.running = False
        for trigger in self.triggers:
            await trigger.stop()
        self.triggers.clear()
        for handle, *_ in self._queue:
            if not handle.done.done():
                handle.done.cancel()
        self._queue.clear()

    async def stop(self, cancel_runs: bool = True) -> None:
        """Stop triggers; cancel runs in progress (or let them finish); stop nodes."""
        await self.halt()
        tasks = list(self._active.values())
        if cancel_runs:
            for task in tasks:
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for runtime in self.nodes.values():
            try:
                await runtime.node.stop()
            except Exception:  # a node's cleanup failing must not stop the others'
                log.exception("node %s.%s failed to stop", self.id, runtime.id)

    @property
    def active_runs(self) -> int:
        return len(self._active)

    def active_tasks(self) -> list[asyncio.Task[None]]:
        return list(self._active.values())

    def idle(self) -> bool:
        return not self._active and not self._queue

    # -- starting runs --------------------------------------------------------

    def trigger(
        self,
        payload: Any = None,
        source: str = "manual",
        to: tuple[str, ...] | None = None,
        topic: str = "",
    ) -> RunHandle | None:
        """Start a run according to the run mode; None when the mode drops it."""
        handle = RunHandle(new_run_id()) if self.running else None
        verdict = "drop" if handle is None else self._admit(handle, payload, source, to, topic)
        if verdict == "drop":
            handle = None
        observers = self.engine.observers.run_triggered
        if observers:  # before the run starts: watchers hear of a run before its steps
            run_id, now = handle.run_id if handle else None, self.engine.clock.time()
            for observer in observers:
                observer(self.id, run_id, payload, source, now)
        if handle is not None and verdict == "start":
            self._launch(handle, payload, source, to, topic)
        return handle

    def _admit(
        self, handle: RunHandle, payload: Any, source: str, to: tuple[str, ...] | None, topic: str
    ) -> Literal["start", "queue", "drop"]:
        """What the run mode does with a new run: start it (cancelling the running one
        in mode restart), queue it, or drop it."""
        mode = self.spec.mode
        if self._active:
            if mode == "single" or (mode == "parallel" and len(self._active) >= self.spec.max_runs):
                self._drop(f"{source} trigger dropped, a run is still going (mode {mode})")
                return "drop"
            if mode == "restart":
                for task in self._active.values():
                    task.cancel()
            elif mode == "queued":
                if len(self._queue) >= self.spec.max_runs:
                    self._drop(f"queue full, {source} trigger dropped")
                    return "drop"
                self._queue.append((handle, payload, source, to, topic))
                return "queue"
        return "start"

    def _drop(self, why: str) -> None:
        """Count a dropped trigger; say so once while runs keep it busy (a slow inverter
        drops one each tick), not at every one: the count is in ``dropped``."""
        self.dropped += 1
        if self._dropping:
            log.debug("flow %s: %s", self.id, why)
            return
        self._dropping = True
        log.warning("flow %s: %s (further drops until a run starts are not logged)", self.id, why)

    def _launch(
        self,
        handle: RunHandle,
        payload: Any,
        source: str,
        to: tuple[str, ...] | None,
        topic: str = "",
    ) -> None:
        self._dropping = False
        engine = self.engine
        now = engine.clock.time()
        preview = summarize(payload) if engine.tracing else None
        trace = RunTrace(self.id, handle.run_id, source, now, preview, self.digest)
        for observer in engine.observers.run_started:
            observer(self.id, handle.run_id, source, now)
        msg = Message(payload, topic, handle.run_id, now, {"trigger": source})
        targets = self._entry if to is None else tuple(self.nodes[n] for n in to)
        task = asyncio.create_task(
            self._run(handle, trace, msg, targets), name=f"run:{self.id}:{handle.run_id}"
        )
        self._active[handle.run_id] = task
        task.add_done_callback(lambda _: self._cancelled_before_start(handle, trace))

    async def _run(
        self, handle: RunHandle, trace: RunTrace, msg: Message, targets: tuple[NodeRuntime, ...]
    ) -> None:
        began = time.perf_counter()
        try:
            await self._execute(trace, msg, targets)
        except asyncio.CancelledError:
            trace.outcome = "cancelled"
            self._finish(handle, trace, time.perf_counter() - began)
            raise
        except Exception as exc:  # a bug in the engine itself: record it, the flow lives on
            trace.outcome = "error"
            trace.error = f"engine error: {type(exc).__name__}: {exc}"
            log.error("flow %s run %s crashed", self.id, trace.run_id, exc_info=exc)
        else:
            trace.outcome = "error" if trace.error else "ok"
        self._finish(handle, trace, time.perf_counter() - began)

    def _cancelled_before_start(self, handle: RunHandle, trace: RunTrace) -> None:
        """A run cancelled before its first step never reached ``_run``'s own bookkeeping."""
        if trace.finished is None:
            trace.outcome = "cancelled"
            self._finish(handle, trace)

    def _finish(self, handle: RunHandle, trace: RunTrace, seconds: float = 0.0) -> None:
        """Record a finished run (``seconds`` of real time), tell listeners, and start
        the next queued one."""
        engine = self.engine
        trace.finished = engine.clock.time()
        self._active.pop(handle.run_id, None)
        self.stats.record(trace.outcome, seconds)
        if engine.tracing:
            engine.traces.record(trace)
        for observer in engine.observers.run_ended:
            observer(trace)
        if handle.run_id in self.replies:
            handle.reply = self.replies.pop(handle.run_id)
            handle.replied = True
        if not handle.done.done():
            handle.done.set_result(trace)
        if self._queue and self.running:
            self._launch(*self._queue.popleft())
        engine.run_finished()

    async def _execute(
        self, trace: RunTrace, msg: Message, targets: tuple[NodeRuntime, ...]
    ) -> None:
        steps = trace.steps
        queue: deque[tuple[NodeRuntime, Message, int]] = deque()
        for index, target in enumerate(targets):
            queue.append((target, msg if index == 0 else msg.copy(), -1))
        tracing = self.engine.tracing
        observers = self.engine.observers  # read at each step: one may register mid-run
        perf = time.perf_counter
        perf_origin = perf()
        clock_origin = trace.started
        while queue:
            runtime, message, source = queue.popleft()
            started = perf()
            step = Step(runtime.id, source, clock_origin + (started - perf_origin))
            step_index = len(steps)
            steps.append(step)
            runtime.count += 1
            if observers.step_started:
                self._observe_start(observers, trace.run_id, runtime.id, message)
            try:
                out = runtime.node.process(message)
                if runtime.is_async or (
                    out is not None and out.__class__ is not Message and inspect.isawaitable(out)
                ):
                    timeout = runtime.spec.timeout
                    waiting: Any = out
                    if timeout:  # in this task, not wait_for's own: a node waiting on a
                        async with asyncio.timeout(timeout):  # virtual clock is the run waiting
                            out = await waiting
                    else:
                        out = await waiting
            except asyncio.CancelledError:
                step.status = "cancelled"
                step.duration_us = (perf() - started) * 1e6
                if observers.step_failed:
                    self._observe_failure(observers, trace.run_id, runtime.id, "cancelled")
                raise
            except Exception as exc:  # the engine boundary: record, route, carry on
                step.duration_us = (perf() - started) * 1e6
                self._fail(trace, step, step_index, runtime, message, exc, queue)
                continue
            step.duration_us = (perf() - started) * 1e6
            if observers.step_ended:
                self._observe_end(observers, trace.run_id, runtime, out)
            if out is None:
                continue
            if isinstance(out, Message):  # the common case: one message out of the first port
                first = runtime.first_targets
                if first:
                    queue.append((first[0], out, step_index))
                    for target in first[1:]:
                        queue.append((target, out.copy(), step_index))
                if tracing:
                    step.output = {runtime.ports[0]: summarize(out.payload)}
            elif isinstance(out, Mapping):
                step.output = self._route(runtime, out, step_index, queue, tracing)

    def _observe_start(
        self, observers: Observers, run_id: str, node_id: str, message: Message
    ) -> None:
        now = self.engine.clock.time()
        for observer in observers.step_started:
            observer(self.id, run_id, node_id, message, now)

    def _observe_end(
        self, observers: Observers, run_id: str, runtime: NodeRuntime, out: Any
    ) -> None:
        gave = _given(out, runtime.ports)
        now = self.engine.clock.time()
        for observer in observers.step_ended:
            observer(self.id, run_id, runtime.id, gave, now)

    def _observe_failure(self, observers: Observers, run_id: str, node_id: str, error: str) -> None:
        now = self.engine.clock.time()
        for observer in observers.step_failed:
            observer(self.id, run_id, node_id, error, now)

    def _route(
        self,
        runtime: NodeRuntime,
        out: Mapping[str, Message | list[Message] | None],
        step_index: int,
        queue: deque[tuple[NodeRuntime, Message, int]],
        tracing: bool = True,
    ) -> dict[str, Any]:
        if isinstance(out, Message):
            port = runtime.ports[0]
            targets = runtime.wires.get(port)
            if targets:
                queue.append((targets[0], out, step_index))
                for target in targets[1:]:
                    queue.append((target, out.copy(), step_index))
            return {port: summarize(out.payload)} if tracing else {}
        summary: dict[str, Any] = {}
        sent: set[int] = set()  # a message given on two ports is copied for the second
        for port, value in out.items():
            if value is None:
                continue
            messages = value if isinstance(value, list) else [value]
            if runtime.wires.get(port):
                messages = [m.copy() if id(m) in sent else m for m in messages]
                sent.update(id(m) for m in messages)
            if tracing:
                summary[port] = (
                    summarize(messages[0].payload)
                    if len(messages) == 1
                    else [summarize(m.payload) for m in messages]
                )
            targets = runtime.wires.get(port, ())
            for message in messages:
                for index, target in enumerate(targets):
                    queue.append((target, message if index == 0 else message.copy(), step_index))
        return summary

    def _fail(
        self,
        trace: RunTrace,
        step: Step,
        step_index: int,
        runtime: NodeRuntime,
        message: Message,
        exc: Exception,
        queue: deque[tuple[NodeRuntime, Message, int]],
    ) -> None:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError) and runtime.spec.timeout and not str(exc):
            text = f"timed out after {runtime.spec.timeout:g}s"  # the node's own time limit
        step.status = "error"
        step.error = text
        trace.error = f"{runtime.id}: {text}"
        observers = self.engine.observers
        if observers.step_failed:
            self._observe_failure(observers, trace.run_id, runtime.id, text)
        runtime.errors += 1
        runtime.last_error = text
        runtime.set_status(text, "error")
        details = "".join(traceback.format_exception(exc)).rstrip()
        if isinstance(exc, NodeFailure):  # the world's doing: one line, the rest at debug
            log.warning("flow %s, node %s failed: %s", self.id, runtime.id, text)
            log.debug("flow %s, node %s failed:\n%s", self.id, runtime.id, details)
        else:
            log.warning("flow %s, node %s failed: %s\n%s", self.id, runtime.id, text, details)
        error_payload = {
            "error": text,
            "flow": self.id,
            "node": runtime.id,
            "type": runtime.spec.type,
            "run_id": trace.run_id,
            "payload": summarize(message.payload),
        }
        handlers = runtime.wires.get(ERROR_PORT)
        if handlers:
            step.output = {ERROR_PORT: error_payload}
            for index, target in enumerate(handlers):
                error_msg = message.derive(error_payload if index == 0 else dict(error_payload))
                queue.append((target, error_msg, step_index))
        elif self.spec.on_error:
            self.engine.trigger(self.spec.on_error, error_payload, source=f"error in {self.id}")

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.spec.file,
            "description": self.spec.description,
            "mode": self.spec.mode,
            "triggers": [t.label for t in self.triggers] or [t.type for t in self.spec.triggers],
            "active_runs": len(self._active),
            "dropped": self.dropped,
            "nodes": [n.describe() for n in self.nodes.values()],
        }


def _given(out: Any, ports: tuple[str, ...]) -> dict[str, list[Message]]:
    """What a node's ``process`` returned, by port as a list (for observers): one message
    is its first port's; a port given None gave nothing."""
    if out is None:
        return {}
    if isinstance(out, Message):
        return {ports[0]: [out]} if ports else {}
    return {
        port: value if isinstance(value, list) else [value]
        for port, value in out.items()
        if value is not None
    }
