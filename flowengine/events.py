"""Live events for UIs and API clients: node status, run starts and ends.

Each subscriber gets its own bounded queue; a slow client loses its oldest
events rather than slowing the engine. New subscribers first receive every
node's last status, so a page opened mid-run is complete at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

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
