"""Redriving Kafka dead letters into a replicated topic (DlqRuntime in playground/engine/kafka/runtime.py).

Kafka has no built-in redrive: a redrive app reads the dead letter topic and produces each record
again to the partition it came from. Into a topic on a cluster that app is a producer with
acks=all, so its records go through replication like any other: the leader appends, followers
fetch, the high watermark passes them, and only then do groups read them. With acks=all the
leader refuses a produce while the ISR is smaller than min.insync.replicas
(NotEnoughReplicasException); the app then keeps the dead letters for a later redrive.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from playground import engine
from playground.engine.kafka.replication import NOT_ENOUGH_REPLICAS
from tests.engine.factories import assert_restored_continues_identically, scripted_trace, stream_conserved


def redrive_doc(*, rate: float = 200.0, poison_rate: float = 0.2, brokers: int = 3, rf: int = 3, min_isr: int = 2,
                partitions: int = 3, lag_ms: int = 2000, unclean: bool = False) -> dict[str, Any]:
    """producer -> replicated topic -> group (poison records dead-lettered at once) -> dlq."""
    nodes = [
        {"id": "kafka", "type": "kafka_cluster",
         "params": {"brokers": brokers, "replica_lag_time_max_ms": lag_ms, "unclean_leader_election_enable": unclean,
                    "default_replication_factor": min(3, brokers), "min_insync_replicas": 1}},
        {"id": "producer", "type": "producer", "params": {"rate": rate, "keys": 50, "acks": "all"}},
        {"id": "topic", "type": "kafka_topic",
         "params": {"partitions": partitions, "replication_factor": rf, "min_insync_replicas": min_isr}},
        {"id": "group", "type": "consumer_group",
         "params": {"consumers": 2, "processing_ms": 0.5, "poison_rate": poison_rate, "max_attempts": 1}},
        {"id": "dlq", "type": "dlq"},
    ]
    edges = [{"source": "kafka", "target": "topic"}, {"source": "producer", "target": "topic"},
             {"source": "topic", "target": "group"}, {"source": "group", "target": "dlq"}]
    return {"fanout": 1, "name": "redrive", "nodes": nodes, "edges": edges}


def redrive_sim(seed: int = 5, **kwargs: Any) -> engine.Simulation:
    return engine.Simulation(engine.parse_document(redrive_doc(**kwargs)), seed)


def books_balance(sim: engine.Simulation) -> None:
    """Every stream keeps its books, and every dead letter is pending, being redriven, or redriven."""
    for stream in sim.streams():
        assert stream_conserved(stream), stream
        assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"]) >= 0, stream
    dlq = sim.components["dlq"]
    dead_lettered = sim.components["group"].dead_lettered["topic"]
    assert dead_lettered == len(dlq.pending) + sum(dlq.in_flight.values()) + dlq.redriven


def run(sim: engine.Simulation, seconds: float, step: float = 0.05) -> list[dict[str, Any]]:
    events = []
    for _ in range(round(seconds / step)):
        sim.advance(step)
        events.extend(sim.drain_events())
        books_balance(sim)
    return events


def covered(ranges: list[tuple[int, int, int]], p: int, start: int, end: int) -> bool:
    """[start, end) of partition p lies within the union of ``ranges`` (p, first, n)."""
    offsets = {o for q, first, n in ranges if q == p for o in range(first, first + n)}
    return all(o in offsets for o in range(start, end))


def test_redriven_records_on_a_replicated_topic_are_consumed_by_the_group_again():
    """The leader appends the redriven batch above the high watermark: groups do not see it until
    the followers have fetched it, then they read and process every redriven record."""
    sim = redrive_sim()
    run(sim, 2.0)
    dead = len(sim.components["dlq"].pending)
    assert dead > 0
    sim.apply({"op": "redrive", "node": "dlq"})
    redrives = [e for e in sim.drain_events() if e["k"] == "redrive"]
    assert sum(e["n"] for e in redrives) == dead and all(e["acks"] == "all" for e in redrives)
    topic, group = sim.components["topic"], sim.components["group"]
    for e in redrives:
        part = topic.parts[e["p"]]
        assert part.hw <= e["o"] < part.leader_leo  # written to the leader, not committed yet
        assert group.position[("topic", e["p"])] <= part.hw
    dlq = sim.metrics()["nodes"]["dlq"]
    assert (dlq["redriving"], dlq["redriven"], dlq["pending"]) == (dead, 0, 0)
    (stream,) = [s for s in sim.streams() if s.get("producer") == "dlq"]
    assert stream["in_flight"] == stream["produced"] == dead
    books_balance(sim)

    events = run(sim, 2.0)
    assert sim.metrics()["nodes"]["dlq"]["redriven"] == dead
    processed = [(e["p"], e["o"], e["n"]) for e in events if e["k"] == "process"]
    for e in redrives:
        assert covered(processed, e["p"], e["o"], e["o"] + e["n"]), e
    assert sum(s["in_flight"] for s in sim.streams() if s.get("producer") == "dlq") == 0


def test_books_balance_at_every_tick_through_redrives_and_broker_faults():
    """Redriven records are counted once: in flight in the dead letter queue's stream until the
    high watermark passes them, then in the group's stream, through kills and restarts."""
    sim = redrive_sim(seed=9)
    script = [(20, "redrive"), (21, "kill"), (60, "redrive"), (250, "restart"), (300, "redrive"), (360, "redrive")]
    commands = {"redrive": {"op": "redrive", "node": "dlq"},
                "kill": {"op": "kill_broker", "node": "kafka", "broker": 1},
                "restart": {"op": "restart_broker", "node": "kafka", "broker": 1}}
    events, metrics = scripted_trace(sim, script, commands.get, ticks=400, dt=0.05)
    books_balance(sim)
    assert metrics["dropped_total"] == 0  # acks=all, clean elections: nothing is lost
    assert sim.components["dlq"].redriven > 0
    assert any(e["k"] == "leader" for e in events)


