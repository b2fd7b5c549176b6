"""flowengine: a small declarative flow engine (YAML flows, typed nodes, traces).

It knows nothing about any particular domain; node types come from packages
that register them through the ``flowengine.nodes`` entry-point group. Node
packages import from this package only (besides the modules named in
``tests/flowengine/test_public_api.py``): what is exported here is what the engine
promises to keep still.
"""

from flowengine.clock import Clock, RealClock, VirtualClock, local_iso
from flowengine.database import open_database, transaction
from flowengine.dotted import MISSING, dig
from flowengine.engine import Engine, run_to_end
from flowengine.errors import InvalidFlows, NodeFailure, Problem
from flowengine.jsondata import dumps as json_dumps
from flowengine.message import Message
from flowengine.node import Connection, HandBack, Node, NodeContext, Output
from flowengine.observe import FlowObserver
from flowengine.registry import Registry, default_registry
from flowengine.spec import FlowSet, FlowSpec
from flowengine.summary import MASK
from flowengine.traces import RunTrace
from flowengine.validate import load_flow_dir, load_flow_files, load_flow_text

__all__ = [
    "MASK",
    "MISSING",
    "Clock",
    "Connection",
    "Engine",
    "FlowObserver",
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
    "RunTrace",
    "VirtualClock",
    "default_registry",
    "dig",
    "json_dumps",
    "load_flow_dir",
    "load_flow_files",
    "load_flow_text",
    "local_iso",
    "open_database",
    "run_to_end",
    "transaction",
]
