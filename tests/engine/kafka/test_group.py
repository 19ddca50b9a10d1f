"""The consumer group's protocols: eager against cooperative rebalancing, max.poll.interval.ms,
the lag alert, retries with backoff. Each test names the Kafka rule it checks."""

from functools import partial

import pytest

from playground import engine
from playground.engine.registry import flow_kinds
from tests.conftest import run as run_for
from tests.engine.factories import conserved, simulation, stream_conserved

run = partial(run_for, step=0.1)

def group_of(sim):
    return sim.metrics()["nodes"]["group"]


def ends(events):
    return [e for e in events if e["k"] == "rebalance_end"]


def paused_partitions(end):
    return sorted(p["tp"] for entries in end["pauses"].values() for p in entries)


def test_cooperative_sticky_revokes_only_the_moved_partitions_then_places_them_in_a_second_round():
    """KIP-429 / CooperativeStickyAssignor: the first rebalance takes topic/4 and topic/5 from
    their owners and gives them to nobody; the owners revoke and rejoin, and the follow-up
    rebalance gives them to the new member. Nothing else moves or pauses."""
    sim = simulation(rate=300, partitions=6, consumers=2, assignor="cooperative-sticky")
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "add_consumer", "node": "group"})
    run(sim, 8.0)
    first, second = ends(sim.drain_events())
    assert (first["protocol"], first["round"], second["round"]) == ("cooperative", 1, 2)
    # the sticky assignment of a fresh group deals partitions in turn
    assert first["before"] == {"consumer-1": ["topic/0", "topic/2", "topic/4"],
                               "consumer-2": ["topic/1", "topic/3", "topic/5"], "consumer-3": []}
    assert first["after"] == {"consumer-1": ["topic/0", "topic/2"], "consumer-2": ["topic/1", "topic/3"],
                              "consumer-3": []}
    assert first["revoked"] == {"consumer-1": ["topic/4"], "consumer-2": ["topic/5"]}
    assert second["after"]["consumer-3"] == ["topic/4", "topic/5"]
    assert paused_partitions(second) == ["topic/4", "topic/5"]
    assert conserved(sim.metrics())


def test_eager_members_keep_nothing_while_cooperative_members_keep_consuming():
    """Eager protocol (range): every member revokes everything on rejoin, so every partition
    pauses; cooperative: the partitions a member keeps are fetched all through the rebalance."""
    def rebalance(assignor):
        sim = simulation(rate=400, partitions=6, consumers=2, assignor=assignor)
        run(sim, 2.0)
        sim.drain_events()
        sim.apply({"op": "add_consumer", "node": "group"})
        run(sim, 8.0)
        return sim.drain_events(), group_of(sim)

    eager_events, eager = rebalance("range")
    (end,) = ends(eager_events)
    assert paused_partitions(end) == [f"topic/{p}" for p in range(6)]
    coop_events, coop = rebalance("cooperative-sticky")
    first, second = ends(coop_events)
    kept_fetching = [e for e in coop_events if e["k"] == "fetch" and e["c"] == "consumer-1"
                     and first["started"] < e["t"] < second["t"] and e["p"] in (0, 2)]
    assert kept_fetching
    assert coop["paused_s"] < eager["paused_s"]


def test_sticky_eager_rebalance_keeps_what_members_owned():
    """StickyAssignor: eager (all revoked) but the new assignment keeps each member's previous
    partitions as far as balance allows (its user data carries them)."""
    sim = simulation(rate=100, partitions=6, consumers=2, assignor="sticky")
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "add_consumer", "node": "group"})
    run(sim, 6.0)
    (end,) = ends(sim.drain_events())
    assert end["protocol"] == "eager"
    for member in ("consumer-1", "consumer-2"):
        assert len(end["after"][member]) == 2 and set(end["after"][member]) <= set(end["before"][member])
    assert len(end["after"]["consumer-3"]) == 2


def test_poll_longer_than_max_poll_interval_leaves_the_group_and_rejoins_with_duplicates():
    """AbstractCoordinator heartbeat thread: pollTimeoutExpired -> maybeLeaveGroup (LeaveGroup);
    the group rebalances at once; the slow member's commit then fails and it rejoins, and what it
    processed is delivered again by the new owner."""
    sim = simulation(rate=400, partitions=4, consumers=2, processing_ms=2.0, max_poll_records=100,
                     max_poll_interval_ms=1000, commit="after_processing")
    run(sim, 2.0)
    sim.drain_events()
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 200})
    run(sim, 6.0)
    events = sim.drain_events()
    timeout = next(e for e in events if e["k"] == "member" and e["change"] == "poll_timeout")
    start = next(e for e in events if e["k"] == "rebalance_start")
    assert start["t"] == timeout["t"]
    assert start["reason"] == "consumer-1 exceeded max.poll.interval.ms and left the group"
    members = {m["id"]: m for m in group_of(sim)["members"]}
    assert members["consumer-1"]["state"] == "left: poll timeout"
    assert members["consumer-2"]["partitions"] == ["topic/0", "topic/1", "topic/2", "topic/3"]
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 1})
    run(sim, 40.0)  # the slow batch in hand still has to finish
    events = sim.drain_events()
    assert any(e["k"] == "member" and e["c"] == "consumer-1" and e["change"] == "rejoined" for e in events)
    assert any(e["k"] == "rebalance_start" and e["reason"] == "consumer-1 rejoined after its poll timeout"
               for e in events)
    assert group_of(sim)["duplicates"] > 0
    assert conserved(sim.metrics())


