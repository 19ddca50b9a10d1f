"""Fanout's simulation engine: a pure, deterministic library (see README.md in this folder).

No Django, asyncio, I/O, wall clock or global random source may be used here.
"""

from playground.engine.component import CommandError, Runtime
from playground.engine.document import (
    MAX_DOCUMENT_BYTES,
    Document,
    DocumentError,
    Edge,
    Node,
    parse_document,
)
from playground.engine.registry import (
    LIMITS,
    FieldError,
    NodeType,
    Param,
    flow_kinds,
    get_node_type,
    history_keys,
    node_types,
)
from playground.engine.schema import json_schema
from playground.engine.simulation import Simulation

__all__ = [
    "LIMITS",
    "MAX_DOCUMENT_BYTES",
    "CommandError",
    "Document",
    "DocumentError",
    "Edge",
    "FieldError",
    "Node",
    "NodeType",
    "Param",
    "Runtime",
    "Simulation",
    "flow_kinds",
    "history_keys",
    "get_node_type",
    "json_schema",
    "node_types",
    "parse_document",
]
