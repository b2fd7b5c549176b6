"""Putting the files in force on a running engine: at start, a settings edit (the
Settings page), and the flow files and site config reloaded (by hand or on change).

Apart from the service because the three share one job and one state: which version of
the files runs, what was refused and why (``FilesStatus``, which health shows), and one
change at a time. Whatever is refused, the running version carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import Engine
from flowengine.changes import FlowChanges, compare
from flowengine.errors import InvalidFlows, Problem
from flowengine.local import fingerprint as local_fingerprint
from flowengine.local import with_local_types
from flowengine.registry import Registry
from flowengine.secrets import is_secret, reveal
from flowengine.spec import FlowSet
from powermaster import settings as site_settings
from powermaster.config import SITE_SCHEMA, load_site_config
from powermaster.lastgood import LastGood, Version
from powermaster.options import Options, as_run, started_with
from powermaster.readmodel import FilesStatus
from powermaster.watch import WatchedFiles

log = logging.getLogger("power_master")

#: Real seconds the runs in progress get to finish when the settings change.
RELOAD_GRACE_S = 5.0


class Applier:
    """The files as they run: loaded at start (``now``: the clock's time then), then each
    edit and reload put in force on the engine it is handed. ``settings`` is the one dict
    the engine and its nodes hold: an edit updates it in place."""

    def __init__(self, options: Options, installed: Registry, now: float) -> None:
        self.options = options
        #: The installed node types; ``registry`` adds the flows folder's own (nodes/*.py).
        self.installed = installed
        self.files = WatchedFiles(options.flows, options.config)
        self._local_seen = local_fingerprint(options.flows)
        self.registry = with_local_types(installed, options.flows)
        self.last_good = LastGood(options.data_dir)
        self.status = FilesStatus()
        self._lock: asyncio.Lock | None = None
        config, self.flowset = self._load_at_start(now)
        self._config_seen = fingerprint(config)
        self.settings = as_run(options, config)

    def _load_at_start(self, now: float) -> tuple[dict[str, Any], FlowSet]:
        """The site config and flows to start with: the files, or if they are refused the
        last version that loaded, or the flow files that load on their own; never a crash
        loop over a file (``InvalidFlows`` only for a refused site config with nothing kept).
        Whatever was refused is logged and shown as health's ``checks.reload``."""
        version = Version.read(self.options.config, self.files.flow_files())
        try:
            config, flowset = version.load(self.registry)
        except InvalidFlows as exc:
            problems = exc.problems
        else:
            self.last_good.save(version, now)
            return config, flowset
        kept = self.last_good.read()
        if kept is not None:
            try:
                config, flowset = kept.load(self.registry)
            except InvalidFlows as exc:
                log.error("the last good version does not load either: %s", exc.problems[0])
            else:
                site_zone = ZoneInfo(config["site"]["timezone"])
                kept_at = datetime.fromtimestamp(kept.saved_at or 0, site_zone)
                saved = kept_at.strftime("%Y-%m-%d %H:%M %Z")
                running = f"the last version that loaded (kept {saved})"
                self._refused_at_start(problems, running, now)
                return config, flowset
        refused = frozenset(problem.file for problem in problems)
        if str(self.options.config) in refused:
            raise InvalidFlows(problems)
        every_flow_file = frozenset(str(path) for path in version.flow_texts)
        try:
            config, flowset = version.load(self.registry, complete=False, leave_out=refused)
            running = "the flow files that load, without " + ", ".join(
                Path(file).name for file in sorted(refused)
            )
        except InvalidFlows:
            config, flowset = version.load(self.registry, leave_out=every_flow_file)
            running = "no flows"
        self._refused_at_start(problems, running, now)
        self.status.flows_missing = True
        return config, flowset

    def _refused_at_start(self, problems: list[Problem], running: str, now: float) -> None:
        log.error("the files were refused at start; running %s", running)
        for problem in problems:
            log.error("  %s", problem)
        self.status.running_instead = running
        self.status.reload = {
            "state": "refused",
            "at": now,
            "running": running,
            "problems": [str(problem) for problem in problems],
        }

    # -- settings: the site config, edited live (the Settings page) -------------

    def settings_view(self) -> dict[str, Any]:
        """The site config's schema and values for the form, every secret masked."""
        return site_settings.view(self.options.config, self.settings, started_with(self.options))

    async def apply_settings(self, engine: Engine, patch: Any) -> list[str]:
        """Check an edit (a JSON merge patch of the site config) as loading does, write
        it and restart the flows on it; the fields it changed. ``InvalidSettings``
        changes nothing; if the flows cannot start on the new config, the files and the
        flows go back to the old one: ``SettingsNotApplied``."""
        async with self._one_at_a_time():
            # In a worker: a large edit must not hold up the control tick.
            edit = await asyncio.to_thread(
                site_settings.prepare, self.options.config, patch, engine.clock.time()
            )
            if edit.changed:
                edit.write()
                try:
                    settings = as_run(self.options, edit.settings)
                    await self._put_in_force(engine, settings, self.flowset)
                except Exception as exc:  # the flows are back on the old; so are the files
                    edit.undo()
                    raise site_settings.SettingsNotApplied(
                        f"the flows did not start on the new settings ({type(exc).__name__}); "
                        "the previous settings are back in force"
                    ) from exc
                self._remember_config()
                log.info("settings changed (%s): flows restarted", ", ".join(edit.changed))
        return edit.changed

    def _one_at_a_time(self) -> asyncio.Lock:
        """One change at a time: a settings edit, a reload of the files. Made on first use:
        a lock belongs to the running loop, and this object is built before it runs."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _put_in_force(
        self, engine: Engine, settings: dict[str, Any], flowset: FlowSet
    ) -> None:
        """Restart every flow on ``settings`` and ``flowset``; if they cannot start, the
        previous settings and flows are started again and the error is raised on."""
        previous, old_flows = dict(self.settings), self.flowset
        try:
            await self._restart_flows(engine, settings, flowset)
        except Exception:  # put back below, and raised on with its cause
            log.exception("the flows did not start on the new settings: back to the old")
            await self._restart_flows(engine, previous, old_flows)
            raise

    async def _restart_flows(
        self, engine: Engine, settings: dict[str, Any], flowset: FlowSet
    ) -> None:
        """Stop the flows (runs in progress get a moment to finish), put ``settings`` in
        place in the dict the engine and its nodes hold (keeping any key outside the site
        config's sections), start ``flowset``. The context store and the traces carry on,
        and so do the engine's data directory and what the service provides it (the
        simulated meter): they are not settings."""
        await engine.stop(grace=RELOAD_GRACE_S)
        for key in [k for k in self.settings if k in SITE_SCHEMA["properties"]]:
            if key not in settings:
                del self.settings[key]
        self.settings.update(settings)
        engine.timezone = self.settings["site"]["timezone"]
        self.flowset = flowset
        await engine.start(flowset)

    def _remember_config(self) -> None:
        """What the site config file says now is what runs (after a Settings edit)."""
        try:
            self._config_seen = fingerprint(load_site_config(self.options.config))
        except InvalidFlows:  # written as checked; a reload reports it if it still differs
            log.warning("%s does not load as it was checked", self.options.config)

    # -- reload: the flow files and the site config, edited on a running system --------

    async def reload(self, engine: Engine) -> dict[str, Any]:
        """Read the flow files and the site config again and put what changed in force: a
        changed site config restarts every flow, a changed flow file only its flows (see
        ``Engine.reload``). Files that do not validate are refused whole and the running
        version carries on; the problems are logged, shown in ``health()`` and published
        as a ``reload`` event, as is what changed. Returns the new ``status.reload``."""
        async with self._one_at_a_time():
            local_seen = local_fingerprint(self.options.flows)
            version = Version.read(self.options.config, self.files.flow_files())
            try:
                registry = with_local_types(self.installed, self.options.flows)
                config, flowset = version.load(registry)
            except InvalidFlows as exc:
                return self._reloaded(engine, "refused", problems=[str(p) for p in exc.problems])
            problems: list[str] = []
            seen = fingerprint(config)
            settings_changed = seen != self._config_seen
            local_changed = local_seen != self._local_seen
            changes = compare(self.flowset, flowset)
            try:
                if settings_changed or local_changed:  # new code: every flow built afresh
                    engine.registry = registry
                    await self._put_in_force(engine, as_run(self.options, config), flowset)
                elif changes:
                    changes = await engine.reload(flowset, grace=RELOAD_GRACE_S)
            except Exception as exc:  # the running version is back; reported as refused
                engine.registry = self.registry
                problems.append(f"the new version did not start: {type(exc).__name__}: {exc}")
                return self._reloaded(engine, "failed", problems=problems)
            self.last_good.save(version, engine.clock.time())
            self.status.running_instead = None
            self.status.flows_missing = False
            self.flowset = flowset
            self.registry = registry
            self._config_seen = seen
            self._local_seen = local_seen
            settings_changed = settings_changed or local_changed
            if not (settings_changed or changes):
                return self._reloaded(engine, "unchanged")
            return self._reloaded(engine, "applied", changes=changes, settings=settings_changed)

    def _reloaded(
        self,
        engine: Engine,
        state: str,
        problems: list[str] | None = None,
        changes: FlowChanges | None = None,
        settings: bool = False,
    ) -> dict[str, Any]:
        """Record, log and publish how a reload went."""
        previous = self.status.reload
        status: dict[str, Any] = {"state": state, "at": engine.clock.time()}
        if problems and self.status.running_instead:
            status["running"] = self.status.running_instead
        if problems:
            status["problems"] = problems
            log.error(
                "%s: the running flows and settings carry on",
                "the edit was refused" if state == "refused" else "the edit could not be applied",
            )
            for problem in problems:
                log.error("  %s", problem)
        refused_before = previous is not None and previous["state"] in ("refused", "failed")
        if refused_before and not problems and state != "unchanged":  # (put back: said below)
            log.warning("the files load again: the refusal is over")
        if changes is not None:
            status["changed"] = {**changes.as_dict(), "settings": settings}
            restarted = "site config changed, every flow restarted; flows: " if settings else ""
            log.info("reloaded: %s%s", restarted, changes)
        if state == "unchanged" and (previous is None or previous["state"] == "unchanged"):
            return status  # nothing to say (a save without a change, or our own write)
        if (
            state == "unchanged"
            and previous is not None
            and previous["state"]
            in (
                "refused",
                "failed",
            )
        ):
            log.warning("the refused edit was undone: the files match the running version again")
            status["reverted"] = True
        self.status.reload = status
        engine.events.publish({"type": "reload", "ok": not problems, **status})
        return status


def fingerprint(config: Any) -> str:
    """A digest of what a loaded site config says, its secrets' values included (a
    ``!secret`` compares by its name alone)."""

    def plain(value: Any) -> Any:
        if is_secret(value):
            return ["!secret", str.__str__(value), reveal(value)]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    body = json.dumps(plain(config), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()
