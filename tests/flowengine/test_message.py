"""The message: what a derived or copied message shares with its parent (nothing mutable)."""

from __future__ import annotations

from flowengine import Message


def test_derive_keeps_the_run_and_copies_meta() -> None:
    parent = Message({"a": 1}, "t", "run-1", 100.0, {"trigger": {"type": "cron"}})
    first = parent.derive(1)
    second = parent.derive(2, topic="other")
    first.meta["published"] = True
    first.meta["trigger"]["type"] = "changed"
    assert second.meta == {"trigger": {"type": "cron"}}
    assert parent.meta == {"trigger": {"type": "cron"}}
    assert (second.run_id, second.timestamp) == ("run-1", 100.0)
    assert (first.topic, second.topic) == ("t", "other")


def test_copy_shares_no_payload_or_meta() -> None:
    parent = Message({"list": [1]}, meta={"parts": {"index": 0}})
    child = parent.copy()
    child.payload["list"].append(2)
    child.meta["parts"]["index"] = 5
    assert parent.payload == {"list": [1]} and parent.meta == {"parts": {"index": 0}}
