"""The topology document: parsing and validation.

A document is what a person builds on the canvas, stores, shares and runs. Every document is
validated here before it is stored or run, and every refusal names the field:
``nodes[2].params.partitions: must be at most 256``. Incomplete graphs (a producer connected to
nothing yet) are valid: people save work in progress.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from playground.engine import guard
from playground.engine.ports import explain
from playground.engine.registry import LIMITS, FieldError, get_node_type, node_types

DOCUMENT_VERSION = 1
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_NAME = 120
MAX_LABEL = 60
MAX_DESCRIPTION = 4000
COORD_LIMIT = 1_000_000
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_TOP_KEYS = {"fanout", "name", "description", "nodes", "edges"}
_NODE_KEYS = {"id", "type", "label", "x", "y", "params"}
_EDGE_KEYS = {"id", "source", "target", "params"}


class DocumentError(ValueError):
    """A document was refused; ``errors`` names every field at fault."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    label: str
    x: float
    y: float
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "label": self.label, "x": self.x, "y": self.y,
                "params": dict(self.params)}


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "source": self.source, "target": self.target}
        if self.params:
            out["params"] = dict(self.params)
        return out


@dataclass(frozen=True)
class Document:
    name: str
    description: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def targets(self, node_id: str) -> list[Node]:
        """Nodes this node has edges to, in edge order."""
        ids = [e.target for e in self.edges if e.source == node_id]
        return [self.node(i) for i in ids]

    def sources(self, node_id: str) -> list[Node]:
        ids = [e.source for e in self.edges if e.target == node_id]
        return [self.node(i) for i in ids]

    def target_ids(self, node_id: str, *types: str) -> list[str]:
        """The ids of the nodes of these types this node has edges to, in edge order (what a
        node type's build looks up: its topic, its dead-letter queue ...)."""
        return [n.id for n in self.targets(node_id) if n.type in types]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fanout": DOCUMENT_VERSION,
            "name": self.name,
            "description": self.description,
            "nodes": [n.to_dict() for n in self.nodes],
            "edges": [e.to_dict() for e in self.edges],
        }


