"""MQTT topic names and filters as the MQTT 3.1.1 spec (§4.7) allows them, checked when a
flow loads so a bad one is a located error, not a failure at the first message."""

from __future__ import annotations

MAX_TOPIC_BYTES = 65535


def filter_problem(topic_filter: str) -> str | None:
    """Why ``topic_filter`` is not a valid subscription filter, or None."""
    if not topic_filter:
        return "a topic filter cannot be empty"
    if len(topic_filter.encode()) > MAX_TOPIC_BYTES:
        return f"a topic filter is at most {MAX_TOPIC_BYTES} bytes"
    if "\x00" in topic_filter:
        return "a topic filter cannot hold a NUL character"
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"'#' must be a whole level and the last one: '{topic_filter}'"
        if "+" in level and level != "+":
            return f"'+' must be a whole level: '{topic_filter}' (write a/+/b, not a/b+)"
    return None


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` is not a topic one may publish to, or None."""
    if "+" in topic or "#" in topic:
        return f"a topic to publish to cannot hold the wildcards + or #: '{topic}'"
    if "\x00" in topic:
        return "a topic cannot hold a NUL character"
    if len(topic.encode()) > MAX_TOPIC_BYTES:
        return f"a topic is at most {MAX_TOPIC_BYTES} bytes"
    return None
