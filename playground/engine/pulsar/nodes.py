"""Declarations of the Apache Pulsar node types. Defaults are Pulsar's own where it has one
(receiver queue 1000, negative-ack redelivery delay 1 min, ack timeout off, retention 0/0,
50,000 entries per ledger with a 10 min minimum rollover time, offload off, 4 h offload
deletion lag)."""

from __future__ import annotations

from typing import Any

from playground.engine.ports import In, Out
from playground.engine.pulsar import rules
from playground.engine.pulsar.consumer import ConsumerRuntime
from playground.engine.pulsar.replication import Replicator
from playground.engine.pulsar.runtime import ProducerRuntime, TopicRuntime
from playground.engine.pulsar.subscription import SubscriptionRuntime
from playground.engine.registry import FieldError, NodeType, Param, register, register_flow_kinds

register_flow_kinds("pulsar_produce", "pulsar_deliver")

CATEGORY = "Apache Pulsar"


@register
class PulsarProducer(NodeType):
    name = "pulsar_producer"
    label = "Pulsar Producer"
    category = CATEGORY
    color = "#188fff"
    help = ("Sends messages to one topic at a Poisson rate. With keys, a message goes to the partition of its "
            "key's hash (JavaStringHash); without, partitions take turns.")
    ports = (
        Out("messages", "records", "publish", "pulsar"),
    )
    max_in = 0
    max_out = 1
    build_order = 40
    runtime_class = ProducerRuntime
    params = (
        Param("rate", "Rate", "float", 20.0, "Messages per second on average (Poisson arrivals).",
              min=0, max=20_000, step=1, unit="msg/s", budget="rate"),
        Param("keys", "Keys", "int", 0, "How many message keys (key-0 ... in turn); 0: no key.",
              min=0, max=10_000, step=1),
        Param("message_bytes", "Message size", "int", 1024, "Bytes per message (stored in the ledgers).",
              min=1, max=5_242_880, step=1, unit="bytes"),
        Param("deliver_after_s", "Deliver after", "float", 0.0,
              "deliverAfter: each message is to be delivered this long after it is sent (0: at once). Shared "
              "and Key_Shared subscriptions hold it until then (up to 1 s early: the tracker's tick); "
              "Exclusive and Failover deliver it at once.", min=0, max=864_000, step=1, unit="s"),
        Param("resend_probability", "Retry probability", "float", 0.0,
              "Chance that the broker's receipt for a message is lost (connection dropped, send timeout) and "
              "the client sends it again 1 s later with the same producer name and sequence id: a topic with "
              "deduplication stores it once, one without stores it twice.", min=0, max=1, step=0.01),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = sim.document.target_ids(node.id, "pulsar_topic")
        return ProducerRuntime(sim, node.id, node.params, topics[0] if topics else None)


@register
class PulsarTopic(NodeType):
    name = "pulsar_topic"
    label = "Pulsar Topic"
    category = CATEGORY
    color = "#0b5394"
    help = ("A persistent topic (partitioned or not) stored as BookKeeper ledgers. Ledgers every subscription "
            "has acknowledged are deleted as retention allows; past the offload threshold, closed ledgers move "
            "to tiered storage. A subscription connected to it makes it that subscription's dead-letter topic. "
            "Connected to a topic of another cluster, it is geo-replicated there (messages produced in its own "
            "cluster, after the replication lag; connect both ways for two-way replication); commands "
            "fail_cluster / restore_cluster take its whole cluster down and back. Replicated subscriptions are "
            "synced one snapshot (1 s) behind, so a failover redelivers some messages; the snapshot handshake, "
            "message ids and namespace replication policies are not modelled.")
    ports = (
        In("messages", "records", "publish", "pulsar"),
        In("dead letters", "dead_letters", protocol="pulsar"),
        In("replicated", "records", "route", "pulsar", help="geo-replication from a topic of another cluster"),
        Out("subscriptions", "records", "route", "pulsar"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = TopicRuntime
    dead_letter_store = True
    params = (
        Param("partitions", "Partitions", "int", 0, "0: a non-partitioned topic; otherwise its partition count.",
              min=0, max=64, step=1, budget="partitions"),
        Param("retention_minutes", "Retention time", "float", 0.0,
              "Keep acknowledged messages this long (-1: for ever; 0: delete consumed ledgers at once).",
              min=-1, max=525_600, step=1, unit="min"),
        Param("retention_mb", "Retention size", "float", 0.0,
              "Keep at most this much acknowledged data (-1: no limit).", min=-1, max=1_000_000, step=1, unit="MB"),
        Param("ledger_max_entries", "Max entries per ledger", "int", 50_000,
              "managedLedgerMaxEntriesPerLedger: the ledger rolls over after this many entries ...",
              min=10, max=1_000_000, step=10),
        Param("ledger_min_rollover_s", "Min ledger rollover time", "float", 600.0,
              "... and once it is at least this old (managedLedgerMinLedgerRolloverTimeMinutes).",
              min=0, max=86_400, step=1, unit="s"),
        Param("offload_threshold_mb", "Offload threshold", "float", -1.0,
              "Offload closed ledgers to tiered storage while BookKeeper holds more than this (-1: never).",
              min=-1, max=1_000_000, step=0.1, unit="MB"),
        Param("offload_deletion_lag_s", "Offload deletion lag", "float", 14_400.0,
              "How long an offloaded ledger also stays in BookKeeper.", min=0, max=604_800, step=1, unit="s"),
        Param("deduplication", "Deduplication", "bool", False,
              "Broker-side message deduplication (brokerDeduplicationEnabled / set-deduplication): per producer "
              "name the broker keeps the highest sequence id stored and does not store a message at or below it."),
        Param("cluster", "Cluster", "string", "",
              "The Pulsar cluster this topic lives in (e.g. us-east; empty: its own). Geo-replication connects "
              "topics of different clusters; fail_cluster takes down every topic of the cluster.", max_length=64),
        Param("replication_lag_ms", "Replication lag", "float", 200.0,
              "Time for a message to reach the remote cluster's topic (network and replicator).",
              min=0, max=600_000, step=10, unit="ms"),
    )

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """Geo-replication ("Geo-replication"): between topics of different clusters, and a
        partitioned topic has the same partitions in every cluster (partition i replicates to
        partition i)."""
        errors = []
        for path, edge in outgoing:
            target = nodes[edge.target]
            if target.type != "pulsar_topic":
                continue
            mine = node.params.get("cluster") or node.id
            theirs = target.params.get("cluster") or target.id
            if mine == theirs:
                errors.append(FieldError(path, f"geo-replication is between clusters: {node.id} and {target.id} "
                                               f"are both in cluster {mine!r}"))
            if node.params.get("partitions") != target.params.get("partitions"):
                errors.append(FieldError(path, f"a geo-replicated topic has the same partitions in every cluster "
                                               f"({node.id}: {node.params.get('partitions')}, {target.id}: "
                                               f"{target.params.get('partitions')})"))
        return errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        subs = sim.document.target_ids(node.id, "pulsar_subscription")
        topic = TopicRuntime(sim, node.id, node.params, subs)
        remotes = sim.document.target_ids(node.id, "pulsar_topic")
        topic.replicators = [Replicator(i, node.id, remote, float(node.params["replication_lag_ms"]) / 1000.0,
                                        topic.partitions) for i, remote in enumerate(remotes)]
        return topic


@register
class PulsarSubscription(NodeType):
    name = "pulsar_subscription"
    label = "Pulsar Subscription"
    category = CATEGORY
    color = "#6d28d9"
    help = ("A durable cursor on the topic for one application. exclusive: one consumer, a second is refused; "
            "failover: one active consumer per partition, the others on standby; shared: round robin within "
            "permits, higher priority levels first; key_shared: each key always to the same consumer (hash "
            "ranges, auto-split). A topic "
            "connected to it is its dead-letter topic.")
    ports = (
        In("topic", "records", "route", "pulsar"),
        Out("messages", "records", "consume", "pulsar"),
        Out("dead letters", "dead_letters", protocol="pulsar"),
    )
    max_in = 1
    max_out = None
    build_order = 20
    runtime_class = SubscriptionRuntime
    params = (
        Param("type", "Subscription type", "enum", "exclusive", "How messages are spread over its consumers.",
              choices=rules.SUBSCRIPTION_TYPES),
        Param("ack_mode", "Acknowledgement", "enum", "individual",
              "individual: each message; cumulative: everything up to this message (Exclusive and Failover only).",
              choices=("individual", "cumulative")),
        Param("nack_redelivery_delay_ms", "Negative-ack redelivery delay", "int", 60_000,
              "negativeAckRedeliveryDelay: a nacked message is redelivered after this.", min=0, max=3_600_000,
              step=100, unit="ms"),
        Param("ack_timeout_ms", "Ack timeout", "int", 0,
              "ackTimeout: a message not acked this long after it was received is redelivered (0: off; "
              "at least 1000 ms).", min=0, max=3_600_000, step=100, unit="ms"),
        Param("max_redeliver_count", "Max redeliver count", "int", 3,
              "DeadLetterPolicy (with a dead-letter topic connected): a message redelivered this many times "
              "goes there on its next failure. The broker counts redeliveries on Shared and Key_Shared only.",
              min=0, max=1000, step=1),
        Param("subscription_name", "Subscription name", "string", "",
              "Its name on the topic (empty: the node id). Replicated subscriptions of the same name on "
              "geo-replicated topics are kept in step.", max_length=64),
        Param("replicated", "Replicated subscription", "bool", False,
              "replicateSubscriptionState: its mark-delete position is carried to the subscription of the same "
              "name in the other cluster, one snapshot behind (after that cluster's replication lag)."),
    )

    @classmethod
    def coerce_params(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
        values, errors = super().coerce_params(raw)
        message = rules.ack_mode_error(values["type"], values["ack_mode"])
        if message:
            errors.append(FieldError("ack_mode", message))
        message = rules.ack_timeout_error(values["ack_timeout_ms"])
        if message and not any(e.path == "ack_timeout_ms" for e in errors):
            errors.append(FieldError("ack_timeout_ms", message))
        return values, errors

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [n.id for n in sim.document.sources(node.id) if n.type == "pulsar_topic"]
        dlq = sim.document.target_ids(node.id, "pulsar_topic")
        return SubscriptionRuntime(sim, node.id, node.params, topics[0] if topics else None, dlq[0] if dlq else None)


@register
class PulsarConsumer(NodeType):
    name = "pulsar_consumer"
    label = "Pulsar Consumers"
    category = CATEGORY
    color = "#7c3aed"
    help = ("Consumers on one subscription, each with a receiver queue (its permits): they process one "
            "message at a time, then acknowledge it, or negatively acknowledge it when processing fails.")
    ports = (
        In("messages", "records", "consume", "pulsar"),
    )
    max_in = 1
    max_out = 0
    build_order = 30
    runtime_class = ConsumerRuntime
    params = (
        Param("consumers", "Consumers", "int", 2, "Consumers at the start (c1, c2 ...).", min=0, max=64, step=1,
              budget="consumers"),
        Param("processing_ms", "Processing time", "float", 20.0,
              "Mean time to process one message (exponentially distributed).", min=0, max=3_600_000, step=0.1,
              unit="ms"),
        Param("receiver_queue_size", "Receiver queue size", "int", 1000,
              "Messages the broker may push ahead to each consumer (permits, renewed half a queue at a time).",
              min=1, max=100_000, step=1),
        Param("failure_rate", "Failure probability", "float", 0.0,
              "Chance that one processing attempt fails for a passing reason.", min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of messages that fail every attempt.", min=0, max=1, step=0.001),
        Param("on_failure", "On failure", "enum", "nack",
              "nack: negativeAcknowledge (redelivered after the delay); no_ack: neither, so only the ack "
              "timeout brings it back.", choices=("nack", "no_ack")),
        Param("priority_level", "Priority level", "int", 0,
              "priorityLevel (Shared): 0 is the highest. The broker serves the consumers of the highest level "
              "that have permits, round robin among them, and turns to a lower level only when none has.",
              min=0, max=100, step=1),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        subs = [n.id for n in sim.document.sources(node.id) if n.type == "pulsar_subscription"]
        runtime = ConsumerRuntime(sim, node.id, node.params, subs[0] if subs else None)
        sim.components[node.id] = runtime  # the subscription calls back into it while connecting
        runtime.connect_all(sim)
        return runtime
