"""Generic nodes and connections that any flow can use."""

from nodes.core.basic import (
    ContextGet,
    ContextSet,
    Delay,
    LogNode,
    Passthrough,
    RunFlow,
    SetPayload,
)
from nodes.core.connections import HttpSession, SqliteDatabase

NODE_TYPES = [Passthrough, SetPayload, ContextGet, ContextSet, Delay, LogNode, RunFlow]
CONNECTION_TYPES = [HttpSession, SqliteDatabase]
