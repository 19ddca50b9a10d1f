"""A Kafka consumer group during a run: the poll loop, offsets, retries and eager rebalancing.

The rules followed, from the Kafka consumer and group coordinator:

- Each partition is owned by at most one member; a member fetches from its position, which
  starts at the committed offset when the partition is assigned (without one: auto.offset.reset,
  offset_reset.py; offsets are reset there too, and static members are membership.py's).
- A poll returns at most max.poll.records, taken partition by partition in rotating order.
- enable.auto.commit (commit="auto"): in poll, when auto.commit.interval.ms has passed since the
  last commit, the positions of what the previous poll returned are committed; they are also
  committed synchronously before partitions are revoked (ConsumerCoordinator.onJoinPrepare). A
  member that crashes commits nothing, so whatever it processed since its last commit is
  delivered again to the next owner: a duplicate, counted. commit="after_processing" is
  commitSync after each batch (a crash repeats at most the batch in hand); commit=
  "before_processing" commits as soon as the poll returns, so a crash loses the batch in hand
  (at most once): those records are counted as dropped, with that reason.
- Eager rebalance protocol: a change of membership opens a rebalance; members learn of it at
  their next heartbeat (heartbeat.interval.ms), finish the batch in hand, commit, revoke every
  partition and rejoin. The coordinator waits for every member it knows; a crashed member is
  only forgotten when session.timeout.ms has passed since its last heartbeat. Then the leader
  assigns (range assignor) and every member resumes from the committed offsets. No member
  processes while it is rejoining.
- A graceful leave (consumer.close) commits and sends LeaveGroup at once: no session timeout.
- Cooperative protocol (KIP-429, cooperative-sticky): a member that learns of a rebalance
  commits and rejoins with the partitions it owns, and keeps consuming them. The assignment it
  gets back leaves out every partition that moves to another member; it revokes those (after the
  batch in hand, committing their offsets) and rejoins at once, and the follow-up rebalance gives
  them to their new owners. Only moved partitions pause, from revocation to the second round.
- max.poll.interval.ms: when one poll's processing outlasts it, the heartbeat thread leaves the
  group (AbstractCoordinator.maybeLeaveGroup: LeaveGroup for a dynamic member, and the group
  rebalances; a static member sends none and stops heartbeating, so the coordinator keeps its
  partitions until session.timeout.ms). When processing ends the offset commit fails (the
  generation is gone) and the member rejoins; its records are delivered again: duplicates.

Transactions (KIP-98, KIP-447; see transactions.py for the topic side):

- isolation.level=read_committed: the group fetches below each partition's last stable offset and
  skips the records of aborted transactions (counted, with the reason); read_uncommitted (the
  default) reads up to the high watermark. Markers are stepped over, never processed.
- A group with an output topic does consume-process-produce: every record it processes writes
  one record with the same key (and origin) to the output topic. processing_guarantee=
  at_least_once writes them at once and commits offsets by its commit strategy: a crash after
  the writes and before the commit writes them again when the records are reprocessed.
  exactly_once (Kafka Streams' EOS v2): each member is a transactional producer; its writes
  and its input offsets (sendOffsetsToTransaction) are committed together every
  commit.interval.ms, at revocation and on leaving. A member that crashes leaves its
  transaction open (read_committed readers of the output stall at it) until its process
  restarts (initTransactions fences and aborts it) or transaction.timeout.ms passes; a member
  kicked out for exceeding max.poll.interval.ms is fenced when it tries to commit, and aborts.
  Either way its offsets were not committed, its records are processed again, and only the new
  transaction's writes are committed. A record whose first attempt fails is handed to the retry
  queue in the member's transaction, as a retry topic's record would be: only once an offset past
  it commits with that transaction is its retry scheduled (from the failed attempt's time), and a
  transaction that aborts drops the hand-over with it (the record is delivered again from the
  committed offset). The retries themselves are the group's retry consumer's: a retry that
  succeeds writes its output in the group's retries transaction (committed at once), and one out
  of attempts writes its dead letter; each happens once, for a committed hand-over.
  Under EOS v2 one producer holds all of a member's tasks, so a commit (a cooperative revocation
  too: TaskManager.handleRevocation) commits the offsets of every partition it owns.
  An output topic on a cluster is written through replication by an idempotent acks=all
  producer (output.py), and a commit is KafkaProducer.commitTransaction (Kafka Streams'
  TaskExecutor commits through StreamsProducer.commitTransaction): it flushes first, and only
  once every record of the transaction is acknowledged is EndTxn(COMMIT) sent. Meanwhile the
  member is "committing": blocked, it neither fetches nor processes (a rebalance it learns of,
  a revocation or its leaving wait for the commit to return; heartbeats go on), its transaction
  is still open and its offsets are kept aside. When the flush is over the COMMIT markers are
  written, the offsets become the group's committed offsets, and it polls again. A member that
  dies during the flush never sends EndTxn: its transaction is aborted as any left open, its
  offsets are dropped. Simplification: the time blocked in the
  flush does not count toward max.poll.interval.ms.
- count_duplicates: records are counted by origin (the message the first producer sent, kept
  through every consume-process-produce step); one processed again under the same origin is an
  end-to-end duplicate.

Failures use the non-blocking retry pattern (retry topics, as Spring Kafka's @RetryableTopic):
a record whose processing fails is handed to a retry queue with backoff so its partition keeps
flowing; after max attempts it goes to the dead letter topic, or is dropped with a reason when
the group has none. Retry attempts are executed when they fall due; their own processing time is
not charged to the members.
"""

from __future__ import annotations

import heapq
import math
import zlib
from bisect import bisect_left
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from playground.engine._mypyc import mypyc_attr
from playground.engine.component import ON_MEMBER, CommandError, CommandSpec, Runtime
from playground.engine.kafka import membership, offset_reset, racks
from playground.engine.kafka.assignors import ASSIGNORS, COOPERATIVE
from playground.engine.kafka.group_view import check_lag_alert, group_metrics
from playground.engine.kafka.log import ABORTED, CONTROL, TXN
from playground.engine.kafka.partitioner import key_name, partition_for_key
from playground.engine.kafka.storage import DROP_COMPACTION, DROP_RETENTION
from playground.engine.kafka.transactions import DROP_ABORTED, ORIGIN_MASK, ORIGIN_SHIFT, origin_ids
from playground.engine.kernel import HashSieve, Kernel, uniform_hash_one
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.kafka.log import PartitionLog
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.simulation import Simulation

FETCH_DONE: Final = 11
PROCESS_DONE: Final = 12
RETRY_DUE: Final = 13
NOTICE: Final = 14
SESSION_EXPIRE: Final = 15
SYNC_DONE: Final = 16
AUTO_COMMIT: Final = 17
RESTART: Final = 18
POLL_TIMEOUT: Final = 19
STATIC_EXPIRE: Final = 20
LAG_CHECK: Final = 21
ROLLING_RESTART: Final = 22
TXN_TIMEOUT: Final = 23
FAILURE_LOOKAHEAD: Final = 256  # at most, offsets searched past a completed range for the next failing record
LAG_CHECK_S: Final = 0.5  # how often the lag alert samples the group's lag, like a metrics scrape
MAX_SLOW_FACTOR: Final = 10_000
MAX_RESTART_MS: Final = 600_000
SLOW_FACTOR = Param("factor", "Slow ×", "float", 10, "How many times longer it takes to process a record "
                    "(1 = normal, below 1 faster)", min=0.01, max=MAX_SLOW_FACTOR)

DROP_NO_DLQ: Final = "retries exhausted and the group has no dead letter queue"
DROP_AT_MOST_ONCE: Final = "offset committed before processing, then the consumer crashed (at most once)"
REBALANCES_KEPT: Final = 50
MAX_MEMBERS: Final = 64

