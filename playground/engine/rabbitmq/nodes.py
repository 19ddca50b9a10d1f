"""Declarations of the RabbitMQ (AMQP 0-9-1) node types: parameters, bounds, units, help, ports.

Names follow the AMQP arguments they stand for (x-message-ttl, x-max-length, x-overflow,
x-max-priority, x-dead-letter-routing-key, basic.qos prefetch_count). Where RabbitMQ has a
default, it is the default here. A queue's dead-letter exchange is the exchange its outgoing
edge leads to; an exchange's outgoing edges are its bindings (or its alternate exchange).
"""

from __future__ import annotations

from typing import Any

from playground.engine.ports import In, Out
from playground.engine.rabbitmq.consumer import ConsumerRuntime
from playground.engine.rabbitmq.exchange import ExchangeRuntime
from playground.engine.rabbitmq.policy import (
    APPLY_TO,
    Policy,
    check_pattern,
    effective_arguments,
    effective_policy,
)
from playground.engine.rabbitmq.policy_runtime import PolicyRuntime
from playground.engine.rabbitmq.publisher import PublisherRuntime, parse_priorities
from playground.engine.rabbitmq.queue import OVERFLOW
from playground.engine.rabbitmq.queue_runtime import QueueRuntime
from playground.engine.rabbitmq.routing import EXCHANGE_TYPES, X_MATCH, Binding, parse_present
from playground.engine.rabbitmq.stream import parse_offset_spec
from playground.engine.rabbitmq.stream_runtime import StreamRuntime
from playground.engine.registry import FieldError, NodeType, Param, register, register_flow_kinds

register_flow_kinds("amqp_publish", "amqp_route", "amqp_deliver", "amqp_requeue", "amqp_dead_letter", "amqp_drop")

CATEGORY = "RabbitMQ"


