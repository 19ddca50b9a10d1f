"""The websocket side of a live room: a protocol adapter between a browser and a runner.

Parse, check, call the runner, answer. Frames do not come through this consumer: the process's
hub (``hub.py``) holds one subscription per room and writes each frame's text, serialised once,
straight to every local viewer's socket, so a frame costs no channel-layer message and no
dispatch per viewer. This consumer joins the hub on connect (which writes the room's current
state first), leaves it on disconnect, and passes the client's ``ack`` and ``resync`` to it.
Errors go to this socket only and never stop the run.

Slow viewers: a viewer too far behind (past its ack window, or with too much in the server's
transport buffer) has frames skipped, then gets the latest snapshot once it has caught up; see
``hub.py``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from playground import engine
from playground.live import protocol
from playground.live import rooms as rate
from playground.live.hub import Viewer, get_hub
from playground.live.rooms import ClientLimit, RateLimited, Room, RoomFull, get_registry
from playground.live.runner import NoSimulation

logger = logging.getLogger(__name__)

CLOSE_BAD_ROOM = 4400
CLOSE_ROOM_FULL = 4429
# Repeated abuse of the rate limit. The protocol's own code is 1008 (policy violation), but
# autobahn (Daphne) lets an application close only with 1000 or 3000-4999 (it turned 1008 into
# a 1011 and a traceback): 4008, the application-range twin of 1008.
CLOSE_POLICY = 4008
MAX_REPORTED_ERRORS = 50


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel layer: frames come from the hub. A per-viewer channel would cost a receive task
    # (a Redis poll in scaled mode) per viewer for nothing.
    channel_layer_alias = None  # type: ignore[assignment]
    room: Room | None = None
    viewer: Viewer | None = None
    controller = False
    client: str | None = None

    async def connect(self) -> None:
        room_id = self.scope.get("url_route", {}).get("kwargs", {}).get("room")
        if not protocol.is_room_id(room_id):
            # Accept first so the browser sees the close code (a refused handshake shows none).
            await self.accept()
            await self.close(code=CLOSE_BAD_ROOM)
            return
        # Only a key the server issued for this room (POST /rooms/, stored in the database) is
        # passed on; any other key is dropped, so it can neither hold nor claim the controls.
        key = _query_key(self.scope)
        if key is not None and not await _key_issued(room_id, key):
            key = None
        registry = get_registry()
        client = _client_address(self.scope)
        try:
            registry.open_socket(client)
            self.client = client
            room, controller = await registry.join(room_id, key, client)
        except (RoomFull, ClientLimit) as exc:
            code = "room_full" if isinstance(exc, RoomFull) else "rate_limited"
            await self.accept()
            await self.send(text_data=protocol.error(code, str(exc)))
            await self.close(code=CLOSE_ROOM_FULL)
            return
        self.room, self.controller = room, controller
        self.limiter = rate.MessageLimiter()
        await self.accept()
        self.viewer = await get_hub().join(room_id, room.runner, self.base_send, controller)

    async def disconnect(self, code: int) -> None:
        if self.viewer is not None:
            get_hub().leave(self.viewer)
            self.viewer = None
        if self.room is not None:
            get_registry().leave(self.room)
            self.room = None
        if self.client is not None:
            get_registry().close_socket(self.client)
            self.client = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels 4.2+ closes old database connections (a thread hop) before every handler; no
        # handler here touches the ORM outside database_sync_to_async, which does that itself,
        # and acks arrive from every viewer every second.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.room is None or self.viewer is None:
            return
        # Every message pays before it is parsed (point 3 of issue 19): a flood of tiny invalid
        # messages costs one token check each, and one notice per burst.
        verdict = self.limiter.check()
        if verdict != rate.ALLOW:
            if verdict == rate.NOTIFY:
                await self._error("rate_limited", "too many messages; wait a moment and try again")
            elif verdict == rate.CLOSE:
                logger.info("room %s: closing a connection that keeps flooding", self.room.id)
                await self.close(code=CLOSE_POLICY)
                await self.disconnect(CLOSE_POLICY)
            return
        raw = text_data if text_data is not None else bytes_data
        try:
            message = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            await self._error(exc.code, exc.message)
            return
        if isinstance(message, protocol.Ack):
            await self.viewer.ack(message.seq)
            return
        if isinstance(message, protocol.Resync):
            self.viewer.request_resync()  # collapses into one that is pending
            return
        if not self.controller:
            await self._error("read_only", "this connection does not hold the room's controls")
            return
        # Scaled-mode hook (issue 5): a per-room limit shared by every viewer of the room.
        if not self.room.bucket.allow():
            await self._error("rate_limited", "too many controls for this room; wait a moment")
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
        # Scaled-mode hook (issue 5): the room's worker is busy, gone, or rate-limits the room.
        except RoomFull as exc:
            await self._error("room_full", str(exc))
        except RateLimited as exc:
            await self._error("rate_limited", str(exc))

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

    # -- helpers -------------------------------------------------------------------------------

    async def _error(
        self, code: protocol.ErrorCode, message: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        await self.send(text_data=protocol.error(code, message, errors))


@database_sync_to_async
def _key_issued(room_id: str, key: str) -> bool:
    from playground.topologies.services import control_key_valid

    try:
        return control_key_valid(room_id, key)
    except DatabaseError:
        logger.exception("control key of room %s not checked: database error", room_id)
        return False


def _client_address(scope: dict[str, Any]) -> str:
    """Who this connection is, for per-client limits: its address (behind a proxy, Daphne's
    --proxy-headers puts the forwarded one here)."""
    client = scope.get("client")
    if isinstance(client, (list, tuple)) and client and isinstance(client[0], str):
        return client[0]
    return "-"


def _query_key(scope: dict[str, Any]) -> str | None:
    raw = scope.get("query_string", b"")
    try:
        query = parse_qs(raw.decode("latin-1"), max_num_fields=20)
    except ValueError:
        return None
    values = query.get("key")
    return values[0] if values else None
