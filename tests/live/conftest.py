"""Fixtures for the live layer: a fresh room registry and channel layer for every test.

Ticks are shortened (FANOUT_TICK_SECONDS) so runs advance quickly; every wait is for a
condition with a timeout, never a fixed sleep, so a busy machine makes tests slower, not flaky.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.layers import get_channel_layer

from playground.live import rooms
from tests.live.helpers import KEY, ROOM, TICK_SECONDS, Viewer, starter


@pytest.fixture(autouse=True)
async def live_env(settings: Any, transactional_db: Any) -> AsyncIterator[None]:
    """Also the database: control keys are checked against it (RoomKey) on connect."""
    settings.FANOUT_TICK_SECONDS = TICK_SECONDS
    # The rooms simulate on the test's loop (EmbeddedRunner), so tests can look inside them;
    # tests/live/test_simhost.py runs them in the simulation process.
    settings.FANOUT_SIM_PROCESS = False
    await rooms.reset_registry()
    layer = get_channel_layer()
    await layer.flush()
    yield
    await rooms.reset_registry()
    await layer.flush()


@pytest.fixture
async def viewers() -> AsyncIterator[Callable[..., Viewer]]:
    """Make viewers; every one is disconnected at the end, whatever the test did."""
    made: list[Viewer] = []

    def make(room: str = ROOM, key: str | None = None, *, issue: bool = True) -> Viewer:
        viewer = Viewer(room, key, issue=issue)
        made.append(viewer)
        return viewer

    yield make
    for viewer in made:
        try:
            await viewer.disconnect()
        except (Exception, asyncio.CancelledError):  # closed already, or the test timed out
            pass


@pytest.fixture
async def presenter(viewers: Callable[..., Viewer]) -> Viewer:
    """Alice: holds the key of ROOM and has loaded the starter topology (paused, t=0)."""
    alice = viewers(ROOM, KEY)
    hello = await alice.connect()
    assert hello["type"] == "hello" and hello["controller"] is True
    await alice.send({"type": "load", "document": starter()})
    snapshot = await alice.receive_type("snapshot")
    assert snapshot["t"] == 0
    return alice
