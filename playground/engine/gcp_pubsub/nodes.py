"""Declarations of the Google Cloud Pub/Sub node types. Defaults are Pub/Sub's own where it has
one (ack deadline 10 s, backoff 10 s to 600 s, 5 delivery attempts, 7 days of retention, the
client libraries' flow control of 1,000 messages / 100 MB and 60 min of lease extension)."""

from __future__ import annotations

from typing import Any

from playground.engine.gcp_pubsub import rules
from playground.engine.gcp_pubsub.filters import FilterError, parse_filter
from playground.engine.gcp_pubsub.runtime import PublisherRuntime, TopicRuntime
from playground.engine.gcp_pubsub.subscriber import SubscriberRuntime
from playground.engine.gcp_pubsub.subscription import SubscriptionRuntime
from playground.engine.ports import In, Out
from playground.engine.registry import FieldError, NodeType, Param, register, register_flow_kinds

register_flow_kinds("pubsub_publish", "pubsub_deliver", "pubsub_ack", "pubsub_expire", "pubsub_push_backoff",
                    "pubsub_ack_failed")

CATEGORY = "Google Pub/Sub"


@register
class PubsubPublisher(NodeType):
    name = "pubsub_publisher"
    label = "Pub/Sub Publisher"
    category = CATEGORY
    color = "#1a73e8"
    help = ("Publishes messages to one topic at a Poisson rate, optionally with ordering keys and "
            "attributes.")
    ports = (
        Out("messages", "records", "publish", "pubsub"),
    )
    max_in = 0
    max_out = 1
    build_order = 40
    runtime_class = PublisherRuntime
    params = (
        Param("rate", "Rate", "float", 20.0, "Messages published per second on average (Poisson arrivals).",
              min=0, max=20_000, step=1, unit="msg/s", budget="rate"),
        Param("ordering_keys", "Ordering keys", "int", 0,
              "How many ordering keys the messages carry, in turn (key-0, key-1 ...); 0: none. Only a "
              "subscription with message ordering enabled keeps their order.", min=0, max=10_000, step=1),
        Param("attributes", "Attributes", "map", {}, "Attributes every message carries (key=value)."),
        Param("attribute_values", "Varying attributes", "map", {},
              "Attributes whose value changes from message to message: key=v1|v2|v3 gives message n the value "
              "number n mod 3; an empty value (key=a|) leaves the attribute out of those messages. For "
              "subscription filters."),
        Param("message_bytes", "Message size", "int", 1024, "Size of each message (counts against flow control).",
              min=1, max=10_000_000, step=1, unit="bytes"),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = sim.document.target_ids(node.id, "pubsub_topic")
        return PublisherRuntime(sim, node.id, node.params, topics[0] if topics else None)


@register
class PubsubTopic(NodeType):
    name = "pubsub_topic"
    label = "Pub/Sub Topic"
    category = CATEGORY
    color = "#0b57d0"
    help = ("A named resource messages are published to. Every subscription attached to it gets its own copy "
            "of each message published after the subscription was created; a message published while it has "
            "no subscription is lost. A subscription connected to it makes it that subscription's dead-letter "
            "topic; it then lists the dead letters it receives.")
    ports = (
        In("messages", "records", "publish", "pubsub"),
        In("dead letters", "dead_letters", protocol="pubsub"),
        Out("subscriptions", "records", "route", "pubsub"),
    )
    max_in = None
    max_out = None
    build_order = 20
    runtime_class = TopicRuntime
    dead_letter_store = True
    params = (
        Param("message_retention_s", "Message retention", "float", 0.0,
              "Topic message retention duration: published messages are kept this long for seek and replay "
              "(0: none; Pub/Sub allows 10 minutes to 31 days).", min=0, max=2_678_400, step=60, unit="s"),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        r = values["message_retention_s"]
        if r and r < 600:
            errors.append(FieldError("message_retention_s", "must be 0 (none) or at least 600 s (10 minutes)"))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        subs = sim.document.target_ids(node.id, "pubsub_subscription")
        return TopicRuntime(node.id, node.params, subs)


@register
class PubsubSubscription(NodeType):
    name = "pubsub_subscription"
    label = "Pub/Sub Subscription"
    category = CATEGORY
    color = "#188038"
    help = ("A named stream of the topic's messages for one application: pull (subscribers ask for messages) "
            "or push (Pub/Sub sends HTTPS requests to an endpoint). Each delivery is leased for the ack "
            "deadline; what is nacked or not acked in time is redelivered after the retry policy's backoff, "
            "and after max delivery attempts goes to the dead-letter topic it is connected to.")
    ports = (
        In("topic", "records", "route", "pubsub"),
        Out("messages", "records", "consume", "pubsub"),
        Out("dead letters", "dead_letters", protocol="pubsub"),
    )
    max_in = 1
    max_out = None
    build_order = 10
    runtime_class = SubscriptionRuntime
    params = (
        Param("delivery", "Delivery", "enum", "pull", "pull: subscribers pull (streaming pull); push: Pub/Sub "
              "POSTs each message to the endpoint connected to it.", choices=("pull", "push")),
        Param("ack_deadline_s", "Ack deadline", "int", 10,
              "How long a delivered message is leased before Pub/Sub redelivers it (10 to 600 s). Pull clients "
              "extend it with ModifyAckDeadline; for push it is the request timeout.", min=10, max=600, step=1,
              unit="s"),
        Param("retry_policy", "Retry policy", "enum", "immediate",
              "immediate: redeliver at once; exponential: wait min backoff after the first failure, longer "
              "after each further one, up to max backoff.", choices=("immediate", "exponential")),
        Param("min_backoff_s", "Minimum backoff", "float", 10.0, "Exponential retry policy: first delay.",
              min=0, max=600, step=0.1, unit="s"),
        Param("max_backoff_s", "Maximum backoff", "float", 600.0, "Exponential retry policy: longest delay.",
              min=0, max=600, step=0.1, unit="s"),
        Param("max_delivery_attempts", "Max delivery attempts", "int", 5,
              "Dead-letter policy (with a dead-letter topic connected): after this many failed delivery "
              "attempts (nacks and expired deadlines) the message is forwarded there. 5 to 100; 0: none.",
              min=0, max=100, step=1),
        Param("message_ordering", "Message ordering", "bool", False,
              "Messages with the same ordering key are delivered in publish order, one at a time; a nacked or "
              "expired one holds the rest of its key back until it is redelivered."),
        Param("exactly_once", "Exactly-once delivery", "bool", False,
              "Pull only. A successfully acked message is never redelivered and acks are confirmed; an ack "
              "after the deadline fails (the subscriber is told) instead of silently leaving a duplicate."),
        Param("ack_loss_rate", "Lost acks (at-least-once)", "float", 0.0,
              "Without exactly-once, acks are best effort: this share of them is lost, and the message comes "
              "back after its deadline although the subscriber acked it.", min=0, max=1, step=0.001),
        Param("message_retention_s", "Message retention", "float", 604_800.0,
              "Unacked messages older than this are deleted (10 minutes to 7 days).",
              min=600, max=604_800, step=60, unit="s"),
        Param("created_at_s", "Created at", "float", 0.0,
              "Simulated time the subscription is created: it receives only messages published from then on.",
              min=0, max=3600, step=1, unit="s"),
        Param("filter", "Filter", "string", "",
              "Only messages whose attributes match are delivered; Pub/Sub acknowledges the others at once. "
              'Filter language: attributes:KEY, attributes.KEY = "v", attributes.KEY != "v", '
              'hasPrefix(attributes.KEY, "p"), NOT (or -), AND, OR, parentheses (256 bytes at most; empty: '
              "every message)."),
        Param("retain_acked_messages", "Retain acked messages", "bool", False,
              "Keep acknowledged messages for the message retention duration, so seeking back to a time "
              "delivers them again (without it, or a topic retention, only unacked ones come back)."),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        for name, message in (
            ("ack_deadline_s", rules.ack_deadline_error(values["ack_deadline_s"])),
            ("max_delivery_attempts", rules.max_delivery_attempts_error(values["max_delivery_attempts"])),
            ("exactly_once", rules.exactly_once_error(values["delivery"], values["exactly_once"])),
        ):
            if message and not any(e.path == name for e in errors):
                errors.append(FieldError(name, message))
        try:
            parse_filter(values["filter"])
        except FilterError as err:
            errors.append(FieldError("filter", str(err)))
        if values["max_backoff_s"] < values["min_backoff_s"]:
            errors.append(FieldError("max_backoff_s", "must be at least the minimum backoff"))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [n.id for n in sim.document.sources(node.id) if n.type == "pubsub_topic"]
        # every reader of its messages: subscribers, and nodes of other packages reading through
        # the Pub/Sub record adapter (a bridge); a topic it leads to is its dead-letter topic
        subscribers = [n.id for n in sim.document.targets(node.id) if n.type != "pubsub_topic"]
        dlq = sim.document.target_ids(node.id, "pubsub_topic")
        if node.params["delivery"] == "push":
            subscribers = subscribers[:1]  # one push endpoint per subscription
        return SubscriptionRuntime(sim, node.id, node.params, topics[0] if topics else None, subscribers,
                                   dlq[0] if dlq else None)


@register
class PubsubSubscriber(NodeType):
    name = "pubsub_subscriber"
    label = "Pub/Sub Subscriber"
    category = CATEGORY
    color = "#137333"
    help = ("Subscriber clients of a pull subscription (streaming pull with flow control and automatic lease "
            "extension), or, for a push subscription, the instances behind its HTTPS endpoint.")
    ports = (
        In("messages", "records", "consume", "pubsub"),
    )
    max_in = 1
    max_out = 0
    build_order = 5
    runtime_class = SubscriberRuntime
    params = (
        Param("consumers", "Subscribers / instances", "int", 2, "Clients (pull) or endpoint instances (push).",
              min=0, max=64, step=1, budget="consumers"),
        Param("threads", "Concurrency", "int", 4,
              "Messages each one processes at the same time (callback threads; for push, concurrent requests "
              "an instance serves).", min=1, max=256, step=1),
        Param("processing_ms", "Processing time", "float", 50.0,
              "Mean time to process one message (exponentially distributed).", min=0, max=3_600_000, step=0.1,
              unit="ms"),
        Param("max_outstanding_messages", "Max outstanding messages", "int", 1000,
              "Pull flow control: the most messages a client holds unacked (0: no limit).",
              min=0, max=100_000, step=1),
        Param("max_outstanding_bytes", "Max outstanding bytes", "int", 104_857_600,
              "Pull flow control: the most bytes a client holds unacked (0: no limit).",
              min=0, max=10_000_000_000, step=1, unit="bytes"),
        Param("lease_management", "Lease extension", "bool", True,
              "Pull: the client extends the ack deadline (ModifyAckDeadline) of every message it holds, "
              "buffered or being processed, until it acks it."),
        Param("max_lease_s", "Max lease extension", "float", 3600.0,
              "Pull: how long the client keeps extending one message's lease.", min=10, max=86_400, step=1,
              unit="s"),
        Param("failure_rate", "Failure probability", "float", 0.0,
              "Chance that one processing attempt fails for a passing reason.", min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of messages that fail every attempt.", min=0, max=1, step=0.001),
        Param("on_failure", "On failure", "enum", "nack",
              "nack: tell Pub/Sub at once (push: answer with an error status); ignore: neither ack nor nack, "
              "so the message returns when its ack deadline expires.", choices=("nack", "ignore")),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        subs = [n for n in sim.document.sources(node.id) if n.type == "pubsub_subscription"]
        sub = subs[0] if subs else None
        return SubscriberRuntime(sim, node.id, node.params, sub.id if sub else None,
                                 bool(sub and sub.params["delivery"] == "push"))
