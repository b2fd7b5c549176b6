"""Live events for UIs and API clients: node status, run starts and ends.

Each subscriber gets its own bounded queue; a slow client loses its oldest
events rather than slowing the engine. New subscribers first receive every
node's last status, so a page opened mid-run is complete at once. Runs reach the
bus through the engine's observers (``RunEvents``), as every watcher of runs does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from flowengine.observe import FlowObserver
from flowengine.traces import RunTrace

QUEUE_SIZE = 1000
#: Notifications kept for clients that connect later (the newest last).
KEEP_NOTIFICATIONS = 50
#: core.debug messages kept for the Flows page's debug panel when it opens.
KEEP_DEBUG = 100


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.last_status: dict[tuple[str, str], dict[str, Any]] = {}
        self.notifications: deque[dict[str, Any]] = deque(maxlen=KEEP_NOTIFICATIONS)
        self.debug: deque[dict[str, Any]] = deque(maxlen=KEEP_DEBUG)

    def publish(self, event: dict[str, Any]) -> None:
        if event.get("type") == "status":
            self.last_status[(event["flow"], event["node"])] = event
        elif event.get("type") == "notification":
            self.notifications.append(event)
        elif event.get("type") == "debug":
            self.debug.append(event)
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def listening(self) -> bool:
        """Whether anyone is subscribed (so callers can skip building events)."""
        return bool(self._subscribers)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        for event in list(self.last_status.values())[-QUEUE_SIZE // 2 :]:
            queue.put_nowait(event)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def forget_flow(self, flow_id: str) -> None:
        for key in [k for k in self.last_status if k[0] == flow_id]:
            del self.last_status[key]


class RunEvents(FlowObserver):
    """Runs starting and ending, as ``run_start`` and ``run`` events on ``bus`` while
    anyone listens; ``counts`` gives a flow's messages per node (the Flows page's counts)."""

    def __init__(self, bus: EventBus, counts: Callable[[str], dict[str, int]]) -> None:
        self._bus = bus
        self._counts = counts

    def run_started(self, flow_id: str, run_id: str, source: str, at: float) -> None:
        if self._bus.listening:
            event = {"type": "run_start", "flow": flow_id, "run_id": run_id, "trigger": source}
            self._bus.publish({**event, "at": at})

    def run_ended(self, trace: RunTrace) -> None:
        if self._bus.listening:
            self._bus.publish(
                {
                    "type": "run",
                    "flow": trace.flow_id,
                    "run_id": trace.run_id,
                    "outcome": trace.outcome,
                    "error": trace.error,
                    "at": trace.finished,
                    "counts": self._counts(trace.flow_id),
                }
            )
