"""Declarations of the Kafka node types: parameters, bounds, units, help and ports.

Defaults follow the Kafka clients' own defaults where one exists (max.poll.records 500,
auto.commit.interval.ms 5000, heartbeat.interval.ms 3000, linger.ms 5 as of Kafka 4.0); the
help text says so, and says where the playground picks something friendlier to watch.
"""

from __future__ import annotations

from typing import Any

from playground.engine.kafka.cluster import ClusterRuntime
from playground.engine.kafka.group import GroupRuntime
from playground.engine.kafka.output import GroupOutput
from playground.engine.kafka.runtime import DlqRuntime, ProducerRuntime, TopicRuntime
from playground.engine.ports import In, Out
from playground.engine.record import ValueTemplate
from playground.engine.registry import FieldError, NodeType, Param, register, register_flow_kinds

register_flow_kinds("produce", "fetch", "process", "commit", "retry", "recovered")

MAX_BROKERS = 9
PRODUCER_PARAMS = (
    Param("key_null_share", "Records without a key", "float", 0.0,
          "Share of records sent with a null key: they go to the sticky partition (KIP-794, Kafka 3.3+), "
          "which changes once batch.size bytes went to it.", min=0, max=1, step=0.01),
    Param("acks", "acks", "enum", "all",
          "0: never acknowledged; 1: once the leader wrote it; all: once every in-sync replica has it "
          "(Kafka 3.0+ default).", choices=("0", "1", "all")),
    Param("enable_idempotence", "enable.idempotence", "bool", True,
          "Producer id and sequence numbers: no duplicates from retries, order kept (default true since "
          "Kafka 3.0; only in effect with acks=all and at most 5 requests in flight)."),
    Param("retries", "retries", "int", 2_147_483_647,
          "Times a failed batch is sent again (default: Integer.MAX_VALUE; delivery.timeout.ms bounds it).",
          min=0, max=2_147_483_647, step=1),
    Param("retry_backoff_ms", "retry.backoff.ms", "int", 100, "Wait before sending a failed batch again.",
          min=0, max=60_000, step=1, unit="ms"),
    Param("delivery_timeout_ms", "delivery.timeout.ms", "int", 120_000,
          "Time from send() after which a batch is given up, retries included (default 120000).",
          min=1, max=3_600_000, step=100, unit="ms"),
    Param("request_timeout_ms", "request.timeout.ms", "int", 30_000,
          "A request unanswered this long fails and is retried (default 30000).",
          min=1, max=600_000, step=100, unit="ms"),
    Param("max_in_flight", "max.in.flight.requests.per.connection", "int", 5,
          "Unanswered requests at once (default 5); above 1 without idempotence, retries can reorder.",
          min=1, max=100, step=1),
    Param("batch_size", "batch.size", "int", 16_384,
          "Most bytes in one batch for one partition (default 16384); also when the sticky partitioner "
          "moves on.", min=64, max=16_777_216, step=64, unit="bytes"),
    Param("record_bytes", "Record size", "int", 200, "Bytes of one record before compression.",
          min=1, max=1_000_000, step=1, unit="bytes"),
    Param("compression", "compression.type", "enum", "none",
          "Codec for whole batches: gzip and zstd shrink most, snappy and lz4 cost least CPU.",
          choices=("none", "gzip", "snappy", "lz4", "zstd")),
    Param("compression_ratio", "Compression ratio", "float", 0.0,
          "Compressed size / original size (0 = the codec's typical ratio: gzip 0.30, snappy 0.50, "
          "lz4 0.48, zstd 0.28).", min=0, max=1, step=0.01),
    Param("compression_cpu_ms_per_mb", "Compression CPU", "float", -1.0,
          "Producer CPU time per MB compressed (-1 = the codec's typical cost: gzip 25, snappy 2.5, "
          "lz4 2, zstd 5).", min=-1, max=1000, step=0.1, unit="ms/MB"),
    Param("network_mb_s", "Network", "float", 125.0,
          "Bandwidth from the producer to the brokers (125 MB/s = 1 Gbit/s).", min=0.1, max=10_000,
          step=0.1, unit="MB/s"),
    Param("buffer_memory", "buffer.memory", "int", 33_554_432,
          "Bytes the accumulator may hold (default 32 MiB); beyond, send() blocks and then fails.",
          min=1024, max=1_073_741_824, step=1024, unit="bytes"),
    Param("max_block_ms", "max.block.ms", "int", 60_000,
          "How long send() may block while buffer.memory is full; then it fails with a TimeoutException "
          "the application sees (default 60000).", min=0, max=3_600_000, step=100, unit="ms"),
    Param("transactional", "Transactional (transactional.id)", "bool", False,
          "Send in transactions: every transaction.ms the producer flushes and commits, and the "
          "coordinator writes a COMMIT (or ABORT) marker to each partition it wrote. Needs "
          "enable.idempotence with acks=all and at most 5 requests in flight."),
    Param("transaction_ms", "Transaction length", "int", 100,
          "How long each transaction stays open before commitTransaction() (the application's choice; "
          "Kafka Streams commits every commit.interval.ms, 100 ms under exactly-once).",
          min=1, max=600_000, step=1, unit="ms"),
    Param("abort_share", "Aborted transactions", "float", 0.0,
          "Share of transactions the application aborts (abortTransaction()); it sends their records "
          "again in the next one. read_committed consumers never see the aborted copies.",
          min=0, max=1, step=0.01),
)


