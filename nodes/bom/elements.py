"""Reading BOM XML: parse with a clear error, find elements, read times and numbers.

CAP files put every element in a namespace and BOM's own products do not, so
lookups compare local names and work for both.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

from nodes.inputs.provider import InvalidPayload


def parse(data: bytes, where: str) -> ET.Element:
    """The root element of ``data``; InvalidPayload naming the file, line and column."""
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InvalidPayload(f"{where}: malformed XML: {exc}") from None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if local(child.tag) == name)


def child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    return next(children(element, name), None)


def descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (node for node in element.iter() if local(node.tag) == name)


def text(element: ET.Element | None, name: str) -> str | None:
    """The stripped text of ``element``'s first child called ``name`` (None if absent/empty)."""
    found = child(element, name)
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def typed_text(element: ET.Element, tag: str, type_: str) -> str | None:
    """The text of the first ``<tag type="type_">`` inside ``element``."""
    for node in descendants(element, tag):
        if node.get("type") == type_:
            return (node.text or "").strip() or None
    return None


def epoch(value: str | None, where: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (one without an offset is UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidPayload(f"{where}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