TP = tuple[str, int]
Read = tuple[TP, "TopicRuntime", int, "PartitionLog"]  # a partition with its topic, number and log (Member.reads)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Member:
    __slots__ = ("id", "state", "token", "assigned", "hb_phase", "batch", "notice_pending", "rejoin",
                 "joined", "leaving", "last_commit", "rr", "killed_at", "batch_started", "batch_ends",
                 "previous", "generation", "slow", "out", "expire_at", "revoke_pending", "reads", "reads_twice",
                 "reads_of", "instance_id", "rack")

    def __init__(self, member_id: str, hb_phase: float, now: float, instance_id: str | None = None,
                 rack: str | None = None) -> None:
        self.id = member_id
        self.instance_id = instance_id  # group.instance.id: a static member (KIP-345)
        self.rack = rack  # the rack (availability zone) its process runs in
        # joining | fetching | processing | idle | dead, and committing: blocked in commitTransaction
        # (exactly_once through a cluster, GroupRuntime._commit)
        self.state = "joining"
        self.token = 0  # bumped to void events already scheduled for this member
        self.assigned: list[TP] = []
        self.hb_phase = hb_phase
        self.batch: list[tuple[Read, int, int]] = []  # (partition read, first offset, end offset)
        self.notice_pending = False  # a heartbeat will tell it of the rebalance
        self.rejoin = False  # told while processing: rejoins when the batch is done
        self.joined = True  # has joined the current rebalance (a new member joins at once)
        self.leaving = False
        self.last_commit = now
        self.rr = 0
        self.killed_at: float | None = None
        self.batch_started = self.batch_ends = 0.0
        self.previous: list[TP] = []  # what it owned last generation (StickyAssignor's user data)
        self.generation: int | None = None  # generation of its last assignment
        self.slow = 1.0  # processing time factor (slow_consumer)
        # None, or why it is not consuming as a member: "left" (poll timeout, LeaveGroup sent)
        # or "stalled" (a static member past its poll timeout: no LeaveGroup, no heartbeats)
        self.out: str | None = None
        self.expire_at = 0.0
        self.revoke_pending: list[TP] = []  # cooperative: revoked once the batch in hand is done
        # ``assigned`` with each partition's topic and log (GroupRuntime._reads), and the same list
        # twice over (a fetch's rotating order is one slice of it): built from the list ``reads_of``,
        # rebuilt when ``assigned`` is replaced (it is never changed in place)
        self.reads: list[Read] = []
        self.reads_twice: list[Read] = []
        self.reads_of: list[TP] | None = None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class GroupRuntime(Runtime):
    commands = {"add_consumer": "cmd_add_consumer", "remove_consumer": "cmd_remove_consumer",
                "kill_consumer": "cmd_kill_consumer", "restart_consumer": "cmd_restart_consumer",
                "slow_consumer": "cmd_slow_consumer", "stop_consumers": "cmd_stop_consumers",
                "start_consumers": "cmd_start_consumers", **offset_reset.COMMANDS}
    command_labels = offset_reset.LABELS
    command_specs = {
        "remove_consumer": ON_MEMBER, "kill_consumer": ON_MEMBER,
        "restart_consumer": CommandSpec(item="member", args=(Param(
            "after_ms", "Restart after", "int", 2000, "How long the process stays down", min=0,
            max=MAX_RESTART_MS, unit="ms"),)),
        "slow_consumer": CommandSpec(item="member", args=(SLOW_FACTOR,)),
        **offset_reset.SPECS,
    }
    items = "members"
    histories = ("rebalances",)

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], topics: list[TopicRuntime],
                 dlq: str | None, output: str | None = None) -> None:
        self.id = node_id
        self.p = params
        self.output = output  # consume-process-produce: the topic it writes to
        self.eos = output is not None and params.get("processing_guarantee") == "exactly_once"
        self.txn_commit_s = float(params.get("commit_interval_ms", 100)) / 1000.0
        self.txn_timeout_s = float(params.get("transaction_timeout_ms", 10_000)) / 1000.0
        self.txns: dict[str, int] = {}  # member id -> serial of its open transaction
        # Through a replicated output (out_writer), a member in commitTransaction: its transaction
        # (still open, in ``txns``) flushing -> the member, and the offsets it sent with it
        # (TxnOffsetCommit), committed only when the transaction commits.
        self.flushing: dict[str, str] = {}
        self.pending: dict[str, dict[TP, int]] = {}
        self.out_writer: str | None = None  # the producer writing to a replicated output topic (output.py)
        self.txn_serial = 0
        self.txn_commits = 0
        self.txn_aborts = 0
        self.written = 0  # records written to the output topic
        self.out_table = np.zeros(0, dtype=np.int32)  # key index -> output partition (murmur2)
        self.count_dups = bool(params.get("count_duplicates", False))
        self.seen: dict[int, np.ndarray] = {}  # origin tag -> which serials were processed
        self.e2e_duplicates = 0
        # Kafka Streams under exactly-once sets isolation.level=read_committed on its consumers.
        read_committed = self.read_committed = params.get("isolation_level") == "read_committed" or self.eos
        self.topics = [t.id for t in topics]
        self.partition_counts = {t.id: t.partition_count for t in topics}
        # Each partition's topic (its log is read through it: topic.logs[p]).
        self.sources: dict[TP, TopicRuntime] = {(t.id, p): t for t in topics for p in range(t.partition_count)}
        # Per partition, offsets [lo, hi) known to hold no first-attempt failure (_failures_in).
        self.clean: dict[TP, tuple[int, int]] = dict.fromkeys(self.sources, (0, 0))
        self.gapped: set[TP] = set()  # partitions with a range an unclean election truncated (on_truncate)
        self.max_poll_records = params["max_poll_records"]
        self.commit_mode = params["commit"]
        self.auto_commit_s = params["auto_commit_interval_ms"] / 1000.0
        self.max_attempts = params["max_attempts"]
        self.backoff_s = params["backoff_ms"] / 1000.0
        self.backoff_multiplier = params["backoff_multiplier"]
        self.silent_retries: list[float] = []  # heap: when the retries run without an event of their own are due
        self.dlq = dlq
        self.rng = sim.kernel.rng(f"group:{node_id}")
        self.salt = zlib.crc32(f"{sim.kernel.seed}:{node_id}".encode())
        self.poison = HashSieve(self.salt, float(params["poison_rate"]))
        self.transient = HashSieve(self.salt ^ 0x5A5A5A5A, float(params["failure_rate"]), 1)  # first attempts
        # about four gaps between failing records: a long look-ahead only pays where failures are rare
        failing = self.poison.rate + self.transient.rate
        self.lookahead = min(FAILURE_LOOKAHEAD, max(1, int(4 / failing))) if failing > 0 else FAILURE_LOOKAHEAD
        self.mean_s = params["processing_ms"] / 1000.0
        self.fetch_s = params["fetch_ms"] / 1000.0
        self.hb_s = params["heartbeat_interval_ms"] / 1000.0
        self.members: dict[str, Member] = {}
        self.next_number = 1
        self.owner: dict[TP, str | None] = {}
        self.committed: dict[TP, int] = {}
        self.position: dict[TP, int] = {}
        self.handled: dict[TP, int] = {}
        for t in topics:
            t.readers.append(node_id)
            if read_committed:
                t.read_committed.add(node_id)
            for p in range(t.partition_count):
                tp = (t.id, p)
                self.owner[tp] = None
                self.committed[tp] = 0
                self.position[tp] = 0
                self.handled[tp] = 0
        self.offset_reset = params.get("auto_offset_reset", "earliest")
        self.uncommitted: set[TP] = set(self.committed)  # partitions the group never committed
        self.missing: dict[TP, str] = {}  # partitions with no valid offset (auto.offset.reset=none) -> error
        self.resets: list[dict[str, Any]] = []
        self.offset_errors: list[dict[str, Any]] = []
        self.rack_names = racks.consumer_racks(params.get("consumer_racks", ""))
        clusters = {t.cluster for t in topics if t.cluster is not None}
        self.racks = (racks.RackTraffic(clusters.pop(), bool(params.get("client_rack", True)))
                      if self.rack_names and len(clusters) == 1 else None)
        self.acked = {t: 0 for t in self.topics}
        self.retry_waiting = {t: 0 for t in self.topics}
        self.dead_lettered = {t: 0 for t in self.topics}
        self.dropped: dict[str, dict[str, int]] = {t: {} for t in self.topics}
        self.duplicates = 0
        self.check_order = bool(params.get("check_order", False))
        # Offsets of records in retry, per partition, when a successful retry reads the record's
        # row again (its timestamp and later keys for check_order, its origin for the output or
        # the duplicate count): the log keeps rows from the oldest of them on, not only from the
        # committed offset, which retries do not hold back.
        self.retry_rows: dict[TP, dict[int, int]] | None = (
            {} if self.check_order or self.output is not None or self.count_dups else None)
        self.order_max_ts = float("-inf")  # latest append time among the records processed
        self.out_of_order = 0  # processed after a record appended later (total order broken)
        self.out_of_key_order = 0  # processed after a later record of its key was delivered
        self.retried = 0  # retry attempts run, except the silent ones (silent_retries) due later
        # Under exactly_once, per member: the records whose first attempt failed since its last
        # commit, (topic, p, offset, key, dup, failed at). Their retry is handed on in the
        # transaction that commits the offset past them (_hand_over_retries), or given up with it
        # (_drop_retries): they are delivered again from the committed offset.
        self.held_retries: dict[str, list[tuple[str, int, int, int, bool, float]]] = {}
        # Records whose held retry was given up while it carried their books (not dup): the next
        # first failure of the record takes them on (its retry_waiting count is still held).
        self.owed: set[tuple[str, int, int]] = set()
        self.processed = 0
        self.generation = 0
        self.state = "stable"
        self.join_closed = False
        self.again = False
        self.rebalance: dict[str, Any] | None = None
        self.rebalances: list[dict[str, Any]] = []
        self.cooperative = params["assignor"] in COOPERATIVE
        self.max_poll_s = params["max_poll_interval_ms"] / 1000.0
        self.lag_threshold = params["lag_alert"]
        self.alerting = False
        self.stopped: dict[TP, tuple[str, float]] = {}  # partition -> (member, when consumption stopped)
        self.paused_s = 0.0  # partition-seconds without a consumer, summed over rebalances
        if self.lag_threshold > 0:
            sim.kernel.schedule(sim.kernel.now + LAG_CHECK_S, LAG_CHECK, self.id, None)
        self.restarts = 0
        if params["restart_every_ms"] > 0:
            sim.kernel.schedule(sim.kernel.now + params["restart_every_ms"] / 1000.0, ROLLING_RESTART, self.id, None)
        for _ in range(params["consumers"]):
            self._new_member(sim)
        if self.topics:
            self._trigger(sim, "the group started")

    # -- accounting -------------------------------------------------------------------------

    def keep_from(self, topic: str, partition: int) -> int:
        """The oldest offset whose row this group may still read."""
        committed = self.committed[(topic, partition)]
        if self.retry_rows:
            retrying = self.retry_rows.get((topic, partition))
            if retrying:
                return min(committed, min(retrying))
        return committed

    def _retry_rows_held(self, tp: TP, o: int, delta: int) -> None:
        held = self.retry_rows.setdefault(tp, {})  # type: ignore[union-attr]
        n = held.get(o, 0) + delta
        if n:
            held[o] = n
        else:
            del held[o]

    def marker_floor(self, topic: str, partition: int) -> int:
        """The oldest offset whose transaction markers this group's books may still count."""
        tp = (topic, partition)
        return min(self.committed[tp], self.handled[tp], self.position[tp])

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [dict(self.stream(sim, topic), topic=topic, group=self.id) for topic in self.topics]

    def stream(self, sim: Simulation, topic: str) -> dict[str, Any]:
        t: TopicRuntime = sim.components[topic]
        in_flight = waiting = 0
        markers = 0
        for p, log in enumerate(t.logs):
            tp = (topic, p)
            pos, handled = self.position[tp], self.handled[tp]
            ahead = max(pos, handled)
            in_flight += max(0, pos - handled)
            waiting += log.leo - ahead - t.gap_ahead(self.id, p, ahead)
            if t.transactional:  # markers take offsets but are not messages
                in_flight -= t.markers_in(p, handled, pos) if pos > handled else 0
                waiting -= t.markers_in(p, ahead)
                markers += t.marker_count(p)
        return {
            "produced": t.leo_total() - markers,
            "acknowledged": self.acked[topic],
            "in_flight": in_flight,
            "waiting": waiting + self.retry_waiting[topic],
            "dead_lettered": self.dead_lettered[topic],
            "dropped": dict(self.dropped[topic]),
        }

    # -- commands ---------------------------------------------------------------------------

    def _member_of(self, command: dict[str, Any], verb: str) -> str:
        member = command.get("member")
        if not isinstance(member, str) or member not in self.members:
            raise CommandError(f"group {self.id!r} has no member {member!r} to {verb}")
        if self.members[member].state == "dead":
            raise CommandError(f"{member} has already crashed; its session is timing out")
        if self.members[member].leaving:
            raise CommandError(f"{member} is already leaving the group")
        return member

    def cmd_add_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        if len(self.members) >= MAX_MEMBERS:
            raise CommandError(f"group {self.id!r} already has {MAX_MEMBERS} members, the most allowed")
        self.add_member(sim)

    def cmd_remove_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        self.remove_member(sim, self._member_of(command, "remove"))

    def cmd_kill_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        self.kill_member(sim, self._member_of(command, "kill"))

    def cmd_restart_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        """The consumer's process crashes and is started again ``after_ms`` later."""
        member = self._member_of(command, "restart")
        after = command.get("after_ms", 2000)
        if isinstance(after, bool) or not isinstance(after, (int, float)) or not 0 <= after <= MAX_RESTART_MS:
            raise CommandError(f"after_ms must be a number of milliseconds from 0 to {MAX_RESTART_MS}")
        self.kill_member(sim, member)
        sim.kernel.schedule(sim.kernel.now + after / 1000.0, RESTART, self.id, member)

    def cmd_slow_consumer(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Multiply one member's processing time by ``factor`` (1 = normal) from its next poll."""
        member = self._member_of(command, "slow down")
        factor = command.get("factor", 10)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= MAX_SLOW_FACTOR:
            raise CommandError(f"factor must be a number above 0 and at most {MAX_SLOW_FACTOR}")
        self.members[member].slow = float(factor)
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member, "change": "slowed",
                  "factor": float(factor)})

    def cmd_stop_consumers(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Stop every consumer (close()): dynamic members leave at once, static ones at their session timeout."""
        membership.stop_consumers(self, sim)

    def cmd_start_consumers(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Start the group's consumers again (static ones with their group.instance.id), from the committed offsets."""
        membership.start_consumers(self, sim)

    def cmd_reset_offsets(self, sim: Simulation, command: dict[str, Any]) -> None:
        """kafka-consumer-groups --reset-offsets on an inactive group (stop its consumers first): to
        earliest, latest, a time (``t``), ``seconds`` ago, shifted by ``n`` or an ``offset``."""
        offset_reset.reset_offsets(self, sim, command)

    def _rolling_restart(self, sim: Simulation) -> None:
        """A rolling deployment: the next running member (in member-id order, taking turns) is
        restarted, down for restart_down_ms, as restart_consumer does."""
        running = sorted((m.id for m in self.members.values() if m.state != "dead" and not m.leaving and not m.out),
                         key=lambda m: (len(m), m))
        if not running:
            return
        member = running[self.restarts % len(running)]
        self.restarts += 1
        self.kill_member(sim, member)
        sim.kernel.schedule(sim.kernel.now + self.p["restart_down_ms"] / 1000.0, RESTART, self.id, member)

    def add_member(self, sim: Simulation, number: int | None = None) -> str:
        member = self._new_member(sim, number)
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member.id, "change": "added"})
        self._trigger(sim, f"{member.id} joined")
        return member.id

    def remove_member(self, sim: Simulation, member_id: str) -> None:
        member = self.members[member_id]
        if member.instance_id is not None and not (self.eos and self.out_writer is not None):
            # KIP-345: a static member's close() commits but sends no LeaveGroup; the coordinator
            # keeps its partitions for it until session.timeout.ms passes without heartbeats.
            self._commit(sim, member)
            self.kill_member(sim, member_id)
            return
        member.leaving = True
        if member.state not in ("processing", "committing"):
            self._leave(sim, member)

    def kill_member(self, sim: Simulation, member_id: str) -> None:
        member = self.members[member_id]
        now = sim.kernel.now
        if member.state == "processing":
            self._crash_mid_batch(sim, member)
        self._give_up_commit(member_id)  # died in commitTransaction: EndTxn(COMMIT) is never sent
        self._drop_retries(member_id)
        if self.eos and member_id in self.txns:  # left open: aborted at restart or transaction.timeout.ms
            sim.kernel.schedule(now + self.txn_timeout_s, TXN_TIMEOUT, self.id, (member_id, self.txns[member_id]))
        if member.out == "left":  # no longer in the group: nothing for the coordinator to notice
            del self.members[member_id]
            sim.emit({"k": "member", "t": now, "g": self.id, "c": member_id, "change": "killed"})
            return
        if member.out == "stalled":  # its heartbeats stopped at the poll timeout already
            member.out = None
            member.state = "dead"
            member.token += 1
            member.killed_at = now
            sim.kernel.schedule(member.expire_at, SESSION_EXPIRE, self.id, member.id)
            sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "killed",
                      "expires": member.expire_at})
            return
        member.state = "dead"
        member.token += 1
        member.killed_at = now
        last_heartbeat = member.hb_phase + math.floor((now - member.hb_phase) / self.hb_s) * self.hb_s
        expiry = last_heartbeat + self.p["session_timeout_ms"] / 1000.0
        sim.kernel.schedule(expiry, SESSION_EXPIRE, self.id, member.id)
        sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "killed", "expires": expiry})
        if self.state == "rebalancing":
            self._check_join(sim)

    def _restart(self, sim: Simulation, member_id: str) -> None:
        """The restarted process joins the group again.

        With a group.instance.id it is the same static member: if the coordinator still holds it
        (the session has not expired) it gets its old assignment back and no rebalance happens;
        it resumes from the committed offsets. Without one it is a new member with a new member
        id: its join rebalances the group, and the old member's expiry rebalances it again.
        """
        now = sim.kernel.now
        self._end_txn(sim, member_id, commit=False)  # initTransactions with its transactional.id fences and aborts it
        member = self.members.get(member_id)
        number = int(member_id.rsplit("-", 1)[1])
        static = membership.is_static(self.p, number)
        if static and member is not None and member.state == "dead":
            member.killed_at = None
            member.token += 1
            sim.emit({"k": "member", "t": now, "g": self.id, "c": member_id, "change": "rejoined"})
            # The new process knows only the committed offsets, also of partitions a rebalance in
            # progress lets it keep (cooperative: not revoked, so not reset when it is synced).
            for tp in member.assigned:
                self._reset_position(tp)
            if self.state == "rebalancing" and not member.joined:
                member.state = "joining"
                member.joined = True
                self._check_join(sim)
                return
            if self.state == "rebalancing":
                member.state = "joining"
                return
            member.last_commit = now
            self._poll(sim, member)
            return
        member = self._new_member(sim, number if static else None)
        sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "added"})
        self._trigger(sim, f"{member.id} joined")

    def live_members(self) -> list[str]:
        return [m.id for m in self.members.values() if m.state != "dead" and not m.leaving]

    # -- events -----------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == PROCESS_DONE:  # the poll loop: most events of a run, (member id, token) each
            member_id, token = arg
            member = self.members.get(member_id)
            if member is not None and token == member.token:
                self._process_done(sim, member)
            return
        if kind == FETCH_DONE:
            member_id, token = arg
            member = self.members.get(member_id)
            if member is not None and token == member.token:
                self._fetch_done(sim, member)
            return
        if kind == RETRY_DUE:
            self._retry(sim, arg)
            return
        if kind == AUTO_COMMIT:  # scheduled at every idle poll, mostly voided by the next fetch
            member_id, token = arg
            member = self.members.get(member_id)
            if member is not None and token == member.token and member.state == "idle":
                self._commit(sim, member)
            return
        if kind == SYNC_DONE:
            self._sync(sim, arg)
            return
        if kind == RESTART:
            self._restart(sim, arg)
            return
        if kind == TXN_TIMEOUT:
            if self.txns.get(arg[0]) == arg[1]:  # still the same open transaction
                self._end_txn(sim, arg[0], commit=False)
            return
        if kind == ROLLING_RESTART:
            self._rolling_restart(sim)
            sim.kernel.schedule(sim.kernel.now + self.p["restart_every_ms"] / 1000.0, ROLLING_RESTART, self.id, None)
            return
        if kind == LAG_CHECK:
            check_lag_alert(self, sim)
            sim.kernel.schedule(sim.kernel.now + LAG_CHECK_S, LAG_CHECK, self.id, None)
            return
        member_id, token = arg if isinstance(arg, tuple) else (arg, None)
        member = self.members.get(member_id)
        if member is None:
            return
        if kind == SESSION_EXPIRE:
            if member.state == "dead":
                self._expire(sim, member)
            return
        if kind == NOTICE:
            self._notice(sim, member)
            return
        if token != member.token:
            return
        if kind == POLL_TIMEOUT:
            if member.state == "processing" and member.out is None:
                self._poll_timeout(sim, member)
        elif kind == STATIC_EXPIRE:
            if member.out == "stalled":
                self._stalled_expired(sim, member)

    def on_truncate(self, sim: Simulation, topic: str, partition: int, start: int, end: int, reason: str) -> None:
        """An unclean leader election removed offsets [start, end): what this group had not
        fetched is lost, counted with the reason, and its fetches skip it (TopicRuntime.fetch_range)."""
        tp = (topic, partition)
        lost_from = max(start, self.position[tp], self.handled[tp])
        if lost_from < end:
            drops = self.dropped[topic]
            drops[reason] = drops.get(reason, 0) + end - lost_from
            sim.components[topic].add_gap(self.id, partition, lost_from, end)
            self.gapped.add(tp)

    def on_append(self, sim: Simulation, topic: str, partition: int) -> None:
        """A long poll returns as soon as records arrive on a partition the member owns."""
        owner = self.owner.get((topic, partition))
        if owner is None:
            return
        member = self.members[owner]
        if member.state == "idle" and not member.rejoin:
            member.state = "fetching"
            member.token += 1
            kernel: Kernel = sim.kernel
            kernel.schedule(kernel.now + self.fetch_s, FETCH_DONE, self.id, (member.id, member.token))

    # -- the poll loop ----------------------------------------------------------------------

    def _poll(self, sim: Simulation, member: Member) -> None:
        """Ask for records: a fetch goes out if any owned partition has some, else wait for them."""
        if self.missing and offset_reset.fail_without_offset(self, sim, member):
            return
        member.token += 1
        position = self.position
        read_committed = self.read_committed
        for tp, topic, p, log in member.reads if member.reads_of is member.assigned else self._reads(member):
            if (topic.readable_end(self.id, p) if read_committed else log.leo) > position[tp]:
                member.state = "fetching"
                kernel: Kernel = sim.kernel
                kernel.schedule(kernel.now + self.fetch_s, FETCH_DONE, self.id, (member.id, member.token))
                return
        member.state = "idle"
        if self.eos and member.id in self.txns:  # Streams commits on its interval, idle or not
            sim.kernel.schedule(member.last_commit + self.txn_commit_s, AUTO_COMMIT, self.id, (member.id, member.token))
        elif self.commit_mode == "auto":
            committed = self.committed
            for tp in member.assigned:
                if committed[tp] != position[tp]:  # something to commit: the auto-commit is due
                    due = member.last_commit + self.auto_commit_s
                    sim.kernel.schedule(due, AUTO_COMMIT, self.id, (member.id, member.token))
                    return

    def _fetch_done(self, sim: Simulation, member: Member) -> None:
        if member.rejoin:
            if not self._rejoin(sim, member) or not self.cooperative:
                return
        room = self.max_poll_records
        batch = member.batch = []
        if member.reads_of is not member.assigned:
            self._reads(member)
        count = len(member.reads)
        position = self.position
        read_committed = self.read_committed
        gapped = self.gapped
        rr = member.rr % count if count else 0
        for read in member.reads_twice[rr:rr + count]:  # partition by partition, in turn
            tp, topic, p, log = read
            pos = position[tp]
            if pos < log.log_start:  # (_skip_deleted's own test, first)
                self._skip_deleted(sim, tp)
                pos = position[tp]
                if tp in self.missing:  # auto.offset.reset=none: poll() throws at the next poll
                    continue
            if gapped and tp in gapped:
                pos, end = topic.fetch_range(self.id, p, pos, self.handled[tp])
                if pos > position[tp]:  # skipped a range an unclean leader election truncated
                    position[tp] = pos
                    self.handled[tp] = max(self.handled[tp], pos)
            else:  # what fetch_range answers when there is no lost range to skip
                end = topic.readable_end(self.id, p) if read_committed else log.leo
            take = end - pos if end - pos < room else room
            if take > 0:
                batch.append((read, pos, pos + take))
                position[tp] = pos + take
                room -= take
                if room == 0:
                    break
        if count:
            member.rr = (member.rr + 1) % count
        if self.racks is not None:
            racks.count_fetches(self.racks, sim, member.rack, batch)
        if not batch:
            self._poll(sim, member)
            return
        total = self.max_poll_records - room
        if self.commit_mode == "before_processing" and not self.eos:
            self._commit(sim, member)
        member.state = "processing"
        kernel: Kernel = sim.kernel
        now = kernel.now
        # gamma(total, mean_s), drawn as numpy's gamma draws it (scale * standard_gamma(shape)): the
        # same numbers from the same stream, without the slower path of a two-argument call
        duration = float(self.rng.standard_gamma(float(total))) * self.mean_s * member.slow
        if sim.record_flow:
            for ((topic_id, p), _, _, _), first, end in batch:
                sim.emit({"k": "fetch", "t": now, "src": topic_id, "dst": self.id, "c": member.id, "p": p,
                          "o": first, "n": end - first})
        member.batch_started, member.batch_ends = now, now + duration
        turn = (member.id, member.token)
        kernel.schedule(now + duration, PROCESS_DONE, self.id, turn)
        if duration > self.max_poll_s:
            kernel.schedule(now + self.max_poll_s, POLL_TIMEOUT, self.id, turn)

    def _reads(self, member: Member) -> list[Read]:
        """``member.reads``, rebuilt from ``member.assigned`` (see Member)."""
        sources = self.sources
        member.reads = [(tp, sources[tp], tp[1], sources[tp].logs[tp[1]]) for tp in member.assigned]
        member.reads_twice = member.reads * 2
        member.reads_of = member.assigned
        return member.reads

    def _skip_deleted(self, sim: Simulation, tp: TP) -> None:
        """OffsetOutOfRange below the log start, auto.offset.reset=earliest: resume at the log start.

        What retention deleted before the group handled it is lost, counted with the reason.
        """
        start = sim.components[tp[0]].log_start_offset(tp[1])
        pos = self.position[tp]
        if pos >= start:
            return
        if self.offset_reset == "none":  # OffsetOutOfRangeException
            self.missing[tp] = offset_reset.OUT_OF_RANGE
            return
        lost = start - max(pos, self.handled[tp])
        if lost > 0:
            drops = self.dropped[tp[0]]
            drops[DROP_RETENTION] = drops.get(DROP_RETENTION, 0) + lost
            self.handled[tp] = start
            sim.emit({"k": "drop", "t": sim.kernel.now, "reason": DROP_RETENTION, "n": lost, "node": self.id,
                      "topic": tp[0], "p": tp[1], "o": max(pos, start - lost)})
        self.position[tp] = start
        if self.offset_reset == "latest":
            offset_reset.skip_to(self, tp, sim.components[tp[0]].logs[tp[1]].leo)

    def _process_done(self, sim: Simulation, member: Member) -> None:
        kernel: Kernel = sim.kernel
        now = kernel.now
        self._complete_batch(sim, member)
        if member.leaving:
            self._leave(sim, member)
            return
        if member.out is not None:
            self._come_back(sim, member)  # its commit fails: the generation it had is gone
            return
        if self.eos:
            due = now - member.last_commit >= self.txn_commit_s
        else:
            due = self.commit_mode == "after_processing" or (
                self.commit_mode == "auto" and now - member.last_commit >= self.auto_commit_s)
        if due and not self._commit(sim, member):
            return  # blocked in commitTransaction: txn_flushed goes on
        self._commit_returned(sim, member)

    def _commit_returned(self, sim: Simulation, member: Member) -> None:
        """The poll loop after a commit: leave, revoke or rejoin if due, else poll again."""
        if member.leaving:
            self._leave(sim, member)
            return
        if member.revoke_pending:
            if not self._revoke(sim, member, member.revoke_pending):
                return
            member.revoke_pending = []
            self._rejoin_after_revoking(sim, member)
        if member.rejoin:
            if not self._rejoin(sim, member) or not self.cooperative:
                return
        self._poll(sim, member)

    def _complete_batch(self, sim: Simulation, member: Member) -> None:
        """The batch in hand has been through processing (first attempts), range by range.

        Most ranges are plain: delivered for the first time, inside their partition's failure-free
        stretch, on a log that skips nothing, with no order, duplicate, output or flow to record.
        Those are settled here (processed, acknowledged, handled); every other goes through _complete.
        """
        batch = member.batch
        if sim.record_flow or self.check_order or self.count_dups or self.output is not None:
            for ((topic, p), _, _, _), first, end in batch:
                self._complete(sim, member, topic, p, first, end)
            member.batch = []
            return
        handled, clean, acked = self.handled, self.clean, self.acked
        settled = 0  # records of the plain ranges, added to ``processed`` once
        for (tp, t, p, log), first, end in batch:
            lo, hi = clean[tp]
            if lo <= first and end <= hi and first >= handled[tp] and not (t.transactional or log.config.compacts):
                settled += end - first
                acked[tp[0]] += end - first
                handled[tp] = end
                continue
            self._complete(sim, member, tp[0], p, first, end)
        self.processed += settled
        member.batch = []

    def _complete(self, sim: Simulation, member: Member, topic: str, p: int, first: int, end: int) -> None:
        """Records [first, end) of a partition have been through processing (first attempt)."""
        tp = (topic, p)
        t = self.sources[tp]
        log = t.logs[p]
        if log.config.compacts or t.transactional:
            self._complete_masked(sim, member, topic, p, first, end)
            return
        handled = self.handled[tp]
        n = end - first
        failed = self._failures_in(tp, first, end)
        n_failed = len(failed)
        self.processed += n
        duplicates = (end if end < handled else handled) - first
        if duplicates > 0:
            self.duplicates += duplicates
            if duplicates < n:
                self.acked[topic] += n - duplicates - sum(1 for o in failed if o >= handled)
        else:
            self.acked[topic] += n - n_failed
        if self.check_order and end > handled:
            self._check_total_order(log, max(first, handled), end, failed)
        for o in failed:
            self._first_failure(sim, member, topic, p, o, log.key_at(o), o < handled)
        if end > handled:
            self.handled[tp] = end
        if self.output is not None or self.count_dups:
            ok = np.ones(n, dtype=bool)
            if failed:
                ok[np.asarray(failed, dtype=np.int64) - first] = False
            self._processed(sim, member.id, t, p, first, end, ok)
        if sim.record_flow:
            sim.emit({"k": "process", "t": sim.kernel.now, "g": self.id, "c": member.id, "p": p, "topic": topic,
                      "o": first, "n": n, "ok": n - n_failed, "failed": n_failed})

    def _check_total_order(self, log: Any, first: int, end: int, failed: list[int]) -> None:
        """Count the records of [first, end) processed now (not failed) that the brokers appended
        before the latest record the group processed so far: the group's total order is broken.

        Append times only grow along a partition, so within the range the count is a bisection.
        """
        ts = log.timestamps(first, end)
        if failed:
            keep = np.ones(end - first, dtype=bool)
            keep[np.asarray(failed, dtype=np.int64) - first] = False
            ts = ts[keep]
        if not len(ts):
            return
        self.out_of_order += int(np.searchsorted(ts, self.order_max_ts, side="left"))
        latest = float(ts[-1])
        if latest > self.order_max_ts:
            self.order_max_ts = latest

    def _check_order_of_retry(self, sim: Simulation, topic: str, p: int, o: int, key: int) -> None:
        """A record that succeeded on a retry: out of total order if a record appended after it was
        processed meanwhile, out of key order if a later record of its key was delivered first."""
        log = sim.components[topic].logs[p]
        ts = float(log.timestamps(o, o + 1)[0])
        if ts < self.order_max_ts:
            self.out_of_order += 1
        elif ts > self.order_max_ts:
            self.order_max_ts = ts
        if key >= 0 and bool((log.keys(o + 1, self.handled[(topic, p)]) == key).any()):
            self.out_of_key_order += 1

    def _complete_masked(self, sim: Simulation, member: Member, topic: str, p: int, first: int, end: int) -> None:
        """``_complete`` on a log whose fetches skip offsets: gaps compaction left, transaction
        markers, and (read_committed) the records of aborted transactions. Skipped offsets are
        never processed; the ones this group had not handled yet are counted with their reason
        (a compacted record was lost to a newer one of its key, looked up as the batch completes;
        an aborted one was skipped). Markers are not messages: they are stepped over."""
        tp = (topic, p)
        handled = self.handled[tp]
        t = sim.components[topic]
        log = t.logs[p]
        n = end - first
        failed = np.zeros(n, dtype=bool)
        failed[np.asarray(self._failures_in(tp, first, end), dtype=np.int64) - first] = True
        live = log.live(first, end) if log.config.compacts else np.ones(n, dtype=bool)
        new = np.zeros(n, dtype=bool)
        new[max(0, min(end, handled) - first):] = True  # not handled before
        drops = self.dropped[topic]
        lost = int((~live & new).sum())
        if lost:
            drops[DROP_COMPACTION] = drops.get(DROP_COMPACTION, 0) + lost
        deliver = live
        if t.transactional:
            flags = log.flags(first, end)
            deliver = live & ((flags & CONTROL) == 0)
            if self.id in t.read_committed:
                aborted = deliver & ((flags & ABORTED) != 0)
                skipped = int((aborted & new).sum())
                if skipped:
                    drops[DROP_ABORTED] = drops.get(DROP_ABORTED, 0) + skipped
                deliver = deliver & ~aborted
        failed &= deliver
        delivered = int(deliver.sum())
        n_failed = int(failed.sum())
        self.processed += delivered
        self.duplicates += int((deliver & ~new).sum())
        self.acked[topic] += int((deliver & ~failed & new).sum())
        for o in (np.flatnonzero(failed) + first).tolist():
            self._first_failure(sim, member, topic, p, o, log.key_at(o), o < handled)
        self.handled[tp] = max(handled, end)
        if self.output is not None or self.count_dups:
            self._processed(sim, member.id, t, p, first, end, deliver & ~failed)
        if sim.record_flow:
            sim.emit({"k": "process", "t": sim.kernel.now, "g": self.id, "c": member.id, "p": p, "topic": topic,
                      "o": first, "n": delivered, "ok": delivered - n_failed, "failed": n_failed})

    # -- consume-process-produce and end-to-end duplicates ----------------------------------

    def _processed(self, sim: Simulation, writer: str | None, t: TopicRuntime, p: int, first: int, end: int,
                   ok: np.ndarray) -> None:
        """Records of [first, end) where ``ok`` went through processing: count them by origin and
        write their output records (``writer``: the member whose transaction they join)."""
        if not ok.any():
            return
        log = t.logs[p]
        origins = log.origins(first, end)[ok]
        missing = origins < 0
        if missing.any():  # no origin recorded: the record is its own origin
            offsets = np.arange(first, end, dtype=np.int64)[ok][missing]
            origins[missing] = origin_ids(t.id, offsets * t.partition_count + p, derived=True)
        if self.count_dups:
            self._count_duplicates(origins)
        if self.output is not None:
            self._write_output(sim, writer, log.keys(first, end)[ok], origins)

    def _count_duplicates(self, origins: np.ndarray) -> None:
        tags = origins >> ORIGIN_SHIFT
        unique_tags = np.unique(tags).tolist()
        for tag in unique_tags:
            serials = (origins if len(unique_tags) == 1 else origins[tags == tag]) & ORIGIN_MASK
            seen = self.seen.get(tag)
            top = int(serials.max()) + 1
            if seen is None or len(seen) < top:
                grown = np.zeros(max(top, 2 * (len(seen) if seen is not None else 512)), dtype=bool)
                if seen is not None:
                    grown[:len(seen)] = seen
                seen = self.seen[tag] = grown
            unique = np.unique(serials)
            self.e2e_duplicates += len(serials) - len(unique) + int(seen[unique].sum())
            seen[unique] = True

    def _out_partitions(self, keys: np.ndarray, count: int) -> np.ndarray:
        """murmur2(key) % partitions of the output topic, as its producer's partitioner does;
        records without a key go round the partitions."""
        top = int(keys.max()) + 1 if len(keys) else 0
        if top > len(self.out_table):
            size = max(top, 2 * len(self.out_table), 256)
            self.out_table = np.fromiter((partition_for_key(key_name(k).encode(), count) for k in range(size)),
                                         dtype=np.int32, count=size)
        parts = self.out_table[np.maximum(keys, 0)]
        null = keys < 0
        if null.any():
            parts[null] = (np.arange(int(null.sum())) + self.written) % count
        return parts

    def _write_output(self, sim: Simulation, writer: str | None, keys: np.ndarray, origins: np.ndarray) -> None:
        """Write one output record per processed one; under exactly_once into the transaction of
        ``writer`` (a member; None: no live owner, a transaction of its own, committed at once)."""
        out: TopicRuntime = sim.components[self.output]  # type: ignore[index]
        parts = self._out_partitions(keys, out.partition_count)
        order = np.argsort(parts, kind="stable")
        keys, origins, parts = keys[order], origins[order], parts[order]
        counts = np.bincount(parts, minlength=out.partition_count)
        txn = None
        if self.eos:
            writer = "retries" if writer is None else writer
            if writer not in self.txns:
                self.txn_serial += 1
                self.txns[writer] = self.txn_serial
            txn = self._txn_id(writer)
        start = 0
        for p in np.flatnonzero(counts).tolist():
            stop = start + int(counts[p])
            n = stop - start
            flags = np.full(n, TXN, dtype=np.uint8) if txn is not None else None
            if self.out_writer is not None:  # through replication: see output.py
                sim.components[self.out_writer].write(sim, p, keys[start:stop], flags, origins[start:stop], txn)
                start = stop
                continue
            first = out.append(sim, p, keys[start:stop], flags, origins[start:stop])
            if txn is not None:
                out.txn_add(p, txn, first, first + n)
            if sim.record_flow:
                key = int(keys[start])
                sim.emit({"k": "produce", "t": sim.kernel.now, "src": self.id, "dst": out.id, "p": p, "o": first,
                          "n": n, "key": key_name(key) if key >= 0 else None})
            for reader in out.readers:
                sim.components[reader].on_append(sim, out.id, p)
            start = stop
        self.written += len(keys)
        if writer == "retries" and txn is not None:
            self._end_txn(sim, "retries", commit=True)

    def _txn_id(self, member_id: str) -> str:
        """The transaction's id in the topics: the member (its transactional.id) and a serial."""
        return f"{self.id}/{member_id}#{self.txns[member_id]}"

    def _end_txn(self, sim: Simulation, member_id: str, commit: bool) -> None:
        """EndTxn: COMMIT or ABORT markers to every output partition the transaction wrote."""
        if member_id not in self.txns:
            return
        if not commit:
            self._give_up_commit(member_id)
            self._drop_retries(member_id)
        txn = self._txn_id(member_id)
        del self.txns[member_id]
        if self.out_writer is not None:
            sim.components[self.out_writer].end_txn(sim, txn, commit)
        else:
            out: TopicRuntime = sim.components[self.output]  # type: ignore[index]
            for p in out.txn_partitions(txn):
                out.end_txn(sim, p, txn, commit)
        if commit:
            self.txn_commits += 1
        else:
            self.txn_aborts += 1

    def _crash_mid_batch(self, sim: Simulation, member: Member) -> None:
        """A member dies while processing: the records it got through had their effects.

        Records are processed one after another, so the share of the batch done by the time of
        the crash is the share of the batch's processing time that has passed. Those records are
        handled (and will be duplicates if delivered again); the rest were never processed.
        """
        started, ends = member.batch_started, member.batch_ends
        total = sum(end - first for _, first, end in member.batch)
        done = int(total * (sim.kernel.now - started) / (ends - started)) if ends > started else 0
        for ((topic, p), _, _, _), first, end in member.batch:
            if done <= 0:
                break
            upto = min(end, first + done)
            self._complete(sim, member, topic, p, first, upto)
            done -= upto - first
        member.batch = []

    def _failed_first(self, partition: int, first: int, end: int) -> list[int]:
        """Offsets of [first, end) whose first attempt fails: poison records always, others with
        the transient probability.

        Both are properties of the record (a hash of group, partition, offset and attempt), so a
        record delivered again after a rebalance behaves as it did the first time.
        """
        poison = self.poison.hits(partition, first, end)
        if self.transient.rate <= 0:
            return poison
        return sorted(set(poison).union(self.transient.hits(partition, first, end)))

    def _failures_in(self, tp: TP, first: int, end: int) -> list[int]:
        """``_failed_first`` of [first, end), looking ``lookahead`` offsets further: the
        failure-free stretch around the range is remembered (``clean``), so the ranges that fall
        inside it, most of them at a low failure rate, need no look-up."""
        lo, hi = self.clean[tp]
        if lo <= first and end <= hi:
            return []
        ahead = end + self.lookahead
        hits = self._failed_first(tp[1], first, ahead)
        i = bisect_left(hits, end)
        self.clean[tp] = (hits[i - 1] + 1 if i else first, hits[i] if i < len(hits) else ahead)
        return hits[:i]

    def _fails(self, partition: int, offset: int, attempt: int) -> bool:
        """Whether attempt ``attempt`` of one record fails (see _failed_first)."""
        if self.poison.hit(partition, offset):
            return True
        rate = self.transient.rate
        return rate > 0 and uniform_hash_one(self.salt ^ 0x5A5A5A5A, partition, offset, attempt) < rate

    # -- retries and dead letters -----------------------------------------------------------

    def _first_failure(self, sim: Simulation, member: Member, topic: str, p: int, o: int, key: int,
                       dup: bool) -> None:
        """The first attempt of a record failed in ``member``'s hands (``dup``: delivered before).

        Under exactly_once the hand-over to the retry queue is part of the member's transaction, as
        a retry topic's record is (Spring Kafka's @RetryableTopic with a transactional producer):
        it is held until the member commits an offset past the record, and only then is the retry
        scheduled (_hand_over_retries); if the member's transaction aborts instead (it dies, is
        fenced, times out), the hand-over is dropped with it (_drop_retries) and the record is
        delivered again from the committed offset. So a record's retry, its output and its dead
        letter happen once, and only for an offset that was committed.
        """
        if not self.eos:
            self._failed_attempt(sim, topic, p, o, key, 1, dup)
            return
        record = (topic, p, o)
        if not dup:  # in retry from now on, in the books, until its last attempt
            self.retry_waiting[topic] += 1
        elif record in self.owed:  # a hand-over of it was dropped: this one takes on its books
            self.owed.discard(record)
            dup = False
        if member.out is not None:  # out of the group: its transaction can only abort
            if not dup:
                self.owed.add(record)
            return
        if self.retry_rows is not None:
            self._retry_rows_held((topic, p), o, 1)
        self.held_retries.setdefault(member.id, []).append((topic, p, o, key, dup, sim.kernel.now))

    def _hand_over_retries(self, sim: Simulation, member_id: str, offsets: dict[TP, int]) -> None:
        """The member's transaction committed ``offsets``: the retries it held for records below
        them are handed over (scheduled from the time of the failed attempt); those of a partition
        the commit left out (one it is still to revoke) stay held; any other is dropped."""
        held = self.held_retries.pop(member_id, None)
        if held is None:
            return
        dropped = []
        kept = []
        for entry in held:
            topic, p, o, key, dup, at = entry
            committed = offsets.get((topic, p))
            if committed is None:
                kept.append(entry)
                continue
            if committed <= o:
                dropped.append(entry)
                continue
            if self.retry_rows is not None:
                self._retry_rows_held((topic, p), o, -1)
            if not dup:  # _failed_attempt counts it again
                self.retry_waiting[topic] -= 1
            self._failed_attempt(sim, topic, p, o, key, 1, dup, at)
        if dropped:
            self.held_retries[member_id] = dropped
            self._drop_retries(member_id)
        if kept:
            self.held_retries[member_id] = kept

    def _drop_retries(self, member_id: str) -> None:
        """The member's transaction will never commit (it died, was fenced, or aborted): the
        retries it held are dropped with it; their records are delivered again from the committed
        offset, and the next first failure of each takes on its books (``owed``)."""
        held = self.held_retries.pop(member_id, None)
        if held is None:
            return
        for topic, p, o, _, dup, _ in held:
            if self.retry_rows is not None:
                self._retry_rows_held((topic, p), o, -1)
            if not dup:
                self.owed.add((topic, p, o))

    def _failed_attempt(self, sim: Simulation, topic: str, p: int, o: int, key: int, attempt: int,
                        dup: bool, at: float | None = None) -> None:
        """Attempt ``attempt`` of a record failed (``at``, if not now: a first attempt handed over
        later, see _first_failure): the next one is due after the backoff (backoff_ms *
        backoff_multiplier ** (attempt - 1)); after max_attempts, the dead letter queue.

        Whether an attempt fails is a property of the record (_fails), so without record_flow,
        where a retry's only trace is the ``retried`` count, the attempts certain to fail are not
        scheduled one by one: the next event is the attempt that succeeds or the last one, and
        the ones before it are counted as they fall due (silent_retries).
        """
        now = sim.kernel.now
        if attempt < self.max_attempts:
            due = now + self.backoff_s * self.backoff_multiplier ** (attempt - 1) if at is None else max(
                now, at + self.backoff_s * self.backoff_multiplier ** (attempt - 1))
            if not dup and attempt == 1:
                self.retry_waiting[topic] += 1
            if attempt == 1 and self.retry_rows is not None:
                self._retry_rows_held((topic, p), o, 1)
            if sim.record_flow:  # every attempt is an event: its retry is shown
                sim.kernel.schedule(due, RETRY_DUE, self.id, (topic, p, o, key, attempt + 1, dup))
                sim.emit({"k": "retry", "t": now, "g": self.id, "topic": topic, "p": p, "o": o,
                          "key": key_name(key) if key >= 0 else None, "attempt": attempt + 1, "due": due})
                return
            attempt += 1
            poison = self.poison.hit(p, o)  # a poison record fails every attempt
            while attempt < self.max_attempts and (poison or self._fails(p, o, attempt)):
                heapq.heappush(self.silent_retries, due)
                due += self.backoff_s * self.backoff_multiplier ** (attempt - 1)
                attempt += 1
            sim.kernel.schedule(due, RETRY_DUE, self.id, (topic, p, o, key, attempt, dup))
            return
        if not dup and attempt > 1:
            self.retry_waiting[topic] -= 1
        if attempt > 1 and self.retry_rows is not None:
            self._retry_rows_held((topic, p), o, -1)
        if self.dlq is None:
            if not dup:
                drops = self.dropped[topic]
                drops[DROP_NO_DLQ] = drops.get(DROP_NO_DLQ, 0) + 1
            sim.emit({"k": "drop", "t": now, "reason": DROP_NO_DLQ, "n": 1, "node": self.id, "topic": topic,
                      "p": p, "o": o})
            return
        if not dup:
            self.dead_lettered[topic] += 1
        reason = ("poison message: failed every attempt" if self.poison.hit(p, o)
                  else f"transient failures on all {attempt} attempts")
        letter = {"t": now, "g": self.id, "dlq": self.dlq, "topic": topic, "p": p, "o": o,
                  "key": key_name(key) if key >= 0 else None, "attempts": attempt, "reason": reason, "duplicate": dup}
        sim.components[self.dlq].add(letter, key_index=key)
        sim.emit({"k": "dead_letter", **letter})

    def _retry(self, sim: Simulation, arg: tuple[str, int, int, int, int, bool]) -> None:
        topic, p, o, key, attempt, dup = arg
        self.retried += 1
        silent, now = self.silent_retries, sim.kernel.now
        while silent and silent[0] <= now:  # the silent attempts before this one (see _failed_attempt)
            heapq.heappop(silent)
            self.retried += 1
        failed = self._fails(p, o, attempt)
        if failed:
            self._failed_attempt(sim, topic, p, o, key, attempt, dup)
            return
        if not dup:
            self.retry_waiting[topic] -= 1
            self.acked[topic] += 1
            if self.check_order:
                self._check_order_of_retry(sim, topic, p, o, key)
        if self.output is not None or self.count_dups:
            # Under exactly_once the retry was handed over with the committed offset past the
            # record (_first_failure): the retry consumer's own transaction writes its output.
            self._processed(sim, None, sim.components[topic], p, o, o + 1, np.ones(1, dtype=bool))
        if self.retry_rows is not None:
            self._retry_rows_held((topic, p), o, -1)
        if sim.record_flow:  # a flow event: dropped unseen otherwise
            sim.emit({"k": "recovered", "t": sim.kernel.now, "g": self.id, "topic": topic, "p": p, "o": o,
                      "key": key_name(key) if key >= 0 else None, "attempt": attempt})

    # -- offsets ----------------------------------------------------------------------------

    def _commit(self, sim: Simulation, member: Member, partitions: list[TP] | None = None) -> bool:
        """Commit offsets (under exactly_once: the member's transaction, its offsets inside it).

        Under exactly_once every partition the member owns is committed (EOS v2: one producer, one
        transaction for all its tasks; TaskManager.handleRevocation commits them all), also when
        only ``partitions`` are revoked. Through a replicated output, commitTransaction flushes
        first (KafkaProducer.commitTransaction): when records of the transaction are still
        unacknowledged, the member is "committing" (blocked: it neither fetches nor processes),
        its offsets are kept aside, the transaction stays open, and False is returned: the caller
        stops, and txn_flushed commits and carries on (_commit_returned) once the writer has
        every record acknowledged.

        A dead member commits nothing (its process is gone: a rebalance that revokes its
        partitions runs no onPartitionsRevoked for it); True, so that the caller goes on.
        """
        if member.state == "dead":
            return True
        member.last_commit = sim.kernel.now
        tps = member.assigned if partitions is None else partitions
        if self.eos and member.id in self.txns:
            if member.id in self.pending:
                return False  # already in commitTransaction
            if partitions is not None:
                tps = member.assigned + [tp for tp in partitions if tp not in member.assigned]
            txn = self._txn_id(member.id)
            if self.out_writer is not None and not sim.components[self.out_writer].flush(txn):
                self.pending[member.id] = {tp: self.position[tp] for tp in tps}
                self.flushing[txn] = member.id
                member.state = "committing"
                member.token += 1  # voids its fetch or idle auto-commit in flight
                return False
            self._end_txn(sim, member.id, commit=True)
        self._commit_offsets(sim, member.id, {tp: self.position[tp] for tp in tps})
        return True

    def _commit_offsets(self, sim: Simulation, member_id: str, offsets: dict[TP, int]) -> None:
        if self.uncommitted:
            self.uncommitted.difference_update(offsets)
        if self.held_retries:
            self._hand_over_retries(sim, member_id, offsets)
        committed = self.committed
        for tp, pos in offsets.items():
            if committed[tp] != pos:
                committed[tp] = pos
                if sim.record_flow:
                    sim.emit({"k": "commit", "t": sim.kernel.now, "g": self.id, "c": member_id, "topic": tp[0],
                              "p": tp[1], "o": pos})

    def txn_flushed(self, sim: Simulation, txn: str) -> None:
        """The output writer has every record of ``txn`` acknowledged: the member blocked in its
        commitTransaction sends EndTxn(COMMIT). The COMMIT markers are written, the offsets it sent
        with the transaction become the group's committed offsets, and its poll loop goes on."""
        member_id = self.flushing.pop(txn, None)
        if member_id is None:  # given up: the member died during the flush (its transaction is aborted)
            return
        offsets = self.pending.pop(member_id)
        self._end_txn(sim, member_id, commit=True)
        self._commit_offsets(sim, member_id, offsets)
        member = self.members[member_id]
        member.state = "idle"
        self._commit_returned(sim, member)

    def _give_up_commit(self, member_id: str) -> None:
        """The member dies (or is fenced) in commitTransaction: EndTxn(COMMIT) is never sent, the
        offsets sent with the transaction are never committed (it is aborted later)."""
        if self.pending.pop(member_id, None) is not None:
            del self.flushing[self._txn_id(member_id)]

    # -- membership and rebalancing ---------------------------------------------------------

    def _new_member(self, sim: Simulation, number: int | None = None) -> Member:
        """A new consumer process: numbered in turn, or ``number`` (a static one started again)."""
        if number is None:
            number = self.next_number
            self.next_number += 1
        member_id = f"consumer-{number}"
        phase = sim.kernel.now + float(self.rng.uniform(0.0, self.hb_s))
        member = Member(member_id, phase, sim.kernel.now, member_id if membership.is_static(self.p, number) else None,
                        racks.rack_of_member(number, self.rack_names))
        self.members[member_id] = member
        return member

    def _assignment(self) -> dict[str, list[str]]:
        return {m.id: [f"{t}/{p}" for t, p in m.assigned] for m in self.members.values()}

    def _trigger(self, sim: Simulation, reason: str, follow_up: bool = False) -> None:
        now = sim.kernel.now
        if self.state == "rebalancing":
            self.rebalance["reasons"].append(reason)  # type: ignore[index]
            if self.join_closed:
                self.again = True
            else:
                self._notify_all(sim)
                self._check_join(sim)
            return
        self.state = "rebalancing"
        self.join_closed = False
        self.rebalance = {"generation": self.generation + 1, "started": now, "reason": reason,
                          "reasons": [reason], "before": self._assignment(), "follow_up": follow_up}
        sim.emit({"k": "rebalance_start", "t": now, "g": self.id, "generation": self.generation + 1,
                  "reason": reason, "protocol": self._protocol()})
        self._notify_all(sim)
        self._check_join(sim)

    def _notify_all(self, sim: Simulation) -> None:
        """Every member learns of the rebalance at its next heartbeat."""
        now = sim.kernel.now
        for member in self.members.values():
            if member.joined or member.state == "dead" or member.notice_pending or member.rejoin or member.out:
                continue
            beats = math.ceil((now - member.hb_phase) / self.hb_s)
            at = member.hb_phase + max(0, beats) * self.hb_s
            member.notice_pending = True
            sim.kernel.schedule(at, NOTICE, self.id, member.id)

    def _notice(self, sim: Simulation, member: Member) -> None:
        if not member.notice_pending:
            return
        member.notice_pending = False
        if member.state in ("idle", "fetching"):
            self._rejoin(sim, member)
        elif member.state in ("processing", "committing"):
            member.rejoin = True  # rejoins when the batch in hand, or the commit, is done

    def _rejoin(self, sim: Simulation, member: Member) -> bool:
        """Eager: commit, revoke everything, rejoin. Cooperative: commit and rejoin owning it all.

        False when the commit blocks (exactly_once through a cluster): the member rejoins once it
        is done."""
        if not self._commit(sim, member):
            member.rejoin = True
            return False
        member.rejoin = False
        member.joined = True
        if not self.cooperative:
            member.previous = list(member.assigned)
            for tp in member.assigned:
                self.owner[tp] = None
                self._stop(sim, member.id, tp)
            member.assigned = []
            member.token += 1
            member.state = "joining"
        self._check_join(sim)
        return True

    def _stop(self, sim: Simulation, member_id: str, tp: TP, at: float | None = None) -> None:
        """Consumption of a partition stops (revoked, left, expired): its pause starts."""
        self.stopped.setdefault(tp, (member_id, sim.kernel.now if at is None else at))

    def _resume(self, sim: Simulation, tp: TP, member_id: str, pauses: dict[str, list[Any]]) -> None:
        """A partition is consumed again: its pause is recorded under the member that stopped it."""
        stopped = self.stopped.pop(tp, None)
        if stopped is None:
            return
        who, since = stopped
        self.paused_s += sim.kernel.now - since
        pauses.setdefault(who, []).append({"tp": f"{tp[0]}/{tp[1]}", "from": since, "to": sim.kernel.now,
                                           "next": member_id})

    def _revoke(self, sim: Simulation, member: Member, partitions: list[TP]) -> bool:
        """Cooperative: onPartitionsRevoked for the partitions moving away; offsets committed first.
        False when the commit blocks: they are revoked once it is done (revoke_pending)."""
        if not self._commit(sim, member, partitions):
            member.revoke_pending = partitions
            return False
        for tp in partitions:
            if self.owner[tp] == member.id:
                self.owner[tp] = None
                self._stop(sim, member.id, tp)
        return True

    def _rejoin_after_revoking(self, sim: Simulation, member: Member) -> None:
        """ConsumerCoordinator.onJoinComplete: revoked partitions mean a rejoin at once."""
        member.joined = True
        member.notice_pending = False
        member.rejoin = False
        self._trigger(sim, f"{member.id} revoked partitions (cooperative follow-up)", follow_up=True)

    def _reset_position(self, tp: TP) -> None:
        """A partition changes hands: its next owner starts at the committed offset.

        Records below the committed offset that were never processed (committed before processing,
        then the owner crashed) are never delivered again: lost, and counted with the reason.
        """
        if tp in self.uncommitted and offset_reset.auto_reset(self, tp):
            return
        committed, handled = self.committed[tp], self.handled[tp]
        if committed > handled:
            drops = self.dropped[tp[0]]
            drops[DROP_AT_MOST_ONCE] = drops.get(DROP_AT_MOST_ONCE, 0) + committed - handled
            self.handled[tp] = committed
        self.position[tp] = committed

    def _release(self, sim: Simulation, member: Member, at: float | None = None) -> None:
        for tp in member.assigned:
            self.owner[tp] = None
            self._reset_position(tp)
            self._stop(sim, member.id, tp, at)
        for tp in member.revoke_pending:
            if self.owner[tp] == member.id:
                self.owner[tp] = None
                self._reset_position(tp)
                self._stop(sim, member.id, tp, at)
        member.assigned = []
        member.revoke_pending = []

    def _leave(self, sim: Simulation, member: Member) -> None:
        if member.out == "left":  # already out of the group since its poll timeout
            del self.members[member.id]
            sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member.id, "change": "removed"})
            return
        if not self._commit(sim, member):
            return  # blocked in commitTransaction: it leaves once that returns (txn_flushed)
        if member.instance_id is not None:
            # A static member's close() (writing through a cluster: once its batch and its commit are
            # done) sends no LeaveGroup; the coordinator keeps its partitions until its session expires.
            member.leaving = False
            self.kill_member(sim, member.id)
            return
        self._release(sim, member)
        del self.members[member.id]
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member.id, "change": "removed"})
        self._trigger(sim, f"{member.id} left the group")

    def _expire(self, sim: Simulation, member: Member) -> None:
        self._release(sim, member, member.killed_at)
        del self.members[member.id]
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member.id, "change": "expired"})
        self._trigger(sim, f"session timeout of {member.id}")

    # -- max.poll.interval.ms -----------------------------------------------------------------

    def _poll_timeout(self, sim: Simulation, member: Member) -> None:
        """The heartbeat thread sees no poll for max.poll.interval.ms and leaves the group."""
        now = sim.kernel.now
        member.notice_pending = member.rejoin = False
        member.joined = False
        self._drop_retries(member.id)  # its commit will fail: its transaction can only abort
        if member.instance_id is not None:
            # No LeaveGroup for a static member; heartbeats stop, the session runs out.
            member.out = "stalled"
            last_heartbeat = member.hb_phase + math.floor((now - member.hb_phase) / self.hb_s) * self.hb_s
            member.expire_at = last_heartbeat + self.p["session_timeout_ms"] / 1000.0
            sim.kernel.schedule(member.expire_at, STATIC_EXPIRE, self.id, (member.id, member.token))
            sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "poll_timeout",
                      "expires": member.expire_at})
            if self.state == "rebalancing":
                self._check_join(sim)
            return
        member.out = "left"
        self._release(sim, member)
        sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "poll_timeout"})
        self._trigger(sim, f"{member.id} exceeded max.poll.interval.ms and left the group")

    def _stalled_expired(self, sim: Simulation, member: Member) -> None:
        """A stalled static member's session ran out: the coordinator removes it."""
        member.out = "left"
        self._release(sim, member)
        sim.emit({"k": "member", "t": sim.kernel.now, "g": self.id, "c": member.id, "change": "expired"})
        self._trigger(sim, f"session timeout of {member.id}")

    def _come_back(self, sim: Simulation, member: Member) -> None:
        """The slow poll is over: the commit fails, and the member joins the group again.

        A static member the coordinator still holds gets its partitions back without a
        rebalance, but from the committed offsets (its positions went with its generation).
        """
        now = sim.kernel.now
        self._end_txn(sim, member.id, commit=False)  # fenced: its TxnOffsetCommit carries a dead generation
        self._drop_retries(member.id)
        stalled = member.out == "stalled"
        member.out = None
        member.generation = None
        member.previous = []
        sim.emit({"k": "member", "t": now, "g": self.id, "c": member.id, "change": "rejoined"})
        if stalled and self.state == "stable":
            for tp in member.assigned:
                self._reset_position(tp)
            member.last_commit = now
            self._poll(sim, member)
            return
        if stalled:  # the group is rebalancing: it rejoins with nothing (onPartitionsLost)
            self._release(sim, member)
        member.token += 1
        member.state = "joining"
        member.joined = True
        member.last_commit = now
        self._trigger(sim, f"{member.id} rejoined after its poll timeout")

    # -- lag alert ------------------------------------------------------------------------------

    def _lag(self, sim: Simulation, partitions: Any = None) -> int:
        logs = {t: sim.components[t].logs for t in self.topics}
        tps = self.committed if partitions is None else partitions
        return sum(logs[t][p].leo - self.committed[(t, p)] for t, p in tps)

    # -- the rebalance ----------------------------------------------------------------------------

    def _check_join(self, sim: Simulation) -> None:
        if self.state != "rebalancing" or self.join_closed:
            return
        # The coordinator waits for every member it knows, a crashed or stalled one until its
        # session expires; a member that left after its poll timeout is no longer known.
        if any(not m.joined and m.out != "left" for m in self.members.values()):
            return
        self.join_closed = True
        # JoinGroup response to the leader, then SyncGroup: two round trips to the coordinator.
        sim.kernel.schedule(sim.kernel.now + 2 * self.fetch_s, SYNC_DONE, self.id, self.rebalance["generation"])  # type: ignore[index]

    def _sync(self, sim: Simulation, generation: int) -> None:
        if self.rebalance is None or generation != self.rebalance["generation"]:
            return
        now = sim.kernel.now
        joined = [m for m in self.members.values() if m.joined]
        owned = {m.id: (m.assigned if self.cooperative else m.previous) for m in joined}
        generations = {m.id: m.generation for m in joined if m.generation is not None}
        plan = ASSIGNORS[self.p["assignor"]]({m.id: self.topics for m in joined}, self.partition_counts, owned,
                                             generations, {m.id: m.instance_id for m in joined if m.instance_id},
                                             racks.rack_info(self, sim, joined))
        pauses: dict[str, list[Any]] = {}
        revoked: dict[str, list[str]] = {}
        revoking_now: list[Member] = []
        for member in joined:
            new = plan[member.id]
            member.generation = generation
            if not self.cooperative:
                member.assigned = new
                for tp in new:
                    self.owner[tp] = member.id
                    self._reset_position(tp)
                    self._resume(sim, tp, member.id, pauses)
                continue
            keep = set(new)
            gone = [tp for tp in member.assigned if tp not in keep]
            held = set(member.assigned)
            member.assigned = new
            for tp in new:
                if tp not in held:
                    self.owner[tp] = member.id
                    self._reset_position(tp)
                    self._resume(sim, tp, member.id, pauses)
            if gone:
                revoked[member.id] = [f"{t}/{p}" for t, p in gone]
                if member.state in ("processing", "committing"):
                    member.revoke_pending = gone  # onPartitionsRevoked runs in the next poll
                elif self._revoke(sim, member, gone):
                    revoking_now.append(member)
        self.generation = generation
        self.state = "stable"
        record = dict(self.rebalance, ended=now, after=self._assignment(), protocol=self._protocol(),
                      round=2 if self.rebalance.get("follow_up") else 1, revoked=revoked, pauses=pauses)
        del record["reasons"]
        record.pop("follow_up", None)
        record["reason"] = "; ".join(self.rebalance["reasons"])
        self.rebalances.append(record)
        del self.rebalances[:-REBALANCES_KEPT]
        self.rebalance = None
        sim.emit({"k": "rebalance_end", "t": now, "g": self.id, "generation": generation,
                  "started": record["started"], "reason": record["reason"], "before": record["before"],
                  "after": record["after"], "protocol": record["protocol"], "round": record["round"],
                  "revoked": revoked, "pauses": pauses})
        for member in self.members.values():
            member.joined = False
            if member.state == "joining" or (self.cooperative and member.state == "idle"):
                member.last_commit = now
                self._poll(sim, member)
        again = self.again
        self.again = False
        for member in revoking_now:
            self._rejoin_after_revoking(sim, member)
        if again:
            self._trigger(sim, "membership changed during the last rebalance")

    def _protocol(self) -> str:
        return "cooperative" if self.cooperative else "eager"

    # -- view -------------------------------------------------------------------------------

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return group_metrics(self, sim)
