"""Declarations of the Kafka node types: parameters, bounds, units, help and ports.

Defaults follow the Kafka clients' own defaults where one exists (max.poll.records 500,
auto.commit.interval.ms 5000, heartbeat.interval.ms 3000, linger.ms 5 as of Kafka 4.0); the
help text says so, and says where the playground picks something friendlier to watch.
"""

from __future__ import annotations

from typing import Any

from playground.engine.kafka.group import GroupRuntime
from playground.engine.kafka.runtime import DlqRuntime, ProducerRuntime, TopicRuntime
from playground.engine.registry import NodeType, Param, register, register_flow_kinds

register_flow_kinds("produce", "fetch", "process", "commit", "retry", "recovered")


@register
class Producer(NodeType):
    name = "producer"
    label = "Producer"
    category = "Kafka"
    color = "#2563eb"
    help = "Sends keyed records to one Kafka topic; the key decides the partition (murmur2)."
    accepts_from = ()
    max_in = 0
    max_out = 1
    build_order = 20
    runtime_class = ProducerRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [sim.components[n.id] for n in sim.document.targets(node.id) if n.type == "kafka_topic"]
        return ProducerRuntime(sim, node.id, node.params, topics[0] if topics else None)
    params = (
        Param("rate", "Rate", "float", 50.0, "Records sent per second on average (Poisson arrivals).",
              min=0, max=200_000, step=1, unit="msg/s"),
        Param("keys", "Distinct keys", "int", 100,
              "How many different keys the records carry (key-0, key-1, ...).", min=1, max=100_000, step=1),
        Param("key_skew", "Key skew", "float", 0.0,
              "Zipf exponent of key popularity: 0 = every key equally likely, 1 or more = a few hot keys.",
              min=0, max=3, step=0.1),
        Param("linger_ms", "Linger", "float", 5.0,
              "linger.ms: how long records wait to fill a batch before it is sent (Kafka 4.0 default: 5).",
              min=1, max=1000, step=1, unit="ms"),
    )


@register
class KafkaTopic(NodeType):
    name = "kafka_topic"
    label = "Kafka Topic"
    category = "Kafka"
    color = "#0f766e"
    help = "An append-only log split into partitions; order holds within a partition only."
    accepts_from = ("producer",)
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = TopicRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return TopicRuntime(node.id, node.params["partitions"])
    params = (
        Param("partitions", "Partitions", "int", 6,
              "Number of partitions: the unit of parallelism and of ordering.", min=1, max=256, step=1),
    )


@register
class ConsumerGroup(NodeType):
    name = "consumer_group"
    label = "Consumer Group"
    category = "Kafka"
    color = "#7c3aed"
    help = ("Consumers sharing the work of the topics it reads: each partition goes to exactly one "
            "member (range assignor); failed records are retried with backoff, then dead-lettered.")
    accepts_from = ("kafka_topic",)
    max_in = None
    max_out = 1
    build_order = 30
    runtime_class = GroupRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [sim.components[n.id] for n in sim.document.sources(node.id) if n.type == "kafka_topic"]
        dlqs = [n.id for n in sim.document.targets(node.id) if n.type == "dlq"]
        return GroupRuntime(sim, node.id, node.params, topics, dlqs[0] if dlqs else None)
    params = (
        Param("consumers", "Consumers", "int", 2, "Members of the group at the start.", min=1, max=64, step=1),
        Param("processing_ms", "Processing time", "float", 20.0,
              "Mean time to process one record (exponentially distributed).",
              min=0.001, max=60_000, step=0.001, unit="ms"),
        Param("failure_rate", "Transient failure probability", "float", 0.0,
              "Chance that one processing attempt fails for a passing reason; a retry may succeed.",
              min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of records that fail every attempt (a poison message): they end in the DLQ.",
              min=0, max=1, step=0.001),
        Param("max_attempts", "Max attempts", "int", 4,
              "Processing attempts per record, the first included, before it is dead-lettered.",
              min=1, max=20, step=1),
        Param("backoff_ms", "Retry backoff", "float", 100.0,
              "Wait before the first retry; each further retry waits this times the multiplier.",
              min=0, max=600_000, step=1, unit="ms"),
        Param("backoff_multiplier", "Backoff multiplier", "float", 2.0,
              "Exponential backoff factor between retries (1 = fixed backoff).", min=1, max=10, step=0.1),
        Param("commit", "Offset commits", "enum", "auto",
              "auto: enable.auto.commit, in poll every auto.commit.interval.ms (at least once, duplicates "
              "after a crash); after_processing: commitSync after each batch (at least once, fewer "
              "duplicates); before_processing: commit as soon as a poll returns (at most once: a crash "
              "loses the batch in hand).",
              choices=("auto", "after_processing", "before_processing")),
        Param("assignor", "partition.assignment.strategy", "enum", "range",
              "How partitions are shared among members: range (per topic, consecutive ranges; Kafka's "
              "default) or roundrobin (all partitions dealt in turn).",
              choices=("range", "roundrobin")),
        Param("static_membership", "Static membership", "bool", False,
              "group.instance.id set on every consumer (KIP-345): a member that restarts within "
              "session.timeout.ms gets its partitions back with no rebalance, and leaving does not "
              "send LeaveGroup (its partitions wait for the session timeout).", ),
        Param("max_poll_records", "max.poll.records", "int", 500,
              "Most records one poll returns (Kafka default: 500).", min=1, max=10_000, step=1),
        Param("fetch_ms", "Fetch round trip", "float", 1.0,
              "Time for a fetch request to reach the broker and come back.", min=0.01, max=10_000,
              step=0.01, unit="ms"),
        Param("auto_commit_interval_ms", "auto.commit.interval.ms", "int", 5000,
              "Offsets are committed at most this often, in poll, and on every revocation (Kafka default: 5000).",
              min=100, max=600_000, step=100, unit="ms"),
        Param("session_timeout_ms", "session.timeout.ms", "int", 10_000,
              "A member whose heartbeats stop is removed after this long (Kafka 3.0+ default: 45000; "
              "10000 here to keep demos short; brokers refuse less than 6000).",
              min=6000, max=1_800_000, step=1000, unit="ms"),
        Param("heartbeat_interval_ms", "heartbeat.interval.ms", "int", 3000,
              "Members learn of a rebalance at their next heartbeat (Kafka default: 3000).",
              min=100, max=60_000, step=100, unit="ms"),
    )


@register
class DeadLetterQueue(NodeType):
    name = "dlq"
    label = "Dead Letter Queue"
    category = "Kafka"
    color = "#dc2626"
    help = "A topic that keeps the records a consumer group gave up on, with why and after how many attempts."
    accepts_from = ("consumer_group",)
    max_in = None
    max_out = 0
    build_order = 10
    runtime_class = DlqRuntime
    dead_letter_store = True

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return DlqRuntime(node.id)
    params = ()
