"""SQS producers and SNS topics during a run.

A producer sends (SendMessage) to one queue or publishes (Publish) to one SNS topic at a
Poisson rate, with message attributes, a MessageGroupId and MessageDeduplicationId for FIFO
queues, an optional per-message delay (message timer), and optional retries: a send whose
response was lost is sent again, the same message with the same deduplication id (what an SDK
retry does), which a FIFO queue deduplicates and a standard queue stores twice.

An SNS topic delivers a copy of each message to every subscribed queue whose filter policy
accepts its attributes ("Amazon SNS message filtering"); a message no subscription accepts is
counted, not hidden. Raw message delivery ("Amazon SNS raw message delivery") hands the body and
attributes over as they are; without it the queue gets SNS's JSON envelope, which carries the
attributes in its body.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from playground.engine.clients import poisson_tick
from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.registry import Param
from playground.engine.sqs.filterpolicy import PolicyError, attribute_of, matches, parse_policy, summary
from playground.engine.sqs.rules import (
    DROP_NO_MATCH,
    DROP_NO_SUBSCRIPTION,
    DROP_SNS_DEDUPLICATED,
    DROP_THROTTLED,
    RESEND,
    SEND_TICK,
    TICK_S,
    DedupWindow,
    ThroughputWindow,
    bump,
    content_key,
    sns_fifo_dedup_key,
)

if TYPE_CHECKING:
    from playground.engine.simulation import Simulation

RESEND_AFTER_S = 1.0  # an SDK retries a send whose response timed out after about this long


class Outgoing:
    """One message as sent: what a retry sends again."""

    __slots__ = ("uid", "body", "group", "dedup", "attributes", "delay")

    def __init__(self, uid: int, body: str, group: str | None, dedup: str | None, attributes: dict[str, Any],
                 delay: float | None) -> None:
        self.uid = uid
        self.body = body
        self.group = group
        self.dedup = dedup
        self.attributes = attributes
        self.delay = delay



def parse_attributes(params: dict[str, str]) -> dict[str, list[tuple[str, Any]]]:
    """A producer's attribute map: name -> alternatives (``a|b|c``, one drawn per message)."""
    return {name: [attribute_of(v) for v in str(text).split("|")] for name, text in params.items()}


