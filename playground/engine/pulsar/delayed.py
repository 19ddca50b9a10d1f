"""Delayed delivery: a producer's deliverAfter / deliverAt, held by the broker until due.

InMemoryDelayedDeliveryTracker (broker.conf delayedDeliveryEnabled=true,
delayedDeliveryTickTimeMillis=1000, isDelayedDeliveryDeliverAtTimeStrict=false): the Shared and
Key_Shared dispatchers give a message whose deliverAt is more than one tick away to the tracker
instead of a consumer; the tracker's timer hands back every message due within one tick
(getScheduledMessages), which the dispatcher then replays. Not strict, so a message may reach a
consumer up to one tick before its deliverAt. Exclusive and Failover subscriptions have no
tracker and deliver such messages at once ("Messaging", Delayed message delivery).
"""

from __future__ import annotations

import heapq

TICK_S = 1.0  # delayedDeliveryTickTimeMillis


def held(deliver_at: float, now: float, tick: float = TICK_S) -> bool:
    """InMemoryDelayedDeliveryTracker.addMessage (not strict): a message is tracked only when its
    deliverAt is later than now + tickTime; otherwise it is dispatched at once."""
    return deliver_at > now + tick


def due(deliver_at: float, now: float, tick: float = TICK_S) -> bool:
    """getScheduledMessages (not strict): due once deliverAt <= now + tickTime."""
    return deliver_at <= now + tick


class DelayedDeliveryTracker:
    """The messages one dispatcher holds back, by deliverAt, and its timer."""

    __slots__ = ("heap", "held", "armed_at", "tick")

    def __init__(self, tick: float = TICK_S) -> None:
        self.heap: list[tuple[float, int]] = []
        self.held: set[int] = set()  # positions still held (one acknowledged meanwhile leaves it)
        self.armed_at: float | None = None
        self.tick = tick

    def add(self, pos: int, deliver_at: float, now: float) -> bool:
        if not held(deliver_at, now, self.tick):
            return False
        heapq.heappush(self.heap, (deliver_at, pos))
        self.held.add(pos)
        return True

    def discard(self, pos: int) -> None:
        self.held.discard(pos)

    def next_timer(self) -> float | None:
        """When the timer must fire for the earliest message: one tick before its deliverAt."""
        while self.heap and self.heap[0][1] not in self.held:
            heapq.heappop(self.heap)
        return self.heap[0][0] - self.tick if self.heap else None

    def arm(self, at: float) -> bool:
        """True if a timer must be scheduled (none armed, or the armed one is later)."""
        if self.armed_at is not None and self.armed_at <= at:
            return False
        self.armed_at = at
        return True

    def take_due(self, now: float) -> list[int]:
        out = []
        while self.heap and due(self.heap[0][0], now, self.tick):
            pos = heapq.heappop(self.heap)[1]
            if pos in self.held:
                self.held.discard(pos)
                out.append(pos)
        return sorted(out)

    def take_all(self) -> list[int]:
        out = sorted(self.held)
        self.heap.clear()
        self.held.clear()
        return out

    def __len__(self) -> int:
        return len(self.held)
