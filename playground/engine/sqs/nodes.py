"""Declarations of the Amazon SQS and SNS node types: parameters, bounds, units, help, ports.

Names follow the SQS queue attributes and API parameters they stand for (VisibilityTimeout,
DelaySeconds, ReceiveMessageWaitTimeSeconds, MessageRetentionPeriod, RedrivePolicy
maxReceiveCount, ContentBasedDeduplication, MaxNumberOfMessages) with their AWS defaults and
bounds. A queue's dead-letter queue is the queue its outgoing queue-to-queue edge leads to; a
topic's outgoing edges are its subscriptions, each with a filter policy and raw delivery flag.
"""

from __future__ import annotations

import json
from typing import Any

from playground.engine.ports import In, Out
from playground.engine.registry import FieldError, NodeType, Param, register, register_flow_kinds
from playground.engine.sqs import rules
from playground.engine.sqs.consumer import ConsumerRuntime
from playground.engine.sqs.filterpolicy import PolicyError, parse_policy
from playground.engine.sqs.producer import ProducerRuntime, TopicRuntime, subscription_of
from playground.engine.sqs.queue import QueueRuntime

register_flow_kinds("sqs_send", "sns_deliver", "sqs_receive", "sqs_dead_letter", "sqs_drop", "sqs_visible_again")

CATEGORY = "Amazon SQS / SNS"
POLICY_MAX = 2000


