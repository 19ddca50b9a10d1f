"""The JSON Schema of a topology document, generated from the node types' declarations.

Structural rules that JSON Schema cannot express (edges must point at existing nodes, which
type may connect to which, the caps on totals) are enforced by parse_document; the schema
says so in its description.
"""

from __future__ import annotations

from typing import Any

from playground.engine.document import (
    COORD_LIMIT,
    DOCUMENT_VERSION,
    ID_PATTERN,
    MAX_DESCRIPTION,
    MAX_LABEL,
    MAX_NAME,
)
from playground.engine.registry import LIMITS, node_types

SCHEMA_ID = "https://fanout.invalid/schema/topology-v1.json"


def json_schema() -> dict[str, Any]:
    node_variants = []
    for nt in node_types():
        node_variants.append({
            "title": nt.label,
            "description": nt.help,
            # annotation (ignored by validators): what the type emits and accepts, see ports.py
            "x-ports": [p.to_dict() for p in nt.ports],
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "type"],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN.pattern},
                "type": {"const": nt.name},
                "label": {"type": "string", "maxLength": MAX_LABEL},
                "x": {"type": "number", "minimum": -COORD_LIMIT, "maximum": COORD_LIMIT},
                "y": {"type": "number", "minimum": -COORD_LIMIT, "maximum": COORD_LIMIT},
                "params": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {p.name: p.json_schema() for p in nt.params},
                },
            },
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Fanout topology document",
        "description": (
            "A topology built in Fanout. Beyond this schema, Fanout checks that edges join existing "
            "nodes through compatible ports (each node type's x-ports: an output feeds an input that "
            "carries the same flow in the same mode, in the same protocol or 'any'), and caps totals "
            "(nodes, partitions, producer rate)."
        ),
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fanout": {"const": DOCUMENT_VERSION},
            "name": {"type": "string", "maxLength": MAX_NAME},
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
            "nodes": {"type": "array", "maxItems": LIMITS.max_nodes, "items": {"oneOf": node_variants}},
            "edges": {
                "type": "array",
                "maxItems": LIMITS.max_edges,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["source", "target"],
                    "properties": {
                        "id": {"type": "string", "pattern": ID_PATTERN.pattern},
                        "source": {"type": "string", "pattern": ID_PATTERN.pattern},
                        "target": {"type": "string", "pattern": ID_PATTERN.pattern},
                        "params": {
                            "type": "object",
                            "description": "Parameters of the connection, declared by its source's node type.",
                            "additionalProperties": False,
                            "properties": {p.name: p.json_schema() for nt in node_types() for p in nt.edge_params},
                        },
                    },
                },
            },
        },
    }
