"""The websocket side of a live room: a protocol adapter between a browser and a runner.

Parse, check, call the runner, answer. Frames reach the socket as pre-serialised text from the
room's channel-layer group; this consumer only forwards them. Errors go to this socket only and
never stop the run.

Slow viewers: the channel layer's per-channel capacity bounds how many frames can wait for one
viewer; beyond it the layer drops them. The viewer sees the gap in ``seq``, sends ``resync`` and
gets the latest snapshot.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from playground import engine
from playground.live import protocol
from playground.live.rooms import Room, RoomFull, TokenBucket, get_registry
from playground.live.runner import NoSimulation

logger = logging.getLogger(__name__)

CLOSE_BAD_ROOM = 4400
CLOSE_ROOM_FULL = 4429
MAX_REPORTED_ERRORS = 50


class LiveConsumer(AsyncWebsocketConsumer):
    room: Room | None = None
    group: str | None = None
    controller = False
    last_seq = -1

    async def connect(self) -> None:
        room_id = self.scope.get("url_route", {}).get("kwargs", {}).get("room")
        if not protocol.is_room_id(room_id):
            # Accept first so the browser sees the close code (a refused handshake shows none).
            await self.accept()
            await self.close(code=CLOSE_BAD_ROOM)
            return
        try:
            room, controller = await get_registry().join(room_id, _query_key(self.scope))
        except RoomFull as exc:
            await self.accept()
            await self.send(text_data=protocol.error("room_full", str(exc)))
            await self.close(code=CLOSE_ROOM_FULL)
            return
        self.room, self.controller = room, controller
        self.bucket = TokenBucket()
        self.group = protocol.group_name(room_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_current_state()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.room is not None:
            get_registry().leave(self.room)
            self.room = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.room is None:
            return
        if not self.bucket.allow():
            await self._error("rate_limited", "too many messages; wait a moment and try again")
            return
        try:
            raw = text_data if text_data is not None else bytes_data
            message = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            await self._error(exc.code, exc.message)
            return
        if isinstance(message, protocol.Resync):
            await self._send_current_state()
            return
        if not self.controller:
            await self._error("read_only", "this connection does not hold the room's controls")
            return
        runner = self.room.runner
        try:
            if isinstance(message, protocol.Load):
                await self._load(message)
            elif isinstance(message, protocol.Control):
                await runner.control(message.action, message.value)
            elif isinstance(message, protocol.Command):
                await runner.command(message.command)
        except NoSimulation as exc:
            await self._error("no_simulation", f"{exc}; send a load message first")
        except engine.CommandError as exc:
            await self._error("bad_command", str(exc))

    async def _load(self, message: protocol.Load) -> None:
        assert self.room is not None
        try:
            document = engine.parse_document(message.document)
        except engine.DocumentError as exc:
            errors = [e.to_dict() for e in exc.errors[:MAX_REPORTED_ERRORS]]
            count = len(exc.errors)
            await self._error(
                "invalid_document",
                f"the topology has {count} problem{'s' if count != 1 else ''}; "
                "the current run goes on",
                errors,
            )
            return
        await self.room.runner.load(document, message.seed)

    # -- channel-layer events (dispatched on "type": "room.frame" -> room_frame) ---------------

    async def room_frame(self, event: dict[str, Any]) -> None:
        # A frame published while this viewer was being sent its snapshot is already in it.
        if event["seq"] <= self.last_seq:
            return
        self.last_seq = event["seq"]
        await self.send(text_data=event["text"])

    async def room_snapshot(self, event: dict[str, Any]) -> None:
        self.last_seq = max(self.last_seq, event["seq"])
        await self.send(text_data=protocol.with_controller(event["text"], self.controller))

    # -- helpers -------------------------------------------------------------------------------

    async def _send_current_state(self) -> None:
        assert self.room is not None
        runner = self.room.runner
        seq, body = await runner.snapshot_body()
        if body is None:
            text = runner.hello(self.controller)
        else:
            text = protocol.with_controller(body, self.controller)
        self.last_seq = max(self.last_seq, seq)
        await self.send(text_data=text)

    async def _error(
        self, code: protocol.ErrorCode, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        await self.send(text_data=protocol.error(code, message, errors))


def _query_key(scope: dict[str, Any]) -> str | None:
    raw = scope.get("query_string", b"")
    try:
        query = parse_qs(raw.decode("latin-1"), max_num_fields=20)
    except ValueError:
        return None
    values = query.get("key")
    return values[0] if values else None
