"""Declarations of the Redis node types: Pub/Sub (publisher, channel, subscriber) and Streams
(stream, consumer group, dead-letter stream). Defaults follow Redis's own where one exists
(stream-node-max-entries 100, XAUTOCLAIM COUNT 100); the help text says where the playground
picks something friendlier to watch."""

from __future__ import annotations

from typing import Any

from playground.engine.ports import In, Out
from playground.engine.redisx.consumers import StreamGroupRuntime
from playground.engine.redisx.pubsub import Subscription
from playground.engine.redisx.runtime import (
    ChannelRuntime,
    DeadLetterStreamRuntime,
    PublisherRuntime,
    StreamRuntime,
    SubscriberRuntime,
)
from playground.engine.registry import NodeType, Param, register, register_flow_kinds

register_flow_kinds("publish", "deliver", "xadd", "xreadgroup", "xack", "trim")

CATEGORY = "Redis"


@register
class RedisPublisher(NodeType):
    name = "redis_publisher"
    label = "Redis Publisher"
    category = CATEGORY
    color = "#c2410c"
    help = ("An application sending messages at a Poisson rate: PUBLISH to each channel and XADD (auto ID) to "
            "each stream it is connected to, the same message to every one.")
    ports = (
        Out("PUBLISH", "records", "publish", "redis-pubsub"),
        Out("XADD", "records", "publish", "redis-streams"),
    )
    max_in = 0
    max_out = 8
    build_order = 30
    runtime_class = PublisherRuntime
    params = (
        Param("rate", "Rate", "float", 20.0, "Messages per second on average (Poisson arrivals).",
              min=0, max=100_000, step=1, unit="msg/s", budget="rate"),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        targets = sim.document.target_ids(node.id, "redis_channel", "redis_stream")
        return PublisherRuntime(sim, node.id, node.params, targets)


@register
class RedisChannel(NodeType):
    name = "redis_channel"
    label = "Redis Pub/Sub Channel"
    category = CATEGORY
    color = "#a21caf"
    help = ("Pub/Sub: fire and forget. A PUBLISH reaches the subscribers connected at that instant and is "
            "gone; a subscriber that is disconnected misses it for good. A connection may SUBSCRIBE to the "
            "channel by name or PSUBSCRIBE with a glob pattern.")
    ports = (
        In("PUBLISH", "records", "publish", "redis-pubsub"),
        Out("messages", "records", "consume", "redis-pubsub"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = ChannelRuntime
    params = (
        Param("channel", "Channel name", "string", "",
              "The channel's name, matched by pattern subscriptions (empty: the node's id).", max_length=64),
    )
    edge_params = (
        Param("pattern", "PSUBSCRIBE pattern", "string", "",
              "Empty: SUBSCRIBE to this channel by name. Otherwise a PSUBSCRIBE glob pattern (* ? [abc] [^a] "
              "[a-z] \\x) matched against the channel's name: no match, no messages.", max_length=64),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        name = node.params["channel"] or node.id
        subs = []
        for edge in sim.document.edges:
            if edge.source == node.id:
                pattern = edge.params.get("pattern") or None
                subs.append(Subscription(edge.target, None if pattern else name, pattern))
        return ChannelRuntime(node.id, name, subs)


@register
class RedisSubscriber(NodeType):
    name = "redis_subscriber"
    label = "Redis Subscriber"
    category = CATEGORY
    color = "#7e22ce"
    help = ("A connection in subscribed state, handling messages as they arrive. Nothing is acknowledged "
            "and nothing is kept for it: while disconnected it misses every message, and when it reads too "
            "slowly its output buffer fills until the server closes the connection.")
    ports = (
        In("messages", "records", "consume", "redis-pubsub"),
    )
    max_in = None
    max_out = 0
    build_order = 10
    runtime_class = SubscriberRuntime
    params = (
        Param("processing_ms", "Processing time", "float", 10.0,
              "Mean time to handle one message (exponentially distributed).", min=0, max=60_000, step=0.1,
              unit="ms"),
        Param("buffer_limit", "Output buffer limit", "int", 10_000,
              "client-output-buffer-limit pubsub, counted in messages (Redis counts bytes: 32mb hard limit by "
              "default, and 8mb for 60 s; only the hard limit is modelled). Past it the server closes the "
              "connection and the buffer is lost. 0 = no limit.", min=0, max=1_000_000, step=1, unit="msgs"),
        Param("disconnect_at_s", "Disconnect at", "float", 0.0,
              "Simulated time when the connection drops (0 = never); or use the disconnect command.",
              min=0, max=3600, step=0.5, unit="s"),
        Param("reconnect_after_s", "Reconnect after", "float", 5.0,
              "The client reconnects and subscribes again this long after losing its connection "
              "(0 = stays disconnected until the reconnect command).", min=0, max=3600, step=0.5, unit="s"),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return SubscriberRuntime(sim, node.id, node.params)


@register
class RedisStream(NodeType):
    name = "redis_stream"
    label = "Redis Stream"
    category = CATEGORY
    color = "#0e7490"
    help = ("An append-only log of entries with IDs <milliseconds>-<sequence>. Entries stay after they are "
            "read and acknowledged; only MAXLEN trimming removes them, whether a group has read them or not.")
    ports = (
        In("XADD", "records", "publish", "redis-streams"),
        Out("entries", "records", "consume", "redis-streams"),
    )
    max_in = None
    max_out = None
    build_order = 10
    runtime_class = StreamRuntime
    params = (
        Param("maxlen", "MAXLEN", "int", 0,
              "XADD ... MAXLEN: keep at most this many entries, evicting the oldest (0 = no trimming).",
              min=0, max=10_000_000, step=1, unit="entries"),
        Param("trim", "Trimming", "enum", "exact",
              "exact (MAXLEN = n): exactly n entries remain. approximate (MAXLEN ~ n): Redis only evicts whole "
              "macro nodes of stream-node-max-entries, so n to n + one node's worth remain, and a stream "
              "shorter than that is not trimmed at all (modelled exactly, nodes filled by entry count).",
              choices=("exact", "approximate")),
        Param("node_entries", "stream-node-max-entries", "int", 100,
              "Entries per macro node (Redis default: 100); matters for approximate trimming.",
              min=1, max=10_000, step=1),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return StreamRuntime(node.id, node.params)


@register
class RedisConsumerGroup(NodeType):
    name = "redis_consumer_group"
    label = "Redis Consumer Group"
    category = CATEGORY
    color = "#4338ca"
    help = ("XGROUP CREATE (at the start of the run): consumers share the stream's entries (each entry to one "
            "consumer) with XREADGROUP COUNT/BLOCK. Every delivered entry waits in the Pending Entries List until "
            "XACK; entries idle longer than min-idle-time are taken over with XAUTOCLAIM, and after max deliveries "
            "the application moves them to a dead-letter stream (Redis has no built-in DLQ).")
    ports = (
        In("entries", "records", "consume", "redis-streams"),
        Out("dead letters", "dead_letters", protocol="redis-streams"),
    )
    max_in = 1
    max_out = 1
    build_order = 20
    runtime_class = StreamGroupRuntime
    params = (
        Param("consumers", "Consumers", "int", 2, "Consumers at the start (consumer-1, consumer-2, ...).",
              min=1, max=32, step=1, budget="consumers"),
        Param("start_id", "XGROUP CREATE at", "enum", "$",
              "The ID the group starts after: $ (the stream's last entry: only entries added from now on) or 0 "
              "(every entry in the stream). Also what the XGROUP CREATE command uses.", choices=("$", "0")),
        Param("mkstream", "MKSTREAM", "bool", True,
              "XGROUP CREATE ... MKSTREAM creates the stream key if nothing was XADDed yet. Without it, creating "
              "the group before the first XADD fails (\"requires the key to exist\"): the group reads nothing "
              "until the XGROUP CREATE command succeeds."),
        Param("count", "COUNT", "int", 10, "XREADGROUP COUNT: most entries one read returns.",
              min=1, max=10_000, step=1),
        Param("block_ms", "BLOCK", "int", 2000,
              "XREADGROUP BLOCK: how long a read waits for new entries (0 = for ever: such a consumer never "
              "gets round to XAUTOCLAIM while the stream is quiet).", min=0, max=600_000, step=100, unit="ms"),
        Param("processing_ms", "Processing time", "float", 20.0,
              "Mean time to handle one entry (exponentially distributed).", min=0, max=60_000, step=0.1,
              unit="ms"),
        Param("failure_rate", "Transient failure probability", "float", 0.0,
              "Chance that handling one delivery fails (not XACKed: it stays pending and may succeed when "
              "claimed again).", min=0, max=1, step=0.01),
        Param("poison_rate", "Poison message probability", "float", 0.0,
              "Share of entries that fail every delivery: they end in the dead-letter stream.",
              min=0, max=1, step=0.001),
        Param("claim_interval_ms", "XAUTOCLAIM every", "int", 2000,
              "How often each consumer runs XAUTOCLAIM for itself between reads (0 = never: entries of a "
              "crashed consumer stay pending for ever).", min=0, max=600_000, step=100, unit="ms"),
        Param("min_idle_ms", "min-idle-time", "int", 5000,
              "XAUTOCLAIM takes over entries pending longer than this (their delivery count goes up by one).",
              min=0, max=3_600_000, step=100, unit="ms"),
        Param("claim_count", "XAUTOCLAIM COUNT", "int", 100, "Most entries one XAUTOCLAIM claims (Redis default: 100).",
              min=1, max=10_000, step=1),
        Param("max_deliveries", "Max deliveries", "int", 3,
              "An entry delivered more times than this is XADDed to the dead-letter stream and XACKed "
              "instead of handled again (0 = never dead-letter).", min=0, max=100, step=1),
        Param("rtt_ms", "Round trip", "float", 0.5, "Time for a command's reply to reach the consumer.",
              min=0.01, max=10_000, step=0.01, unit="ms"),
        Param("crash_at_s", "consumer-1 crashes at", "float", 0.0,
              "Simulated time when consumer-1 crashes, leaving what it read in the PEL (0 = never); or use "
              "the kill command.", min=0, max=3600, step=0.5, unit="s"),
        Param("restart_after_s", "Restart after", "float", 0.0,
              "A crashed consumer comes back under the same name this long after (0 = never) and first reads "
              "its own pending entries with XREADGROUP ... 0.", min=0, max=3600, step=0.5, unit="s"),
    )

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        streams = [sim.components[n.id] for n in sim.document.sources(node.id) if n.type == "redis_stream"]
        dlqs = sim.document.target_ids(node.id, "redis_dead_letter_stream")
        return StreamGroupRuntime(sim, node.id, node.params, streams[0] if streams else None,
                                  dlqs[0] if dlqs else None)


@register
class RedisDeadLetterStream(NodeType):
    name = "redis_dead_letter_stream"
    label = "Redis Dead-letter Stream"
    category = CATEGORY
    color = "#dc2626"
    help = ("A plain stream the application XADDs given-up entries to, with why and after how many deliveries "
            "(Redis has no dead-letter queue of its own). Redrive XADDs them back to their source stream.")
    ports = (
        In("dead letters", "dead_letters", protocol="redis-streams"),
    )
    max_in = None
    max_out = 0
    build_order = 10
    runtime_class = DeadLetterStreamRuntime
    dead_letter_store = True
    params = ()

    @classmethod
    def build(cls, sim: Any, node: Any) -> Any:
        return DeadLetterStreamRuntime(node.id)
