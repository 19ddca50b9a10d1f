"""A stream (x-queue-type=stream) during a run: appends, readers by offset, credit per chunk,
retention (the rules are in stream.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, Runtime
from playground.engine.rabbitmq.flow import DROP_RETENTION, STREAM_FLUSH, STREAM_RETENTION
from playground.engine.rabbitmq.queue import Entry, Message
from playground.engine.rabbitmq.stream import StreamLog, parse_offset_spec

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

#: retention is evaluated at segment roll-over; a stream nobody writes to is also checked this often
RETENTION_CHECK_S = 60.0


class Reader:
    """One consumer of the stream: where it reads, its credit and what it has not acked."""

    __slots__ = ("consumer", "position", "start", "credit", "unacked", "next_tag", "read", "acked", "spec")

    def __init__(self, consumer: str, position: int, start: int, credit: int, spec: str) -> None:
        self.consumer = consumer
        self.position = position  # the next chunk to read starts at or before this offset
        self.start = start  # offsets below this are not delivered (x-stream-offset)
        self.credit = credit
        self.unacked: dict[int, int] = {}  # delivery tag -> offset
        self.next_tag = 1
        self.read = 0
        self.acked = 0
        self.spec = spec


class StreamRuntime(Runtime):
    """A stream: every message kept, in order, until retention deletes its segment."""

    commands = {"purge_queue": "cmd_purge", "redrive": "cmd_unsupported", "get_messages": "cmd_unsupported",
                "get_and_reject": "cmd_unsupported", "kill_leader": "cmd_unsupported",
                "restart_replica": "cmd_unsupported"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], args: dict[str, Any],
                 policy: str | None = None) -> None:
        self.id = node_id
        self.kind = "stream"
        self.policy = policy
        self.args = args
        self.log = StreamLog(int(params["segment_bytes"]), args.get("max-length-bytes"), args.get("max-age"))
        self.readers: dict[str, Reader] = {}
        self.refused: dict[str, str] = {}
        self.produced = 0
        self.dropped: dict[str, int] = {}
        self.delivered = 0
        self.dlx = None
        self.flush_pending = False
        if self.log.max_age is not None:
            sim.kernel.schedule(RETENTION_CHECK_S, STREAM_RETENTION, self.id, None)

    # -- what publishers, exchanges and consumers call ------------------------------------

    def held(self) -> int:
        return 0  # on disk: streams do not count toward the memory alarm here

    def refuses(self, msg: Message) -> bool:
        return False

    def enqueue(self, sim: Simulation, msg: Message, attempts: int | None = None) -> None:
        self.produced += 1
        before = self.log.deleted
        self.log.append(msg, sim.kernel.now)
        self._count_retention(sim, self.log.deleted - before)
        if not self.flush_pending:
            # the chunk is complete once this instant's appends are done: readers see it then
            self.flush_pending = True
            sim.kernel.schedule(sim.kernel.now, STREAM_FLUSH, self.id, None)

    def attach(self, sim: Simulation, tag: str, consumer: str, prefetch: int, offset: str,
               auto_ack: bool) -> str | None:
        """basic.consume with x-stream-offset; refused (the error is returned) without a prefetch
        or with auto-ack (rabbit_stream_queue consume/3: precondition_failed, not_implemented)."""
        if auto_ack:
            return "automatic acknowledgement not supported by stream queues"
        if prefetch == 0:
            return "consumer prefetch count is not set (streams need basic.qos)"
        kind, value = parse_offset_spec(offset)
        position, start = self.log.start_offset(kind, value, sim.kernel.now)
        self.readers[tag] = Reader(consumer, position, start, prefetch, offset)
        return None

    def cancel(self, tag: str) -> None:
        reader = self.readers.get(tag)
        if reader is not None:
            reader.credit = -10**9  # no more deliveries; acks still count

    def close(self, sim: Simulation, tag: str) -> None:
        """The channel closed: the reader goes; nothing is requeued (the messages stay in the log)."""
        self.readers.pop(tag, None)

    def ack(self, sim: Simulation, tag: str, dtag: int) -> None:
        """basic.ack gives one credit back; the message stays in the stream."""
        reader = self.readers.get(tag)
        if reader is None or reader.unacked.pop(dtag, None) is None:
            return
        reader.acked += 1
        reader.credit += 1
        self.dispatch(sim)

    def nack(self, sim: Simulation, tag: str, dtag: int, requeue: bool) -> None:
        """basic.nack and basic.reject are not supported by streams: the broker closes the channel."""
        reader = self.readers.pop(tag, None)
        if reader is not None:
            sim.components[reader.consumer].channel_error(
                sim, tag, "basic.nack and basic.reject not supported by stream queues")

    def autoack_done(self, sim: Simulation, ok: bool, n: int = 1, crashed: bool = False) -> None:
        raise AssertionError("streams refuse auto-ack consumers")

    def dispatch(self, sim: Simulation) -> None:
        """Deliver whole chunks to each reader with credit left (stream_entries/4)."""
        log = self.log
        for tag, reader in list(self.readers.items()):
            while reader.credit > 0 and tag in self.readers:
                if reader.position < log.first_offset:
                    reader.position = log.first_offset  # retention deleted what it had not read
                chunk = log.read_chunk(reader.position)
                if chunk is None or (self.flush_pending and chunk is log.chunks()[-1]):
                    break
                skip = max(reader.start, reader.position)
                reader.position = chunk.next
                for i, msg in enumerate(chunk.messages):
                    offset = chunk.first + i
                    if offset < skip:
                        continue
                    self._deliver(sim, tag, reader, offset, msg)

    def _deliver(self, sim: Simulation, tag: str, reader: Reader, offset: int, msg: Message) -> None:
        dtag = reader.next_tag
        reader.next_tag += 1
        reader.unacked[dtag] = offset
        reader.credit -= 1
        reader.read += 1
        self.delivered += 1
        entry = Entry(msg, offset, 0, None)
        entry.deliveries = 1
        if sim.record_flow:
            sim.emit({"k": "amqp_deliver", "t": sim.kernel.now, "src": self.id, "dst": reader.consumer, "n": 1,
                      "c": tag.rpartition("/")[2], "key": msg.routing_key, "p": 0, "offset": offset})
        sim.components[reader.consumer].receive(sim, tag, dtag, entry)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == STREAM_FLUSH:
            self.flush_pending = False
            self.dispatch(sim)
            return
        sim.kernel.schedule(sim.kernel.now + RETENTION_CHECK_S, STREAM_RETENTION, self.id, None)
        self._count_retention(sim, self.log.apply_retention(sim.kernel.now))
        self.dispatch(sim)

    def _count_retention(self, sim: Simulation, gone: int) -> None:
        if gone:
            self.dropped[DROP_RETENTION] = self.dropped.get(DROP_RETENTION, 0) + gone
            sim.emit({"k": "amqp_drop", "t": sim.kernel.now, "node": self.id, "reason": "retention", "n": gone})

    # -- commands -------------------------------------------------------------------------

    def cmd_purge(self, sim: Simulation, command: dict[str, Any]) -> None:
        """queue.purge is not supported by streams."""
        raise CommandError(f"{self.id!r} is a stream: queue.purge is not supported (retention removes messages)")

    def cmd_unsupported(self, sim: Simulation, command: dict[str, Any]) -> None:
        raise CommandError(f"{self.id!r} is a stream: {command.get('op')} is not supported by stream queues")

    # -- reading --------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        """A stream keeps what it receives: waiting = retained; retention's deletions are drops."""
        return [{"queue": self.id, "exchange": None, "produced": self.produced, "acknowledged": 0,
                 "in_flight": 0, "waiting": self.log.retained(), "dead_lettered": 0, "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        log = self.log
        return {
            "queue_type": "stream", "policy": self.policy,
            "effective": {k: v for k, v in self.args.items() if v is not None},
            "first_offset": log.first_offset, "next_offset": log.next_offset, "retained": log.retained(),
            "segments": len(log.segments), "chunks": len(log.chunks()), "bytes": log.bytes(),
            "produced": self.produced, "delivered": self.delivered, "dropped": dict(self.dropped),
            "ready": log.retained(), "unacked": sum(len(r.unacked) for r in self.readers.values()),
            "lag": sum(log.next_offset - max(r.position, r.start) for r in self.readers.values()),
            "readers": [{"id": tag.rpartition("/")[2], "consumer": r.consumer, "offset": r.position,
                         "spec": r.spec, "read": r.read, "acked": r.acked, "unacked": len(r.unacked),
                         "lag": log.next_offset - max(r.position, r.start)} for tag, r in self.readers.items()],
            "refused": dict(self.refused), "count": 0, "recent": [],
        }
