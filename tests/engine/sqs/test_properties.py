"""Invariants of SQS / SNS runs under random settings and commands: every message counted once
in every stream; the same seed gives the same trace; a snapshot resumes identically."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine
from tests.engine.factories import assert_restored_continues_identically, scripted_trace
from tests.engine.sqs.factories import doc, edge, node

params = st.fixed_dictionaries({
    "queue_type": st.sampled_from(["standard", "fifo"]),
    "via_sns": st.booleans(),
    "rate": st.sampled_from([0.0, 20.0, 200.0]),
    "groups": st.sampled_from([1, 3, 50]),
    "resend": st.sampled_from([0.0, 0.2]),
    "vt": st.sampled_from([0.0, 0.5, 3.0]),
    "delay": st.sampled_from([0.0, 0.4]),
    "wait": st.sampled_from([0.0, 1.0]),
    "retention": st.sampled_from([60.0, 345_600.0]),
    "max_receives": st.sampled_from([1, 3]),
    "dlq": st.booleans(),
    "dup": st.sampled_from([0.0, 0.1]),
    "consumers": st.integers(0, 4),
    "max_messages": st.sampled_from([1, 10]),
    "processing_ms": st.sampled_from([0.0, 5.0, 800.0]),
    "poison": st.sampled_from([0.0, 0.1, 1.0]),
    "failure": st.sampled_from([0.0, 0.3]),
    "on_failure": st.sampled_from(["wait", "release"]),
    "extend": st.booleans(),
})
script = st.lists(st.tuples(st.integers(0, 19), st.sampled_from(["add", "kill", "remove", "redrive", "purge",
                                                                   "send"])), max_size=6)


def build(p):
    via_sns = p["via_sns"]  # a FIFO queue subscribes to an SNS FIFO topic
    nodes = [node("p", "sqs_producer", rate=p["rate"], message_groups=p["groups"], resend_probability=p["resend"],
                  attributes={"kind": "a|b|c", "price": "5|150"}),
             node("q", "sqs_queue", queue_type=p["queue_type"], visibility_timeout_s=p["vt"], delay_seconds=p["delay"],
                  receive_wait_s=p["wait"], retention_s=p["retention"], max_receive_count=p["max_receives"],
                  duplicate_probability=p["dup"]),
             node("c", "sqs_consumer", consumers=p["consumers"], max_messages=p["max_messages"],
                  processing_ms=p["processing_ms"], poison_rate=p["poison"], failure_rate=p["failure"],
                  on_failure=p["on_failure"], extend_visibility=p["extend"])]
    edges = [edge("q", "c")]
    if via_sns:
        nodes += [node("t", "sns_topic", topic_type=p["queue_type"]),
                  node("q2", "sqs_queue", queue_type=p["queue_type"])]
        edges += [edge("p", "t"), edge("t", "q", filter_policy=json.dumps({"kind": ["a", "b"]})),
                  edge("t", "q2", filter_policy=json.dumps({"price": [{"numeric": [">", 100]}]}),
                       raw_message_delivery=True)]
    else:
        edges.append(edge("p", "q"))
    if p["dlq"]:
        nodes.append(node("dlq", "sqs_queue", queue_type=p["queue_type"], retention_s=p["retention"]))
        edges.append(edge("q", "dlq"))
    return engine.parse_document(doc(nodes, edges))


def trace(p, seed, commands):
    def command_for(op):
        if op in ("add", "kill", "remove"):
            return {"op": f"{op}_consumer", "node": "c"}
        if op == "redrive" and p["dlq"]:
            return {"op": "redrive", "node": "dlq"}
        if op == "purge":
            return {"op": "purge_queue", "node": "q"}
        if op == "send":
            return {"op": "send", "node": "p", "count": 5, "group": "g1"}
        return None

    sim = engine.Simulation(build(p), seed)
    return scripted_trace(sim, commands, command_for, ticks=20, dt=0.5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), commands=script)
def test_every_message_is_counted_once_and_the_same_seed_gives_the_same_trace(p, seed, commands):
    assert trace(p, seed, commands) == trace(p, seed, commands)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 15), commands=script)
def test_snapshot_at_any_moment_resumes_identically(p, seed, split, commands):
    sim = engine.Simulation(build(p), seed)
    for tick in range(split):
        for at, op in commands:
            if at == tick and op in ("add", "kill"):
                try:
                    sim.apply({"op": f"{op}_consumer", "node": "c"})
                except engine.CommandError:
                    pass
        sim.advance(0.5)
    assert_restored_continues_identically(sim, steps=10, dt=0.5)
