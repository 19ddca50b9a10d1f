"""Helpers for the live tests: documents at chosen rates and a websocket viewer."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

from channels.testing import WebsocketCommunicator

from playground import engine, examples

TICK_SECONDS = 0.02
ROOM = "room-alice-1"
KEY = "alice-key-123"
WAIT = 10.0  # seconds: generous, a wait ends as soon as its condition holds


def starter() -> dict[str, Any]:
    return copy.deepcopy(examples.load("starter"))


def reference() -> dict[str, Any]:
    return copy.deepcopy(examples.load("reference"))


def rated(rate: float) -> dict[str, Any]:
    """A producer-topic-group-DLQ pipeline sending ``rate`` msg/s in all (several producers if
    one producer's cap is lower)."""
    per_producer_max = engine.get_node_type("producer").param("rate").max
    producers = []
    remaining = rate
    i = 0
    while remaining > 0:
        share = min(remaining, per_producer_max)
        producers.append(
            {"id": f"p{i}", "type": "producer", "params": {"rate": share, "keys": 1000}}
        )
        remaining -= share
        i += 1
    return {
        "fanout": 1,
        "name": f"{rate:g} msg/s",
        "nodes": [
            *producers,
            {"id": "topic", "type": "kafka_topic", "params": {"partitions": 12}},
            {
                "id": "group",
                "type": "consumer_group",
                "params": {
                    "consumers": 4,
                    "processing_ms": 0.15,
                    "poison_rate": 0.01,
                    "max_attempts": 3,
                    "backoff_ms": 10,
                },
            },
            {"id": "dlq", "type": "dlq", "params": {}},
        ],
        "edges": [
            *({"id": f"e{p['id']}", "source": p["id"], "target": "topic"} for p in producers),
            {"id": "eg", "source": "topic", "target": "group"},
            {"id": "ed", "source": "group", "target": "dlq"},
        ],
    }


async def issue_key(room: str, key: str) -> None:
    """Store ``key`` as the control key the server issued for ``room`` (unless it has one)."""
    from channels.db import database_sync_to_async

    from playground.topologies.models import RoomKey, hash_token

    await database_sync_to_async(RoomKey.objects.get_or_create)(
        room=room, defaults={"key_hash": hash_token(key)})


def merge_metrics(held: dict[str, Any] | None, frame: dict[str, Any]) -> dict[str, Any]:
    """The metrics after ``frame``, as the browser computes them (static/src/live/view.js):
    a complete frame replaces them, a delta frame is merged in (protocol.metrics_delta)."""
    if not frame.get("delta") or held is None:
        return frame["metrics"]
    return _merge(held, frame["metrics"])


def _merge(held: Any, delta: Any) -> Any:
    if not isinstance(delta, dict):
        return delta
    if "$set" in delta:
        return delta["$set"]
    if "$list" in delta:
        out = list(held)
        for index, item in delta["$list"].items():
            out[int(index)] = _merge(out[int(index)], item)
        return out
    base = held if isinstance(held, dict) else {}
    return {**base, **{key: _merge(base.get(key), value) for key, value in delta.items()}}


def complete_frames(messages: list[dict[str, Any]], held: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The frames among ``messages``, each with its complete metrics (snapshots reset them)."""
    out = []
    for message in messages:
        if message["type"] == "snapshot":
            held = message["metrics"]
        elif message["type"] == "frame":
            held = merge_metrics(held, message)
            out.append({**message, "metrics": held})
    return out


class Viewer:
    """A websocket client of one room, with JSON helpers that wait for conditions."""

    def __init__(self, room: str = ROOM, key: str | None = None, *, issue: bool = True) -> None:
        from playground.asgi import application

        path = f"/ws/rooms/{room}/" + (f"?key={key}" if key else "")
        self.comm = WebsocketCommunicator(
            application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")]
        )
        # The server issues control keys (POST /rooms/); a test's key is stored as if it had
        # issued it, unless the room already has one (then this key is a wrong one).
        self.issue = (room, key) if key and issue else None

    async def connect(self) -> dict[str, Any]:
        if self.issue is not None:
            await issue_key(*self.issue)
        connected, _ = await self.comm.connect(timeout=WAIT)
        assert connected
        return await self.receive()

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.comm.send_to(text_data=text)

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        return json.loads(await self.comm.receive_from(timeout=timeout))

    async def receive_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> list[dict[str, Any]]:
        """Every message up to and including the first one matching ``predicate``."""
        seen: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            assert left > 0, f"condition not met in {timeout} s; last: {seen[-3:]}"
            message = await self.receive(timeout=left)
            seen.append(message)
            if predicate(message):
                return seen

    async def receive_type(self, kind: str, timeout: float = WAIT) -> dict[str, Any]:
        return (await self.receive_until(lambda m: m["type"] == kind, timeout))[-1]

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.comm.receive_nothing(timeout=timeout)

    async def disconnect(self) -> None:
        await self.comm.disconnect()
