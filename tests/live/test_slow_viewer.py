"""A viewer that stops reading holds a bounded window of frames, then recovers with a snapshot.

The hub writes frames straight to each socket; what bounds a stalled client is its ack window
(at most ``hub.WINDOW`` frames written past its last ack). Frames beyond it are skipped, not
queued, and once the client acks again it gets the latest snapshot and the frames after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from playground.live import hub
from tests.live.helpers import ROOM, WAIT, Viewer


async def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def hub_viewers() -> list[hub.Viewer]:
    return hub.get_hub().feeds[ROOM].viewers


async def test_stalled_viewer_gets_at_most_a_window_then_recovers_with_a_snapshot(
    presenter: Viewer, viewers: Callable[..., Viewer]
):
    carol = viewers(ROOM)
    joined = await carol.connect()
    assert joined["type"] == "snapshot"
    await carol.send({"type": "ack", "seq": joined["seq"]})
    await wait_for(lambda: any(v.acked is not None for v in hub_viewers()))
    seat = next(v for v in hub_viewers() if v.acked is not None)

    # Carol stops reading and acking while the room runs three windows of frames.
    await presenter.send({"type": "control", "action": "speed", "value": 5})
    await presenter.send({"type": "control", "action": "run"})
    target = joined["seq"] + 3 * hub.WINDOW
    seen = await presenter.receive_until(lambda m: m["type"] == "frame" and m["seq"] >= target, timeout=60)
    seqs = [m["seq"] for m in seen if m["type"] == "frame"]
    assert seqs == list(range(seqs[0], seqs[-1] + 1))  # the presenter missed nothing
    assert carol.comm.output_queue.qsize() == hub.WINDOW  # the rest was skipped, not queued
    assert seat.state == hub.BEHIND and seat.frames_skipped >= hub.WINDOW

    # She reads again: exactly the window, in order; her ack brings the latest snapshot.
    window = [await carol.receive() for _ in range(hub.WINDOW)]
    assert [m["seq"] for m in window] == list(range(joined["seq"] + 1, joined["seq"] + hub.WINDOW + 1))
    await carol.send({"type": "ack", "seq": window[-1]["seq"]})
    snapshot = await carol.receive_type("snapshot")
    assert snapshot["seq"] >= target and snapshot["state"]["running"] is True
    assert snapshot["controller"] is False
    following = await carol.receive()
    assert following["type"] == "frame" and following["seq"] == snapshot["seq"] + 1
    assert seat.state == hub.LIVE


async def test_a_viewer_that_never_acks_is_not_held_back_by_the_window(
    presenter: Viewer, viewers: Callable[..., Viewer]
):
    bob = viewers(ROOM)
    joined = await bob.connect()
    await presenter.send({"type": "control", "action": "speed", "value": 5})
    await presenter.send({"type": "control", "action": "run"})
    target = joined["seq"] + hub.WINDOW + 10
    seen = await bob.receive_until(lambda m: m["type"] == "frame" and m["seq"] >= target, timeout=60)
    seqs = [m["seq"] for m in seen]
    assert seqs == list(range(joined["seq"] + 1, target + 1))
