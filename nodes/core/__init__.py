"""Generic nodes and connections that any flow can use."""

from nodes.core.basic import (
    ContextGet,
    ContextSet,
    Debug,
    Delay,
    LogNode,
    Passthrough,
    Reply,
    RunFlow,
    SetPayload,
)
from nodes.core.change import Change, TemplateNode
from nodes.core.connections import HttpSession, SqliteDatabase
from nodes.core.gates import Filter, Throttle
from nodes.core.http_request import HttpRequest
from nodes.core.sequence import Join, Split
from nodes.core.switch import Switch

#: The shared connections (in NODE_TYPES too: one entry point registers everything).
CONNECTION_TYPES = [HttpSession, SqliteDatabase]
NODE_TYPES = [
    Passthrough,
    SetPayload,
    ContextGet,
    ContextSet,
    Delay,
    LogNode,
    Debug,
    RunFlow,
    Reply,
    Switch,
    Change,
    TemplateNode,
    Filter,
    Throttle,
    Split,
    Join,
    HttpRequest,
    *CONNECTION_TYPES,
]
