"""Geo-replication between two clusters, cluster outages and replicated subscriptions
("Geo-replication"; PersistentReplicator; PIP-33 replicated subscriptions)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine
from tests.engine.factories import assert_restored_continues_identically, scripted_trace
from tests.engine.pulsar.factories import conserved, edge, node, sim, stream


def geo_doc(*, both_ways=False, west_producer=False, west_consumers=1, lag_ms=200.0, replicated=True,
            partitions=0, rate=40.0):
    nodes = [
        node("east-prod", "pulsar_producer", rate=rate),
        node("east", "pulsar_topic", cluster="us-east", replication_lag_ms=lag_ms, partitions=partitions),
        node("west", "pulsar_topic", cluster="us-west", replication_lag_ms=lag_ms, partitions=partitions),
        node("east-sub", "pulsar_subscription", type="shared", subscription_name="orders", replicated=replicated),
        node("west-sub", "pulsar_subscription", type="shared", subscription_name="orders", replicated=replicated),
        node("east-app", "pulsar_consumer", consumers=1, processing_ms=2.0),
        node("west-app", "pulsar_consumer", consumers=west_consumers, processing_ms=2.0),
    ]
    edges = [edge("east-prod", "east"), edge("east", "west"), edge("east", "east-sub"), edge("west", "west-sub"),
             edge("east-sub", "east-app"), edge("west-sub", "west-app")]
    if both_ways:
        edges.append(edge("west", "east"))
    if west_producer:
        nodes.append(node("west-prod", "pulsar_producer", rate=rate))
        edges.append(edge("west-prod", "west"))
    return {"fanout": 1, "name": "test", "nodes": nodes, "edges": edges}


def advance(s, seconds, step=0.25):
    events = []
    t = 0.0
    while t < seconds - 1e-9:
        s.advance(step)
        t += step
        events += s.drain_events()
        for books in s.streams():
            assert conserved(books), books
            assert min(books["acknowledged"], books["in_flight"], books["waiting"]) >= 0, books
    return events


def test_messages_reach_the_remote_cluster_after_the_replication_lag():
    """"Geo-replication": a message produced in one cluster is replicated asynchronously to the
    topic of the other cluster; the remote subscription sees it after the replication lag."""
    s = sim(geo_doc(lag_ms=500))
    events = advance(s, 4)
    east = next(e["t"] for e in events if e["k"] == "pulsar_produce" and e["dst"] == "east")
    west = next(e["t"] for e in events if e["k"] == "pulsar_produce" and e["dst"] == "west")
    assert west - east >= 0.5 - 1e-9
    s.components["east-prod"].rate = 0  # stop producing: the replica catches up
    advance(s, 2)
    assert stream(s, "west-sub")["produced"] == stream(s, "east-sub")["produced"] > 100


def test_two_way_replication_does_not_send_replicated_messages_back():
    """Messages carry the cluster they were replicated from and are never replicated again, so
    topics replicated both ways hold each cluster's messages once."""
    s = sim(geo_doc(both_ways=True, west_producer=True))
    advance(s, 3)
    for p in ("east-prod", "west-prod"):
        s.components[p].rate = 0
    advance(s, 2)
    sent = s.metrics()["nodes"]["east-prod"]["sent"] + s.metrics()["nodes"]["west-prod"]["sent"]
    assert s.metrics()["nodes"]["east"]["appended"] == s.metrics()["nodes"]["west"]["appended"] == sent


def test_a_remote_outage_builds_a_replication_backlog_that_drains_when_it_returns():
    """While the remote cluster is down the replicator's cursor holds the messages in the source
    cluster (its ledgers are kept); nothing is lost and the backlog drains once it is back."""
    s = sim(geo_doc())
    advance(s, 1)
    s.apply({"op": "fail_cluster", "node": "west"})
    advance(s, 3)
    backlog = s.metrics()["nodes"]["east"]["replication"][0]["backlog"]
    assert backlog > 80 and s.metrics()["nodes"]["west-app"]["members"][0]["state"] == "disconnected"
    with pytest.raises(engine.CommandError, match="already down"):
        s.apply({"op": "fail_cluster", "node": "west"})
    s.apply({"op": "restore_cluster", "node": "west"})
    s.components["east-prod"].rate = 0
    advance(s, 3)
    assert s.metrics()["nodes"]["east"]["replication"][0]["backlog"] == 0
    assert stream(s, "west-sub")["produced"] == stream(s, "east-sub")["produced"]
    assert stream(s, "west-sub")["acknowledged"] == stream(s, "west-sub")["produced"]


