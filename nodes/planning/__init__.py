"""Pure battery planning model: PlanInputs -> MILP -> Plan (no I/O, no engine types)."""

from flowengine.registry import Declared
from nodes.planning.inputs import (
    BatterySpec,
    DeferrableLoad,
    GridSpec,
    PlanInputs,
    PlanOptions,
)
from nodes.planning.model import PlanError, build_pulp_problem, solve_plan
from nodes.planning.plan import Plan, PlanSlot

__all__ = [
    "BatterySpec",
    "DeferrableLoad",
    "GridSpec",
    "Plan",
    "PlanError",
    "PlanInputs",
    "PlanOptions",
    "PlanSlot",
    "build_pulp_problem",
    "solve_plan",
]


def _node_types() -> list[Declared]:
    from nodes.planning.archive import PlanArchive
    from nodes.planning.node import Planner
    from nodes.planning.replan import ReplanCheck
    from nodes.planning.site import SECTION

    return [Planner, ReplanCheck, PlanArchive, SECTION]


NODE_TYPES = _node_types()
