"""The files a service runs, read once, and the last version of them that loaded.

A service restarted with a broken flow file or site config (an edit saved while it
was down, a file overwritten with rubbish, a YAML alias bomb) must not crash-loop:
systemd would restart it every ten seconds, and the battery would sit without
control. So every version that loads is kept in the data directory
(``last-good.json``, written whole or not at all), and a start whose files are
refused runs that version instead, saying so in the log and in health's
``checks.reload`` until the files load again. The texts are kept as read, so the
snapshot is exactly what ran; ``!secret`` references stay references (the values
stay in secrets.yaml).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowengine.atomic import write_atomic
from flowengine.errors import InvalidFlows, Problem
from flowengine.registry import Registry
from flowengine.spec import FlowSet
from flowengine.validate import load_docs
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_text, read_yaml_text
from powermaster.config import load_site_config_doc

log = logging.getLogger("power_master")

LAST_GOOD_FILE = "last-good.json"


@dataclass
class Version:
    """The site config and the flow files as texts (path -> text), as read at one moment."""

    config: Path
    config_text: str | None
    flow_texts: dict[Path, str] = field(default_factory=dict)
    #: Files that could not be read at all (too big, not UTF-8, gone), with why.
    unreadable: list[Problem] = field(default_factory=list)
    saved_at: float | None = None

    @classmethod
    def read(cls, config: Path, flow_files: list[Path]) -> Version:
        version = cls(config, None)
        for path in (config, *flow_files):
            try:
                text = read_yaml_text(path)
            except YamlSyntaxError as exc:
                version.unreadable.append(exc.problem)
                continue
            except OSError as exc:
                version.unreadable.append(
                    Problem(str(path), 1, 1, f"cannot read it: {exc.strerror}")
                )
                continue
            if path == config:
                version.config_text = text
            else:
                version.flow_texts[path] = text
        return version

    def load(
        self, registry: Registry, complete: bool = True, leave_out: frozenset[str] = frozenset()
    ) -> tuple[dict[str, Any], FlowSet]:
        """The site config and the flows, validated; ``InvalidFlows`` with every problem.

        ``leave_out``: flow files (as named in problems) to run without."""
        problems: list[Problem] = []
        config: dict[str, Any] | None = None
        if self.config_text is not None:
            try:
                config = load_site_config_doc(
                    self._parse(self.config, self.config_text), self.config
                )
            except InvalidFlows as exc:
                problems += exc.problems
        # The flow files' own problems go in with the rest, so that a file left out by a
        # syntax error does not also show as "no flow writes" the keys it writes.
        flow_problems = [p for p in self.unreadable if p.file not in leave_out]
        docs: list[SourceDoc] = []
        for path, text in self.flow_texts.items():
            if str(path) in leave_out:
                continue
            try:
                docs.append(self._parse(path, text))
            except InvalidFlows as exc:
                flow_problems += exc.problems
        flowset: FlowSet | None = None
        try:
            flowset = load_docs(docs, registry, problems=flow_problems, complete=complete)
        except InvalidFlows as exc:
            problems += exc.problems
        if problems or config is None or flowset is None:
            raise InvalidFlows(problems)
        return config, flowset

    @staticmethod
    def _parse(path: Path, text: str) -> SourceDoc:
        try:
            return parse_text(text, str(path))
        except YamlSyntaxError as exc:
            raise InvalidFlows([exc.problem]) from None

    def as_json(self, saved_at: float) -> str:
        return json.dumps(
            {
                "saved_at": saved_at,
                "config": {"path": str(self.config), "text": self.config_text},
                "flows": [{"path": str(p), "text": t} for p, t in self.flow_texts.items()],
            }
        )


class LastGood:
    """``last-good.json`` in the data directory: the last version that loaded."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LAST_GOOD_FILE

    def save(self, version: Version, at: float) -> None:
        """Keep ``version`` (call once it has loaded); a failure to write is logged only."""
        if version.unreadable or version.config_text is None:
            return
        try:
            write_atomic(self.path, version.as_json(at))
        except OSError as exc:
            log.warning("cannot keep the last good version in %s: %s", self.path, exc.strerror)

    def read(self) -> Version | None:
        """The kept version, or None if there is none (a first start) or it is unreadable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            version = Version(Path(data["config"]["path"]), str(data["config"]["text"]))
            version.flow_texts = {Path(f["path"]): str(f["text"]) for f in data["flows"]}
            version.saved_at = float(data["saved_at"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("the last good version in %s cannot be read (%s)", self.path, exc)
            return None
        return version