class ProducerRuntime(Runtime):
    commands = {"send": "cmd_send"}
    command_specs = {"send": CommandSpec(args=(
        Param("count", "Count", "int", 1, "How many messages to send now", min=1, max=1000),
        Param("group", "Message group id", "string", "", "FIFO: the ordering group", max_length=128),
        Param("dedup_id", "Deduplication id", "string", "", "FIFO: repeats within 5 minutes are dropped",
              max_length=128),
        Param("body", "Body", "string", "", "The message body", max_length=128),
        Param("attributes", "Attributes", "map", {}, "key=value, one a line (SNS filter policies match them)"),
    ))}

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any], target: str | None) -> None:
        self.id = node_id
        self.target = target
        self.rate = float(params["rate"])
        self.groups = int(params["message_groups"])
        self.dedup_mode = params["deduplication"]
        self.bodies = int(params["distinct_bodies"])
        self.resend_p = float(params["resend_probability"])
        self.delay = float(params["delay_seconds"]) or None
        self.attributes = parse_attributes(params["attributes"])
        self.rng = sim.kernel.rng(f"sqs:{node_id}")
        self.uid_base = zlib.crc32(node_id.encode()) << 32
        self.count = 0
        self.sent = self.resent = 0
        self.pending: dict[int, Outgoing] = {}
        if target is not None and self.rate > 0:
            sim.kernel.schedule(TICK_S, SEND_TICK, self.id)

    def make(self, group: str | None = None, attributes: dict[str, Any] | None = None,
             dedup: str | None = None, body: str | None = None) -> Outgoing:
        self.count += 1
        uid = self.uid_base | self.count
        if body is None:
            body = (f"{self.id} #{int(self.rng.integers(0, self.bodies)) + 1}" if self.bodies
                    else f"{self.id} #{self.count}")
        if group is None and self.groups:
            group = f"g{int(self.rng.integers(0, self.groups)) + 1}"
        if attributes is None:
            attributes = {name: (alts[0] if len(alts) == 1 else alts[int(self.rng.integers(0, len(alts)))])
                          for name, alts in self.attributes.items()}
        if dedup is None and self.dedup_mode == "id":
            dedup = f"{self.id}-{self.count}"
        return Outgoing(uid, body, group, dedup, attributes, self.delay)

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == RESEND:
            out = self.pending.pop(arg, None)
            if out is not None:
                self.resent += 1
                self.send(sim, [out], retry=True)
            return
        n = poisson_tick(sim, self.id, SEND_TICK, TICK_S, self.rng, self.rate)
        if n:
            self.send(sim, [self.make() for _ in range(n)])

    def send(self, sim: Simulation, messages: list[Outgoing], retry: bool = False) -> None:
        if self.target is None or not messages:
            return
        self.sent += len(messages)
        now = sim.kernel.now
        if sim.record_flow:
            first = messages[0]
            sim.emit({"k": "sqs_send", "t": now, "src": self.id, "dst": self.target, "n": len(messages),
                      "key": first.group or first.body, "retry": retry})
        target = sim.components[self.target]
        if isinstance(target, TopicRuntime):
            target.publish(sim, messages)
        else:
            for m in messages:
                target.send(sim, m.uid, m.body, group=m.group, dedup_id=m.dedup, attributes=m.attributes,
                            delay=m.delay)
        if not retry and self.resend_p > 0:
            for m in messages:
                if self.rng.random() < self.resend_p:
                    self.pending[m.uid] = m
                    sim.kernel.schedule(now + RESEND_AFTER_S, RESEND, self.id, m.uid)

    def cmd_send(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Send ``count`` messages now, optionally with ``attributes`` (object of text), ``group``,
        ``dedup_id`` and ``body``."""
        count = command.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise CommandError("count must be a whole number from 1 to 1000")
        attributes = command.get("attributes")
        if attributes is not None:
            if not isinstance(attributes, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                           for k, v in attributes.items()):
                raise CommandError("attributes must be an object of text values")
            attributes = {k: attribute_of(v) for k, v in attributes.items()}
        for name in ("group", "dedup_id", "body"):
            value = command.get(name)
            if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 128):
                raise CommandError(f"{name} must be text of 1 to 128 characters")
        if self.target is None:
            raise CommandError(f"producer {self.id!r} is connected to no queue or topic")
        self.send(sim, [self.make(command.get("group"), attributes, command.get("dedup_id"), command.get("body"))
                        for _ in range(count)])

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {"sent": self.sent, "resent": self.resent, "rate": self.rate, "target": self.target}


class Subscription:
    __slots__ = ("queue", "policy", "raw", "summary", "matched", "filtered")

    def __init__(self, queue: str, policy: dict[str, Any] | None, raw: bool) -> None:
        self.queue = queue
        self.policy = policy
        self.raw = raw
        self.summary = summary(policy)
        self.matched = 0
        self.filtered = 0



def subscription_of(queue: str, filter_policy: str, raw: bool) -> Subscription:
    try:
        policy = parse_policy(filter_policy)
    except PolicyError:
        policy = None  # documents are validated before a run; this cannot happen there
    return Subscription(queue, policy, raw)


class TopicRuntime(Runtime):
    """An SNS topic: fan-out of each message to every subscription that accepts it.

    A FIFO topic ("Amazon SNS FIFO topics"; "Message deduplication for FIFO topics"; "Message
    grouping for FIFO topics") delivers only to SQS FIFO queues, in publish order, and passes each
    message's MessageGroupId and MessageDeduplicationId on (with content-based deduplication the
    SHA-256 of the body), so the queue keeps the group's order; a deduplication id it saw within 5
    minutes is accepted but delivered nowhere; publishes over the throughput quota are throttled."""

    def __init__(self, node_id: str, subscriptions: list[Subscription], params: dict[str, Any] | None = None) -> None:
        params = params or {}
        self.id = node_id
        self.subs = subscriptions
        self.fifo = params.get("topic_type") == "fifo"
        self.content_dedup = bool(params.get("content_based_dedup"))
        self.scope = params.get("fifo_throughput_scope", "topic")
        self.dedup = DedupWindow()
        self.throughput = ThroughputWindow(self.scope)
        self.published = self.delivered_messages = self.deduplicated = self.throttled = 0
        self.dropped: dict[str, int] = {}

    def _fifo_admit(self, sim: Simulation, m: Outgoing) -> str | None:
        """A FIFO publish: the deduplication id to pass on, or None if it is delivered nowhere
        (throttled, or a duplicate within the deduplication interval)."""
        now = sim.kernel.now
        group = m.group or ""
        if not self.throughput.admit(group, now):
            self.throttled += 1
            bump(self.dropped, DROP_THROTTLED)
            return None
        dedup_id = m.dedup if m.dedup is not None else content_key(m.body)
        if self.dedup.seen(sns_fifo_dedup_key(dedup_id, group, self.scope), now):
            self.deduplicated += 1
            bump(self.dropped, DROP_SNS_DEDUPLICATED)
            return None
        return dedup_id

    def publish(self, sim: Simulation, messages: list[Outgoing]) -> None:
        now = sim.kernel.now
        per_queue: dict[str, int] = {}
        for m in messages:
            self.published += 1
            dedup_id = m.dedup
            if self.fifo:
                admitted = self._fifo_admit(sim, m)
                if admitted is None:
                    continue
                dedup_id = admitted
            if not self.subs:
                bump(self.dropped, DROP_NO_SUBSCRIPTION)
                continue
            hit = False
            for sub in self.subs:
                if not matches(sub.policy, m.attributes):
                    sub.filtered += 1
                    continue
                hit = True
                sub.matched += 1
                per_queue[sub.queue] = per_queue.get(sub.queue, 0) + 1
                sim.components[sub.queue].send(sim, m.uid, m.body, group=m.group, dedup_id=dedup_id,
                                               attributes=m.attributes, raw=sub.raw, sent_at=now)
            if hit:
                self.delivered_messages += 1
            else:
                bump(self.dropped, DROP_NO_MATCH)
                if sim.record_flow:
                    sim.emit({"k": "sqs_drop", "t": now, "node": self.id, "reason": DROP_NO_MATCH, "n": 1,
                              "key": m.body})
        if sim.record_flow:
            for queue, n in per_queue.items():
                sim.emit({"k": "sns_deliver", "t": now, "src": self.id, "dst": queue, "n": n})

    def streams(self, sim: Simulation) -> list[dict[str, Any]]:
        return [{"topic": self.id, "produced": self.published, "acknowledged": self.delivered_messages,
                 "in_flight": 0, "waiting": 0, "dead_lettered": 0, "dropped": dict(self.dropped)}]

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        return {
            "topic_type": "fifo" if self.fifo else "standard",
            "deduplicated": self.deduplicated, "throttled": self.throttled,
            "dedup_window": len(self.dedup) if self.fifo else None,
            "published": self.published,
            "delivered": self.delivered_messages,
            "no_match": self.dropped.get(DROP_NO_MATCH, 0),
            "dropped": dict(self.dropped),
            "subscriptions": [{"queue": s.queue, "filter": s.summary, "raw": s.raw, "matched": s.matched,
                               "filtered_out": s.filtered} for s in self.subs],
        }
