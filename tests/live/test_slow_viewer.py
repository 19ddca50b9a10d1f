"""A viewer that stops reading holds a bounded queue, then recovers with a snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import path

from playground.live.consumers import LiveConsumer
from tests.live.helpers import ROOM, WAIT, Viewer


class StuckConsumer(LiveConsumer):
    """A viewer whose socket stops taking frames until ``gate`` opens (a stalled client)."""

    gate: asyncio.Event
    channels: list[str] = []

    async def connect(self) -> None:
        await super().connect()
        StuckConsumer.channels.append(self.channel_name)

    async def room_frame(self, event: dict[str, Any]) -> None:
        await StuckConsumer.gate.wait()
        await super().room_frame(event)


async def test_stalled_viewer_queue_stays_bounded_and_it_recovers_by_resync(
    presenter: Viewer, viewers: Callable[..., Viewer]
):
    capacity = settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"]
    StuckConsumer.gate = asyncio.Event()
    StuckConsumer.channels = []
    app = URLRouter([path("ws/rooms/<str:room>/", StuckConsumer.as_asgi())])
    carol = WebsocketCommunicator(app, f"/ws/rooms/{ROOM}/")
    try:
        connected, _ = await carol.connect(timeout=WAIT)
        assert connected
        joined = json.loads(await carol.receive_from(timeout=WAIT))
        assert joined["type"] == "snapshot"

        # Carol stops reading while the room runs three times as many frames as her queue holds.
        await presenter.send({"type": "control", "action": "speed", "value": 5})
        await presenter.send({"type": "control", "action": "run"})
        target = joined["seq"] + 3 * capacity
        seen = await presenter.receive_until(
            lambda m: m["type"] == "frame" and m["seq"] >= target, timeout=60
        )
        seqs = [m["seq"] for m in seen if m["type"] == "frame"]
        assert seqs == list(range(seqs[0], seqs[-1] + 1))  # the presenter missed nothing
        layer = get_channel_layer()
        queue = layer.channels.get(StuckConsumer.channels[0])
        assert queue is not None and queue.qsize() <= capacity

        # She reads again: the queued frames, then a gap; she asks for the latest state.
        StuckConsumer.gate.set()
        last = None
        while True:
            message = json.loads(await carol.receive_from(timeout=WAIT))
            assert message["type"] == "frame"
            if last is not None and message["seq"] != last + 1:
                break
            last = message["seq"]
        assert message["seq"] > last + 1
        await carol.send_to(text_data='{"type":"resync"}')
        while True:
            reply = json.loads(await carol.receive_from(timeout=WAIT))
            if reply["type"] == "snapshot":
                break
        assert reply["seq"] >= message["seq"] and reply["state"]["running"] is True
        following = json.loads(await carol.receive_from(timeout=WAIT))
        assert following["type"] == "frame" and following["seq"] == reply["seq"] + 1
    finally:
        StuckConsumer.gate.set()
        await carol.disconnect()