@register
class SqsProducer(NodeType):
    name = "sqs_producer"
    label = "SQS Producer"
    category = CATEGORY
    color = "#d97706"
    help = ("Sends messages (SendMessage) to one SQS queue, or publishes them to one SNS topic, at a Poisson "
            "rate. For a FIFO queue each message needs a MessageGroupId and a MessageDeduplicationId (or the "
            "queue's content-based deduplication). FIFO queues take up to 300 sends a second per API action "
            "(3,000 with batching; more in high-throughput mode): not enforced here.")
    ports = (
        Out("to SNS", "records", "publish", "sns"),
        Out("to SQS", "records", "publish", "sqs"),
    )
    max_in = 0
    max_out = 1
    build_order = 40
    runtime_class = ProducerRuntime
    params = (
        Param("rate", "Rate", "float", 10.0, "Messages sent per second on average (Poisson arrivals).",
              min=0, max=2000, step=1, unit="msg/s", budget="rate"),
        Param("message_groups", "Message groups", "int", 0,
              "MessageGroupId: each message gets one of this many groups, g1..gN, drawn at random (0: none; "
              "a FIFO queue needs at least 1).", min=0, max=1000, step=1),
        Param("deduplication", "Deduplication id", "enum", "id",
              "id: a unique MessageDeduplicationId per message (a retry reuses it); content: none, the FIFO "
              "queue must use content-based deduplication (SHA-256 of the body).", choices=("id", "content")),
        Param("distinct_bodies", "Distinct bodies", "int", 0,
              "Bodies are drawn from this many different texts (0: every body unique). With content-based "
              "deduplication, equal bodies within 5 minutes are duplicates even if meant as new messages.",
              min=0, max=1_000_000, step=1),
        Param("resend_probability", "Retry probability", "float", 0.0,
              "Chance that a send's response is lost and the SDK sends the same message again 1 s later (same "
              "deduplication id): a FIFO queue deduplicates it, a standard queue stores it twice.",
              min=0, max=1, step=0.01),
        Param("delay_seconds", "Message timer (DelaySeconds)", "float", 0.0,
              "Per-message delay before the message becomes visible (standard queues only; a FIFO queue "
              "takes only its own queue delay).", min=0, max=rules.DELAY_MAX_S, step=1, unit="s"),
        Param("attributes", "Message attributes", "map", {},
              "Message attributes for SNS filter policies, name=value; a number is a Number, [\"a\",\"b\"] a "
              "String.Array, else a String; a value a|b|c is drawn from its alternatives for each message."),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        targets = [n for n in sim.document.targets(node.id) if n.type in ("sqs_queue", "sns_topic")]
        return ProducerRuntime(sim, node.id, node.params, targets[0].id if targets else None)

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """SendMessage to a FIFO queue: MessageGroupId is required; without a deduplication id the
        queue must have ContentBasedDeduplication; DelaySeconds per message is refused."""
        errors = []
        for path, edge in outgoing:
            target = nodes[edge.target]
            if target.type == "sns_topic" and target.params.get("topic_type") == "fifo":
                errors.extend(cls._fifo_topic_errors(node, path, target))
                continue
            if target.type != "sqs_queue" or target.params["queue_type"] != "fifo":
                continue
            if not node.params["message_groups"]:
                errors.append(FieldError(path, f"a FIFO queue needs a MessageGroupId on every message: set "
                                               f"{node.id}'s Message groups to at least 1"))
            if node.params["deduplication"] == "content" and not target.params["content_based_dedup"]:
                errors.append(FieldError(path, f"{node.id} sends no MessageDeduplicationId, so FIFO queue "
                                               f"{target.id} needs content-based deduplication"))
            if node.params["delay_seconds"]:
                errors.append(FieldError(path, f"FIFO queue {target.id} does not take per-message delays "
                                               "(DelaySeconds): set the queue's delay instead"))
        return errors

    @classmethod
    def _fifo_topic_errors(cls, node: Any, path: str, target: Any) -> list[FieldError]:
        """Publish to an SNS FIFO topic: MessageGroupId is required, and a MessageDeduplicationId
        unless the topic has ContentBasedDeduplication (else the action fails)."""
        errors = []
        if not node.params["message_groups"]:
            errors.append(FieldError(path, f"an SNS FIFO topic needs a MessageGroupId on every message: set "
                                           f"{node.id}'s Message groups to at least 1"))
        if node.params["deduplication"] == "content" and not target.params.get("content_based_dedup"):
            errors.append(FieldError(path, f"{node.id} sends no MessageDeduplicationId, so SNS FIFO topic "
                                           f"{target.id} needs content-based deduplication"))
        return errors


@register
class SnsTopic(NodeType):
    name = "sns_topic"
    label = "SNS Topic"
    category = CATEGORY
    color = "#db2777"
    help = ("An SNS topic: every subscribed SQS queue gets its own copy of each message its subscription's "
            "filter policy accepts (fan-out). Its outgoing connections are the subscriptions. A FIFO topic "
            "delivers only to FIFO queues, in order within each message group, passing the group and "
            "deduplication ids on; it drops a deduplication id seen in the last 5 minutes and throttles "
            "publishes over 3,000 messages a second (300 per group) with Topic throughput scope.")
    ports = (
        In("messages", "records", "publish", "sns"),
        Out("subscriptions", "records", "route", "sqs"),
    )
    max_in = None
    max_out = None
    build_order = 20
    runtime_class = TopicRuntime
    params = (
        Param("topic_type", "Type", "enum", "standard",
              "standard: best-effort order, any queue; fifo: strict order per MessageGroupId, deduplication, "
              "SQS FIFO queues only.", choices=("standard", "fifo")),
        Param("content_based_dedup", "ContentBasedDeduplication", "bool", False,
              "FIFO: without a MessageDeduplicationId, the SHA-256 of the body is the deduplication id."),
        Param("fifo_throughput_scope", "FifoThroughputScope", "enum", "topic",
              "FIFO: topic: 3,000 messages a second per topic and 300 per message group, deduplication across "
              "the topic; message_group (high throughput): the account's regional quota (30,000 a second in "
              "US East), deduplication within each message group.", choices=("topic", "message_group")),
    )
    edge_params = (
        Param("filter_policy", "Filter policy", "string", "",
              "JSON on message attributes, e.g. {\"event\": [\"order_placed\"], \"price\": [{\"numeric\": "
              "[\">=\", 100]}]}: exact strings, numbers, prefix, suffix, anything-but, numeric ranges, exists; "
              "OR within an array, AND across attributes (empty: every message).", max_length=POLICY_MAX),
        Param("raw_message_delivery", "Raw message delivery", "bool", False,
              "Deliver the body as is, attributes as SQS message attributes (off: SNS's JSON envelope, "
              "attributes inside the body)."),
    )

    @classmethod
    def coerce_edge_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        raw = dict(raw)
        if isinstance(raw.get("filter_policy"), dict):  # an object is accepted too, kept as its JSON text
            raw["filter_policy"] = json.dumps(raw["filter_policy"], separators=(",", ":"))
        values, errors = super().coerce_edge_params(raw)
        if not any(e.path == "filter_policy" for e in errors):
            try:
                parse_policy(values["filter_policy"])
            except PolicyError as exc:
                errors.append(FieldError("filter_policy", str(exc)))
        return values, errors

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """A standard topic cannot deliver to a FIFO queue, and a FIFO topic delivers only to FIFO
        queues ("Amazon SNS FIFO topics": SQS FIFO queues are the only subscribers a FIFO topic
        takes from SQS; standard queues subscribe to standard topics)."""
        fifo = node.params.get("topic_type") == "fifo"
        errors = []
        for path, edge in outgoing:
            queue_fifo = nodes[edge.target].params.get("queue_type") == "fifo"
            if queue_fifo and not fifo:
                errors.append(FieldError(path, f"FIFO queue {edge.target} cannot subscribe to a standard SNS topic"))
            elif fifo and not queue_fifo:
                errors.append(FieldError(path, f"SNS FIFO topic {node.id} delivers only to SQS FIFO queues: "
                                               f"{edge.target} is a standard queue"))
        return errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        subs = []
        defaults = {p.name: p.default for p in cls.edge_params}
        for edge in sim.document.edges:
            if edge.source == node.id:
                p = {**defaults, **edge.params}
                subs.append(subscription_of(edge.target, p["filter_policy"], bool(p["raw_message_delivery"])))
        return TopicRuntime(node.id, subs, node.params)


@register
class SqsQueue(NodeType):
    name = "sqs_queue"
    label = "SQS Queue"
    category = CATEGORY
    color = "#b45309"
    help = ("A standard queue (at-least-once, best-effort order) or FIFO queue (order within a message group, "
            "deduplication within 5 minutes). Consumers poll it; a received message is invisible until deleted or "
            "its visibility timeout passes. A connection to another queue is its redrive policy: after "
            "maxReceiveCount receives a message moves there (the dead-letter queue lists it).")
    ports = (
        In("messages", "records", "publish", "sqs"),
        In("from SNS", "records", "route", "sqs"),
        In("dead letters", "dead_letters", protocol="sqs"),
        Out("messages", "records", "consume", "sqs"),
        Out("redrive", "dead_letters", protocol="sqs"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = QueueRuntime
    dead_letter_store = True
    params = (
        Param("queue_type", "Type", "enum", "standard",
              "standard: nearly unlimited throughput, at-least-once, best-effort order; fifo: exactly-once "
              "processing, order within a MessageGroupId.", choices=("standard", "fifo")),
        Param("visibility_timeout_s", "VisibilityTimeout", "float", rules.VISIBILITY_DEFAULT_S,
              "How long a received message stays invisible to other receives unless deleted.",
              min=0, max=rules.VISIBILITY_MAX_S, step=1, unit="s"),
        Param("delay_seconds", "DelaySeconds", "float", 0.0,
              "Delay queue: new messages stay invisible this long.", min=0, max=rules.DELAY_MAX_S, step=1, unit="s"),
        Param("receive_wait_s", "ReceiveMessageWaitTimeSeconds", "float", 0.0,
              "Long polling: a receive waits up to this long for a message (0: short polling, which samples "
              "a subset of servers and may answer empty although messages exist).",
              min=0, max=rules.WAIT_MAX_S, step=1, unit="s"),
        Param("retention_s", "MessageRetentionPeriod", "float", rules.RETENTION_DEFAULT_S,
              "Messages older than this are deleted, received or not (60 s to 14 days).",
              min=rules.RETENTION_MIN_S, max=rules.RETENTION_MAX_S, step=60, unit="s"),
        Param("max_receive_count", "maxReceiveCount", "int", 10,
              "Redrive policy: receives after which a message moves to the dead-letter queue (only with a "
              "connection to one).", min=1, max=rules.MAX_RECEIVE_COUNT_MAX, step=1),
        Param("content_based_dedup", "ContentBasedDeduplication", "bool", False,
              "FIFO: without a MessageDeduplicationId, the SHA-256 of the body is the deduplication id."),
        Param("duplicate_probability", "Duplicate probability", "float", 0.001,
              "Standard queues: chance that a DeleteMessage misses a copy on an unavailable server, so the "
              "message is delivered again (at-least-once). A teaching knob: AWS states no rate.",
              min=0, max=0.5, step=0.001),
        Param("reorder_probability", "Reorder probability", "float", 0.01,
              "Standard queues: chance that a message is overtaken by up to 8 later ones (best-effort "
              "ordering). A teaching knob: AWS states no rate.", min=0, max=1, step=0.01),
        Param("short_poll_miss", "Short-poll miss probability", "float", 0.1,
              "Short polling asks a sample of servers: chance a receive finds none of the visible messages "
              "and answers empty. A teaching knob: AWS states no rate.", min=0, max=1, step=0.01),
    )

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """A redrive policy names one dead-letter queue of the same type as the source queue
        ("Using dead-letter queues in Amazon SQS")."""
        errors = []
        dlqs = [(path, edge) for path, edge in outgoing if nodes[edge.target].type == "sqs_queue"]
        for path, _edge in dlqs[1:]:
            errors.append(FieldError(path, f"queue {node.id} already has a dead-letter queue "
                                           f"({dlqs[0][1].target}); a redrive policy names one"))
        for path, edge in dlqs[:1]:
            mine, theirs = node.params["queue_type"], nodes[edge.target].params["queue_type"]
            if mine != theirs:
                errors.append(FieldError(path, f"the dead-letter queue of a {mine} queue must be a {mine} queue "
                                               f"too ({edge.target} is {theirs})"))
        return errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        dlq = sim.document.target_ids(node.id, "sqs_queue")
        return QueueRuntime(sim, node.id, node.params, dlq[0] if dlq else None)


@register
class SqsConsumer(NodeType):
    name = "sqs_consumer"
    label = "SQS Consumers"
    category = CATEGORY
    color = "#7c3aed"
    help = ("Workers polling one queue: ReceiveMessage (up to MaxNumberOfMessages), process each message, "
            "DeleteMessage it. A failed or crashed worker's messages come back when their visibility timeout "
            "passes.")
    ports = (
        In("messages", "records", "consume", "sqs"),
    )
    max_in = 1
    max_out = 0
    build_order = 30
    runtime_class = ConsumerRuntime
    params = (
        Param("consumers", "Consumers", "int", 2, "Polling workers at the start.", min=0, max=64, step=1,
              budget="consumers"),
        Param("max_messages", "MaxNumberOfMessages", "int", 1, "Messages one receive may return.",
              min=1, max=rules.MAX_MESSAGES, step=1),
        Param("processing_ms", "Processing time", "float", 100.0,
              "Mean time to process one message (exponentially distributed).", min=0, max=3_600_000,
              step=1, unit="ms"),
        Param("failure_rate", "Failure probability", "float", 0.0,
              "Chance that one processing attempt fails for a passing reason (the message is not deleted).",
              min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of messages that fail every attempt.", min=0, max=1, step=0.001),
        Param("on_failure", "On failure", "enum", "wait",
              "wait: leave the message, it comes back after its visibility timeout; release: "
              "ChangeMessageVisibility 0, back at once.", choices=("wait", "release")),
        Param("extend_visibility", "Extend visibility (heartbeat)", "bool", False,
              "Call ChangeMessageVisibility every half timeout for the messages in hand, so slow processing "
              "does not make them visible to others (at most 12 hours)."),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        queues = [n.id for n in sim.document.sources(node.id) if n.type == "sqs_queue"]
        return ConsumerRuntime(sim, node.id, node.params, queues[0] if queues else None)
