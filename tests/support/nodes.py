"""Node types for tests (``test.*``): small, predictable stand-ins that engine and node
tests wire around the node under test."""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine import Message, Node


class Fail(Node):
    type_name = "test.fail"
    description = "Raises, always."

    def process(self, msg: Message) -> Message:
        raise RuntimeError("boom")


class Append(Node):
    type_name = "test.append"
    description = "Appends its config 'item' to the payload list, in place."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"item": {}},
        "additionalProperties": False,
    }

    def process(self, msg: Message) -> Message:
        msg.payload.append(self.config.get("item", self.ctx.node_id))
        return msg


class Collect(Node):
    type_name = "test.collect"
    description = "Remembers every payload it gets."
    gives: ClassVar[dict[str, str]] = {}
    seen: ClassVar[dict[str, list[Any]]] = {}

    def process(self, msg: Message) -> None:
        Collect.seen.setdefault(self.ctx.node_id, []).append(msg.payload)


class Sleep(Node):
    type_name = "test.sleep"
    description = "Sleeps on the clock for config 'seconds'."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"seconds": {"type": "number"}},
        "additionalProperties": False,
    }

    async def process(self, msg: Message) -> Message:
        await self.ctx.clock.sleep(self.config.get("seconds", 60))
        return msg


class Split(Node):
    type_name = "test.split"
    description = "Sends the payload to 'high' when it is above 10, else to 'low'."
    gives: ClassVar[dict[str, str]] = {"low": "small numbers", "high": "big numbers"}

    def process(self, msg: Message) -> dict[str, Message]:
        return {"high" if msg.payload > 10 else "low": msg}


class Twice(Node):
    type_name = "test.twice"
    description = "Gives the very same message on both of its ports."
    gives: ClassVar[dict[str, str]] = {"one": "the message", "two": "the same message"}

    def process(self, msg: Message) -> dict[str, Message]:
        return {"one": msg, "two": msg}


TEST_TYPES = [Fail, Append, Collect, Sleep, Split, Twice]
