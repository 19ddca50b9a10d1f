"""Per-process fan-out: one subscription per room, each frame written straight to every viewer.

A Daphne process holds many viewers of few rooms. The stock Channels path costs, per viewer and
per frame, a channel-layer message (a queue put, a copy) and a consumer dispatch (a task wake-up
and, since channels 4.2, a thread hop to close old database connections): ../shared/bench/
BASELINES.md measured ~0.4% of a core per viewer at 20 frames/s. Here each room has ONE
subscription in this process (the runner's ``subscribe`` hook: in-process in embedded mode, one
Redis pub/sub channel in scaled mode) and a set of local viewers; a frame's text, serialised once
for the room, is handed to each viewer's ASGI ``send`` in one loop.

Slow viewers never slow the others, and nothing waits for one without bound:

- Daphne's ``send`` does not wait for the network: it writes into Twisted's transport buffer and
  returns. So the loop never blocks on a viewer, and what a stalled connection could pile up
  is bounded here, two ways:
  - ack window: a client that acknowledges frames (``{"type":"ack","seq":N}``, the browser does
    it every ~10 frames and after each snapshot) has at most ``WINDOW`` frames written past its
    last ack;
  - transport buffer: where the server is Daphne, the bytes Twisted still holds for the socket
    are read before each write (``transport_backlog``) and capped at ``MAX_BUFFERED_BYTES``,
    which bounds clients that never ack as well.
- A viewer over either bound is *behind*: its frames are skipped (not queued). Once it has caught
  up (an ack within ``RESUME_BELOW`` frames of the last written, or the transport buffer drained)
  it gets the room's latest snapshot and continues with the frames after it.
- While a viewer waits for its snapshot (on joining, on ``resync``, on catching up) the frames
  that arrive are held in a short backlog and written after the snapshot, in order.
- Snapshots obey the same transport cap as frames (``fits``): a snapshot that would take the
  socket's buffer past MAX_BUFFERED_BYTES is not written, the viewer is behind and gets the
  newest one once its socket drained. A ``resync`` while one is pending (or while the viewer is
  behind, or sooner than RESYNC_INTERVAL after the last) collapses into that one: a client asking
  for snapshots in a loop without reading costs one snapshot per interval, never unbounded memory.

Every write to a viewer goes through its ``Viewer``, which keeps ``last_seq``: a viewer never
gets a frame twice or out of order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from playground.live import protocol
from playground.live.runner import Message, Runner

logger = logging.getLogger(__name__)

WINDOW = 30  # frames written past the client's last ack (3 s at 10 frames/s)
RESUME_BELOW = 15  # a behind viewer resumes once its ack is this close to the last written frame
MAX_BUFFERED_BYTES = 1024 * 1024  # bytes Twisted may hold for one socket before frames are skipped
BACKLOG = 50  # frames held for a viewer while its snapshot is on the way
RESYNC_INTERVAL = 1.0  # seconds: resyncs closer than this are answered by one snapshot

Send = Callable[[dict[str, Any]], Awaitable[None]]

# Viewer states
LIVE = "live"
PENDING = "pending"  # waiting for its snapshot; frames go to the backlog
BEHIND = "behind"  # too far behind; frames are skipped until it catches up


class Viewer:
    """One websocket of a room as the hub sees it: where to write, and how far behind it is."""

    def __init__(self, feed: RoomFeed, send: Send, controller: bool) -> None:
        self.feed = feed
        self.send = send
        self.controller = controller
        self.state = PENDING
        self.last_seq = -1  # newest seq written to this viewer (frame or snapshot)
        self.acked: int | None = None  # newest seq the client acknowledged; None: it never acks
        self.backlog: list[tuple[int, str]] = []
        self.resyncing: asyncio.Task[None] | None = None
        self.sending_state = False
        self.closed = False
        self.last_resync = -RESYNC_INTERVAL
        self.resync_timer: asyncio.TimerHandle | None = None
        # Counters, for tests and the load test.
        self.frames_written = 0
        self.bytes_written = 0
        self.frames_skipped = 0
        self.snapshots = 0

    @property
    def outstanding(self) -> int:
        """Frames written past the client's last ack (0 for a client that never acks)."""
        if self.acked is None:
            return 0
        return max(0, self.last_seq - self.acked)

    def fits(self, size: int) -> bool:
        """May ``size`` more bytes go to this socket now? Always when its buffer is empty."""
        held = transport_backlog(self.send)
        return not held or held + size <= MAX_BUFFERED_BYTES

    async def write(self, text: str) -> None:
        self.bytes_written += len(text)
        try:
            await self.send({"type": "websocket.send", "text": text})
        except Exception:
            # A socket that fails is closing; its consumer leaves the room on disconnect.
            logger.debug("room %s: write to a viewer failed", self.feed.room_id, exc_info=True)
            self.closed = True

    # -- frames from the room -----------------------------------------------------------------

    async def offer(self, seq: int, text: str) -> None:
        """A frame of the room: write it, hold it, or skip it (never block on a slow viewer)."""
        if self.closed:
            return
        if self.state == PENDING:
            if len(self.backlog) < BACKLOG:
                self.backlog.append((seq, text))
            return
        if self.state == BEHIND:
            self.frames_skipped += 1
            if self.acked is None and transport_backlog(self.send) == 0:
                self.start_resync()  # a client that never acks: resume once its socket drained
            return
        if seq <= self.last_seq:
            return  # already in the snapshot this viewer got
        if seq > self.last_seq + 1 and self.last_seq >= 0:
            # Frames were lost on the way here (a Redis reconnect, a late subscription): the
            # viewer gets a snapshot rather than a gap.
            self.start_resync()
            self.backlog.append((seq, text))
            return
        if self.outstanding >= WINDOW or (transport_backlog(self.send) or 0) > MAX_BUFFERED_BYTES:
            self.state = BEHIND
            self.frames_skipped += 1
            return
        self.last_seq = seq
        self.frames_written += 1
        await self.write(text)

    async def broadcast(self, text: str) -> None:
        """A message for every viewer outside the frame sequence (a notice)."""
        if not self.closed and self.state != BEHIND:
            await self.write(text)

    # -- the client side ----------------------------------------------------------------------

    async def ack(self, seq: int) -> None:
        """The client has every message up to ``seq``; resume a behind viewer that caught up."""
        if seq > self.last_seq:
            seq = self.last_seq  # an ack of what was never written acknowledges nothing more
        if self.acked is None or seq > self.acked:
            self.acked = seq
        if self.state == BEHIND and self.last_seq - self.acked <= RESUME_BELOW:
            await self.send_state()

    def request_resync(self) -> None:
        """The client asked for a snapshot. Collapses: one pending, a behind viewer (it gets one
        when it caught up), or one scheduled already, answers this one too."""
        if self.closed or self.state != LIVE or self.sending_state or self.resync_timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self.last_resync + RESYNC_INTERVAL - loop.time()
        if wait <= 0:
            self.start_resync()
        else:
            self.resync_timer = loop.call_later(wait, self._resync_due)

    def _resync_due(self) -> None:
        self.resync_timer = None
        if not self.closed and self.state == LIVE and not self.sending_state:
            self.start_resync()

    def start_resync(self) -> None:
        """``send_state`` in a task of its own (from inside a publication, which holds the lock)."""
        self.state = PENDING  # now, so nothing else starts a second resync meanwhile
        self.backlog = []
        self.resyncing = asyncio.ensure_future(self.send_state())

    async def send_state(self) -> None:
        """Write the room's current snapshot (or hello), then the frames that came meanwhile.

        Never called from inside a room publication: the runner's ``snapshot_body`` may take
        the lock the publication holds.
        """
        if self.sending_state:
            return  # one is on its way; it is at least as new as this one would be
        self.sending_state = True
        try:
            await self._send_state()
        finally:
            self.sending_state = False

    async def _send_state(self) -> None:
        self.state = PENDING
        self.backlog = []
        try:
            self.last_resync = asyncio.get_running_loop().time()
        except RuntimeError:  # pragma: no cover - always called from the loop
            pass
        runner = self.feed.runner
        seq, body = await runner.snapshot_body()
        if self.closed:
            return
        text = runner.hello(self.controller) if body is None else protocol.with_controller(body, self.controller)
        if not self.fits(len(text)):
            # Same cap as frames: the newest snapshot goes once the socket drained.
            self.state = BEHIND
            self.backlog = []
            self.frames_skipped += 1
            return
        self.last_seq = max(self.last_seq, seq)
        if self.acked is not None:
            self.acked = max(self.acked, self.last_seq)  # a fresh start for the window
        self.snapshots += 1
        await self.write(text)
        # Frames that came while the snapshot was on its way; more may come while writing.
        while self.backlog:
            frame_seq, frame_text = self.backlog.pop(0)
            if frame_seq > self.last_seq:
                self.last_seq = frame_seq
                self.frames_written += 1
                await self.write(frame_text)
        self.state = LIVE


