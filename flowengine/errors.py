"""Errors that point at the place in a file where something is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file, at a line and column (both 1-based)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class InvalidFlows(Exception):
    """Raised when files do not validate; nothing from them may start."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with a request (an API body, an MQTT command), and its field."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidRequest(ValueError):
    """A refused request; ``problems`` says what is wrong with which field, so the API
    and MQTT answer with the same located messages."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class NodeFailure(Exception):
    """A failure the world causes, not a bug: a device or service that does not answer,
    refuses or sends garbage. The run still fails, visibly; the log gives it one line
    (the traceback at debug), so a gateway that is down does not fill the journal."""
