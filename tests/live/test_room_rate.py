"""The per-room limit on control messages: shared by every controller of a room."""

from __future__ import annotations

import json

from tests.live.helpers import KEY, ROOM


async def test_two_controllers_together_hit_the_room_limit_before_their_own(presenter, viewers, settings):
    settings.FANOUT_ROOM_CONTROL_RATE = 0.01  # no refill during the test
    settings.FANOUT_ROOM_CONTROL_BURST = 10
    from playground.live import rooms

    rooms.get_registry().rooms[ROOM].bucket = rooms.room_bucket()
    second = viewers(ROOM, KEY)
    await second.connect()
    for _ in range(6):  # 12 in all: under each connection's burst of 20, over the room's 10
        await presenter.send({"type": "control", "action": "speed", "value": 2})
        await second.send({"type": "control", "action": "speed", "value": 2})
    seen = []
    for viewer in (presenter, second):
        while not await viewer.nothing(0.3):
            seen.append(json.loads(await viewer.comm.receive_from()))
    limited = [m for m in seen if m["type"] == "error" and m["code"] == "rate_limited"]
    assert len(limited) == 2 and "this room" in limited[0]["message"]
