"""What the UI needs from the running service; any object with these will do.

A Protocol rather than a base class, so the real service, a simulator and the
tests' fake can all be handed to ``create_app`` without importing the UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from flowengine.engine import Engine


class SettingsNotApplied(RuntimeError):
    """``apply_settings`` checked an edit, but the flows did not start on it: the old
    settings are back in force. Defined beside the protocol, not in the service, because
    the UI may only know what the protocol says (the layers: the service imports the UI)."""


class Service(Protocol):
    @property
    def engine(self) -> Engine:
        """The running flow engine."""
        ...

    def health(self) -> dict[str, Any]:
        """At least ``{"status": "ok" | "degraded" | "safety" | "unknown"}`` (unknown: not
        judged yet, no health check has run)."""
        ...

    def state(self) -> dict[str, Any]:
        """Live plant state (SOC, powers, mode, prices), passed through as JSON."""
        ...

    def override(self) -> dict[str, Any] | None:
        """The manual override in force now, or None."""
        ...

    def set_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        source: str = "api",
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        """Store a manual override and return it as stored: in force from now, or set ahead
        when ``start`` (its ``from``: ISO 8601 in the site's zone, or epoch seconds) is
        still to come (then with its ``id``); ``until`` ends it instead of ``duration``.

        Raises ``ValueError`` when refused; its ``problems`` attribute, when there is
        one, lists what is wrong as objects with ``as_dict() -> {"field", "message"}``.
        """
        ...

    async def preview_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        """What an override would cost against the plan, nothing stored: ``{override, cost:
        {delta, plan_cost, override_cost, slots, shortfall_kwh} | None, text}``; raises
        ``ValueError`` like ``set_override`` when refused."""
        ...

    def clear_override(self) -> dict[str, Any] | None:
        """End the manual override now; the one that was stored, or None."""
        ...

    def planned_overrides(self) -> list[dict[str, Any]]:
        """The overrides set ahead whose window has not passed, by ``from``."""
        ...

    def cancel_planned_override(self, override_id: str) -> dict[str, Any] | None:
        """Drop an override set ahead; the one dropped, or None if there is none."""
        ...

    # The API calls these two in a worker thread: they must not touch the engine's
    # database connections (open one of your own) or its event loop.

    def billing(self) -> dict[str, Any]:
        """Billing cycles (``nodes.ledger.cycles.statement``); ``NoLedger`` if none is kept."""
        ...

    def ledger(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Ledger entries for a query string; ``InvalidRequest`` names each bad parameter."""
        ...

    def attribution(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Where each finished day's money went (``nodes.planning.days.report``), called in
        a worker thread like the two above; ``InvalidRequest`` names each bad parameter,
        ``NoAttribution`` when no day is worked out."""
        ...

    def history(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The site's history for a query string (``nodes.history.query``), called in a
        worker thread like the two above; ``InvalidRequest`` names each bad parameter,
        ``NoHistory`` when none is kept."""
        ...

    def pv_accuracy(self, params: Mapping[str, str]) -> dict[str, Any]:
        """How far each PV forecast was from what the panels gave, day by day, before and
        after calibration (``nodes.forecast.accuracy``), called in a worker thread like
        ``history``; ``InvalidRequest`` names each bad parameter, ``NoHistory`` when none
        is kept."""
        ...

    def span_bill(
        self, since: float, until: float, rows: Sequence[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        """A window's net bill so far, added up as ``billing``'s spans are, and each row's
        fixed charges (``row_fixed_charges``); ``NoLedger`` if none is kept. Called in a
        worker thread."""
        ...

    async def overview_chart(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The overview's chart (``powermaster.overview.chart``): the last hours as
        recorded and the plan ahead. Awaited on the event loop: it reads the plan there
        and the site database in a worker thread of its own. ``InvalidRequest``,
        ``NoHistory`` as ``history``."""
        ...

    def settings_view(self) -> dict[str, Any]:
        """The site config for the Settings page (``powermaster.settings.view``): its JSON
        Schema, its values over the defaults and the defaults, every secret masked as
        ``{"secret": true, "set": ...}``, ``overrides`` (what runs differently, set on the
        command line), ``overridden_by`` (what set each: ``--inverter ...``) and
        ``problems``."""
        ...

    async def apply_settings(self, patch: Any) -> dict[str, Any]:
        """Check an edit (a JSON merge patch) as loading site.yaml does, write it and
        apply it live; the new view with ``changed`` (field names, never values).
        ``InvalidRequest`` (``InvalidSettings``) names each problem's field and changes
        nothing; ``SettingsNotApplied`` when the flows did not start on it (the old
        settings are back)."""
        ...
