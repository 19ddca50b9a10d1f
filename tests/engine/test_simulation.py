from functools import partial

import pytest

from playground import engine
from playground.engine.kafka.partitioner import partition_for_key
from tests.conftest import run as run_for
from tests.engine.factories import conserved, simulation

run = partial(run_for, step=0.1)

def events_of(sim, kind):
    return [e for e in sim.drain_events() if e["k"] == kind]


def scripted_run(seed):
    sim = simulation(seed, poison_rate=0.05, consumers=3)
    out = []
    for i in range(60):
        if i == 10:
            sim.apply({"op": "add_consumer", "node": "group"})
        if i == 25:
            sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-1"})
        sim.advance(0.1)
        out.extend(sim.drain_events())
    return out, sim.metrics()


def test_same_document_seed_and_commands_give_the_same_event_stream():
    assert scripted_run(5) == scripted_run(5)


def test_another_seed_gives_another_run():
    assert scripted_run(5)[0] != scripted_run(6)[0]


def test_restored_snapshot_continues_exactly_as_the_original():
    original = simulation(3, poison_rate=0.05)
    run(original, 3.0)
    original.apply({"op": "add_consumer", "node": "group"})
    original.advance(0.05)
    original.drain_events()
    blob = original.snapshot()
    run(original, 4.0)
    original.apply({"op": "kill_consumer", "node": "group", "member": "consumer-2"})
    run(original, 15.0)
    restored = engine.Simulation.restore(blob)
    run(restored, 4.0)
    restored.apply({"op": "kill_consumer", "node": "group", "member": "consumer-2"})
    run(restored, 15.0)
    assert restored.drain_events() == original.drain_events()
    assert restored.metrics() == original.metrics()


def test_records_go_to_the_murmur2_partition_of_their_key():
    sim = simulation(rate=500, keys=20, partitions=5)
    run(sim, 1.0)
    produced = events_of(sim, "produce")
    assert produced
    for event in produced:
        assert event["p"] == partition_for_key(event["key"].encode(), 5)


def test_conservation_holds_at_every_tick():
    sim = simulation(poison_rate=0.1, failure_rate=0.2, rate=400)
    for i in range(100):
        sim.advance(0.1)
        assert conserved(sim.metrics()), i


def test_poison_messages_are_retried_with_backoff_then_dead_lettered():
    sim = simulation(rate=50, poison_rate=1.0, max_attempts=3, backoff_ms=100, backoff_multiplier=2)
    run(sim, 2.0)
    events = sim.drain_events()
    first = next(e for e in events if e["k"] == "dead_letter")
    retries = [e for e in events if e["k"] == "retry" and (e["p"], e["o"]) == (first["p"], first["o"])]
    assert [r["attempt"] for r in retries] == [2, 3]
    assert retries[0]["due"] == pytest.approx(retries[0]["t"] + 0.1)
    assert retries[1]["due"] == pytest.approx(retries[1]["t"] + 0.2)
    assert first["t"] == pytest.approx(retries[1]["due"])
    assert first["attempts"] == 3
    assert first["reason"] == "poison message: failed every attempt"
    dlq = sim.metrics()["nodes"]["dlq"]
    assert dlq["count"] >= 1 and {"topic", "p", "o", "key", "attempts", "reason"} <= set(dlq["recent"][0])


def test_transient_failures_recover_on_retry():
    sim = simulation(rate=200, failure_rate=0.3, max_attempts=6, backoff_ms=10)
    run(sim, 5.0)
    metrics = sim.metrics()
    assert metrics["retried"] > 0
    assert any(e["k"] == "recovered" for e in sim.drain_events())
    assert metrics["dead_lettered"] < metrics["retried"] / 10


def test_without_a_dlq_exhausted_records_are_dropped_with_a_reason():
    sim = simulation(rate=100, poison_rate=0.2, dlq=False, max_attempts=1)
    run(sim, 2.0)
    metrics = sim.metrics()
    reason = "retries exhausted and the group has no dead letter queue"
    assert metrics["dropped"][reason] > 0
    assert metrics["dead_lettered"] == 0
    assert conserved(metrics)


def group_of(sim):
    return sim.metrics()["nodes"]["group"]


def test_adding_a_consumer_rebalances_with_the_range_assignor():
    sim = simulation(partitions=6, consumers=2)
    run(sim, 1.0)
    sim.drain_events()
    sim.apply({"op": "add_consumer", "node": "group"})
    run(sim, 5.0)
    events = sim.drain_events()
    start = next(e for e in events if e["k"] == "rebalance_start")
    end = next(e for e in events if e["k"] == "rebalance_end")
    assert start["reason"] == "consumer-3 joined"
    assert end["before"] == {"consumer-1": ["topic/0", "topic/1", "topic/2"],
                             "consumer-2": ["topic/3", "topic/4", "topic/5"], "consumer-3": []}
    assert end["after"] == {"consumer-1": ["topic/0", "topic/1"], "consumer-2": ["topic/2", "topic/3"],
                            "consumer-3": ["topic/4", "topic/5"]}
    assert group_of(sim)["generation"] == 2