def effective_replication(cluster: dict[str, Any], topic: dict[str, Any]) -> tuple[int, int]:
    """The topic's replication factor and min.insync.replicas, the cluster's defaults for 0."""
    rf = topic.get("replication_factor") or cluster["default_replication_factor"]
    min_isr = topic.get("min_insync_replicas") or cluster["min_insync_replicas"]
    return int(rf), int(min_isr)


DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
# Topic configs (and the two broker settings that time the housekeeping), Kafka's defaults.
STORAGE_PARAMS = (
    Param("cleanup_policy", "cleanup.policy", "enum", "delete",
          "delete: old segments are deleted by retention.ms / retention.bytes; compact: the log cleaner "
          "keeps the latest record of each key; compact,delete: both.",
          choices=("delete", "compact", "compact,delete")),
    Param("record_bytes", "Record size", "int", 100,
          "Bytes one record takes in a segment (key, value, headers, batch overhead); a tombstone takes 24.",
          min=24, max=1_000_000, step=1, unit="bytes"),
    Param("segment_bytes", "segment.bytes", "int", 1_073_741_824,
          "The active segment rolls when the next batch would make it larger than this (default 1 GiB; "
          "a few KiB shows segments rolling in a demo).", min=1024, max=1_073_741_824, step=1024, unit="bytes"),
    Param("segment_ms", "segment.ms", "int", 7 * DAY_MS,
          "The active segment also rolls, at the next append, once its first record is this old (default 7 days).",
          min=1000, max=YEAR_MS, step=1000, unit="ms"),
    Param("index_interval_bytes", "index.interval.bytes", "int", 4096,
          "Bytes appended between two entries of the sparse offset and time indexes (default 4096).",
          min=0, max=16_777_216, step=1, unit="bytes"),
    Param("retention_ms", "retention.ms", "int", 7 * DAY_MS,
          "With cleanup.policy delete: a segment whose newest record is older than this is deleted, whole "
          "(default 7 days; -1 keeps everything).", min=-1, max=YEAR_MS, step=1, unit="ms"),
    Param("retention_bytes", "retention.bytes", "int", -1,
          "With cleanup.policy delete: oldest segments are deleted while the partition is larger than this "
          "by a whole segment (default -1: no limit).", min=-1, max=1_099_511_627_776, step=1, unit="bytes"),
    Param("retention_check_ms", "log.retention.check.interval.ms", "int", 300_000,
          "Broker setting: how often retention is checked (default 5 minutes; the first check after 30 s).",
          min=100, max=DAY_MS, step=100, unit="ms"),
    Param("min_cleanable_dirty_ratio", "min.cleanable.dirty.ratio", "float", 0.5,
          "The cleaner compacts a partition once its dirty (not yet compacted) bytes exceed this share "
          "of the cleanable log (default 0.5).", min=0.01, max=0.99, step=0.01),
    Param("min_compaction_lag_ms", "min.compaction.lag.ms", "int", 0,
          "A segment holding a record younger than this is not compacted yet (default 0).",
          min=0, max=YEAR_MS, step=1000, unit="ms"),
    Param("delete_retention_ms", "delete.retention.ms", "int", DAY_MS,
          "A tombstone stays this long after the cleaner first sees it, so slow readers still see the "
          "delete (default 1 day).", min=0, max=YEAR_MS, step=1000, unit="ms"),
    Param("cleaner_backoff_ms", "log.cleaner.backoff.ms", "int", 15_000,
          "Broker setting: how long the cleaner sleeps when no partition needs cleaning (default 15 s).",
          min=100, max=DAY_MS, step=100, unit="ms"),
)