@register
class AmqpPublisher(NodeType):
    name = "amqp_publisher"
    label = "AMQP Publisher"
    category = CATEGORY
    color = "#ea580c"
    help = ("Publishes messages to one exchange with routing keys and headers (or, connected straight "
            "to a queue, through the default exchange with the queue's name as routing key).")
    ports = (
        Out("messages", "records", "publish", "amqp"),
    )
    max_in = 0
    max_out = 1
    build_order = 40
    runtime_class = PublisherRuntime
    params = (
        Param("rate", "Rate", "float", 10.0, "Messages published per second on average (Poisson arrivals).",
              min=0, max=5000, step=1, unit="msg/s", budget="rate"),
        Param("routing_keys", "Routing keys", "string", "order.created.eu, order.paid.us",
              "Keys the messages carry, separated by commas (dot-separated words for a topic exchange).",
              max_length=1000),
        Param("key_order", "Key order", "enum", "cycle", "cycle: the keys in turn; random: drawn uniformly.",
              choices=("cycle", "random")),
        Param("headers", "Headers", "map", {},
              "Message headers (for a headers exchange); a value a|b|c is drawn from its alternatives "
              "for each message."),
        Param("priorities", "Priorities", "string", "",
              "Priority property and how often: priority:weight, e.g. 0:90, 9:10 (empty: no priority; "
              "it only matters to a queue declared with x-max-priority).", max_length=400),
        Param("message_ttl_ms", "Message TTL (expiration)", "float", 0.0,
              "Per-message expiration property (0: none). With a queue TTL too, the lower one counts.",
              min=0, max=86_400_000, step=1, unit="ms"),
        Param("delay_ms", "x-delay", "int", 0,
              "x-delay header: a delayed-message exchange holds the message this long before routing "
              "it (0: no header).", min=0, max=86_400_000, step=1, unit="ms"),
        Param("mandatory", "Mandatory", "bool", False,
              "basic.publish mandatory flag: an unroutable message is returned to the publisher "
              "(basic.return) rather than silently dropped; either way it reaches no queue."),
        Param("persistent", "Persistent (delivery_mode 2)", "bool", True,
              "Written to disk by a durable queue. No broker restart is simulated yet, so this changes "
              "nothing in a run."),
        Param("reply_to", "reply_to queue", "string", "",
              "Request-reply: id of the queue replies should go to; a consumer of these requests publishes "
              "its answer there through the default exchange, with correlation_id set. amq.rabbitmq.reply-to: "
              "direct reply-to, the replies come straight back to this publisher's channel (no queue).",
              max_length=64),
        Param("body_bytes", "Body size", "int", 100,
              "Bytes of each message body (what x-max-length-bytes and stream retention count).",
              min=0, max=134_217_728, step=1, unit="B"),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        try:
            parse_priorities(values["priorities"])
        except ValueError as exc:
            errors.append(FieldError("priorities", str(exc)))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        targets = [n for n in sim.document.targets(node.id) if n.type in ("amqp_exchange", "amqp_queue")]
        target = targets[0] if targets else None
        return PublisherRuntime(sim, node.id, node.params, target.id if target else None,
                                target is not None and target.type == "amqp_queue")


@register
class AmqpExchange(NodeType):
    name = "amqp_exchange"
    label = "AMQP Exchange"
    category = CATEGORY
    color = "#b45309"
    help = ("Routes each message to the queues whose bindings match it: direct (key equal), topic "
            "(* one word, # zero or more), fanout (every binding), headers (x-match all or any). Its "
            "outgoing connections are the bindings.")
    ports = (
        In("messages", "records", "publish", "amqp"),
        In("bound", "records", "route", "amqp"),
        In("dead letters", "dead_letters", protocol="amqp"),
        Out("bindings", "records", "route", "amqp"),
    )
    max_in = None
    max_out = None
    build_order = 15
    runtime_class = ExchangeRuntime
    params = (
        Param("type", "Type", "enum", "direct", "Exchange type: how bindings select queues.",
              choices=EXCHANGE_TYPES),
        Param("delayed", "Delayed-message exchange", "bool", False,
              "Model the rabbitmq_delayed_message_exchange plugin (type x-delayed-message with this "
              "type as x-delayed-type): a message with an x-delay header is held that long, then routed."),
    )
    edge_params = (
        Param("binding_key", "Binding key", "string", "",
              "Routing pattern of this binding: exact key (direct), pattern with * and # (topic); "
              "ignored by fanout and headers exchanges."),
        Param("x_match", "x-match", "enum", "all",
              "Headers exchange: all binding headers must match, or any one; the -with-x variants "
              "(RabbitMQ 3.10+) also compare x- headers.", choices=X_MATCH),
        Param("binding_headers", "Binding headers", "map", {},
              "Headers exchange: the header values this binding asks for."),
        Param("binding_present", "Headers present (no value)", "string", "",
              "Headers exchange: names of binding arguments without a value (AMQP type void), comma "
              "separated: each matches a message that has that header, whatever its value."),
        Param("alternate", "Alternate exchange", "bool", False,
              "This connection is not a binding but the exchange's alternate-exchange: messages it "
              "cannot route go there."),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        bindings: list[Binding] = []
        alternate = None
        for edge in sim.document.edges:
            if edge.source != node.id:
                continue
            target = sim.document.node(edge.target)
            p = {**{q.name: q.default for q in cls.edge_params}, **edge.params}
            if p["alternate"] and target.type == "amqp_exchange":
                alternate = alternate or target.id
                continue
            headers: dict[str, str | None] = dict(p["binding_headers"])
            for name in parse_present(p["binding_present"]):
                headers[name] = None
            bindings.append(Binding(target.id, p["binding_key"], p["x_match"], headers))
        policy = effective_policy(document_policies(sim.document), node.id, "exchange")
        if alternate is None and policy is not None:
            # the exchange's own alternate-exchange argument wins (rabbit_policy get_arg/3)
            ae = policy.definition.get("alternate-exchange")
            if any(n.id == ae and n.type == "amqp_exchange" for n in sim.document.nodes):
                alternate = ae
        return ExchangeRuntime(node.id, node.params["type"], bindings, alternate, bool(node.params["delayed"]))


@register
class AmqpQueue(NodeType):
    name = "amqp_queue"
    label = "AMQP Queue"
    category = CATEGORY
    color = "#15803d"
    help = ("A classic queue: FIFO (by priority with x-max-priority), pushed to its consumers in turn "
            "within their prefetch. A connection to an exchange makes it the queue's dead-letter exchange. "
            "Lists the dead letters it receives.")
    ports = (
        In("messages", "records", "publish", "amqp"),
        In("bound", "records", "route", "amqp"),
        Out("deliveries", "records", "consume", "amqp"),
        Out("dead letters", "dead_letters", protocol="amqp"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = QueueRuntime
    dead_letter_store = True
    params = (
        Param("queue_type", "x-queue-type", "enum", "classic",
              "classic: a single FIFO (with priorities); quorum: replicated with Raft (delivery limit, "
              "leader failover, no priorities); stream: an append-only log read by offset, messages stay "
              "after acks until retention removes them.", choices=("classic", "quorum", "stream")),
        Param("message_ttl_ms", "x-message-ttl", "float", 0.0,
              "Messages older than this expire, once they reach the head of the queue (0: no TTL). "
              "Not for streams.", min=0, max=86_400_000, step=1, unit="ms"),
        Param("max_length", "x-max-length", "int", 0,
              "Most ready messages the queue holds (unacknowledged ones do not count; 0: no limit). "
              "Not for streams.", min=0, max=1_000_000, step=1),
        Param("max_length_bytes", "x-max-length-bytes", "int", 0,
              "Most bytes of ready message bodies (0: no limit). For a stream: the retention size, "
              "enforced by deleting whole old segments.", min=0, max=10_000_000_000, step=1, unit="B"),
        Param("overflow", "x-overflow", "enum", "drop-head",
              "When full: drop-head drops (or dead-letters) the oldest; reject-publish refuses the new "
              "message; reject-publish-dlx refuses and dead-letters it (classic only).", choices=OVERFLOW),
        Param("max_priority", "x-max-priority", "int", 0,
              "Makes it a priority queue with priorities 0 to this (0: not a priority queue; RabbitMQ "
              "advises at most 10). Classic queues only.", min=0, max=255, step=1),
        Param("dead_letter_routing_key", "x-dead-letter-routing-key", "string", "",
              "Routing key for dead letters (empty: keep the message's own key). The dead-letter exchange "
              "is the exchange this queue is connected to."),
        Param("expires_ms", "x-expires", "float", 0.0,
              "The queue is deleted after being unused this long: no consumer and no basic.get (0: never). "
              "Its messages go with it.", min=0, max=86_400_000, step=1, unit="ms"),
        Param("delivery_limit", "x-delivery-limit", "int", -1,
              "Quorum: a message returned (nacked with requeue, or its consumer gone) more than this many "
              "times is dead-lettered with reason delivery_limit, or dropped (-1: no limit).",
              min=-1, max=1_000_000, step=1),
        Param("dead_letter_strategy", "x-dead-letter-strategy", "enum", "at-most-once",
              "Quorum: at-least-once keeps a dead letter in this queue until a queue behind the dead-letter "
              "exchange takes it (needs x-overflow reject-publish, else at-most-once applies).",
              choices=("at-most-once", "at-least-once")),
        Param("replicas", "x-quorum-initial-group-size", "int", 3,
              "Quorum: members of the Raft group. It works while a majority is up; the leader's failure "
              "(command Kill leader) elects another.", min=1, max=7, step=1),
        Param("max_age_s", "x-max-age", "float", 0.0,
              "Stream: segments whose messages are all older than this are deleted (0: no age limit).",
              min=0, max=31_536_000, step=1, unit="s"),
        Param("segment_bytes", "x-stream-max-segment-size-bytes", "int", 500_000_000,
              "Stream: size of a segment file; retention deletes whole segments, never the one being "
              "written.", min=1, max=3_000_000_000, step=1, unit="B"),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        kind = values.get("queue_type")
        if kind in ("quorum", "stream") and values.get("max_priority"):
            errors.append(FieldError("max_priority", f"x-max-priority is not supported by {kind} queues"))
        if kind == "quorum" and values.get("overflow") == "reject-publish-dlx":
            errors.append(FieldError("overflow", "reject-publish-dlx is not supported by quorum queues"))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        dlx = sim.document.target_ids(node.id, "amqp_exchange")
        policy = effective_policy(document_policies(sim.document), node.id, "queue")
        args = effective_arguments(node.params["queue_type"], queue_arguments(node.params, dlx[0] if dlx else None),
                                   policy)
        if node.params["queue_type"] == "stream":
            return StreamRuntime(sim, node.id, node.params, args, policy.name if policy else None)
        return QueueRuntime(sim, node.id, node.params, args, policy.name if policy else None)


def queue_arguments(params: dict[str, Any], dlx: str | None) -> dict[str, Any]:
    """A queue node's parameters as the x- arguments RabbitMQ would get (keys without "x-";
    None for an argument not given)."""
    kind = params["queue_type"]
    overflow = params["overflow"]
    return {
        "dead-letter-exchange": dlx,
        "dead-letter-routing-key": params["dead_letter_routing_key"] or None,
        "message-ttl": params["message_ttl_ms"] or None,
        "max-length": params["max_length"] or None,
        "max-length-bytes": params["max_length_bytes"] or None,
        # drop-head is the default: only a declared other value is an argument
        "overflow": overflow if overflow != "drop-head" else None,
        "expires": params["expires_ms"] or None,
        "delivery-limit": params["delivery_limit"] if kind == "quorum" and params["delivery_limit"] >= 0 else None,
        "dead-letter-strategy": params["dead_letter_strategy"] if kind == "quorum" else None,
        "max-age": params["max_age_s"] or None,
    }


def document_policies(document: Any) -> list[Policy]:
    """The document's policy nodes as policies (named by node id)."""
    return [policy_of(n.id, n.params) for n in document.nodes if n.type == "amqp_policy"]


def policy_of(name: str, p: dict[str, Any]) -> Policy:
    definition: dict[str, Any] = {}
    for key, value in (("dead-letter-exchange", p["dead_letter_exchange"]),
                       ("dead-letter-routing-key", p["dead_letter_routing_key"]),
                       ("message-ttl", p["message_ttl_ms"]), ("max-length", p["max_length"]),
                       ("max-length-bytes", p["max_length_bytes"]), ("expires", p["expires_ms"]),
                       ("max-age", p["max_age_s"]), ("alternate-exchange", p["alternate_exchange"])):
        if value:
            definition[key] = value
    if p["delivery_limit"] >= 0:
        definition["delivery-limit"] = p["delivery_limit"]
    for key, value in (("overflow", p["overflow"]), ("dead-letter-strategy", p["dead_letter_strategy"])):
        if value != "unset":
            definition[key] = value
    return Policy(name, p["pattern"], p["apply_to"], int(p["priority"]), definition)


@register
class AmqpPolicy(NodeType):
    name = "amqp_policy"
    label = "AMQP Policy"
    category = CATEGORY
    color = "#0e7490"
    help = ("A policy (rabbitmqctl set_policy): applies its definition to every queue (or exchange) whose "
            "name (node id) matches the pattern; of several matching policies the highest priority wins. "
            "Against a queue's own x- arguments: the lower limit wins, the queue's dead-letter settings win, "
            "and for quorum queues the policy's overflow and expires win. Connects to nothing.")
    ports = ()  # it applies by name pattern, not by edges
    max_in = 0
    max_out = 0
    build_order = 5
    runtime_class = PolicyRuntime
    params = (
        Param("pattern", "Pattern", "string", ".*",
              "Regular expression matched against queue and exchange ids (anywhere in the name unless "
              "anchored with ^ and $)."),
        Param("apply_to", "Apply to", "enum", "all", "What the policy applies to.", choices=APPLY_TO),
        Param("priority", "Priority", "int", 0, "Of several policies matching a name, the highest wins.",
              min=0, max=1000, step=1),
        Param("dead_letter_exchange", "dead-letter-exchange", "string", "",
              "Id of the exchange dead letters go to (empty: not set).", max_length=64),
        Param("dead_letter_routing_key", "dead-letter-routing-key", "string", "", "Empty: not set."),
        Param("message_ttl_ms", "message-ttl", "float", 0.0, "0: not set.", min=0, max=86_400_000, step=1,
              unit="ms"),
        Param("max_length", "max-length", "int", 0, "0: not set.", min=0, max=1_000_000, step=1),
        Param("max_length_bytes", "max-length-bytes", "int", 0, "0: not set.", min=0, max=10_000_000_000,
              step=1, unit="B"),
        Param("overflow", "overflow", "enum", "unset", "unset: not set.",
              choices=("unset", *OVERFLOW)),
        Param("expires_ms", "expires", "float", 0.0, "0: not set.", min=0, max=86_400_000, step=1, unit="ms"),
        Param("delivery_limit", "delivery-limit", "int", -1, "Quorum queues; -1: not set.", min=-1,
              max=1_000_000, step=1),
        Param("dead_letter_strategy", "dead-letter-strategy", "enum", "unset", "Quorum queues; unset: not set.",
              choices=("unset", "at-most-once", "at-least-once")),
        Param("max_age_s", "max-age", "float", 0.0, "Streams; 0: not set.", min=0, max=31_536_000, step=1,
              unit="s"),
        Param("alternate_exchange", "alternate-exchange", "string", "",
              "Exchanges: id of the alternate exchange (empty: not set).", max_length=64),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        if isinstance(values.get("pattern"), str):
            problem = check_pattern(values["pattern"])
            if problem:
                errors.append(FieldError("pattern", problem))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return PolicyRuntime(sim, node.id, policy_of(node.id, node.params))


@register
class AmqpConsumer(NodeType):
    name = "amqp_consumer"
    label = "AMQP Consumers"
    category = CATEGORY
    color = "#7c3aed"
    help = ("Consumers of one queue, each on its own channel with its prefetch (basic.qos): they process "
            "one message at a time and ack it, or nack / reject it when processing fails.")
    ports = (
        In("deliveries", "records", "consume", "amqp"),
    )
    max_in = 1
    max_out = 0
    build_order = 30
    runtime_class = ConsumerRuntime
    params = (
        Param("consumers", "Consumers", "int", 2, "Consumers at the start, each on its own channel.",
              min=0, max=64, step=1, budget="consumers"),
        Param("prefetch", "Prefetch (basic.qos)", "int", 10,
              "Most unacknowledged deliveries a consumer may hold (0: unlimited). Ignored with auto-ack.",
              min=0, max=10_000, step=1),
        Param("processing_ms", "Processing time", "float", 50.0,
              "Mean time to process one message (exponentially distributed).", min=0, max=600_000,
              step=0.1, unit="ms"),
        Param("ack_mode", "Acknowledgement", "enum", "manual",
              "manual: basic.ack after processing (at least once); auto: the broker forgets a message as "
              "it delivers it, so a failure or crash loses it (at most once).", choices=("manual", "auto")),
        Param("failure_rate", "Failure probability", "float", 0.0,
              "Chance that one processing attempt fails for a passing reason.", min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of messages that fail every attempt.", min=0, max=1, step=0.001),
        Param("on_failure", "On failure", "enum", "reject",
              "requeue: basic.nack requeue=true (a poison message loops forever); reject: basic.reject "
              "requeue=false (dead-lettered, or dropped without a DLX); requeue_once: requeue unless the "
              "delivery is already marked redelivered; ack: ignore the failure.",
              choices=("requeue", "reject", "requeue_once", "ack")),
        Param("stream_offset", "x-stream-offset", "string", "next",
              "Consuming a stream: where to start reading. first (oldest retained), last (the last chunk "
              "written), next (only new messages), an offset like 42, @12.5 (a timestamp: simulated "
              "seconds) or an interval back from now like 30s, 5m.", max_length=32),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        if isinstance(values.get("stream_offset"), str):
            try:
                parse_offset_spec(values["stream_offset"])
            except ValueError as exc:
                errors.append(FieldError("stream_offset", str(exc)))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        queues = [n.id for n in sim.document.sources(node.id) if n.type == "amqp_queue"]
        return ConsumerRuntime(sim, node.id, node.params, queues[0] if queues else None)
