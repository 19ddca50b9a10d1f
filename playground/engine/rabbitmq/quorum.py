"""Quorum queues (x-queue-type=quorum), as RabbitMQ 3.10's rabbit_fifo state machine keeps them.

Pure classes, no clock or randomness (the runtime, queue_runtime.py, drives them). Where a
quorum queue differs from a classic one ("Quorum Queues" guide; rabbit_fifo.erl, 3.10):

- No priorities: x-max-priority is not a quorum queue argument (rabbit_quorum_queue
  capabilities/0); every message is FIFO.
- A returned message (basic.nack or basic.reject with requeue, or its channel closing) does not
  go back to its original place as in a classic queue. Without x-delivery-limit, the leader
  turns the return into a requeue (rabbit_fifo handle_aux/6 for #return{} when delivery_limit
  is undefined: make_requeue/4), which appends it at the *back* of the queue; with a delivery
  limit it goes to the ``returns`` queue, served before every other ready message
  (take_next_msg/1), in the order the returns happened. What a consumer held when its channel
  closed (or its node went down) is always returned to the ``returns`` queue, in delivery order
  (return_all/5): the state machine does that itself, without the leader's conversion.
- Each return adds one to the message's delivery count (rabbit_fifo return_one/6). Deliveries of
  a message returned before carry it as the ``x-delivery-count`` header and are marked
  redelivered (rabbit_fifo_client transform_msgs/3; basic.get always carries it). With
  ``x-delivery-limit`` N, the return that takes the count above N dead-letters the message
  (reason ``delivery_limit``) or drops it: the poison-message handling.
- ``x-overflow`` is drop-head (the default) or reject-publish; reject-publish-dlx is not valid
  and falls back to drop-head (rabbit_quorum_queue overflow/3). reject-publish is evaluated
  after each command (rabbit_fifo evaluate_limit/5): a publish is accepted while the queue is not
  over its limit, so the queue can exceed x-max-length by one; once over, publishers are
  refused until the queue is back to 80% of the limit (is_below_soft_limit/1, ?LOW_LIMIT 0.8).
  Messages waiting for at-least-once dead-lettering count toward the limit (is_over_limit/1).
- Replication (Raft, through Ra): a queue has x-quorum-initial-group-size members, one the
  leader. It works while a majority of them is up; when the leader's node fails, the surviving
  members elect a new leader among themselves, and the messages its consumers had not acked
  are returned (their delivery count grows) and delivered again.
"""

from __future__ import annotations

from collections import deque

from playground.engine.rabbitmq.queue import ClassicQueue, Entry, Message

LOW_LIMIT = 0.8  # rabbit_fifo.hrl ?LOW_LIMIT: publishers are let in again below this share of the limit
#: rabbit_fifo_dlx_worker: a dead letter that no queue took is retried every settle_timeout
#: (dead_letter_worker_publisher_confirm_timeout, 180,000 ms by default)
DLX_RETRY_S = 180.0
#: Ra election: followers wait an election timeout before standing; modelled as this long
ELECTION_S = 1.0