@register
class Producer(NodeType):
    name = "producer"
    label = "Producer"
    category = "Kafka"
    color = "#2563eb"
    help = "Sends keyed records to one Kafka topic; the key decides the partition (murmur2)."
    ports = (
        Out("records", "records", "publish", "kafka"),
    )
    # its records' values, made again from the log's columns (kafka/records.py)
    value_template = ValueTemplate((("key", "key"), ("seq", "serial"), ("amount", "amount")))
    max_in = 0
    max_out = 1
    build_order = 20
    runtime_class = ProducerRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [sim.components[n.id] for n in sim.document.targets(node.id) if n.type == "kafka_topic"]
        return ProducerRuntime(sim, node.id, node.params, topics[0] if topics else None,
                               track_origins=counts_duplicates(sim.document))

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """Kafka refuses a transactional.id without idempotence (ConfigException), and
        idempotence needs acks=all and at most 5 requests in flight."""
        params = node.params
        if params.get("transactional") and not (params["enable_idempotence"] and params["acks"] == "all"
                                                and params["max_in_flight"] <= 5):
            index = list(nodes).index(node.id)
            return [FieldError(f"nodes[{index}].params.transactional",
                               "a transactional producer needs enable.idempotence on, acks=all and "
                               "max.in.flight.requests.per.connection at most 5")]
        return []
    params = (
        Param("rate", "Rate", "float", 50.0, "Records sent per second on average (Poisson arrivals).",
              min=0, max=200_000, step=1, unit="msg/s", budget="rate"),
        Param("keys", "Distinct keys", "int", 100,
              "How many different keys the records carry (key-0, key-1, ...).", min=1, max=100_000, step=1),
        Param("key_skew", "Key skew", "float", 0.0,
              "Zipf exponent of key popularity: 0 = every key equally likely, 1 or more = a few hot keys.",
              min=0, max=3, step=0.1),
        Param("linger_ms", "Linger", "float", 5.0,
              "linger.ms: how long records wait to fill a batch before it is sent (Kafka 4.0 default: 5).",
              min=1, max=1000, step=1, unit="ms"),
        Param("tombstone_share", "Tombstones", "float", 0.0,
              "Share of records sent with a null value: a tombstone, which on a compacted topic deletes "
              "its key once delete.retention.ms has passed.", min=0, max=1, step=0.01),
        *PRODUCER_PARAMS,
    )