def test_not_enough_replicas_refuses_the_redrive_and_keeps_the_dead_letters():
    """NotEnoughReplicasException: with two of three brokers gone the ISR shrinks to one, below
    min.insync.replicas=2; acks=all is refused before anything is written, so the command is
    refused, naming the partition and the reason, and every dead letter stays pending. Once the
    brokers are back in the ISR the same dead letters are redriven and consumed."""
    sim = redrive_sim(rate=100)
    run(sim, 2.0)
    for broker in (2, 3):
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": broker})
    run(sim, 10.0)  # broker.session.timeout.ms (9 s): the controller fences them, the ISRs shrink
    topic = sim.components["topic"]
    assert all(part.isr == [1] for part in topic.parts)
    dlq = sim.components["dlq"]
    waiting = list(dlq.pending)
    assert waiting
    leo = [part.leader_leo for part in topic.parts]
    with pytest.raises(engine.CommandError) as refused:
        sim.apply({"op": "redrive", "node": "dlq"})
    p = waiting[0][1]
    assert f"topic 'topic' partition {p}: {NOT_ENOUGH_REPLICAS} (ISR [1], min.insync.replicas 2)" in str(refused.value)
    assert "they stay pending" in str(refused.value)
    assert list(dlq.pending) == waiting and dlq.redriven == 0
    assert [part.leader_leo for part in topic.parts] == leo  # nothing written
    books_balance(sim)

    for broker in (2, 3):
        sim.apply({"op": "restart_broker", "node": "kafka", "broker": broker})
    run(sim, 1.0)
    assert all(len(part.isr) == 3 for part in topic.parts)
    now_waiting = list(dlq.pending)
    assert now_waiting[:len(waiting)] == waiting  # the same dead letters, first in line
    sim.apply({"op": "redrive", "node": "dlq"})
    assert sum(e["n"] for e in sim.drain_events() if e["k"] == "redrive") == len(now_waiting)
    run(sim, 2.0)
    assert dlq.redriven == len(now_waiting)
    assert sim.metrics()["dropped_total"] == 0


def test_partitions_short_of_replicas_keep_their_dead_letters_while_the_others_are_redriven():
    """Replication factor 2 on three brokers: killing one takes two partitions below
    min.insync.replicas=2 and leaves the third whole. The redrive sends what it can and reports
    the partitions it could not send to; their dead letters wait for the next redrive."""
    sim = redrive_sim(rf=2, min_isr=2)
    run(sim, 3.0)
    topic, dlq = sim.components["topic"], sim.components["dlq"]
    (whole,) = [p for p, part in enumerate(topic.parts) if 1 not in part.replicas]
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 1})
    run(sim, 10.0)
    by_partition: dict[int, int] = {}
    for _, p, _ in dlq.pending:
        by_partition[p] = by_partition.get(p, 0) + 1
    assert whole in by_partition and len(by_partition) == 3
    sim.apply({"op": "redrive", "node": "dlq"})
    events = sim.drain_events()
    refused = [e for e in events if e["k"] == "redrive_refused"]
    assert sorted(e["p"] for e in refused) == sorted(p for p in by_partition if p != whole)
    assert all(e["reason"].startswith(NOT_ENOUGH_REPLICAS) for e in refused)
    assert [e["p"] for e in events if e["k"] == "redrive"] == [whole]
    metrics = sim.metrics()["nodes"]["dlq"]
    assert metrics["pending"] == sum(n for p, n in by_partition.items() if p != whole)
    assert {r["p"] for r in metrics["refused"]} == {e["p"] for e in refused}
    run(sim, 1.0)
    assert dlq.redriven == by_partition[whole]


