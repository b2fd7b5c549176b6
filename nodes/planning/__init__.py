"""Battery planning: the pure model, PlanInputs -> MILP -> Plan (no I/O, no engine types),
and the node types that run it in a flow (``NODE_TYPES``: the planner, replan, archive,
and the attribution of each finished day's bill)."""

from flowengine.registry import Declared
from nodes.planning.archive import PlanArchive
from nodes.planning.attribute import PlanningAttribute
from nodes.planning.inputs import (
    BatterySpec,
    DeferrableLoad,
    FlexibleLoad,
    GridSpec,
    PlanInputs,
    PlanOptions,
    SocTarget,
)
from nodes.planning.model import PlanError, build_pulp_problem, solve_plan
from nodes.planning.plan import Planner
from nodes.planning.replan import ReplanCheck
from nodes.planning.result import FlexibleResult, Plan, PlanSlot, TargetResult
from nodes.planning.site import SECTION

__all__ = [
    "BatterySpec",
    "DeferrableLoad",
    "FlexibleLoad",
    "FlexibleResult",
    "GridSpec",
    "Plan",
    "PlanError",
    "PlanInputs",
    "PlanOptions",
    "PlanSlot",
    "SocTarget",
    "TargetResult",
    "build_pulp_problem",
    "solve_plan",
]

NODE_TYPES: list[Declared] = [Planner, ReplanCheck, PlanArchive, PlanningAttribute, SECTION]
