"""``/metrics``: the running service in Prometheus's text format, read at scrape time.

A custom ``prometheus_client`` collector builds every family from what the engine
and the flows already keep (nothing is counted twice, nothing runs between
scrapes): each flow's runs by outcome and their durations (``Engine.run_stats``),
each node's messages and errors, the control tick, the plan's solve time
(``global.plan``), each input's age (``global.input_health``), the Modbus link
(``global.inverter_link``), SOC and power flows (``global.telemetry``), the mode
and the health state. The process's own RSS, CPU and open files come from
``prometheus_client``'s process collector. Ages are in the service clock's seconds
(virtual ones at ``--speed``); durations are real seconds.

Prometheus scrapes with ``Authorization: Bearer <metrics.token>`` from the site
config; a signed-in browser may look too (see ``allowed``), but not one signed in
with the one-time password: ``ui.security`` shows that session to no handler but
the set-password page's.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from flowengine.secrets import MissingSecret, reveal
from nodes.inputs.refresh import input_status
from ui.service import Service

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
HEALTH_STATES = ("ok", "degraded", "safety")
MODES = ("self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold")
#: global.telemetry's power flows (W), each a ``path`` label of powermaster_power_watts.
POWER_PATHS = {"pv": "pv_w", "load": "load_w", "battery": "battery_w", "grid": "grid_w"}


def registry_for(service: Service) -> CollectorRegistry:
    """A registry of its own per app (tests build many apps in one process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def allowed(settings: Mapping[str, Any], authorization: str | None) -> bool:
    """Whether ``Authorization`` carries the site config's ``metrics.token`` (a bearer
    token); never, when no token is set."""
    token = (settings.get("metrics") or {}).get("token")
    if token is None or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    try:
        wanted = reveal(token)
    except MissingSecret:
        return False
    return bool(wanted) and hmac.compare_digest(given.strip().encode(), wanted.encode())


class ServiceCollector(Collector):
    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterable[Metric]:
        engine = self.service.engine
        yield from flow_families(engine.flows, engine.run_stats)
        context = engine.context
        now = engine.clock.time()
        yield from plan_families(context.get("global", "plan"), now)
        yield from input_families(context.get("global", "input_health"), now)
        yield from link_families(context.get("global", "inverter_link"), now)
        yield from telemetry_families(context.get("global", "telemetry"), now)
        decision = context.get("global", "decision") or {}
        mode = StateSetMetricFamily("powermaster_control_mode", "the mode the control tick chose")
        mode.add_metric([], {m: decision.get("mode") == m for m in MODES})
        yield mode
        status = self.service.health().get("status")
        health = StateSetMetricFamily("powermaster_health", "ok, degraded or safety")
        health.add_metric([], {s: status == s for s in HEALTH_STATES})
        yield health


def flow_families(flows: Mapping[str, Any], run_stats: Mapping[str, Any]) -> Iterable[Metric]:
    runs = CounterMetricFamily(
        "powermaster_flow_runs", "finished runs of each flow by outcome", labels=["flow", "outcome"]
    )
    durations = HistogramMetricFamily(
        "powermaster_flow_run_duration_seconds", "real seconds each run took", labels=["flow"]
    )
    dropped = CounterMetricFamily(
        "powermaster_flow_dropped_runs", "triggers dropped by the run mode", labels=["flow"]
    )
    active = GaugeMetricFamily("powermaster_flow_active_runs", "runs in progress", labels=["flow"])
    for flow_id, stats in run_stats.items():
        for outcome, count in stats.outcomes.items():
            runs.add_metric([flow_id, outcome], count)
        durations.add_metric(
            [flow_id], [(_bound(b), c) for b, c in stats.cumulative()], stats.seconds_sum
        )
    messages = CounterMetricFamily(
        "powermaster_node_messages",
        "messages each node has taken since the flows started",
        labels=["flow", "node", "type"],
    )
    errors = CounterMetricFamily(
        "powermaster_node_errors",
        "messages each node failed on since the flows started",
        labels=["flow", "node", "type"],
    )
    for flow_id, flow in flows.items():
        dropped.add_metric([flow_id], flow.dropped)
        active.add_metric([flow_id], flow.active_runs)
        for node in flow.nodes.values():
            labels = [flow_id, node.id, node.spec.type]
            messages.add_metric(labels, node.count)
            errors.add_metric(labels, node.errors)
    yield from (runs, durations, dropped, active, messages, errors)
    control = run_stats.get("control")
    if control is not None and control.last_seconds is not None:
        yield GaugeMetricFamily(
            "powermaster_control_tick_seconds",
            "real seconds the last control tick took "
            '(all of them: powermaster_flow_run_duration_seconds{flow="control"})',
            value=control.last_seconds,
        )


def plan_families(plan: Any, now: float) -> Iterable[Metric]:
    if not isinstance(plan, dict) or "solve_ms" not in plan:
        return
    yield GaugeMetricFamily(
        "powermaster_plan_solve_seconds",
        "the plan in force: real seconds its solver took",
        value=float(plan["solve_ms"]) / 1000,
    )
    yield GaugeMetricFamily(
        "powermaster_plan_build_seconds",
        "the plan in force: real seconds building its model",
        value=float(plan.get("build_ms") or 0.0) / 1000,
    )
    created = plan.get("created_at")
    if created:
        yield GaugeMetricFamily(
            "powermaster_plan_age_seconds",
            "how long ago the plan in force was made",
            value=now - datetime.fromisoformat(created).timestamp(),
        )
    yield GaugeMetricFamily(
        "powermaster_plan_slots", "slots in the plan in force", value=len(plan.get("slots") or [])
    )


def input_families(health: Any, now: float) -> Iterable[Metric]:
    if not isinstance(health, dict):
        return
    labels = ["input", "provider"]
    age = GaugeMetricFamily(
        "powermaster_input_age_seconds", "age of each input's last good reading", labels=labels
    )
    stale = GaugeMetricFamily(
        "powermaster_input_stale",
        "1 when an input's reading is past its stale_after",
        labels=labels,
    )
    failures = GaugeMetricFamily(
        "powermaster_input_failures",
        "failed fetches of an input since its last good one",
        labels=labels,
    )
    for kind, entry in sorted(health.items()):
        if not isinstance(entry, dict):
            continue
        status = input_status(entry, now)
        key = [kind, str(status["provider"])]
        if status["age_s"] is not None:
            age.add_metric(key, status["age_s"])
        stale.add_metric(key, 1 if status["stale"] else 0)
        failures.add_metric(key, status["failures"] or 0)
    yield from (age, stale, failures)


def link_families(link: Any, now: float) -> Iterable[Metric]:
    if not isinstance(link, dict):
        return
    streak = int(link.get("consecutive_errors") or 0)
    yield GaugeMetricFamily(
        "powermaster_inverter_link_up",
        "1 while the last Modbus exchange with the inverter worked",
        value=1 if streak == 0 and link.get("ok_at") is not None else 0,
    )
    yield GaugeMetricFamily(
        "powermaster_inverter_link_consecutive_errors",
        "failed Modbus exchanges in a row",
        value=streak,
    )
    if link.get("ok_at") is not None:
        yield GaugeMetricFamily(
            "powermaster_inverter_link_ok_age_seconds",
            "since a Modbus exchange last worked (brought up to date every 5 minutes at most)",
            value=now - float(link["ok_at"]),
        )


def telemetry_families(telemetry: Any, now: float) -> Iterable[Metric]:
    if not isinstance(telemetry, dict):
        return
    if telemetry.get("timestamp") is not None:
        yield GaugeMetricFamily(
            "powermaster_telemetry_age_seconds",
            "since the inverter was last read",
            value=now - float(telemetry["timestamp"]),
        )
    if telemetry.get("soc") is not None:
        yield GaugeMetricFamily(
            "powermaster_battery_soc_ratio",
            "battery state of charge (0-1)",
            value=float(telemetry["soc"]),
        )
    power = GaugeMetricFamily(
        "powermaster_power_watts",
        "power flows: battery + is charging, grid + is importing",
        labels=["path"],
    )
    for path, key in POWER_PATHS.items():
        if telemetry.get(key) is not None:
            power.add_metric([path], float(telemetry[key]))
    yield power
    for name, key, about in (
        ("battery", "battery_temp_c", "battery temperature"),
        ("inverter", "inverter_temp_c", "inverter temperature"),
    ):
        if telemetry.get(key) is not None:
            yield GaugeMetricFamily(
                f"powermaster_{name}_temperature_celsius", about, value=float(telemetry[key])
            )


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