def test_a_source_outage_fails_sends_and_keeps_what_was_not_yet_replicated():
    """The producing cluster goes down: sends fail (the application sees the error), its
    consumers are disconnected, and messages not yet replicated stay there until it returns."""
    s = sim(geo_doc(lag_ms=2000))
    advance(s, 2)
    s.apply({"op": "fail_cluster", "node": "east"})
    advance(s, 3)
    assert s.metrics()["nodes"]["east-prod"]["failed"] > 50
    assert stream(s, "west-sub")["produced"] < stream(s, "east-sub")["produced"]
    s.apply({"op": "restore_cluster", "node": "east"})
    advance(s, 4)
    assert s.metrics()["nodes"]["east"]["replication"][0]["backlog"] < 200


def test_a_replicated_subscription_follows_the_source_one_snapshot_behind():
    """PIP-33: the remote subscription of the same name moves to the position paired with the
    source's mark-delete by the last snapshot (taken every second): its consumers, started after a
    failover, get again only what was consumed after that snapshot, never less."""
    s = sim(geo_doc(west_consumers=0))
    advance(s, 6)
    east, west = stream(s, "east-sub"), stream(s, "west-sub")
    assert west["acknowledged"] > 0.8 * east["acknowledged"]
    assert west["acknowledged"] <= east["acknowledged"]
    assert s.metrics()["nodes"]["west-sub"]["synced"] == west["acknowledged"]
    s.apply({"op": "fail_cluster", "node": "east"})
    s.apply({"op": "add_consumer", "node": "west-app"})
    advance(s, 2)
    west = stream(s, "west-sub")
    assert west["waiting"] == west["in_flight"] == 0 and west["acknowledged"] == west["produced"]


def test_without_replicated_subscriptions_the_remote_subscription_starts_from_its_own_position():
    """Without replicateSubscriptionState the remote subscription is independent: its backlog is
    every replicated message."""
    s = sim(geo_doc(west_consumers=0, replicated=False))
    advance(s, 4)
    west = stream(s, "west-sub")
    assert west["acknowledged"] == 0 and west["waiting"] == west["produced"] > 100


def test_replication_needs_two_clusters_and_equal_partitions():
    """Geo-replication is between clusters; partition i replicates to partition i."""
    bad = geo_doc()
    bad["nodes"][2]["params"]["cluster"] = "us-east"
    with pytest.raises(engine.DocumentError, match="both in cluster 'us-east'"):
        engine.parse_document(bad)
    bad = geo_doc()
    bad["nodes"][2]["params"]["partitions"] = 3
    with pytest.raises(engine.DocumentError, match="same partitions"):
        engine.parse_document(bad)


@pytest.mark.parametrize("seed", [1, 5])
def test_replication_runs_are_deterministic_and_resume_from_a_snapshot(seed):
    def trace():
        s = sim(geo_doc(both_ways=True, west_producer=True, partitions=2), seed)
        out = advance(s, 2)
        s.apply({"op": "fail_cluster", "node": "west"})
        out += advance(s, 2)
        s.apply({"op": "restore_cluster", "node": "west"})
        out += advance(s, 2)
        return out, s

    first, s = trace()
    assert first == trace()[0]
    assert_restored_continues_identically(s, steps=6, dt=0.5)


geo_params = st.fixed_dictionaries({
    "both_ways": st.booleans(),
    "west_producer": st.booleans(),
    "west_consumers": st.integers(0, 2),
    "lag_ms": st.sampled_from([0.0, 200.0, 1500.0]),
    "replicated": st.booleans(),
    "partitions": st.sampled_from([0, 2]),
    "rate": st.sampled_from([5.0, 80.0]),
})
geo_script = st.lists(st.tuples(st.integers(0, 15), st.sampled_from(
    ["fail_east", "restore_east", "fail_west", "restore_west", "add_west", "kill_east"])), max_size=6)


def geo_command(op):
    if op.startswith(("fail_", "restore_")):
        verb, cluster = op.split("_")
        return {"op": f"{verb}_cluster", "node": cluster}
    verb, side = op.split("_")
    return {"op": f"{verb}_consumer", "node": f"{side}-app"}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=geo_params, seed=st.integers(0, 2**32 - 1), commands=geo_script)
def test_geo_replication_counts_every_message_once_under_outages_and_is_deterministic(p, seed, commands):
    """Conservation in every stream of both clusters, whatever fails when; same seed, same trace."""
    def trace():
        s = engine.Simulation(engine.parse_document(geo_doc(**p)), seed)
        return scripted_trace(s, commands, geo_command, ticks=16, dt=0.5)

    assert trace() == trace()