class QuorumQueue(ClassicQueue):
    """The ready messages of a quorum queue: FIFO with a returns queue in front."""

    def __init__(self, name: str, *, message_ttl: float | None = None, max_length: int | None = None,
                 max_bytes: int | None = None, overflow: str = "drop-head", returns_in_front: bool = False) -> None:
        super().__init__(name, message_ttl=message_ttl, max_length=max_length, max_bytes=max_bytes,
                         overflow=quorum_overflow(overflow), max_priority=None)
        self.returns: deque[Entry] = deque()
        self.returns_in_front = returns_in_front  # True with x-delivery-limit (see the module docstring)
        self.blocked = False  # reject-publish: publishers are refused until below the soft limit
        self.dlx_held = 0  # at-least-once dead letters still held by the queue (count toward the limit)

    def over_limit(self) -> bool:
        """rabbit_fifo is_over_limit/1: ready messages plus held dead letters above the limit."""
        if self.max_length is not None and self.ready + self.dlx_held > self.max_length:
            return True
        return self.max_bytes is not None and self.bytes > self.max_bytes

    def below_soft_limit(self) -> bool:
        """rabbit_fifo is_below_soft_limit/1: at most 80% of each limit (truncated)."""
        ok = True
        if self.max_length is not None:
            ok = self.ready + self.dlx_held <= int(self.max_length * LOW_LIMIT)
        if self.max_bytes is not None:
            ok = ok and self.bytes <= int(self.max_bytes * LOW_LIMIT)
        return ok

    def publish(self, msg: Message, now: float) -> tuple[Entry | None, list[Entry]]:
        self.seq += 1
        entry = Entry(msg, self.seq, 0, self.expiry_of(msg, now))
        if self.overflow == "reject-publish":
            if self.blocked and self.below_soft_limit():
                self.blocked = False
            if self.blocked:
                return None, [entry]
            self._append(entry)
            if self.over_limit():
                self.blocked = True
            return entry, []
        self._append(entry)
        removed: list[Entry] = []
        while self.over_limit() and self.ready:
            head = self.pop()
            assert head is not None
            removed.append(head)
        return entry, removed

    def _append(self, entry: Entry) -> None:
        self._lane(0).append(entry)
        self.ready += 1
        self.bytes += entry.msg.size

    def head(self) -> Entry | None:
        return self.returns[0] if self.returns else super().head()

    def pop(self) -> Entry | None:
        if self.returns:
            self.ready -= 1
            entry = self.returns.popleft()
            self.bytes -= entry.msg.size
            return entry
        return super().pop()

    def requeue(self, entry: Entry, front: bool | None = None) -> None:
        """A returned message goes to the back of the returns queue, ahead of all others (with a
        delivery limit, or ``front``), or to the back of the queue (a nack without a limit)."""
        entry.redelivered = True
        if self.returns_in_front if front is None else front:
            self.returns.append(entry)
            self.ready += 1
            self.bytes += entry.msg.size
        else:
            self.seq += 1
            entry.seq = self.seq
            self._append(entry)

    def expire(self, now: float, *, inclusive: bool = True) -> list[Entry]:
        """rabbit_fifo expire_msgs/4: only the next message to deliver (returns first) is
        looked at, repeatedly."""
        out: list[Entry] = []
        while True:
            head = self.head()
            if head is None or head.expires_at is None or not (
                    head.expires_at < now or (inclusive and head.expires_at == now)):
                return out
            popped = self.pop()
            assert popped is not None
            out.append(popped)

    def next_expiry(self) -> float | None:
        head = self.head()
        return head.expires_at if head is not None else None

    def entries(self) -> list[Entry]:
        return [*self.returns, *super().entries()]

    def purge(self) -> list[Entry]:
        out = [*self.returns, *super().purge()]
        self.returns.clear()
        self.ready = 0
        self.bytes = 0
        return out


def quorum_overflow(overflow: str) -> str:
    """rabbit_quorum_queue overflow/3: reject-publish-dlx is not valid for a quorum queue (a
    warning is logged) and the default, drop-head, applies."""
    return "drop-head" if overflow == "reject-publish-dlx" else overflow


def over_delivery_limit(returns: int, limit: int | None) -> bool:
    """rabbit_fifo return_one/6: after a return, a delivery count above x-delivery-limit
    dead-letters the message (reason delivery_limit) instead of returning it."""
    return limit is not None and returns > limit


def effective_dead_letter_strategy(dlx: str | None, strategy: str, overflow: str) -> str:
    """rabbit_quorum_queue dead_letter_handler/2 and dlh/5: at-least-once needs a dead-letter
    exchange and overflow reject-publish; with drop-head it falls back to at-most-once (a
    warning is logged); without a dead-letter exchange there is no dead-lettering at all."""
    if dlx is None:
        return "none"
    if strategy == "at-least-once" and overflow == "reject-publish":
        return "at-least-once"
    return "at-most-once"


class ReplicaSet:
    """The members of a quorum queue's Raft group and which one leads.

    Members are ``r1`` .. ``rN``; ``r1`` leads at first. The group is available while a majority
    of its members is up and one of them leads. When the leader fails, an election among the
    surviving members (all in sync here: replication is not delayed) picks the first of them in
    member order once the election timeout has passed; a restarted member catches up and rejoins
    as a follower (or, when it restores the majority, lets an election happen).
    """

    def __init__(self, size: int) -> None:
        self.members = [f"r{i + 1}" for i in range(size)]
        self.up = set(self.members)
        self.leader: str | None = self.members[0]
        self.term = 1
        self.electing = False

    def majority(self) -> int:
        return len(self.members) // 2 + 1

    def has_quorum(self) -> bool:
        return len(self.up) >= self.majority()

    def available(self) -> bool:
        return self.leader is not None and self.has_quorum()

    def kill(self, member: str) -> bool:
        """A member's node fails; returns whether it was the leader."""
        self.up.discard(member)
        if member != self.leader:
            return False
        self.leader = None
        return True

    def elect(self) -> str | None:
        """The election once its timeout has passed: a new term and leader if a majority is up."""
        self.electing = False
        if self.leader is not None or not self.has_quorum():
            return None
        self.term += 1
        self.leader = next(m for m in self.members if m in self.up)
        return self.leader

    def restart(self, member: str) -> None:
        self.up.add(member)

    def view(self) -> list[dict[str, str]]:
        return [{"id": m, "state": "leader" if m == self.leader else ("follower" if m in self.up else "down")}
                for m in self.members]
