"""Invariants of RabbitMQ runs under random settings and commands: every message counted once
in every stream; the same seed gives the same trace; a snapshot resumes identically."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine
from tests.engine.factories import assert_restored_continues_identically, scripted_trace
from tests.engine.rabbitmq.factories import work_queue_doc

params = st.fixed_dictionaries({
    "rate": st.sampled_from([0.0, 20.0, 300.0]),
    "consumers": st.integers(0, 4),
    "prefetch": st.sampled_from([0, 1, 5, 50]),
    "processing_ms": st.sampled_from([0.5, 5.0, 80.0]),
    "failure_rate": st.sampled_from([0.0, 0.2]),
    "poison_rate": st.sampled_from([0.0, 0.05, 1.0]),
    "on_failure": st.sampled_from(["requeue", "reject", "requeue_once", "ack"]),
    "ack_mode": st.sampled_from(["manual", "manual", "auto"]),
    "message_ttl_ms": st.sampled_from([0.0, 50.0, 1000.0]),
    "msg_ttl_ms": st.sampled_from([0.0, 30.0]),
    "max_length": st.sampled_from([0, 5, 100]),
    "overflow": st.sampled_from(["drop-head", "reject-publish", "reject-publish-dlx"]),
    "max_priority": st.sampled_from([0, 5]),
    "priorities": st.sampled_from(["", "0:3, 5:1, 9:1"]),
    "dlx": st.booleans(),
    "exchange_type": st.sampled_from(["topic", "direct", "fanout"]),
    "delayed": st.booleans(),
    "delay_ms": st.sampled_from([0, 200]),
})
script = st.lists(st.tuples(st.integers(0, 19), st.sampled_from(["add", "kill", "remove", "redrive", "purge"])),
                  max_size=5)


def trace(p, seed, commands):
    def command_for(op):
        if op in ("add", "kill", "remove"):
            return {"op": f"{op}_consumer", "node": "workers"}
        if op == "redrive" and p["dlx"]:
            return {"op": "redrive", "node": "dead"}
        if op == "purge":
            return {"op": "purge_queue", "node": "work"}
        return None

    sim = engine.Simulation(engine.parse_document(work_queue_doc(**p)), seed)
    return scripted_trace(sim, commands, command_for, ticks=20, dt=0.2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), commands=script)
def test_every_message_is_counted_once_and_the_same_seed_gives_the_same_trace(p, seed, commands):
    assert trace(p, seed, commands) == trace(p, seed, commands)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 15))
def test_snapshot_at_any_moment_resumes_identically(p, seed, split):
    sim = engine.Simulation(engine.parse_document(work_queue_doc(**p)), seed)
    for _ in range(split):
        sim.advance(0.2)
    assert_restored_continues_identically(sim, steps=10, dt=0.2)


queue_types = st.fixed_dictionaries({
    "queue_type": st.sampled_from(["quorum", "stream"]),
    "delivery_limit": st.sampled_from([-1, 0, 2]),
    "dead_letter_strategy": st.sampled_from(["at-most-once", "at-least-once"]),
    "overflow": st.sampled_from(["drop-head", "reject-publish"]),
    "max_length": st.sampled_from([0, 5]),
    "max_length_bytes": st.sampled_from([0, 2000]),
    "segment_bytes": st.sampled_from([500, 500_000_000]),
    "max_age_s": st.sampled_from([0.0, 1.0]),
    "on_failure": st.sampled_from(["requeue", "reject", "ack"]),
    "poison_rate": st.sampled_from([0.0, 0.3]),
    "stream_offset": st.sampled_from(["first", "next", "last", "3"]),
})
queue_type_script = st.lists(st.tuples(st.integers(0, 19), st.sampled_from(
    ["add", "kill", "remove", "kill_leader", "restart_replica", "get", "reject"])), max_size=6)


def queue_type_doc(p):
    from tests.engine.rabbitmq.factories import doc, edge, node

    stream = p["queue_type"] == "stream"
    queue = {k: p[k] for k in ("queue_type", "delivery_limit", "dead_letter_strategy", "overflow", "max_length",
                               "max_length_bytes")}
    if stream:
        queue = {"queue_type": "stream", "max_length_bytes": p["max_length_bytes"],
                 "segment_bytes": p["segment_bytes"], "max_age_s": p["max_age_s"]}
    return doc([node("pub", "amqp_publisher", rate=100, routing_keys="k"), node("ex", "amqp_exchange"),
                node("work", "amqp_queue", **queue),
                node("workers", "amqp_consumer", consumers=2, prefetch=3, processing_ms=5, on_failure=p["on_failure"],
                     poison_rate=p["poison_rate"], stream_offset=p["stream_offset"]),
                node("dlx", "amqp_exchange", type="fanout"), node("dead", "amqp_queue")],
               [edge("pub", "ex"), edge("ex", "work", binding_key="k"), edge("work", "workers"),
                edge("work", "dlx"), edge("dlx", "dead")])


def queue_type_trace(p, seed, commands):
    ops = {"add": "add_consumer", "kill": "kill_consumer", "remove": "remove_consumer", "kill_leader": "kill_leader",
           "restart_replica": "restart_replica", "get": "get_messages", "reject": "get_and_reject"}

    def command_for(op):
        return {"op": ops[op], "node": "workers" if op in ("add", "kill", "remove") else "work"}

    sim = engine.Simulation(engine.parse_document(queue_type_doc(p)), seed)
    return scripted_trace(sim, commands, command_for, ticks=20, dt=0.2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=queue_types, seed=st.integers(0, 2**32 - 1), commands=queue_type_script)
def test_quorum_queues_and_streams_count_every_message_once_under_failovers(p, seed, commands):
    """Conservation in every stream and determinism, with leader kills, restarts, gets and
    rejects, consumer crashes, delivery limits, at-least-once dead letters and retention."""
    assert queue_type_trace(p, seed, commands) == queue_type_trace(p, seed, commands)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=queue_types, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 15))
def test_quorum_and_stream_snapshots_resume_identically(p, seed, split):
    sim = engine.Simulation(engine.parse_document(queue_type_doc(p)), seed)
    sim.apply({"op": "kill_leader", "node": "work"}) if p["queue_type"] == "quorum" else None
    for _ in range(split):
        sim.advance(0.2)
    assert_restored_continues_identically(sim, steps=10, dt=0.2)
