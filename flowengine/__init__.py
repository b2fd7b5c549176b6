"""flowengine: a small declarative flow engine (YAML flows, typed nodes, traces).

It knows nothing about any particular domain; node types come from packages
that register them through the ``flowengine.nodes`` entry-point group.
"""

from flowengine.clock import Clock, RealClock, VirtualClock
from flowengine.engine import Engine
from flowengine.errors import InvalidFlows, NodeFailure, Problem
from flowengine.message import Message
from flowengine.node import Connection, HandBack, Node, NodeContext, Output
from flowengine.registry import Registry, default_registry
from flowengine.spec import FlowSet, FlowSpec
from flowengine.validate import load_flow_dir, load_flow_files, load_flow_text

__all__ = [
    "Clock",
    "Connection",
    "Engine",
    "FlowSet",
    "FlowSpec",
    "HandBack",
    "InvalidFlows",
    "Message",
    "Node",
    "NodeContext",
    "NodeFailure",
    "Output",
    "Problem",
    "RealClock",
    "Registry",
    "VirtualClock",
    "default_registry",
    "load_flow_dir",
    "load_flow_files",
    "load_flow_text",
]
