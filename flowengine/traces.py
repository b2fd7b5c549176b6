"""Run traces, kept like Home Assistant's automation traces.

Every run records, per node, what it gave (a bounded summary), how long it took,
and its error; what a node *got* is the output of the step that fed it. The last
N runs of each flow are kept per outcome, so a flood of good runs never evicts
the one failure you need. Traces are batched to SQLite off the hot path.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flowengine.database import transaction

OUTCOMES = ("ok", "error", "cancelled")


@dataclass(slots=True)
class Step:
    node: str
    source: int  # index of the step whose output this node got; -1 is the trigger
    started: float
    duration_us: float = 0.0
    status: str = "ok"
    output: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "source": self.source,
            "started": self.started,
            "duration_us": round(self.duration_us, 1),
            "status": self.status,
            "output": self.output,
            "error": self.error,
        }


@dataclass(slots=True)
class RunTrace:
    """One run as it went: what started it, when, its outcome and error, and each step
    (node, what it gave, how long it took)."""

    flow_id: str
    run_id: str
    trigger: str
    started: float
    trigger_payload: Any = None
    flow_digest: str = ""
    finished: float | None = None
    outcome: str = "running"
    error: str | None = None
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "run_id": self.run_id,
            "trigger": self.trigger,
            "started": self.started,
            "finished": self.finished,
            "outcome": self.outcome,
            "error": self.error,
            "flow_digest": self.flow_digest,
            "trigger_payload": self.trigger_payload,
            "steps": [s.to_dict() for s in self.steps],
        }

    def brief(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "run_id": self.run_id,
            "trigger": self.trigger,
            "started": self.started,
            "finished": self.finished,
            "outcome": self.outcome,
            "error": self.error,
            "steps": len(self.steps),
        }


def flow_digest(source: dict[str, Any]) -> str:
    body = json.dumps(source, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class TraceStore:
    def __init__(self, db: sqlite3.Connection, keep_per_outcome: int = 20) -> None:
        self._db = db
        self.keep = keep_per_outcome
        self._recent: dict[tuple[str, str], deque[dict[str, Any] | RunTrace]] = {}
        self._pending: list[RunTrace] = []
        self._versions: dict[str, dict[str, Any]] = {}
        self._saved_versions: set[str] = {
            row[0] for row in db.execute("SELECT digest FROM flow_versions")
        }
        self._load()

    def _bucket(self, flow_id: str, outcome: str) -> deque[dict[str, Any] | RunTrace]:
        key = (flow_id, outcome)
        bucket = self._recent.get(key)
        if bucket is None:
            bucket = self._recent[key] = deque(maxlen=self.keep)
        return bucket

    def _load(self) -> None:
        rows = self._db.execute("SELECT body FROM traces ORDER BY started").fetchall()
        for (body,) in rows:
            trace = json.loads(body)
            self._bucket(trace["flow_id"], trace["outcome"]).append(trace)

    def remember_flow(self, digest: str, source: dict[str, Any]) -> None:
        """Keep the flow's definition as it was, so old traces show their config."""
        self._versions.setdefault(digest, source)

    def record(self, trace: RunTrace) -> None:
        self._bucket(trace.flow_id, trace.outcome).append(trace)
        self._pending.append(trace)

    def recent(self, flow_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Recent runs of a flow, newest first, across outcomes."""
        runs = [
            item.brief() if isinstance(item, RunTrace) else _brief(item)
            for (fid, _), bucket in self._recent.items()
            if fid == flow_id
            for item in bucket
        ]
        runs.sort(key=lambda r: (r["started"], r["run_id"]), reverse=True)
        return runs[:limit] if limit else runs

    def get(self, flow_id: str, run_id: str) -> dict[str, Any] | None:
        for (fid, _), bucket in self._recent.items():
            if fid != flow_id:
                continue
            for item in bucket:
                data = item.to_dict() if isinstance(item, RunTrace) else item
                if data["run_id"] == run_id:
                    digest = data.get("flow_digest", "")
                    return {**data, "flow": self.flow_version(digest)}
        return None

    def flow_version(self, digest: str) -> dict[str, Any] | None:
        if digest in self._versions:
            return self._versions[digest]
        row = self._db.execute(
            "SELECT body FROM flow_versions WHERE digest = ?", (digest,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def flush(self) -> int:
        """Write pending traces in one transaction and prune beyond the limit."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, []
        # Only runs still among the last N of their outcome are worth a write.
        kept = {id(item) for bucket in self._recent.values() for item in bucket}
        pending = [trace for trace in pending if id(trace) in kept]
        touched: set[tuple[str, str]] = set()
        with transaction(self._db):
            for trace in pending:
                if trace.flow_digest and trace.flow_digest not in self._saved_versions:
                    source = self._versions.get(trace.flow_digest, {})
                    self._db.execute(
                        "INSERT OR IGNORE INTO flow_versions (digest, body) VALUES (?, ?)",
                        (trace.flow_digest, json.dumps(source, default=str)),
                    )
                    self._saved_versions.add(trace.flow_digest)
                self._db.execute(
                    "INSERT OR REPLACE INTO traces (flow_id, run_id, outcome, started, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        trace.flow_id,
                        trace.run_id,
                        trace.outcome,
                        trace.started,
                        json.dumps(trace.to_dict(), default=str),
                    ),
                )
                touched.add((trace.flow_id, trace.outcome))
            for flow_id, outcome in touched:
                self._db.execute(
                    "DELETE FROM traces WHERE flow_id = ? AND outcome = ? AND run_id NOT IN ("
                    " SELECT run_id FROM traces WHERE flow_id = ? AND outcome = ?"
                    " ORDER BY started DESC LIMIT ?)",
                    (flow_id, outcome, flow_id, outcome, self.keep),
                )
        return len(pending)


def _brief(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "flow_id": data["flow_id"],
        "run_id": data["run_id"],
        "trigger": data["trigger"],
        "started": data["started"],
        "finished": data["finished"],
        "outcome": data["outcome"],
        "error": data.get("error"),
        "steps": len(data["steps"]),
    }