def test_no_member_processes_between_its_rejoin_and_the_new_assignment():
    """Eager protocol: partitions are revoked on rejoin, so nothing is fetched until SyncGroup."""
    sim = simulation(rate=400, partitions=6, consumers=2)
    run(sim, 1.0)
    sim.apply({"op": "add_consumer", "node": "group"})
    sim.drain_events()
    run(sim, 5.0)
    events = sim.drain_events()
    end = next(e for e in events if e["k"] == "rebalance_end")
    last_commit = {}
    for e in events:
        if e["k"] == "commit" and e["t"] < end["t"]:
            last_commit[e["c"]] = e["t"]
    for member, revoked_at in last_commit.items():
        fetched = [e for e in events if e["k"] == "fetch" and e["c"] == member and revoked_at < e["t"] < end["t"]]
        assert fetched == []


def test_killed_consumer_partitions_move_only_after_session_timeout():
    sim = simulation(rate=200, partitions=4, consumers=2, session_timeout_ms=10_000)
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-1"})
    killed_at = sim.now
    run(sim, 6.0)
    assert not any(e["k"] == "rebalance_start" for e in sim.drain_events())
    assert group_of(sim)["state"] == "stable"
    assert [p["owner"] for p in group_of(sim)["partitions"]][:2] == ["consumer-1", "consumer-1"]
    run(sim, 10.0)
    events = sim.drain_events()
    expired = next(e for e in events if e["k"] == "member" and e["change"] == "expired")
    assert killed_at + 10.0 - 3.0 <= expired["t"] <= killed_at + 10.0  # last heartbeat + timeout
    end = next(e for e in events if e["k"] == "rebalance_end")
    assert end["after"] == {"consumer-2": ["topic/0", "topic/1", "topic/2", "topic/3"]}


def test_crash_after_processing_uncommitted_records_causes_counted_duplicates():
    """At-least-once: what the dead member processed since its last auto-commit is redelivered."""
    sim = simulation(rate=300, partitions=2, consumers=2, auto_commit_interval_ms=5000)
    run(sim, 4.0)
    sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-1"})
    run(sim, 20.0)
    metrics = sim.metrics()
    assert metrics["duplicates"] > 0
    assert conserved(metrics)
    assert metrics["acknowledged"] <= metrics["produced"]


def test_graceful_leave_rebalances_at_once_without_duplicates():
    sim = simulation(rate=300, partitions=4, consumers=2, session_timeout_ms=30_000)
    run(sim, 3.0)
    sim.drain_events()
    sim.apply({"op": "remove_consumer", "node": "group", "member": "consumer-2"})
    run(sim, 4.0)
    events = sim.drain_events()
    assert any(e["k"] == "rebalance_end" for e in events)
    assert group_of(sim)["duplicates"] == 0
    assert [m["id"] for m in group_of(sim)["members"]] == ["consumer-1"]


def test_lag_is_log_end_offset_minus_committed_offset():
    sim = simulation(rate=500, processing_ms=20, consumers=1)
    run(sim, 3.0)
    group = group_of(sim)
    topic = sim.metrics()["nodes"]["topic"]
    for part in group["partitions"]:
        assert part["lag"] == topic["partitions"][part["p"]]["leo"] - part["committed"]
    assert group["lag"] == sum(p["lag"] for p in group["partitions"])


def test_bad_commands_are_refused_with_a_reason():
    sim = simulation()
    with pytest.raises(engine.CommandError, match="unknown command op 'explode'"):
        sim.apply({"op": "explode"})
    with pytest.raises(engine.CommandError, match=r"no .*consumer group.* has the id 'nope'"):
        sim.apply({"op": "add_consumer", "node": "nope"})
    with pytest.raises(engine.CommandError, match="has no member 'consumer-9'"):
        sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-9"})
    sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-1"})
    with pytest.raises(engine.CommandError, match="already crashed"):
        sim.apply({"op": "kill_consumer", "node": "group", "member": "consumer-1"})


def test_flow_events_are_left_out_when_not_recorded_but_counts_are_the_same():
    with_flow = simulation(9, poison_rate=0.05)
    without = simulation(9, poison_rate=0.05, record_flow=False)
    run(with_flow, 3.0)
    run(without, 3.0)
    assert with_flow.metrics() == without.metrics()
    assert not any(e["k"] in ("produce", "fetch", "process", "commit") for e in without.drain_events())


def test_commit_before_processing_loses_the_batch_in_hand_on_a_crash():
    """At most once: the next owner starts after the committed offset, past records never processed."""
    sim = simulation(rate=2000, partitions=1, consumers=2, processing_ms=5.0, commit="before_processing",
                     max_poll_records=200)
    run(sim, 2.0)
    owner = group_of(sim)["partitions"][0]["owner"]
    sim.apply({"op": "kill_consumer", "node": "group", "member": owner})
    run(sim, 20.0)
    metrics = sim.metrics()
    reason = "offset committed before processing, then the consumer crashed (at most once)"
    assert 0 < metrics["dropped"][reason] <= 200
    assert metrics["duplicates"] == 0
    assert conserved(metrics)