def test_static_member_past_its_poll_timeout_sends_no_leave_group():
    """KIP-345 with max.poll.interval.ms: maybeLeaveGroup sends LeaveGroup only for dynamic
    members. A static member that polls again within session.timeout.ms gets its partitions back
    with no rebalance, from the committed offsets."""
    sim = simulation(rate=400, partitions=4, consumers=2, processing_ms=2.0, max_poll_records=100,
                     max_poll_interval_ms=1000, static_membership=True, session_timeout_ms=10_000)
    run(sim, 2.0)
    before = {m["id"]: m["partitions"] for m in group_of(sim)["members"]}
    sim.drain_events()
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 20})
    run(sim, 2.0)
    assert {m["id"]: m["state"] for m in group_of(sim)["members"]}["consumer-1"] == "stalled: poll timeout"
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 1})
    run(sim, 6.0)
    events = sim.drain_events()
    assert not [e for e in events if e["k"] == "rebalance_start"]
    assert any(e["k"] == "member" and e["change"] == "rejoined" for e in events)
    assert {m["id"]: m["partitions"] for m in group_of(sim)["members"]} == before
    assert conserved(sim.metrics())


def test_lag_alert_fires_when_lag_crosses_the_threshold_and_clears_when_back_under():
    """The group's lag (log end minus committed offsets) sampled every 0.5 s: lag_alert on the
    way up, lag_ok on the way back."""
    sim = simulation(rate=200, partitions=2, consumers=1, processing_ms=1.0, lag_alert=300,
                     commit="after_processing", max_poll_records=50)
    run(sim, 2.0)
    assert not [e for e in sim.drain_events() if e["k"] in ("lag_alert", "lag_ok")]
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 100})
    run(sim, 6.0)
    (alert,) = [e for e in sim.drain_events() if e["k"] == "lag_alert"]
    assert alert["lag"] > 300 and alert["threshold"] == 300 and group_of(sim)["alerting"]
    sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 1})
    run(sim, 20.0)
    assert [e["k"] for e in sim.drain_events() if e["k"] in ("lag_alert", "lag_ok")] == ["lag_ok"]
    assert not group_of(sim)["alerting"]


def test_member_lag_is_the_lag_of_its_partitions():
    sim = simulation(rate=500, partitions=4, consumers=2, processing_ms=10)
    run(sim, 3.0)
    group = group_of(sim)
    by_partition = {f"{p['topic']}/{p['p']}": p["lag"] for p in group["partitions"]}
    for member in group["members"]:
        assert member["lag"] == sum(by_partition[tp] for tp in member["partitions"])
    assert sum(m["lag"] for m in group["members"]) == group["lag"]


def test_slow_consumer_factor_is_checked():
    sim = simulation()
    with pytest.raises(engine.CommandError, match="factor must be"):
        sim.apply({"op": "slow_consumer", "node": "group", "member": "consumer-1", "factor": 0})


@pytest.mark.parametrize("failure_rate, multiplier", [(0.0, 1.0), (0.3, 2.0)])
def test_headless_retries_count_and_end_as_the_animated_ones(failure_rate, multiplier):
    """Non-blocking retries with backoff (backoff_ms * multiplier ** (attempt - 1)), then the DLQ:
    without record_flow the attempts certain to fail get no event of their own, yet every
    sample shows the same counts (retried, dead-lettered, acknowledged, waiting) and the same
    dead letters, at the same instants, as a run that schedules and shows every attempt."""
    params = dict(rate=400.0, poison_rate=0.05, failure_rate=failure_rate, max_attempts=5, backoff_ms=7.0,
                  backoff_multiplier=multiplier)
    shown, headless = simulation(record_flow=True, **params), simulation(record_flow=False, **params)
    flow = flow_kinds()
    for _ in range(60):
        shown.advance(0.05)
        headless.advance(0.05)
        assert shown.metrics() == headless.metrics()
        assert [e for e in shown.drain_events() if e["k"] not in flow] == headless.drain_events()
    assert group_of(headless)["retried"] > 0 and shown.metrics()["dead_lettered"] > 0
    assert conserved(headless.metrics())


@pytest.mark.parametrize("assignor", ["cooperative-sticky", "range"])
def test_a_static_member_restarted_during_a_rebalance_resumes_from_the_committed_offsets(assignor: str) -> None:
    """A restarted process knows only the committed offsets (KafkaConsumer starts from the
    group's committed offset, ConsumerCoordinator.refreshCommittedOffsetsIfNeeded). A static
    member killed mid-batch and back while the group is rebalancing keeps its partitions (under
    cooperative rebalancing they are not even revoked), and must fetch again from the committed
    offset, not from where the dead process had fetched to: else the records of the batch it was
    processing are never processed and the books no longer balance."""
    sim = simulation(static_membership=True, assignor=assignor, consumers=2, processing_ms=4.0, rate=400,
                     commit="after_processing", session_timeout_ms=10_000)
    sim.advance(1.0)
    group = sim.components["group"]
    sim.apply({"op": "add_consumer", "node": "group"})  # a rebalance starts
    victim = group.members["consumer-1"]
    assert victim.state == "processing"
    tps = list(victim.assigned)
    sim.apply({"op": "restart_consumer", "node": "group", "member": "consumer-1", "after_ms": 50})
    assert any(group.position[tp] > group.committed[tp] for tp in tps)  # it had fetched past the commit
    sim.advance(0.06)
    assert group.state == "rebalancing"  # back while the group still rebalances
    for _ in range(40):
        sim.advance(0.1)
        for stream in sim.streams():
            assert stream_conserved(stream), (sim.now, stream)
    assert conserved(sim.metrics())