def parse_document(data: dict[str, Any] | str | bytes) -> Document:
    """Validate a document (a dict, or its JSON text) and return it normalised.

    Raises DocumentError listing every problem found, each named by its path.
    """
    if isinstance(data, (bytes, bytearray)):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentError([_too_big(len(data))])
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError([FieldError("", f"is not UTF-8 text (byte {exc.start})")]) from None
    if isinstance(data, str):
        if len(data.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise DocumentError([_too_big(len(data.encode("utf-8")))])
        try:
            data = guard.loads(data)
        except json.JSONDecodeError as exc:
            raise DocumentError(
                [FieldError("", f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
            ) from None
        except guard.TooDeep as exc:
            raise DocumentError([exc.error]) from None
        if shape_errors := guard.check(data):
            raise DocumentError(shape_errors)
    else:
        # Before json.dumps: it recurses too, and would encode a lone surrogate as an escape.
        if shape_errors := guard.check(data):
            raise DocumentError(shape_errors)
        try:
            size = len(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        except (TypeError, ValueError):
            raise DocumentError([FieldError("", "holds values that are not JSON")]) from None
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentError([_too_big(size)])
    if not isinstance(data, dict):
        raise DocumentError([FieldError("", "must be a JSON object with nodes and edges")])
    errors: list[FieldError] = []
    for key in sorted(set(data) - _TOP_KEYS):
        errors.append(FieldError(key, "is not a field of a Fanout document"))
    version = data.get("fanout", DOCUMENT_VERSION)
    if version != DOCUMENT_VERSION:
        errors.append(FieldError("fanout", f"must be {DOCUMENT_VERSION} (the document format version)"))
    name = _text(data, "name", "", MAX_NAME, "name", errors) or "Untitled topology"
    description = _text(data, "description", "", MAX_DESCRIPTION, "description", errors)
    raw_nodes = data.get("nodes", [])
    raw_edges = data.get("edges", [])
    if not isinstance(raw_nodes, list):
        errors.append(FieldError("nodes", "must be a list"))
        raw_nodes = []
    if not isinstance(raw_edges, list):
        errors.append(FieldError("edges", "must be a list"))
        raw_edges = []
    if len(raw_nodes) > LIMITS.max_nodes:
        errors.append(FieldError("nodes", f"has {len(raw_nodes)} nodes; at most {LIMITS.max_nodes} are allowed"))
        raw_nodes = []
    if len(raw_edges) > LIMITS.max_edges:
        errors.append(FieldError("edges", f"has {len(raw_edges)} edges; at most {LIMITS.max_edges} are allowed"))
        raw_edges = []
    nodes = [n for i, raw in enumerate(raw_nodes) if (n := _parse_node(i, raw, errors)) is not None]
    by_id: dict[str, Node] = {}
    for i, node in enumerate(nodes):
        if node.id in by_id:
            errors.append(FieldError(f"nodes[{i}].id", f"{node.id!r} is used by another node"))
        by_id[node.id] = node
    edges = _parse_edges(raw_edges, by_id, errors)
    _check_limits(nodes, errors)
    if errors:
        raise DocumentError(errors)
    return Document(name=name, description=description, nodes=tuple(nodes), edges=tuple(edges))


def _too_big(size: int) -> FieldError:
    return FieldError("", f"is {size:,} bytes; a document may be at most {MAX_DOCUMENT_BYTES:,} bytes")


def _text(data: dict[str, Any], key: str, default: str, limit: int, path: str, errors: list[FieldError]) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        errors.append(FieldError(path, "must be text"))
        return default
    if len(value) > limit:
        errors.append(FieldError(path, f"must be at most {limit} characters"))
        return value[:limit]
    return value


def _parse_node(i: int, raw: Any, errors: list[FieldError]) -> Node | None:
    path = f"nodes[{i}]"
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "must be an object"))
        return None
    ok = True
    for key in sorted(set(raw) - _NODE_KEYS):
        errors.append(FieldError(f"{path}.{key}", "is not a field of a node"))
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not ID_PATTERN.match(node_id):
        errors.append(FieldError(f"{path}.id", "must be 1 to 64 letters, digits, '-' or '_'"))
        ok = False
    type_name = raw.get("type")
    try:
        node_type = get_node_type(type_name) if isinstance(type_name, str) else None
    except KeyError:
        node_type = None
    if node_type is None:
        known = ", ".join(t.name for t in node_types())
        errors.append(FieldError(f"{path}.type", f"unknown node type {type_name!r}; known types: {known}"))
        return None
    label = _text(raw, "label", node_type.label, MAX_LABEL, f"{path}.label", errors) or node_type.label
    coords = []
    for axis in ("x", "y"):
        value = raw.get(axis, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or abs(value) > COORD_LIMIT:
            bounds = f"-{COORD_LIMIT:,} and {COORD_LIMIT:,}"
            errors.append(FieldError(f"{path}.{axis}", f"must be a number between {bounds}"))
            value = 0
        coords.append(float(value))
    raw_params = raw.get("params", {})
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        errors.append(FieldError(f"{path}.params", "must be an object"))
        raw_params = {}
    params, param_errors = node_type.coerce_params(raw_params)
    for err in param_errors:
        errors.append(FieldError(f"{path}.params.{err.path}", err.message))
    if not ok:
        return None
    # A node with refused fields is still returned, so that edges to it are not reported as
    # dangling too; the errors already recorded keep the document from being accepted.
    assert isinstance(node_id, str)  # (ok is False otherwise; said for mypy)
    return Node(id=node_id, type=node_type.name, label=label, x=coords[0], y=coords[1], params=params)


def _parse_edges(raw_edges: list[Any], by_id: dict[str, Node], errors: list[FieldError]) -> list[Edge]:
    edges: list[Edge] = []
    seen_ids: set[str] = set()
    seen_pairs: set[tuple[str, str]] = set()
    paths: dict[str, str] = {}
    out_count: dict[str, int] = {}
    in_count: dict[str, int] = {}
    for i, raw in enumerate(raw_edges):
        path = f"edges[{i}]"
        if not isinstance(raw, dict):
            errors.append(FieldError(path, "must be an object"))
            continue
        bad = sorted(set(raw) - _EDGE_KEYS)
        for key in bad:
            errors.append(FieldError(f"{path}.{key}", "is not a field of an edge"))
        edge_id = raw.get("id", f"e{i + 1}")
        if not isinstance(edge_id, str) or not ID_PATTERN.match(edge_id):
            errors.append(FieldError(f"{path}.id", "must be 1 to 64 letters, digits, '-' or '_'"))
            continue
        if edge_id in seen_ids:
            errors.append(FieldError(f"{path}.id", f"{edge_id!r} is used by another edge"))
            continue
        seen_ids.add(edge_id)
        ends = []
        for end in ("source", "target"):
            ref = raw.get(end)
            if not isinstance(ref, str):
                errors.append(FieldError(f"{path}.{end}", "must be the id of a node"))
            elif ref not in by_id:
                errors.append(FieldError(f"{path}.{end}", f"no node has the id {ref!r}"))
            else:
                ends.append(by_id[ref])
        if len(ends) != 2 or bad:
            continue
        source, target = ends
        if source.id == target.id:
            errors.append(FieldError(path, "connects a node to itself"))
            continue
        target_type = get_node_type(target.type)
        source_type = get_node_type(source.type)
        if target_type.connection(source_type) is None:
            errors.append(FieldError(path, _refusal(source, source_type, target, target_type)))
            continue
        if (source.id, target.id) in seen_pairs:
            errors.append(FieldError(path, f"duplicates the edge from {source.id!r} to {target.id!r}"))
            continue
        seen_pairs.add((source.id, target.id))
        out_count[source.id] = out_count.get(source.id, 0) + 1
        in_count[target.id] = in_count.get(target.id, 0) + 1
        if source_type.max_out is not None and out_count[source.id] > source_type.max_out:
            errors.append(FieldError(path, f"a {source_type.label} may have at most {source_type.max_out} "
                                           f"outgoing connection{'s' if source_type.max_out != 1 else ''}"))
            continue
        if target_type.max_in is not None and in_count[target.id] > target_type.max_in:
            errors.append(FieldError(path, f"a {target_type.label} may have at most {target_type.max_in} "
                                           f"incoming connection{'s' if target_type.max_in != 1 else ''}"))
            continue
        raw_params = raw.get("params") or {}
        if not isinstance(raw_params, dict):
            errors.append(FieldError(f"{path}.params", "must be an object"))
            continue
        params, param_errors = source_type.coerce_edge_params(raw_params)
        for err in param_errors:
            errors.append(FieldError(f"{path}.params.{err.path}", err.message))
        edges.append(Edge(id=edge_id, source=source.id, target=target.id, params=params))
        paths[edge_id] = path
    for node in by_id.values():
        outgoing = [(paths[e.id], e) for e in edges if e.source == node.id]
        if outgoing:
            errors.extend(get_node_type(node.type).check_edges(node, outgoing, by_id))
    for node in by_id.values():
        errors.extend(get_node_type(node.type).check_graph(node, edges, paths, by_id))
    return edges


def _refusal(source: Node, source_type: Any, target: Node, target_type: Any) -> str:
    """Why an edge fits no pair of ports, naming both (ports.explain), or by type names for a
    legacy type that declares no ports."""
    if source_type.ports and target_type.ports:
        outs = () if source_type.max_out == 0 else source_type.outputs()
        ins = () if target_type.max_in == 0 else target_type.inputs()
        return explain(source.id, outs, target.id, ins)
    allowed = ", ".join(get_node_type(t).label for t in target_type.accepts_from) or "nothing"
    return (f"a {source_type.label} cannot connect to a {target_type.label} "
            f"(a {target_type.label} accepts: {allowed})")


def _check_limits(nodes: list[Node], errors: list[FieldError]) -> None:
    """Caps on totals, whatever the systems: every parameter declared with a ``budget`` counts
    toward that budget's cap (registry.Limits.budgets)."""
    totals = dict.fromkeys(LIMITS.budgets, 0.0)
    for node in nodes:
        for param in get_node_type(node.type).params:
            if param.budget is not None:
                totals[param.budget] += node.params.get(param.name, 0)
    for name, budget in LIMITS.budgets.items():
        if totals[name] > budget.cap:
            errors.append(FieldError("nodes", budget.message.format(total=f"{totals[name]:,.0f}",
                                                                    cap=f"{budget.cap:,.0f}")))
