"""Is a ``tariff:`` section usable? Every problem, each at its place in the site config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonschema

from nodes.tariff.bands import TariffProblem
from nodes.tariff.layout import build_layout
from nodes.tariff.schema import (
    DATE_PATTERN,
    END_PATTERN,
    SEASON_NAME_PATTERN,
    TARIFF_SCHEMA,
    TIME_PATTERN,
)

#: What each pattern means, for messages people can act on.
PATTERN_MEANS = {
    TIME_PATTERN: "a time HH:MM from 00:00 to 23:59",
    END_PATTERN: "a time HH:MM from 00:00 to 24:00",
    DATE_PATTERN: "a day of the year MM-DD",
    SEASON_NAME_PATTERN: "a name of letters, digits, _ and - (starting with a letter)",
}


class InvalidTariff(ValueError):
    """A tariff that cannot be used; ``problems`` say what is wrong and where."""

    def __init__(self, problems: Sequence[TariffProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def check_tariff(section: Any) -> list[TariffProblem]:
    """Schema problems first; only a section of the right shape is checked for sense."""
    problems = schema_problems(section)
    if problems:
        return problems
    return build_layout(section)[1]


def schema_problems(section: Any) -> list[TariffProblem]:
    validator = jsonschema.Draft202012Validator(TARIFF_SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(section), key=lambda e: list(map(str, e.path))):
        if error.context:  # anyOf: the alternative that got furthest says what is wrong
            error = max(error.context, key=lambda e: len(e.path))
        message = error.message
        if error.validator == "pattern" and error.validator_value in PATTERN_MEANS:
            message = f"{error.instance!r} is not {PATTERN_MEANS[error.validator_value]}"
        if error.validator in ("minimum", "maximum") and error.path and error.path[-1] == "price":
            message += " ($/kWh including GST: 0.45 for 45 c/kWh)"
        problems.append(TariffProblem(("tariff", *error.absolute_path), message))
    return problems
