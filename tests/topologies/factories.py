"""Tiny documents and helpers for the topologies tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from django.test import Client

from playground import examples

DOC: dict[str, Any] = {
    "fanout": 1,
    "name": "Orders",
    "nodes": [
        {"id": "api", "type": "producer", "params": {"rate": 20, "keys": 50}},
        {"id": "orders", "type": "kafka_topic", "params": {"partitions": 6}},
        {"id": "billing", "type": "consumer_group", "params": {"consumers": 2}},
        {"id": "dlq", "type": "dlq"},
    ],
    "edges": [
        {"id": "e1", "source": "api", "target": "orders"},
        {"id": "e2", "source": "orders", "target": "billing"},
        {"id": "e3", "source": "billing", "target": "dlq"},
    ],
}


def document(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc.update(changes)
    return doc


def reference() -> dict[str, Any]:
    return examples.load("reference")


def post_json(client: Client, url: str, doc: Any) -> Any:
    body = doc if isinstance(doc, str) else json.dumps(doc)
    return client.post(url, data=body, content_type="application/json")


def create(client: Client, doc: dict[str, Any] | None = None) -> str:
    """Save a new topology as this client's browser would; returns its slug."""
    response = post_json(client, "/t/", doc or document())
    assert response.status_code == 201, response.content
    return response.json()["slug"]