class RoomFeed:
    """A room's one subscription in this process and the viewers it feeds."""

    def __init__(self, room_id: str, runner: Runner) -> None:
        self.room_id = room_id
        self.runner = runner
        self.viewers: list[Viewer] = []
        self._unsubscribe = runner.subscribe(self.publish)
        self.frames = 0

    async def publish(self, message: Message) -> None:
        kind = message.get("type")
        text = message["text"]
        viewers = list(self.viewers)
        if kind == "room.frame":
            self.frames += 1
            seq = message["seq"]
            for viewer in viewers:
                await viewer.offer(seq, text)
        elif kind == "room.snapshot":
            # A new run (load, reset): everyone gets it now, with their own controller flag.
            seq = message["seq"]
            for viewer in viewers:
                if viewer.closed or viewer.state == BEHIND:
                    continue  # a behind viewer gets the newest snapshot when it catches up
                if viewer.state == PENDING:
                    viewer.backlog.clear()  # its own snapshot is on the way and is at least as new
                    continue
                if not viewer.fits(len(text)):
                    viewer.state = BEHIND  # the newest snapshot goes once its socket drained
                    continue
                viewer.state = LIVE
                # A new run's snapshot is where the sequence goes on from, even backwards (a
                # room resumed from its checkpoint): frames carry only what changed since the
                # frame before, so none after it may be skipped as "already seen".
                viewer.last_seq = seq
                if viewer.acked is not None:
                    viewer.acked = seq
                viewer.snapshots += 1
                await viewer.write(protocol.with_controller(text, viewer.controller))
        else:
            for viewer in viewers:
                await viewer.broadcast(text)

    def close(self) -> None:
        self._unsubscribe()


