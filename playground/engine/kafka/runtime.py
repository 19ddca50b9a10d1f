"""Behaviour of the Kafka producer, topic and dead letter queue during a run."""

from __future__ import annotations

from array import array
from collections import deque
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr
from playground.engine.component import CommandError, Runtime
from playground.engine.kafka.log import PartitionLog
from playground.engine.kafka.producer import ProducerRuntime, producer_stream  # noqa: F401  (moved to producer.py)
from playground.engine.kafka.replication import APPENDED, NOT_ENOUGH_REPLICAS, PartitionState, ReplicatedTopic
from playground.engine.kafka.storage import TopicStorage
from playground.engine.kafka.transactions import TransactionalTopic

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

PRODUCE: Final = 1


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class TopicRuntime(ReplicatedTopic, TransactionalTopic, Runtime):
    """A topic's partitions. Groups reading it register as readers to be told of new records.

    With a cluster (``attach_cluster``) each partition is replicated (see replication.py) and
    ``logs`` hold what is committed, up to the high watermark.
    """

    def __init__(self, node_id: str, partitions: int, params: dict[str, Any] | None = None) -> None:
        self.id = node_id
        self.storage = TopicStorage(node_id, params or {})  # segments, retention, compaction
        self.logs = [PartitionLog(self.storage.config) for _ in range(partitions)]
        self.readers: list[str] = []
        self.parts: list[PartitionState] | None = None  # replication state, with a cluster
        self.cluster: str | None = None
        self.min_isr = 1
        self.gaps: dict[tuple[str, int], list[tuple[int, int]]] = {}  # (reader, p) -> ranges it skips
        self.envelopes: Any = None  # records.SideTable: envelopes of records bridged in from another system
        self.init_transactions(partitions)

    def attach_cluster(self, sim: Simulation, cluster: Any, replication_factor: int, min_isr: int) -> None:
        self.cluster = cluster.id
        self.min_isr = min_isr
        self.parts = cluster.register_topic(sim, self, replication_factor)

    @property
    def partition_count(self) -> int:
        return len(self.logs)

    def append(self, sim: Simulation, partition: int, keys: np.ndarray, tombstones: np.ndarray | None = None,
               origins: np.ndarray | None = None) -> int:
        """Append records to the readable log (committed); ``tombstones`` may be per-record flags
        (uint8, see log.py), ``origins`` their origin ids."""
        log = self.logs[partition]
        keep_from = log.leo
        if tombstones is None and origins is None and self.storage.started and log.append_plain(keys, sim.kernel.now):
            return keep_from  # the common case: plain records, staged in rows that have room
        if not log.has_room(len(keys)):  # the rows are full: find what readers still need
            for reader in self.readers:
                keep_from = min(keep_from, sim.components[reader].keep_from(self.id, partition))
        if not self.storage.started:
            self.storage.start(sim)
        first = log.append(keys, keep_from, sim.kernel.now, tombstones, origins)
        if tombstones is not None and tombstones.dtype == np.uint8:
            self.note_markers(sim, partition, first, tombstones)
        return first

    def log_start_offset(self, partition: int) -> int:
        """The first offset a fetch may ask for: a reader below it has lost what retention deleted."""
        return self.logs[partition].log_start

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if not self.storage.on_event(sim, self.logs, self.readers, kind):
            super().on_event(sim, kind, arg)

    def leo_total(self) -> int:
        return sum(log.leo for log in self.logs)

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        if self.readers:
            return []  # each group reading it accounts for its own copy
        stream = self.storage.unread_stream(self.logs)
        markers = self.markers_total()  # they take offsets, but are not messages
        stream["produced"] -= markers
        stream["waiting"] -= markers
        return [{"topic": self.id, "group": None, **stream}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        views = self.storage.partition_views(self.logs, sim.kernel.now)
        replicated = self.replication_views(sim)  # leader, replicas, ISR, leo (the leader's), hw
        if replicated:
            for view, rep in zip(views, replicated, strict=True):
                view.update(rep)
        if self.transactional:
            for p, view in enumerate(views):
                view["txn"] = self.txn_view(p)
        return {
            "leo": self.leo_total(),
            "partitions": [{"p": p, "leo": log.leo, "hw": log.leo, "tail": log.tail(), **views[p]}
                           for p, log in enumerate(self.logs)],
            "storage": self.storage.summary(self.logs),
            "cluster": self.cluster,
            "transactions": {"commits": self.commits, "aborts": self.aborts, "aborted_records": self.aborted_records,
                             "markers": self.markers_total()} if self.transactional else None,
        }


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class RedriveRequest:
    """One partition's dead letters, produced again by the redrive app as one acks=all request.

    ``state``: "sent" until its copy in the leader's log is committed ("committed") or cut away
    by a new leader before that ("returned": its dead letters wait for the next redrive).
    """

    __slots__ = ("topic", "p", "dead", "end", "state")

    def __init__(self, topic: str, p: int, dead: list[int]) -> None:
        self.topic = topic
        self.p = p
        self.dead = dead  # key index of each dead letter, in the order they were written
        self.end = 0  # the offset after its copy in the leader's log
        self.state = "sent"

    @property
    def n(self) -> int:
        return len(self.dead)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Backlog:
    """Dead letters waiting for a redrive, oldest first, 8 bytes each (an int64 packing the
    topic's index, the partition and the key), at most ``cap``: the oldest go beyond it."""

    __slots__ = ("cap", "topics", "codes", "start")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.topics: list[str] = []
        self.codes = array("q")
        self.start = 0  # entries before it are gone (dropped from the front)

    def _code(self, topic: str, p: int, key: int) -> int:
        if topic not in self.topics:
            self.topics.append(topic)
        return (self.topics.index(topic) << 48) | (p << 32) | (key + 1)

    def append(self, item: tuple[str, int, int]) -> None:
        self.codes.append(self._code(*item))
        if len(self) > self.cap:
            self.start += 1
            if self.start > self.cap:  # compact now and then, not at every append
                del self.codes[:self.start]
                self.start = 0

    def extend(self, items: Any) -> None:
        for item in items:
            self.append(item)

    def prepend(self, items: list[tuple[str, int, int]]) -> None:
        codes = array("q", (self._code(*item) for item in items))
        codes.extend(self.codes[self.start:])
        self.codes, self.start = codes[:self.cap], 0

    def clear(self) -> None:
        self.codes, self.start = array("q"), 0

    def __len__(self) -> int:
        return len(self.codes) - self.start

    def __getitem__(self, i: int) -> tuple[str, int, int]:
        code = self.codes[self.start + i if i >= 0 else i]
        return self.topics[code >> 48], (code >> 32) & 0xFFFF, (code & 0xFFFFFFFF) - 1

    def __iter__(self) -> Any:
        topics = self.topics
        for i in range(self.start, len(self.codes)):
            code = self.codes[i]
            yield topics[code >> 48], (code >> 32) & 0xFFFF, (code & 0xFFFFFFFF) - 1


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class DlqRuntime(Runtime):
    """A dead letter topic: what was given up on, why, and after how many attempts.

    Redrive is what a small redrive application does (Kafka has none built in): it reads the
    dead letters and produces each again, with its key, to the partition it came from, as a new
    record at the end of the log. The dead letter topic keeps its records (a Kafka log deletes
    nothing on read); ``redriven`` counts what was sent back.

    Into a replicated topic (one on a kafka_cluster) the redrive app is a producer with acks=all
    and idempotence (the default since Kafka 3.0), one request per partition: the leader appends,
    followers replicate, and a dead letter counts as redriven once the high watermark passes its
    copy (then groups read it). Until then it is in flight, in this node's own accounting stream,
    as a producer's records above the HW are. The app only moves on (commits its offset on the
    dead letter topic) past what was acknowledged, so no dead letter is lost:

    - a partition with no leader, or whose ISR is smaller than min.insync.replicas
      (NotEnoughReplicasException, checked before the append), is refused and its dead letters
      stay pending; the redrive is refused as a whole (CommandError) when nothing could be sent;
    - a copy cut away by a new leader before it was committed sends its dead letters back to
      pending, for the next redrive;
    - an error answer while the copy is in the leader's log (the leader died, the leader
      changed, NotEnoughReplicasAfterAppend) settles nothing by itself: the idempotent
      producer's retry of a batch the log has is answered once that batch is committed
      (DUPLICATE_SEQUENCE), so the copy's fate decides, without a duplicate. The retries are
      not modelled one by one, and the app waits as long as it takes (no delivery.timeout.ms).
    """

    RECENT = 50
    MAX_PENDING = 200_000  # dead letters remembered for redrive; older ones can no longer be sent back
    commands = {"redrive": "cmd_redrive"}
    command_labels = {"redrive": "Redrive"}

    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.count = 0
        self.redriven = 0
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.RECENT)
        self.pending = Backlog(self.MAX_PENDING)
        self.sent: list[RedriveRequest] = []  # acks=all requests whose copy is not committed yet, oldest first
        self.in_flight: dict[str, int] = {}  # replicated topic -> redriven records written above its HW
        self.refused: list[dict[str, Any]] = []  # partitions the last redrive could not send to, and why
        self.errors: dict[str, int] = {}

    def add(self, entry: dict[str, Any], key_index: int = -1) -> None:
        self.count += 1
        self.recent.append(entry)
        if not entry.get("duplicate"):
            self.pending.append((entry["topic"], entry["p"], key_index))

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Send every dead letter not yet redriven back to its topic and partition."""
        if not self.pending:
            busy = sum(self.in_flight.values())
            raise CommandError(f"{self.id!r} has no dead letters waiting to be redriven"
                               + (f" ({busy} sent, waiting to be committed)" if busy else ""))
        batches: dict[tuple[str, int], list[int]] = {}
        for topic, p, key in self.pending:
            batches.setdefault((topic, p), []).append(key)
        # Replicated partitions first: a refusal writes nothing, so when every partition refuses
        # the command can be refused whole, with nothing changed.
        order = sorted(batches, key=lambda tp: sim.components[tp[0]].parts is None)
        kept: list[tuple[str, int, int]] = []
        refused: list[dict[str, Any]] = []
        sent = 0
        for topic_id, p in order:
            topic = sim.components[topic_id]
            dead = batches[(topic_id, p)]
            keys = np.array([max(k, 0) for k in dead], dtype=np.int32)
            if topic.parts is None:  # the single ideal broker: written and committed at once
                first = topic.append(sim, p, keys)
                self._emit_redrive(sim, topic_id, p, first, len(dead))
                for reader in topic.readers:
                    sim.components[reader].on_append(sim, topic_id, p)
                self.redriven += len(dead)
                sent += len(dead)
                continue
            req = RedriveRequest(topic_id, p, dead)
            outcome, batch = topic.produce(sim, p, keys, None, self.id, "all", None, req)
            if outcome != APPENDED or batch is None:
                refused.append({"topic": topic_id, "p": p, "n": len(dead), "reason": self._why(topic, p, outcome)})
                kept.extend((topic_id, p, k) for k in dead)
                continue
            req.end = batch.end
            self.sent.append(req)
            self.in_flight[topic_id] = self.in_flight.get(topic_id, 0) + len(dead)
            self._emit_redrive(sim, topic_id, p, batch.first, len(dead), acks="all")
            sent += len(dead)
            topic.advance_hw(sim, p)  # a leader alone in the ISR commits at once
        if not sent:
            where = "; ".join(f"topic {r['topic']!r} partition {r['p']}: {r['reason']}" for r in refused)
            raise CommandError(f"no dead letter could be redriven ({where}); they stay pending")
        self.refused = refused
        for r in refused:
            short = r["reason"].split(":")[0]
            self.errors[short] = self.errors.get(short, 0) + 1
            sim.emit({"k": "redrive_refused", "t": sim.kernel.now, "src": self.id, "dst": r["topic"], "p": r["p"],
                      "n": r["n"], "reason": r["reason"]})
        self.pending.clear()
        self.pending.extend(kept)

    @staticmethod
    def _why(topic: TopicRuntime, p: int, outcome: str) -> str:
        if outcome == NOT_ENOUGH_REPLICAS:
            isr = topic.parts[p].isr  # type: ignore[index]
            return f"{outcome} (ISR {isr}, min.insync.replicas {topic.min_isr})"
        return outcome

    def _emit_redrive(self, sim: Simulation, topic: str, p: int, first: int, n: int, **extra: Any) -> None:
        sim.emit({"k": "redrive", "t": sim.kernel.now, "src": self.id, "dst": topic, "p": p, "o": first, "n": n,
                  **extra})

    # -- answers from the partition leader (the calls replication.py makes on a batch's producer) --

    def _settle(self, sim: Simulation, req: RedriveRequest, committed: bool, why: str = "") -> None:
        self.sent.remove(req)
        self.in_flight[req.topic] -= req.n
        if committed:
            req.state = "committed"
            self.redriven += req.n
            return
        req.state = "returned"
        self._return(sim, req.topic, req.p, req.dead, why)

    def _return(self, sim: Simulation, topic: str, p: int, dead: list[int], why: str) -> None:
        """Dead letters whose copy is gone go back to the front of the pending ones (they are older)."""
        self.pending.prepend([(topic, p, k) for k in dead])
        sim.emit({"k": "redrive_returned", "t": sim.kernel.now, "node": self.id, "topic": topic, "p": p,
                  "n": len(dead), "reason": why})

    def committed(self, n: int) -> None:
        """Records of ours passed the HW: settled by the answer that follows (acked or request_failed)."""

    def acked(self, sim: Simulation, req: RedriveRequest) -> None:
        if req.state == "sent":
            self._settle(sim, req, committed=True)

    def request_failed(self, sim: Simulation, req: RedriveRequest, error: str, keep_link: Any = None) -> None:
        """An error answer. A copy the HW has passed is committed (NotEnoughReplicasAfterAppend
        comes after the commit): the retry would be a duplicate sequence, acknowledged. One still
        above the HW (the leader died or changed) waits for its fate: stay linked to it."""
        if req.state != "sent":
            return
        short = error.split(":")[0]
        self.errors[short] = self.errors.get(short, 0) + 1
        if sim.components[req.topic].parts[req.p].hw >= req.end:
            self._settle(sim, req, committed=True)
        elif keep_link is not None:
            keep_link.req = req

    def copy_truncated(self, sim: Simulation, req: RedriveRequest, n: int) -> None:
        """A new leader did not have the copy: nothing of it is in the partition any more."""
        if req.state == "sent":
            self._settle(sim, req, committed=False, why="a new leader truncated the copy before it was committed")

    def lost(self, sim: Simulation, n: int, reason: str, topic: str, p: int) -> None:
        """The tail ``n`` records of a copy were truncated while its head stays in the log (a batch
        split by the truncation point): those dead letters go back to pending, not lost."""
        req = next((r for r in reversed(self.sent) if r.topic == topic and r.p == p), None)
        assert req is not None, "only a copy still linked to its request is split"
        dead, req.dead = req.dead[-n:], req.dead[:-n]
        req.end -= n
        self.in_flight[topic] -= n
        self._return(sim, topic, p, dead, reason)

    # -- accounting and view ----------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        """Redriven records written to a replicated topic's leader and not committed yet (once
        committed they belong to the streams of the groups reading the topic)."""
        return [producer_stream(topic, self.id, 0, n, {}) for topic, n in self.in_flight.items()]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"count": self.count, "recent": list(self.recent), "redriven": self.redriven,
                "pending": len(self.pending), "redriving": sum(self.in_flight.values()),
                "refused": list(self.refused), "errors": dict(self.errors)}
