"""Control keys survive a restart of the server (issue 19, points 4 and 7).

A real Daphne on a migrated SQLite file: the editor's flow issues a room and its key
(POST /rooms/), the key controls; Daphne is stopped and started again on the same file; the key
still controls, and a key brought first to the (now empty, in memory) room controls nothing.
Before, every room could be taken after a restart by whoever connected first with any key.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.browser.conftest import _free_port, migrated_env, start_daphne, stop_daphne

pytestmark = pytest.mark.timeout(120)


async def hello(port: int, room: str, key: str | None) -> dict[str, Any]:
    query = f"?key={key}" if key else ""
    async with connect(f"ws://127.0.0.1:{port}/ws/rooms/{room}/{query}",
                       origin=f"http://127.0.0.1:{port}", open_timeout=20) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 20))


def issue_room(port: int) -> dict[str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/rooms/", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 201
        return json.loads(response.read())


async def test_an_issued_key_controls_its_room_across_a_restart_and_a_squatter_does_not(tmp_path: Path) -> None:
    env = migrated_env(tmp_path)
    port = _free_port()
    daphne = start_daphne(port, env, tmp_path / "daphne-1.log")
    try:
        issued = issue_room(port)
        assert (await hello(port, issued["room"], issued["key"]))["controller"] is True
    finally:
        stop_daphne(daphne)

    port = _free_port()
    daphne = start_daphne(port, env, tmp_path / "daphne-2.log")
    try:
        # First to the room after the restart, with a made-up key: no control.
        assert (await hello(port, issued["room"], "squatter-key-1234567890"))["controller"] is False
        assert (await hello(port, issued["room"], issued["key"]))["controller"] is True
        # And a room id nobody issued stays uncontrollable, whatever key comes first.
        assert (await hello(port, "room-never-issued-1", "any-key-at-all"))["controller"] is False
    finally:
        stop_daphne(daphne)