def test_a_copy_the_new_leader_never_had_goes_back_to_pending():
    """The leader dies right after appending the redriven batch, before any follower fetched it:
    the controller elects an in-sync follower, every replica truncates to its log, and the copy
    is gone. The app was never acknowledged, so those dead letters wait to be redriven again
    (nothing lost, nothing counted twice)."""
    sim = redrive_sim(rate=100)
    run(sim, 2.0)
    topic, dlq = sim.components["topic"], sim.components["dlq"]
    p = dlq.pending[0][1]
    n = sum(1 for _, q, _ in dlq.pending if q == p)
    sim.apply({"op": "redrive", "node": "dlq"})
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": topic.parts[p].leader})
    events = run(sim, 10.0)
    (returned,) = [e for e in events if e["k"] == "redrive_returned"]
    assert (returned["p"], returned["n"]) == (p, n)
    assert "truncated" in returned["reason"]
    assert sum(1 for _, q, _ in dlq.pending if q == p) >= n
    assert sim.metrics()["dropped_total"] == 0
    again, before = len(dlq.pending), dlq.redriven
    sim.apply({"op": "redrive", "node": "dlq"})  # the new leader and the third replica: ISR 2
    run(sim, 1.0)
    assert dlq.redriven - before == again


def test_a_copy_the_new_leader_has_is_committed_by_it_and_counted_once():
    """The leader dies after one follower copied the redriven batch but before the HW passed it
    (the other follower is slow): the controller elects that follower (first live in-sync
    replica), which keeps the copy. The app's request failed (NotLeaderOrFollower), but its
    idempotent retry would be a duplicate sequence: the copy is acknowledged once committed,
    redriven once, and no dead letter goes back to pending."""
    sim = redrive_sim(rate=100)
    run(sim, 2.0)
    topic, dlq = sim.components["topic"], sim.components["dlq"]
    p = dlq.pending[0][1]
    leader, first, second = topic.parts[p].replicas
    sim.apply({"op": "slow_broker", "node": "kafka", "broker": second, "factor": 1000})
    run(sim, 0.1)
    dead = len(dlq.pending)
    sim.apply({"op": "redrive", "node": "dlq"})
    (sent,) = [e for e in sim.drain_events() if e["k"] == "redrive" and e["p"] == p]
    run(sim, 0.02, step=0.01)  # a few replication rounds: the fast follower has it, the slow one not
    part = topic.parts[p]
    assert part.leo[first] >= sent["o"] + sent["n"] > part.hw
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": leader})
    sim.apply({"op": "slow_broker", "node": "kafka", "broker": second, "factor": 1})
    events = run(sim, 11.0)
    assert [e["leader"] for e in events if e["k"] == "leader" and e["p"] == p] == [first]
    assert dlq.errors.get("NotLeaderOrFollower")
    assert not [e for e in events if e["k"] == "redrive_returned"]
    assert dlq.redriven == dead and not dlq.in_flight["topic"]
    processed = [(e["p"], e["o"], e["n"]) for e in events if e["k"] == "process"]
    assert covered(processed, p, sent["o"], sent["o"] + sent["n"])
    assert sim.metrics()["dropped_total"] == 0


def test_a_redrive_in_flight_waits_out_a_whole_cluster_outage():
    """Every broker dies right after the redrive: the partitions go offline with the copies in
    their leaders' logs (no leader for the partition). The dead letters stay in flight, counted,
    neither pending nor lost; once the brokers are back the copies are committed and consumed."""
    sim = redrive_sim(rate=100)
    run(sim, 2.0)
    dlq = sim.components["dlq"]
    dead = len(dlq.pending)
    sim.apply({"op": "redrive", "node": "dlq"})
    for broker in (1, 2, 3):
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": broker})
    run(sim, 10.0)
    assert sim.metrics()["nodes"]["kafka"]["offline_partitions"] == 3
    assert dlq.in_flight["topic"] == dead and dlq.redriven == 0
    assert dlq.errors.get("no leader for the partition")
    for broker in (1, 2, 3):
        sim.apply({"op": "restart_broker", "node": "kafka", "broker": broker})
    events = run(sim, 2.0)
    assert dlq.redriven == dead and not dlq.in_flight["topic"]
    assert not [e for e in events if e["k"] == "redrive_returned"]
    assert sim.metrics()["dropped_total"] == 0


