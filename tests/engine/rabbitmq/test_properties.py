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