@register
class KafkaTopic(NodeType):
    name = "kafka_topic"
    label = "Kafka Topic"
    category = "Kafka"
    color = "#0f766e"
    help = "An append-only log split into partitions; order holds within a partition only."
    ports = (
        In("records", "records", "publish", "kafka"),
        In("placement", "placement", protocol="kafka"),
        Out("records", "records", "consume", "kafka"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = TopicRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        runtime = TopicRuntime(node.id, node.params["partitions"], node.params)
        clusters = [n for n in sim.document.sources(node.id) if n.type == "kafka_cluster"]
        if clusters:
            cluster = sim.components[clusters[0].id]
            rf, min_isr = effective_replication(clusters[0].params, node.params)
            runtime.attach_cluster(sim, cluster, rf, min_isr)
        return runtime
    params = (
        Param("partitions", "Partitions", "int", 6,
              "Number of partitions: the unit of parallelism and of ordering.", min=1, max=256, step=1,
              budget="partitions"),
        Param("replication_factor", "replication.factor", "int", 0,
              "Copies of each partition, on different brokers, when the topic belongs to a cluster "
              "(0 = the cluster's default.replication.factor). Without a cluster: one ideal broker.",
              min=0, max=MAX_BROKERS, step=1),
        Param("min_insync_replicas", "min.insync.replicas", "int", 0,
              "Fewest in-sync replicas for an acks=all write to be accepted; fewer gives NotEnoughReplicas "
              "(0 = the cluster's min.insync.replicas).", min=0, max=MAX_BROKERS, step=1),
        *STORAGE_PARAMS,
    )


@register
class ConsumerGroup(NodeType):
    name = "consumer_group"
    label = "Consumer Group"
    category = "Kafka"
    color = "#7c3aed"
    help = ("Consumers sharing the work of the topics it reads: each partition goes to exactly one "
            "member (its partition.assignment.strategy decides which); failed records are retried with "
            "backoff, then dead-lettered.")
    ports = (
        In("records", "records", "consume", "kafka"),
        Out("output", "records", "publish", "kafka", help="the topic its consume-process-produce loop writes"),
        Out("dead letters", "dead_letters", protocol="kafka"),
    )
    max_in = None
    max_out = 2
    build_order = 30
    runtime_class = GroupRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        topics = [sim.components[n.id] for n in sim.document.sources(node.id) if n.type == "kafka_topic"]
        dlqs = [n.id for n in sim.document.targets(node.id) if n.type == "dlq"]
        outputs = [n.id for n in sim.document.targets(node.id) if n.type == "kafka_topic"]
        group = GroupRuntime(sim, node.id, node.params, topics, dlqs[0] if dlqs else None,
                             outputs[0] if outputs else None)
        if outputs and sim.components[outputs[0]].parts is not None:
            writer = GroupOutput(node.id, sim.components[outputs[0]])
            sim.components[writer.id] = writer
            group.out_writer = writer.id
        return group

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """At most one dead letter queue and one output topic."""
        errors = []
        seen: set[str] = set()
        for path, edge in outgoing:
            kind = nodes[edge.target].type
            if kind in seen:
                what = "dead letter queue" if kind == "dlq" else "output topic"
                errors.append(FieldError(path, f"a consumer group has at most one {what}"))
            seen.add(kind)
        return errors

    @classmethod
    def check_graph(cls, node: Any, edges: list[Any], paths: dict[str, str], nodes: dict[str, Any]) -> list[FieldError]:
        """The output topic is not one the group reads (each record it writes would come back)."""
        errors = []
        for edge in edges:
            if edge.source != node.id or nodes[edge.target].type != "kafka_topic":
                continue
            topic = edge.target
            if any(e.source == topic and e.target == node.id for e in edges):
                errors.append(FieldError(paths[edge.id], f"group {node.id!r} reads topic {topic!r}: it cannot "
                                                         "also write to it"))
        return errors

    params = (
        Param("consumers", "Consumers", "int", 2, "Members of the group at the start.", min=1, max=64, step=1,
              budget="consumers"),
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
              "How partitions are shared among members: range (per topic, consecutive ranges), roundrobin "
              "(all partitions dealt in turn), sticky (balanced, keeping what members owned) - all three "
              "with the eager protocol, every member revoking everything - or cooperative-sticky (the "
              "cooperative protocol: only partitions that move are revoked, then placed in a second "
              "rebalance).",
              choices=("range", "roundrobin", "sticky", "cooperative-sticky")),
        Param("static_membership", "Static membership", "bool", False,
              "group.instance.id set on every consumer (KIP-345): a member that restarts within "
              "session.timeout.ms gets its partitions back with no rebalance, and leaving does not "
              "send LeaveGroup (its partitions wait for the session timeout).", ),
        Param("static_consumers", "Static consumers", "int", 0,
              "When static membership is off: how many consumers have a group.instance.id (the first N: "
              "consumer-1 ... consumer-N); the others are dynamic. The range and round-robin assignors sort "
              "static members first, by group.instance.id (MemberInfo.compareTo).", min=0, max=64, step=1),
        Param("auto_offset_reset", "auto.offset.reset", "enum", "earliest",
              "Where a partition with no committed offset (or one out of the log's range) starts: earliest "
              "(the log start), latest (the log end: what was written before is skipped; Kafka's default, "
              "earliest here so that a run shows its first records), none (poll() throws "
              "NoOffsetForPartitionException and the consumer's process exits: set offsets with a reset).",
              choices=("earliest", "latest", "none")),
        Param("consumer_racks", "Consumer racks", "string", "",
              "Racks (availability zones) the consumers run in, dealt in turn: 'a,b,c' puts consumer-1 in a, "
              "consumer-2 in b... Empty: not placed. Fetches from a broker in another rack count as cross-rack "
              "(the topic needs a cluster with racks).", max_length=200),
        Param("client_rack", "client.rack", "bool", True,
              "Set client.rack to the consumer's rack: the range and sticky assignors prefer partitions with a "
              "replica in it (KIP-881), and it fetches from that replica (KIP-392, brokers with "
              "replica.selector.class=RackAwareReplicaSelector). Off: the assignors know no racks and every "
              "fetch goes to the leader."),
        Param("max_poll_records", "max.poll.records", "int", 500,
              "Most records one poll returns (Kafka default: 500).", min=1, max=10_000, step=1),
        Param("max_poll_interval_ms", "max.poll.interval.ms", "int", 300_000,
              "A member whose processing of one poll takes longer than this leaves the group (LeaveGroup "
              "from the heartbeat thread) and rejoins when it polls again (Kafka default: 300000).",
              min=1000, max=3_600_000, step=1000, unit="ms"),
        Param("restart_every_ms", "Rolling restart every", "int", 0,
              "Scheduled restarts, as in a rolling deployment: every this often the next member in turn "
              "crashes and starts again after the restart downtime; 0 = never.", min=0, max=3_600_000,
              step=1000, unit="ms"),
        Param("restart_down_ms", "Restart downtime", "int", 3000,
              "How long each scheduled restart keeps the consumer's process down.", min=0, max=600_000,
              step=100, unit="ms"),
        Param("check_order", "Check order", "bool", False,
              "Count records processed out of order: after a record the brokers appended later (total "
              "order, which only a single partition keeps) and after a later record of the same key (the "
              "per-key order Kafka keeps within a partition, broken by retries that move a record later). "
              "Costs some simulation speed."),
        Param("isolation_level", "isolation.level", "enum", "read_uncommitted",
              "read_committed: fetch only below the last stable offset and skip the records of aborted "
              "transactions; read_uncommitted (the consumer's default): read everything up to the high "
              "watermark, open and aborted transactions included.",
              choices=("read_uncommitted", "read_committed")),
        Param("processing_guarantee", "processing.guarantee", "enum", "at_least_once",
              "With an output topic (consume-process-produce): at_least_once writes the outputs at once and "
              "commits offsets by the commit strategy (a crash in between writes them again); exactly_once "
              "puts each member's outputs and its offsets in one transaction and reads read_committed "
              "(Kafka Streams' EOS v2).",
              choices=("at_least_once", "exactly_once")),
        Param("commit_interval_ms", "commit.interval.ms (exactly once)", "int", 100,
              "Under exactly_once: how often each member commits its transaction (Kafka Streams' default "
              "under exactly-once: 100).", min=1, max=600_000, step=1, unit="ms"),
        Param("transaction_timeout_ms", "transaction.timeout.ms", "int", 10_000,
              "Under exactly_once: a crashed member's open transaction is aborted by the coordinator after "
              "this long, unless its process restarts first (Kafka Streams sets 10000 under exactly-once).",
              min=1000, max=900_000, step=1000, unit="ms"),
        Param("count_duplicates", "Count end-to-end duplicates", "bool", False,
              "Count records processed again under the same origin: the message the first producer sent, "
              "kept through every consume-process-produce step."),
        Param("lag_alert", "Lag alert threshold", "int", 0,
              "Raise an alert while the group's lag (log end minus committed offsets, summed) is above "
              "this many records, sampled every 0.5 s; 0 = no alert.", min=0, max=100_000_000, step=1,
              unit="records"),
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
    ports = (
        In("dead letters", "dead_letters", protocol="kafka"),
    )
    max_in = None
    max_out = 0
    build_order = 10
    runtime_class = DlqRuntime
    dead_letter_store = True

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return DlqRuntime(node.id)
    params = ()


@register
class KafkaCluster(NodeType):
    name = "kafka_cluster"
    label = "Kafka Cluster"
    category = "Kafka"
    color = "#475569"
    help = ("Brokers that hold the replicas of the topics it connects to: leaders, followers, the ISR and "
            "the high watermark; kill, slow or cut off a broker during a run.")
    ports = (
        Out("placement", "placement", protocol="kafka", help="the topics whose partitions it hosts"),
    )
    max_in = 0
    max_out = None
    build_order = 5
    runtime_class = ClusterRuntime

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return ClusterRuntime(sim, node.id, node.params)

    @classmethod
    def check_edges(cls, node: Any, outgoing: list[tuple[str, Any]], nodes: dict[str, Any]) -> list[FieldError]:
        """A topic's replication factor cannot exceed the brokers (Kafka: InvalidReplicationFactor),
        nor its min.insync.replicas the replication factor (every acks=all write would fail)."""
        errors = []
        brokers = node.params["brokers"]
        index = {node_id: i for i, node_id in enumerate(nodes)}
        if node.params["default_replication_factor"] > brokers:
            errors.append(FieldError(f"nodes[{index[node.id]}].params.default_replication_factor",
                                     f"must be at most {brokers}, the number of brokers"))
        for _, edge in outgoing:
            topic = nodes[edge.target]
            if topic.type != "kafka_topic":
                continue
            rf, min_isr = effective_replication(node.params, topic.params)
            path = f"nodes[{index[topic.id]}].params"
            if rf > brokers:
                errors.append(FieldError(f"{path}.replication_factor",
                                         f"is {rf} but cluster {node.id!r} has {brokers} broker"
                                         f"{'s' if brokers != 1 else ''}"))
            elif min_isr > rf:
                errors.append(FieldError(f"{path}.min_insync_replicas",
                                         f"is {min_isr}, more than the replication factor {rf}: every acks=all "
                                         "write would fail with NotEnoughReplicas"))
        return errors

    params = (
        Param("brokers", "Brokers", "int", 3, "Broker processes in the cluster.", min=1, max=MAX_BROKERS, step=1),
        Param("default_replication_factor", "default.replication.factor", "int", 3,
              "Replication factor of its topics that set none (Kafka's default is 1; 3 is the usual choice).",
              min=1, max=MAX_BROKERS, step=1),
        Param("min_insync_replicas", "min.insync.replicas", "int", 2,
              "Default for its topics: fewest in-sync replicas for an acks=all write (Kafka's default is 1; "
              "2 with replication factor 3 is the usual choice).", min=1, max=MAX_BROKERS, step=1),
        Param("replica_lag_time_max_ms", "replica.lag.time.max.ms", "int", 30_000,
              "A follower that has not caught up with the leader for this long leaves the ISR (default 30000).",
              min=100, max=600_000, step=100, unit="ms"),
        Param("unclean_leader_election_enable", "unclean.leader.election.enable", "bool", False,
              "When no in-sync replica is alive, elect an out-of-sync one anyway: the partition comes back, "
              "and what only the old leader had is lost (default false: the partition stays offline)."),
        Param("broker_session_timeout_ms", "broker.session.timeout.ms", "int", 9_000,
              "The controller declares a broker that stopped heartbeating gone after this long, and moves "
              "its leaderships (KRaft default 9000; zookeeper.session.timeout.ms, 18000, before KRaft).",
              min=100, max=600_000, step=100, unit="ms"),
        Param("racks", "Racks", "int", 0,
              "broker.rack: the brokers are spread over this many racks (a, b, c...: broker 1 in a, 2 in b...) and "
              "each partition's replicas over as many racks as they can be (rack-aware placement); 0 = no rack.",
              min=0, max=MAX_BROKERS, step=1),
        Param("replica_fetch_ms", "Replica fetch round trip", "float", 5.0,
              "Time for a follower's fetch to reach the leader and come back with the new records.",
              min=0.1, max=10_000, step=0.1, unit="ms"),
    )


def counts_duplicates(document: Any) -> bool:
    """Whether some group counts end-to-end duplicates: producers then give records origin ids."""
    return any(n.type == "consumer_group" and n.params.get("count_duplicates") for n in document.nodes)