def test_commit_after_processing_repeats_at_most_the_batch_in_hand():
    """At least once with commitSync per batch: the records processed before the crash repeat."""
    sim = simulation(rate=2000, partitions=1, consumers=2, processing_ms=5.0, commit="after_processing",
                     max_poll_records=200)
    run(sim, 2.0)
    owner = group_of(sim)["partitions"][0]["owner"]
    sim.apply({"op": "kill_consumer", "node": "group", "member": owner})
    run(sim, 20.0)
    metrics = sim.metrics()
    assert 0 < metrics["duplicates"] <= 200  # what it got through of the batch in hand, no more
    assert metrics["dropped_total"] == 0
    assert conserved(metrics)


def test_roundrobin_assignor_is_used_when_chosen():
    sim = simulation(partitions=4, consumers=2, assignor="roundrobin")
    run(sim, 1.0)
    members = {m["id"]: m["partitions"] for m in group_of(sim)["members"]}
    assert members == {"consumer-1": ["topic/0", "topic/2"], "consumer-2": ["topic/1", "topic/3"]}


def rebalances_between(events):
    return [e for e in events if e["k"] == "rebalance_start"]


def test_static_member_restarting_within_session_timeout_gets_its_partitions_back_without_rebalance():
    """KIP-345: a known group.instance.id rejoining before session.timeout.ms keeps its assignment."""
    sim = simulation(rate=200, partitions=4, consumers=2, static_membership=True, session_timeout_ms=10_000)
    run(sim, 2.0)
    before = {m["id"]: m["partitions"] for m in group_of(sim)["members"]}
    sim.drain_events()
    sim.apply({"op": "restart_consumer", "node": "group", "member": "consumer-1", "after_ms": 3000})
    run(sim, 20.0)
    events = sim.drain_events()
    assert rebalances_between(events) == []
    assert any(e["k"] == "member" and e["change"] == "rejoined" for e in events)
    assert {m["id"]: m["partitions"] for m in group_of(sim)["members"]} == before
    assert conserved(sim.metrics())


def test_dynamic_member_restarting_stalls_the_group_until_the_old_session_expires():
    """Without group.instance.id the restarted process is a new member; its join opens a
    rebalance, and the coordinator waits in the join phase for every known member, so the whole
    group stops until the crashed member id is forgotten at its session timeout."""
    sim = simulation(rate=200, partitions=4, consumers=2, session_timeout_ms=10_000)
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "restart_consumer", "node": "group", "member": "consumer-1", "after_ms": 3000})
    run(sim, 20.0)
    events = sim.drain_events()
    (end,) = [e for e in events if e["k"] == "rebalance_end"]
    expired = next(e for e in events if e["k"] == "member" and e["change"] == "expired")
    assert end["reason"] == "consumer-3 joined; session timeout of consumer-1"
    assert end["started"] == pytest.approx(5.0, abs=0.01) and end["t"] >= expired["t"]
    assert sorted(m["id"] for m in group_of(sim)["members"]) == ["consumer-2", "consumer-3"]


def test_static_member_leaving_keeps_its_partitions_until_session_timeout():
    """KIP-345: a static member's close() sends no LeaveGroup."""
    sim = simulation(rate=200, partitions=4, consumers=2, static_membership=True, session_timeout_ms=10_000)
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "remove_consumer", "node": "group", "member": "consumer-2"})
    run(sim, 5.0)
    assert rebalances_between(sim.drain_events()) == []
    run(sim, 10.0)
    starts = rebalances_between(sim.drain_events())
    assert [s["reason"] for s in starts] == ["session timeout of consumer-2"]


def test_restart_after_ms_is_checked():
    sim = simulation()
    with pytest.raises(engine.CommandError, match="after_ms must be"):
        sim.apply({"op": "restart_consumer", "node": "group", "member": "consumer-1", "after_ms": -1})


def test_redrive_sends_dead_letters_back_to_their_partition_as_new_records():
    """Kafka has no built-in redrive: a redrive app produces each dead letter again, with its
    key, to the partition it came from; the DLQ topic keeps its records."""
    sim = simulation(rate=100, poison_rate=0.2, max_attempts=1, partitions=3)
    run(sim, 3.0)
    before = sim.metrics()
    dead = before["nodes"]["dlq"]["count"]
    assert dead > 0
    sim.drain_events()
    sim.apply({"op": "redrive", "node": "dlq"})
    after = sim.metrics()
    redrives = [e for e in sim.drain_events() if e["k"] == "redrive"]
    assert sum(e["n"] for e in redrives) == dead == after["nodes"]["dlq"]["redriven"]
    assert after["nodes"]["topic"]["leo"] == before["nodes"]["topic"]["leo"] + dead
    assert after["nodes"]["dlq"]["count"] == dead  # the dead letter topic keeps its records
    assert conserved(after)
    run(sim, 3.0)
    assert conserved(sim.metrics())
    with pytest.raises(engine.CommandError, match="no dead letters waiting"):
        sim.apply({"op": "redrive", "node": "dlq"})
        sim.apply({"op": "redrive", "node": "dlq"})
