"""BOM warnings (protocols.md 5.4), in BOM's own XML or as CAP, in the docs/inputs.md shape.

A warning is classified by what it says (its title, CAP event, hazards) and
matched to our area by the areas it lists, never by its product ID: BOM has
reorganised IDs before, and the same ID has meant different products.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from nodes.bom import elements as el
from nodes.bom.areas import OurArea
from nodes.inputs.provider import InvalidPayload

_PHASES = {
    "new": "new",
    "alert": "new",
    "upd": "update",
    "update": "update",
    "ren": "update",
    "can": "cancelled",
    "cancel": "cancelled",
    "cancelled": "cancelled",
    "fin": "final",
    "final": "final",
    "exp": "expired",
    "expired": "expired",
}
#: First match wins: "Severe Weather Warning for heavy rain and flash flooding" is not a flood.
_CATEGORIES = (
    ("cyclone", "cyclone"),
    ("thunderstorm", "thunderstorm"),
    ("severe weather", "severe_weather"),
    ("flood", "flood"),
)


@dataclass(frozen=True)
class _Fields:
    title: str
    phase: str | None
    issued_at: float | None
    expires_at: float | None
    areas: list[tuple[str | None, str | None]]  # (aac, description)
    about: str  # every word that says what kind of warning this is


def parse_warning(data: bytes, product: str, ours: OurArea, now: float) -> dict[str, Any]:
    """The warning in one product file, with ``ours`` and a phase that knows expiry."""
    where = f"bom {product}"
    root = el.parse(data, where)
    tag = el.local(root.tag)
    if tag == "product":
        fields = _from_product(root, where)
    elif tag == "alert":
        fields = _from_cap(root, where)
    else:
        raise InvalidPayload(f"{where}: root is <{tag}>, not a BOM <product> or a CAP <alert>")
    names = [desc or aac for aac, desc in fields.areas if desc or aac]
    if fields.areas:
        mine = ours.any_of((a for a, _ in fields.areas), (d for _, d in fields.areas))
    else:  # no areas listed: fall back to the places the title names
        mine = ours.named_in(fields.title)
    return {
        "product": product,
        "title": fields.title,
        "category": category(fields.about),
        "phase": _phase(fields, now),
        "areas": names,
        "issued_at": fields.issued_at,
        "expires_at": fields.expires_at,
        "ours": mine,
    }


def category(about: str) -> str:
    folded = about.casefold()
    return next((name for word, name in _CATEGORIES if word in folded), "other")


def _phase(fields: _Fields, now: float) -> str:
    title = fields.title.casefold()
    if "cancel" in title:
        return "cancelled"
    phase = _PHASES.get((fields.phase or "").casefold(), (fields.phase or "new").casefold())
    if title.startswith("final "):
        phase = "final"
    expired = fields.expires_at is not None and fields.expires_at <= now
    if expired and phase not in ("cancelled", "final"):
        return "expired"
    return phase


def _from_product(root: ET.Element, where: str) -> _Fields:
    amoc = el.child(root, "amoc")
    if amoc is None:
        raise InvalidPayload(f"{where}: no <amoc> metadata in the <product>")
    title = el.typed_text(root, "text", "warning_title")
    if title is None:
        raise InvalidPayload(f'{where}: no warning title (<text type="warning_title">)')
    body = el.child(root, "warning")
    if body is None:
        raise InvalidPayload(f"{where}: no <warning> in the <product>")
    hazards = " ".join(h.get("type") or "" for h in el.descendants(body, "hazard"))
    return _Fields(
        title=" ".join(title.split()),
        phase=el.text(amoc, "phase"),
        issued_at=el.epoch(el.text(amoc, "issue-time-utc"), f"{where} issue-time-utc"),
        expires_at=el.epoch(el.text(amoc, "expiry-time"), f"{where} expiry-time"),
        areas=[(a.get("aac"), a.get("description")) for a in el.descendants(body, "area")],
        about=f"{title} {hazards}",
    )


def _from_cap(root: ET.Element, where: str) -> _Fields:
    info = el.child(root, "info")
    if info is None:
        raise InvalidPayload(f"{where}: CAP <alert> without <info>")
    event = el.text(info, "event") or ""
    title = el.text(info, "headline") or event
    if not title:
        raise InvalidPayload(f"{where}: CAP <info> has neither <headline> nor <event>")
    areas: list[tuple[str | None, str | None]] = []
    for area in el.children(info, "area"):
        areas.append((None, el.text(area, "areaDesc")))
        areas.extend((el.text(code, "value"), None) for code in el.children(area, "geocode"))
    return _Fields(
        title=" ".join(title.split()),
        phase=el.text(root, "msgType"),
        issued_at=el.epoch(el.text(root, "sent"), f"{where} sent"),
        expires_at=el.epoch(el.text(info, "expires"), f"{where} expires"),
        areas=areas,
        about=f"{event} {title}",
    )
