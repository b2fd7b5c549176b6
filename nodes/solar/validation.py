"""Checks that name what is wrong and where: responses per site or plane, settings sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from nodes.inputs.provider import InvalidPayload


def check_each(labels: Sequence[str], schema: dict[str, Any], raw: Any) -> None:
    """Raise InvalidPayload at the first response in ``raw`` that breaks ``schema``.

    ``labels`` name the responses in order (``"solcast site abcd-1234"``), so the
    problem says which call answered badly and where: ``solcast site abcd-1234:
    payload.forecasts[3].pv_estimate: -1 is less than the minimum of 0``.
    """
    if not isinstance(raw, list) or len(raw) != len(labels):
        raise InvalidPayload(f"expected one response each from {', '.join(labels)}")
    validator = jsonschema.Draft202012Validator(schema)
    for label, payload in zip(labels, raw, strict=True):
        error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            raise InvalidPayload(f"{label}: payload{where}: {error.message}")


@dataclass(frozen=True)
class SettingsProblem:
    """One thing wrong with a provider's site config section, at its path."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return f"{'.'.join(map(str, self.path))}: {self.message}"
