"""Helpers for the scaled tests: a listener that collects a room's messages, waits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

WAIT = 20.0


class Collector:
    """A runner listener: every message with the time it arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append((time.monotonic(), message))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, m in self.messages if m["type"] == kind]

    def parsed(self, kind: str = "room.frame") -> list[dict[str, Any]]:
        return [json.loads(m["text"]) for m in self.of_type(kind)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not met in {timeout} s; last: {self.messages[-3:]}"
            await asyncio.sleep(0.02)


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]
