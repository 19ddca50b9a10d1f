"""An Amazon SQS queue during a run: standard or FIFO.

The rules (Amazon SQS Developer Guide; page titles in quotes):

- "Amazon SQS visibility timeout": a received message stays in the queue, invisible to other
  receives, until it is deleted or its visibility timeout (default 30 s) passes; then it is
  visible again and its ApproximateReceiveCount goes up on the next receive. ChangeMessageVisibility
  restarts the timeout from now (0 makes it visible at once); at most 12 hours from the receive.
- "Amazon SQS standard queues": at-least-once delivery ("if a server that stores a copy of a
  message is unavailable when you receive or delete a message, you might get that message copy
  again": modelled as a DeleteMessage that misses a copy with probability ``duplicate_probability``,
  so the message comes back after its visibility timeout) and best-effort ordering (a message is
  overtaken by up to 8 later ones with probability ``reorder_probability``).
- "Amazon SQS short and long polling": a short poll (wait 0) samples a subset of the servers and
  may return nothing although messages exist (modelled as an empty answer with probability
  ``short_poll_miss`` while messages are visible); a long poll waits up to 20 s and answers as
  soon as a message is available. MaxNumberOfMessages 1 to 10.
- "Amazon SQS delay queues" (DelaySeconds, 0 to 15 min) and message timers (per message;
  FIFO queues take the queue's delay only).
- "Amazon SQS message retention" (MessageRetentionPeriod 60 s to 14 days, default 4 days): older
  messages are deleted, in flight or not. A standard queue's dead letter keeps its original
  enqueue time; a FIFO queue's dead letter gets a new one ("Using dead-letter queues in Amazon SQS").
- "Using dead-letter queues in Amazon SQS": when a message's receive count exceeds
  maxReceiveCount, the receive that would exceed it moves the message to the dead-letter queue
  instead of returning it. The DLQ of a FIFO queue is FIFO, of a standard queue standard.
  StartMessageMoveTask ("redrive") moves dead letters back to their source queue.
- "Amazon SQS FIFO queues": first-in-first-out within a MessageGroupId; while any message of a
  group is in flight no other message of that group is returned (the group is locked); a receive
  returns as many messages of one group as it can first. Deduplication within 5 minutes by
  MessageDeduplicationId or, with ContentBasedDeduplication, the SHA-256 of the body: duplicates
  are accepted but not delivered.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any

from playground.engine.component import CommandError, Runtime
from playground.engine.sqs.rules import (
    DELAY_END,
    DROP_DEDUPLICATED,
    DROP_FULL,
    DROP_RETENTION,
    HEAD_SHOWN,
    MAX_HELD,
    RECENT,
    RETENTION,
    VIS_EXPIRE,
    VISIBILITY_MAX_S,
    DedupWindow,
    Msg,
    bump,
    content_key,
)

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

REASON_MAX_RECEIVES = "maxReceiveCount exceeded"


def display_key(msg: Msg) -> str:
    """What a message is shown as: its group (FIFO), else its first attribute, else its body."""
    if msg.group is not None:
        return msg.group
    for name, (_, value) in msg.attributes.items():
        return f"{name}={value if not isinstance(value, float) else f'{value:g}'}"
    return msg.body


class QueueRuntime(Runtime):
    """One queue: visible, delayed and in-flight messages, receives, deletes, dead letters."""

    commands = {"redrive": "cmd_redrive", "purge_queue": "cmd_purge"}
    command_labels = {"redrive": "Redrive to source (StartMessageMoveTask)", "purge_queue": "Purge queue"}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], dlq: str | None) -> None:
        self.id = node_id
        self.fifo = params["queue_type"] == "fifo"
        self.vt = float(params["visibility_timeout_s"])
        self.delay = float(params["delay_seconds"])
        self.wait = float(params["receive_wait_s"])
        self.retention = float(params["retention_s"])
        self.max_receives = int(params["max_receive_count"])
        self.content_dedup = bool(params["content_based_dedup"])
        self.dup_p = 0.0 if self.fifo else float(params["duplicate_probability"])
        self.reorder_p = 0.0 if self.fifo else float(params["reorder_probability"])
        self.short_miss = float(params["short_poll_miss"])
        self.dlq = dlq
        self.rng = sim.kernel.rng(f"sqs:{node_id}")
        self.msgs: dict[int, Msg] = {}
        self.seq = 0
        self.receipts = 0
        self.heap: list[tuple[float, int, int]] = []  # standard: (order, seq, visibility epoch)
        self.groups: dict[str, deque[int]] = {}       # FIFO: group -> its messages in send order
        self.locked: dict[str, int] = {}              # FIFO: group -> messages in flight
        self.n_visible = self.n_delayed = self.n_inflight = 0
        self.dedup = DedupWindow()
        self.waiters: deque[tuple[str, str, int, int]] = deque()  # long polls: (consumer, worker, token, max)
        self.produced = self.deleted = self.dead_lettered = self.redriven = 0
        self.dropped: dict[str, int] = {}
        self.deduplicated = self.delivered = self.duplicates = self.timeouts = 0
        self.receive_requests = self.empty_receives = self.extended = self.missed_deletes = 0
        self.stale_deletes = self.reordered = self.via_sns_raw = self.via_sns_envelope = 0
        self.dl_count = 0
        self.dl_reasons: dict[str, int] = {}
        self.dl_recent: deque[dict[str, Any]] = deque(maxlen=RECENT)

    # -- sending ----------------------------------------------------------------------------

    def send(self, sim: Simulation, uid: int, body: str, *, group: str | None = None, dedup_id: str | None = None,
             attributes: dict[str, Any] | None = None, delay: float | None = None, raw: bool | None = None,
             sent_at: float | None = None) -> bool:
        """SendMessage (or an SNS delivery): True if the message is stored, False if the FIFO
        deduplication interval swallowed it (accepted, not delivered) or the engine is full."""
        now = sim.kernel.now
        self.produced += 1
        if self.fifo:
            key = dedup_id if dedup_id is not None else content_key(body)
            if self.dedup.seen(key, now):
                self.deduplicated += 1
                self._drop_count(sim, DROP_DEDUPLICATED, group or body)
                return False
        if len(self.msgs) >= MAX_HELD:
            self._drop_count(sim, DROP_FULL, body)
            return False
        if raw is not None:
            if raw:
                self.via_sns_raw += 1
            else:
                self.via_sns_envelope += 1
        msg = self._new(uid, body, group, dedup_id, dict(attributes or {}), now, now if sent_at is None else sent_at,
                        raw=raw)
        if self.reorder_p > 0 and self.rng.random() < self.reorder_p:
            msg.order += float(self.rng.uniform(1.0, 8.0))  # best-effort ordering: overtaken by later ones
            self.reordered += 1
        wait = self.delay if (self.fifo or delay is None) else delay
        self._admit(sim, msg, wait)
        return True

    def _new(self, uid: int, body: str, group: str | None, dedup: str | None, attributes: dict[str, Any],
             enqueued_at: float, sent_at: float, origin: str | None = None, raw: bool | None = None) -> Msg:
        self.seq += 1
        return Msg(self.seq, uid, body, group, dedup, attributes, enqueued_at, sent_at, origin, raw)

    def _admit(self, sim: Simulation, msg: Msg, delay: float) -> None:
        now = sim.kernel.now
        self.msgs[msg.seq] = msg
        sim.kernel.schedule(msg.enqueued_at + self.retention, RETENTION, self.id, (RETENTION, msg.seq))
        if self.fifo:
            self.groups.setdefault(msg.group or "", deque()).append(msg.seq)
        if delay > 0:
            msg.state = "delayed"
            self.n_delayed += 1
            sim.kernel.schedule(now + delay, DELAY_END, self.id, (DELAY_END, msg.seq))
        else:
            self._make_visible(msg)
        self._wake(sim)

    def _make_visible(self, msg: Msg) -> None:
        msg.state = "visible"
        msg.vis_epoch += 1
        self.n_visible += 1
        if not self.fifo:
            heapq.heappush(self.heap, (msg.order, msg.seq, msg.vis_epoch))

    # -- receiving --------------------------------------------------------------------------

    def receive(self, sim: Simulation, consumer: str, worker: str, token: int, max_messages: int
                ) -> list[tuple[int, int, int, str]] | None:
        """ReceiveMessage: up to ``max_messages`` as (seq, receipt, uid, key); ``[]`` for an empty
        answer; None when a long poll waits (the queue calls the consumer's ``deliver`` when
        messages arrive; the consumer times the wait out itself)."""
        self.receive_requests += 1
        short = self.wait <= 0
        if short and self.n_visible and self.short_miss > 0 and self.rng.random() < self.short_miss:
            self.empty_receives += 1  # the sampled servers held none of the visible messages
            return []
        picks = self._pick(sim, max_messages)
        if picks:
            return picks
        if not short:
            self.waiters.append((consumer, worker, token, max_messages))
            return None
        self.empty_receives += 1
        return []

    def long_poll_expired(self, consumer: str, worker: str, token: int) -> None:
        """WaitTimeSeconds passed with nothing to return: an empty receive."""
        if self.cancel_wait(consumer, worker, token):
            self.empty_receives += 1

    def cancel_wait(self, consumer: str, worker: str, token: int) -> bool:
        for i, w in enumerate(self.waiters):
            if w[0] == consumer and w[1] == worker and w[2] == token:
                del self.waiters[i]
                return True
        return False

    def _wake(self, sim: Simulation) -> None:
        """Answer waiting long polls, oldest first, while messages are available."""
        while self.waiters and self.n_visible:
            consumer, worker, token, max_messages = self.waiters[0]
            picks = self._pick(sim, max_messages)
            if not picks:
                break
            self.waiters.popleft()
            sim.components[consumer].deliver(sim, worker, token, picks)

    def _pick(self, sim: Simulation, max_messages: int) -> list[tuple[int, int, int, str]]:
        chosen = self._pick_fifo(sim, max_messages) if self.fifo else self._pick_standard(sim, max_messages)
        now = sim.kernel.now
        out = []
        for msg in chosen:
            self.n_visible -= 1
            self.n_inflight += 1
            msg.state = "inflight"
            msg.receives += 1
            self.receipts += 1
            msg.receipt = self.receipts
            msg.received_at = now
            msg.invisible_until = now + self.vt
            self.delivered += 1
            if msg.receives > 1:
                self.duplicates += 1
            if self.fifo:
                g = msg.group or ""
                self.locked[g] = self.locked.get(g, 0) + 1
            sim.kernel.schedule(msg.invisible_until, VIS_EXPIRE, self.id, (VIS_EXPIRE, msg.seq, msg.receipt))
            out.append((msg.seq, msg.receipt, msg.uid, display_key(msg)))
        return out

    def _redrive_due(self, msg: Msg) -> bool:
        return self.dlq is not None and msg.receives >= self.max_receives

    def _pick_standard(self, sim: Simulation, max_messages: int) -> list[Msg]:
        out: list[Msg] = []
        while self.heap and len(out) < max_messages:
            _, seq, epoch = heapq.heappop(self.heap)
            msg = self.msgs.get(seq)
            if msg is None or msg.state != "visible" or msg.vis_epoch != epoch:
                continue  # stale entry: deleted, moved or received since
            if self._redrive_due(msg):
                self._to_dlq(sim, msg)
                continue
            out.append(msg)
        return out

    def _pick_fifo(self, sim: Simulation, max_messages: int) -> list[Msg]:
        """Oldest available group first, as many of its messages in order as fit, then the next
        group; a locked group (a message in flight) or one whose head is delayed gives nothing."""
        heads = []
        for g, seqs in self.groups.items():
            if seqs and not self.locked.get(g) and self.msgs[seqs[0]].state == "visible":
                heads.append((seqs[0], g))
        heads.sort()
        out: list[Msg] = []
        for _, g in heads:
            seqs = self.groups[g]
            i = 0
            while len(out) < max_messages and i < len(seqs):
                msg = self.msgs[seqs[i]]
                if msg.state != "visible":
                    break
                if self._redrive_due(msg):
                    self._to_dlq(sim, msg)  # removes it from seqs: the next one moves up
                    continue
                out.append(msg)
                i += 1
            if len(out) >= max_messages:
                break
        return out

    # -- what consumers do with a receipt ---------------------------------------------------

    def delete(self, sim: Simulation, seq: int, receipt: int) -> str:
        """DeleteMessage: ``deleted``; ``stale`` (an older receipt handle: the message was received
        again since, and is deleted all the same, as a standard queue does); ``gone`` (already
        deleted, moved or expired: the call still succeeds); ``missed`` (a standard queue's copy on
        an unavailable server survived: the message comes back after its visibility timeout)."""
        msg = self.msgs.get(seq)
        if msg is None:
            return "gone"
        if self.dup_p > 0 and self.rng.random() < self.dup_p:
            self.missed_deletes += 1
            return "missed"
        stale = msg.receipt != receipt
        if stale:
            self.stale_deletes += 1
        self._remove(msg)
        self.deleted += 1
        self._wake(sim)
        return "stale" if stale else "deleted"

    def change_visibility(self, sim: Simulation, seq: int, receipt: int, timeout: float) -> bool:
        """ChangeMessageVisibility with the latest receipt handle of an in-flight message: the
        timeout restarts now; refused beyond 12 hours from the receive; 0 makes it visible now."""
        msg = self.msgs.get(seq)
        now = sim.kernel.now
        if msg is None or msg.state != "inflight" or msg.receipt != receipt:
            return False
        if now + timeout > msg.received_at + VISIBILITY_MAX_S:
            return False
        msg.invisible_until = now + timeout
        self.extended += 1
        if timeout <= 0:
            self._visible_again(sim, msg)
        else:
            sim.kernel.schedule(msg.invisible_until, VIS_EXPIRE, self.id, (VIS_EXPIRE, seq, receipt))
        return True

    def receipt_of(self, seq: int) -> int | None:
        msg = self.msgs.get(seq)
        return msg.receipt if msg is not None else None

    # -- timers -----------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        what = arg[0]
        msg = self.msgs.get(arg[1])
        if msg is None:
            return
        now = sim.kernel.now
        if what == VIS_EXPIRE:
            if msg.state == "inflight" and msg.receipt == arg[2] and msg.invisible_until <= now:
                self.timeouts += 1
                self._visible_again(sim, msg)
        elif what == DELAY_END:
            if msg.state == "delayed":
                self.n_delayed -= 1
                self._make_visible(msg)
                self._wake(sim)
        elif what == RETENTION:
            if msg.enqueued_at + self.retention <= now:
                self._remove(msg)
                self._drop_count(sim, DROP_RETENTION, display_key(msg))
                self._wake(sim)

    def _visible_again(self, sim: Simulation, msg: Msg) -> None:
        self.n_inflight -= 1
        self._unlock(msg)
        self._make_visible(msg)
        if sim.record_flow:
            sim.emit({"k": "sqs_visible_again", "t": sim.kernel.now, "node": self.id, "n": 1,
                      "key": display_key(msg), "receives": msg.receives})
        self._wake(sim)

    def _unlock(self, msg: Msg) -> None:
        if self.fifo:
            g = msg.group or ""
            left = self.locked.get(g, 0) - 1
            if left > 0:
                self.locked[g] = left
            else:
                self.locked.pop(g, None)

    # -- leaving the queue ------------------------------------------------------------------

    def _remove(self, msg: Msg) -> None:
        del self.msgs[msg.seq]
        if msg.state == "visible":
            self.n_visible -= 1  # its heap entry goes stale
        elif msg.state == "delayed":
            self.n_delayed -= 1
        else:
            self.n_inflight -= 1
            self._unlock(msg)
        msg.state = "gone"
        if self.fifo:
            g = msg.group or ""
            seqs = self.groups[g]
            seqs.remove(msg.seq)
            if not seqs:
                del self.groups[g]

    def _drop_count(self, sim: Simulation, reason: str, key: str) -> None:
        bump(self.dropped, reason)
        if sim.record_flow:
            sim.emit({"k": "sqs_drop", "t": sim.kernel.now, "node": self.id, "reason": reason, "n": 1, "key": key})

    def _to_dlq(self, sim: Simulation, msg: Msg) -> None:
        """The redrive policy moves a message received maxReceiveCount times to the DLQ."""
        assert self.dlq is not None
        self._remove(msg)
        self.dead_lettered += 1
        if sim.record_flow:
            sim.emit({"k": "sqs_dead_letter", "t": sim.kernel.now, "src": self.id, "dst": self.dlq, "n": 1,
                      "key": display_key(msg), "attempts": msg.receives, "reason": REASON_MAX_RECEIVES})
        sim.components[self.dlq].accept_dead_letter(sim, msg, self.id)

    def accept_dead_letter(self, sim: Simulation, msg: Msg, source: str) -> None:
        """This queue is a dead-letter queue: store the message with why, after how many
        receives and from which queue (the DLQ panel reads ``count`` and ``recent``). A standard
        queue keeps the original enqueue time (retention counts from it), a FIFO queue resets it."""
        now = sim.kernel.now
        self.produced += 1
        self.dl_count += 1
        bump(self.dl_reasons, REASON_MAX_RECEIVES)
        self.dl_recent.append({"t": now, "reason": REASON_MAX_RECEIVES, "attempts": msg.receives,
                               "key": display_key(msg), "origin": f"queue {source}", "queue": self.id,
                               "group": msg.group})
        enqueued = now if self.fifo else msg.enqueued_at
        dead = self._new(msg.uid, msg.body, msg.group, msg.dedup, msg.attributes, enqueued, msg.sent_at,
                         origin=source, raw=msg.raw)
        dead.record = msg.record
        self._admit(sim, dead, 0.0)

    # -- commands ---------------------------------------------------------------------------

    def cmd_redrive(self, sim: Simulation, command: dict[str, Any]) -> None:
        """StartMessageMoveTask: move this dead-letter queue's available messages back to the
        queue each came from (or to ``destination``), as new messages: a new enqueue time and a
        receive count of 0. Messages in flight stay; messages sent here directly stay."""
        destination = command.get("destination")
        if destination is not None and not isinstance(sim.components.get(destination), QueueRuntime):
            raise CommandError(f"no SQS queue has the id {destination!r}")
        moved = 0
        for msg in list(self.msgs.values()):
            target_id = destination or msg.origin
            target = sim.components.get(target_id) if target_id else None
            if msg.state != "visible" or not isinstance(target, QueueRuntime) or target is self:
                continue
            self._remove(msg)
            self.redriven += 1
            moved += 1
            target.produced += 1
            again = target._new(msg.uid, msg.body, msg.group, msg.dedup, msg.attributes, sim.kernel.now,
                                msg.sent_at, raw=msg.raw)
            target._admit(sim, again, 0.0)
        if not moved:
            raise CommandError(f"queue {self.id!r} holds no available dead letter to move back")
        sim.emit({"k": "sqs_redrive", "t": sim.kernel.now, "node": self.id, "n": moved,
                  "destination": destination})

    def cmd_purge(self, sim: Simulation, command: dict[str, Any]) -> None:
        """PurgeQueue: every message is deleted, in flight or not."""
        n = len(self.msgs)
        if not n:
            return
        for msg in list(self.msgs.values()):
            self._remove(msg)
        bump(self.dropped, "purged (PurgeQueue)", n)
        sim.emit({"k": "sqs_drop", "t": sim.kernel.now, "node": self.id, "reason": "purged (PurgeQueue)", "n": n})

    # -- reading ----------------------------------------------------------------------------

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"queue": self.id, "produced": self.produced, "acknowledged": self.deleted + self.redriven,
                 "in_flight": self.n_inflight, "waiting": self.n_visible + self.n_delayed,
                 "dead_lettered": self.dead_lettered, "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        now = sim.kernel.now
        oldest = next(iter(self.msgs.values()), None)
        head = []
        for msg in list(self.msgs.values())[:HEAD_SHOWN]:
            item: dict[str, Any] = {"key": display_key(msg), "s": msg.state[0], "r": msg.receives}
            head.append(item)
        out: dict[str, Any] = {
            "queue_type": "fifo" if self.fifo else "standard",
            "visible": self.n_visible,
            "in_flight": self.n_inflight,
            "delayed": self.n_delayed,
            "oldest_age": round(now - oldest.enqueued_at, 3) if oldest is not None else None,
            "visibility_timeout": self.vt,
            "wait": self.wait,
            "produced": self.produced,
            "delivered": self.delivered,
            "deleted": self.deleted,
            "duplicates": self.duplicates,
            "timeouts": self.timeouts,
            "extended": self.extended,
            "missed_deletes": self.missed_deletes,
            "stale_deletes": self.stale_deletes,
            "reordered": self.reordered,
            "receive_requests": self.receive_requests,
            "empty_receives": self.empty_receives,
            "waiting_polls": len(self.waiters),
            "deduplicated": self.deduplicated,
            "dead_lettered": self.dead_lettered,
            "redriven": self.redriven,
            "dropped": dict(self.dropped),
            "lag": self.n_visible + self.n_delayed,
            "dlq": self.dlq,
            "max_receive_count": self.max_receives if self.dlq else None,
            "via_sns": {"raw": self.via_sns_raw, "envelope": self.via_sns_envelope},
            "head": head,
            "count": self.dl_count,
            "dead_letter_reasons": dict(self.dl_reasons),
            "recent": list(self.dl_recent),
        }
        if self.fifo:
            locked = sorted(self.locked.items())
            out["groups"] = len(self.groups)
            out["locked_groups"] = len(locked)
            out["locked"] = [{"group": g, "in_flight": n, "queued": len(self.groups.get(g, ()))}
                             for g, n in locked[:12]]
            out["dedup_window"] = len(self.dedup)
        return out