class Hub:
    """The feeds of this process, one per room that has local viewers."""

    def __init__(self) -> None:
        self.feeds: dict[str, RoomFeed] = {}

    async def join(self, room_id: str, runner: Runner, send: Send, controller: bool) -> Viewer:
        """Add a viewer and write it the room's current state; frames follow from there."""
        feed = self.feeds.get(room_id)
        if feed is None or feed.runner is not runner:
            if feed is not None:
                feed.close()
            feed = self.feeds[room_id] = RoomFeed(room_id, runner)
        viewer = Viewer(feed, send, controller)
        feed.viewers.append(viewer)
        await viewer.send_state()
        return viewer

    def leave(self, viewer: Viewer) -> None:
        viewer.closed = True
        if viewer.resyncing is not None:
            viewer.resyncing.cancel()
        if viewer.resync_timer is not None:
            viewer.resync_timer.cancel()
            viewer.resync_timer = None
        feed = viewer.feed
        if viewer in feed.viewers:
            feed.viewers.remove(viewer)
        if not feed.viewers and self.feeds.get(feed.room_id) is feed:
            del self.feeds[feed.room_id]
            feed.close()


_hub: Hub | None = None


def get_hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub


def transport_backlog(send: Send) -> int | None:
    """Bytes the server still holds for this socket, where it can be known; else None.

    Daphne hands each connection ``functools.partial(server.handle_reply, protocol)`` as its
    ASGI send, and the protocol writes into a Twisted transport, which buffers without limit
    (``dataBuffer`` past ``offset`` plus ``_tempDataLen``). These are Twisted internals, read
    defensively: any other server (or a test communicator) gives None and only the ack window
    applies.
    """
    args = getattr(send, "args", None)
    if not args:
        return None
    transport = getattr(args[0], "transport", None)
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        return None
