"""Whether a BOM area is ours: by AAC code or by name, never by product ID.

Names are compared whole after normalising case, spacing and the suffixes BOM
adds ("Brisbane City Council Area", "Southeast Coast Forecast District"), so
"Brisbane" does not match "North Brisbane Bay" by accident. A CAP ``areaDesc``
lists several areas in one string; each is tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_LOCATION_AAC = "QLD_PT001"  # Brisbane
DEFAULT_DISTRICT_AAC = "QLD_PW015"  # Southeast Coast
DEFAULT_AREA_NAMES = ("Brisbane", "Brisbane City", "Southeast Coast")

_SUFFIX = re.compile(r"\s+(council areas?|forecast districts?|districts?|local government areas?)$")


def normalise(name: str) -> str:
    return _SUFFIX.sub("", " ".join(name.casefold().split()))


def names_in(description: str) -> set[str]:
    """The area names one description may hold: whole, per comma, and per "and"."""
    names = {normalise(description)}
    for part in description.split(","):
        names.add(normalise(part))
        names.update(normalise(piece) for piece in re.split(r"\s+and\s+", part))
    return {name for name in names if name}


@dataclass(frozen=True)
class OurArea:
    aacs: frozenset[str]
    names: frozenset[str]

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> OurArea:
        aacs = (
            section.get("location_aac", DEFAULT_LOCATION_AAC),
            section.get("district_aac", DEFAULT_DISTRICT_AAC),
        )
        names = section.get("area_names", DEFAULT_AREA_NAMES)
        return cls(
            frozenset(a.casefold() for a in aacs if a),
            frozenset(normalise(n) for n in names),
        )

    def has_aac(self, aac: str | None) -> bool:
        return aac is not None and aac.casefold() in self.aacs

    def has_name(self, description: str | None) -> bool:
        return description is not None and not self.names.isdisjoint(names_in(description))

    def any_of(self, aacs: Iterable[str | None], descriptions: Iterable[str | None]) -> bool:
        return any(self.has_aac(a) for a in aacs) or any(self.has_name(d) for d in descriptions)

    def named_in(self, text: str) -> bool:
        """Whether free text (a title) names one of our areas as whole words."""
        folded = " ".join(text.casefold().split())
        return any(re.search(rf"\b{re.escape(name)}\b", folded) for name in self.names)