def test_a_truncation_inside_a_redriven_batch_returns_only_the_cut_dead_letters():
    """Replication truncates at batch boundaries, but replication.py also handles a batch split by
    the truncation point (its tail reported lost to the producer). For the redrive app the cut
    tail's dead letters go back to pending and the head is redriven once committed."""
    sim = redrive_sim(rate=0.0, poison_rate=0.0)
    topic, dlq = sim.components["topic"], sim.components["dlq"]
    for key in range(5):  # dead letters handed over directly, as the group does
        dlq.add({"topic": "topic", "p": 0, "o": key}, key_index=key)
    sim.apply({"op": "redrive", "node": "dlq"})
    part = topic.parts[0]
    (batch,) = part.pending
    topic.truncate(sim, 0, batch.first + 2, unclean=False)
    part.leo[part.leader] = part.leader_leo  # what the election does for the new leader
    assert [k for _, _, k in dlq.pending] == [2, 3, 4]
    assert dlq.in_flight["topic"] == 2
    sim.advance(0.5)
    assert all(stream_conserved(stream) for stream in sim.streams())
    assert dlq.redriven == 2 and not dlq.in_flight["topic"]
    assert topic.leo_total() == 2


def test_a_redrive_waiting_for_the_high_watermark_survives_snapshot_and_restore():
    sim = redrive_sim()
    run(sim, 2.0)
    sim.apply({"op": "redrive", "node": "dlq"})
    assert sim.components["dlq"].in_flight["topic"] > 0
    assert_restored_continues_identically(sim, steps=20, dt=0.05)


class RedriveRun(RuleBasedStateMachine):
    """Random kills, restarts, isolations and redrives: the books balance after every step."""

    @initialize(seed=st.integers(0, 2**32 - 1), min_isr=st.integers(1, 3), unclean=st.booleans(),
                lag_ms=st.sampled_from([200, 2000]))
    def build(self, seed: int, min_isr: int, unclean: bool, lag_ms: int) -> None:
        self.sim = redrive_sim(seed, min_isr=min_isr, unclean=unclean, lag_ms=lag_ms, rate=100)

    @rule(dt=st.sampled_from([0.01, 0.2, 3.0, 10.0]))
    def advance(self, dt: float) -> None:
        self.sim.advance(dt)

    @rule(op=st.sampled_from(["kill_broker", "restart_broker", "isolate_broker", "reconnect_broker", "slow_broker"]),
          broker=st.integers(1, 3))
    def fault(self, op: str, broker: int) -> None:
        try:
            self.sim.apply({"op": op, "node": "kafka", "broker": broker})  # slow_broker: 10 times slower
        except engine.CommandError:
            pass

    @rule()
    def redrive(self) -> None:
        try:
            self.sim.apply({"op": "redrive", "node": "dlq"})
        except engine.CommandError:
            pass  # nothing waiting, or no partition can take it: the dead letters stay pending

    @invariant()
    def every_record_and_dead_letter_is_counted_once(self) -> None:
        books_balance(self.sim)


RedriveRun.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
test_redrive_books_balance_under_random_faults = RedriveRun.TestCase


def test_the_backlog_packs_dead_letters_and_keeps_the_newest_when_full():
    """Dead letters wait for a redrive in 8 bytes each; beyond the cap the oldest are forgotten."""
    from playground.engine.kafka.runtime import Backlog

    backlog = Backlog(3)
    for i in range(5):
        backlog.append(("orders", i % 2, i - 1))
    assert list(backlog) == [("orders", 0, 1), ("orders", 1, 2), ("orders", 0, 3)]
    assert backlog[0] == ("orders", 0, 1) and backlog[-1] == ("orders", 0, 3)
    backlog.prepend([("payments", 255, -1)])
    assert list(backlog) == [("payments", 255, -1), ("orders", 0, 1), ("orders", 1, 2)]
    backlog.clear()
    assert len(backlog) == 0 and not backlog
