"""Kafka cluster, replication and producer rules (playground/engine/kafka/cluster.py, replication.py,
producer.py, compression.py, the sticky partitioner)."""

from functools import partial
from pathlib import Path

import pytest

from playground import engine
from playground.engine.kafka.cluster import assign_replicas, elect_leader
from playground.engine.kafka.compression import CODECS, records_per_second
from playground.engine.kafka.partitioner import sticky_next_partition, sticky_switch_points
from playground.engine.kafka.replication import DROP_ACKS1, DROP_UNCLEAN
from tests.conftest import run as run_for
from tests.engine.factories import conserved


def cluster_doc(*, brokers=3, acks="all", unclean=False, rf=3, min_isr=2, rate=500.0, partitions=3,
                lag_ms=30_000, group=True, **producer):
    nodes = [
        {"id": "kafka", "type": "kafka_cluster",
         "params": {"brokers": brokers, "unclean_leader_election_enable": unclean,
                    "replica_lag_time_max_ms": lag_ms, "default_replication_factor": min(3, brokers),
                    "min_insync_replicas": 1}},
        {"id": "producer", "type": "producer", "params": {"rate": rate, "keys": 50, "acks": acks, **producer}},
        {"id": "topic", "type": "kafka_topic",
         "params": {"partitions": partitions, "replication_factor": rf, "min_insync_replicas": min_isr}},
    ]
    edges = [{"source": "kafka", "target": "topic"}, {"source": "producer", "target": "topic"}]
    if group:
        nodes.append({"id": "group", "type": "consumer_group", "params": {"consumers": 2, "processing_ms": 0.5}})
        edges.append({"source": "topic", "target": "group"})
    return {"fanout": 1, "name": "cluster", "nodes": nodes, "edges": edges}


def sim_of(seed=1, **kwargs):
    return engine.Simulation(engine.parse_document(cluster_doc(**kwargs)), seed)


run = partial(run_for, step=0.1)

def test_replica_assignment_follows_kafkas_rack_unaware_layout():
    """AdminUtils.assignReplicasToBrokersRackUnaware, the case of Kafka's AdminTest
    (testReplicaAssignment): 5 brokers, 10 partitions, replication factor 3, fixed start index 0."""
    assert assign_replicas(10, 3, [0, 1, 2, 3, 4], 0, 0) == [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
        [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]]


def test_replication_factor_above_the_broker_count_is_refused():
    """Kafka refuses it at topic creation (InvalidReplicationFactorException); the error names the field."""
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(cluster_doc(brokers=2, rf=3, min_isr=1))
    assert "nodes[2].params.replication_factor" in str(err.value)
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document(cluster_doc(brokers=3, rf=2, min_isr=3))
    assert "nodes[2].params.min_insync_replicas" in str(err.value)


def test_leader_election_prefers_the_first_live_in_sync_replica():
    """PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection: assignment order, live and in
    the ISR; else, only with unclean.leader.election.enable, the first live replica."""
    assert elect_leader([1, 2, 3], [1, 3], {2, 3}, False) == (3, False)
    assert elect_leader([1, 2, 3], [1], {2, 3}, False) == (None, False)
    assert elect_leader([1, 2, 3], [1], {2, 3}, True) == (2, True)


def test_preferred_leader_is_the_first_replica_and_consumers_read_up_to_the_high_watermark():
    """The first replica leads; the HW is the smallest LEO over the ISR and bounds what groups fetch."""
    sim = sim_of()
    run(sim, 2.0)
    topic = sim.components["topic"]
    for part in topic.parts:
        assert part.leader == part.replicas[0]
        assert part.hw == min(part.leo[r] for r in part.isr)
        assert topic.fetchable_end(topic.parts.index(part)) == part.hw <= part.leader_leo
    group = sim.components["group"]
    assert all(group.position[tp] <= topic.parts[tp[1]].hw for tp in group.position)


def test_a_follower_that_stops_fetching_leaves_the_isr_after_replica_lag_time_max_and_rejoins():
    """KIP-16: a follower out of sync for replica.lag.time.max.ms leaves the ISR; it rejoins once its
    LEO reaches the high watermark."""
    sim = sim_of(lag_ms=2000)
    run(sim, 1.0)
    topic = sim.components["topic"]
    follower = topic.parts[0].replicas[1]
    sim.apply({"op": "slow_broker", "node": "kafka", "broker": follower, "factor": 1000})  # 5 s round trips
    run(sim, 1.5)
    assert follower in topic.parts[0].isr
    run(sim, 3.0)
    assert follower not in topic.parts[0].isr
    sim.apply({"op": "slow_broker", "node": "kafka", "broker": follower, "factor": 1})
    run(sim, 6.0)
    assert follower in topic.parts[0].isr


def test_acks_all_with_an_isr_below_min_insync_replicas_fails_then_drops_after_delivery_timeout():
    """acks=all is refused with NotEnoughReplicas when the ISR is smaller than min.insync.replicas;
    the producer retries until delivery.timeout.ms, then gives the batch up with the reason."""
    sim = sim_of(rf=3, min_isr=3, delivery_timeout_ms=3000, rate=100)
    run(sim, 1.0)
    topic = sim.components["topic"]
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 3})
    run(sim, 15.0)
    assert all(len(part.isr) == 2 for part in topic.parts)
    producer = sim.metrics()["nodes"]["producer"]
    assert producer["errors"].get("NotEnoughReplicas", 0) > 0
    assert any(r.startswith("delivery.timeout.ms expired: NotEnoughReplicas") for r in producer["dropped"])


def test_an_idempotent_producer_goes_on_after_delivery_timeout_gives_batches_up():
    """A batch given up by delivery.timeout.ms never reaches the log, so the batches after it take
    its sequence numbers (the Java producer's TransactionManager.adjustSequencesDueToFailedBatch):
    once the ISR is back the leader takes them, instead of refusing each as OutOfOrderSequence."""
    sim = sim_of(rf=3, min_isr=2, delivery_timeout_ms=2000, request_timeout_ms=1000, rate=200, partitions=2)
    run(sim, 2.0)
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 1})
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 2})
    run(sim, 5.0)
    producer = sim.components["producer"]
    given_up = sum(producer.dropped.values())
    assert given_up > 0 and any(r.startswith("delivery.timeout.ms expired") for r in producer.dropped)
    sim.apply({"op": "restart_broker", "node": "kafka", "broker": 1})
    sim.apply({"op": "restart_broker", "node": "kafka", "broker": 2})
    run(sim, 3.0)  # batches queued before the restart may still expire meanwhile
    acknowledged = producer.acknowledged
    settled = sum(producer.dropped.values())
    run(sim, 5.0)
    assert producer.acknowledged - acknowledged > 900  # 200 records/s for 5 s, all written
    assert "OutOfOrderSequence" not in producer.errors
    assert sum(producer.dropped.values()) == settled  # nothing more given up
    assert conserved(sim.metrics())


def test_acks_1_loses_what_the_leader_had_alone_when_it_is_cut_off_and_replaced():
    """acks=1 is answered once the leader wrote it; a leader cut off from its followers still takes
    writes until the controller moves its leadership (broker.session.timeout.ms), then the new
    leader, which never had them, truncates them: lost, each counted."""
    sim = sim_of(acks="1", rate=300, partitions=1)
    run(sim, 1.0)
    leader = sim.components["topic"].parts[0].leader
    sim.apply({"op": "isolate_broker", "node": "kafka", "broker": leader})
    run(sim, 12.0)
    metrics = sim.metrics()
    assert sim.components["topic"].parts[0].leader != leader
    assert metrics["dropped"].get(DROP_ACKS1, 0) > 1000
    assert metrics["nodes"]["producer"]["acknowledged"] == metrics["nodes"]["producer"]["sent"]


def test_acks_all_loses_nothing_when_the_leader_is_cut_off():
    """acks=all waits for the ISR: the cut-off leader cannot replicate nor shrink the ISR, so its
    requests are never answered; after the election they are retried on the new leader."""
    sim = sim_of(acks="all", rate=300, partitions=1)
    run(sim, 1.0)
    leader = sim.components["topic"].parts[0].leader
    sim.apply({"op": "isolate_broker", "node": "kafka", "broker": leader})
    run(sim, 20.0)
    metrics = sim.metrics()
    assert metrics["dropped_total"] == 0
    assert metrics["duplicates"] == 0  # idempotence drops the copies the new leader already has


def test_without_idempotence_a_retry_after_a_lost_acknowledgement_writes_a_duplicate():
    """enable.idempotence=false: a batch the new leader already copied, whose acknowledgement never
    came (the old leader died first), is sent again and written a second time, counted. With
    idempotence the leader recognises the producer id and sequence and writes nothing."""
    duplicates = {}
    for idempotent in (False, True):
        sim = sim_of(acks="all", rate=2000, partitions=1, enable_idempotence=idempotent)
        run(sim, 1.0)
        part = sim.components["topic"].parts[0]
        sim.apply({"op": "slow_broker", "node": "kafka", "broker": part.replicas[2], "factor": 100})
        run(sim, 1.0)
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": part.leader})
        run(sim, 12.0)
        assert part.leader == part.replicas[1]
        metrics = sim.metrics()
        assert metrics["dropped_total"] == 0
        duplicates[idempotent] = metrics["duplicates"]
    assert duplicates[False] > 0
    assert duplicates[True] == 0


def test_an_unclean_election_counts_what_a_lagging_group_had_not_read_as_lost():
    """Records below the old high watermark that the new (out-of-sync) leader never had are gone:
    a group that had not fetched them yet skips them, each counted with the reason."""
    document = Path("playground/examples/kafka-unclean-election.json").read_text()
    sim = engine.Simulation(engine.parse_document(document), 1)
    sim.advance(2)
    for b in (2, 3):
        sim.apply({"op": "slow_broker", "node": "kafka", "broker": b, "factor": 1000})
    run(sim, 5.0)
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 1})
    sim.apply({"op": "restart_broker", "node": "kafka", "broker": 2})
    run(sim, 15.0)
    assert sim.metrics()["dropped"].get(DROP_UNCLEAN, 0) > 0


def test_offline_partition_without_unclean_election_then_unclean_election_truncates():
    """With no live in-sync replica the partition stays offline (produces fail) unless
    unclean.leader.election.enable elects an out-of-sync replica, which truncates what it lacked."""
    for unclean in (False, True):
        sim = sim_of(acks="1", unclean=unclean, partitions=1, lag_ms=1000, rate=300)
        run(sim, 0.5)
        part = sim.components["topic"].parts[0]
        leader, follower = part.replicas[0], part.replicas[1]
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": follower})
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": part.replicas[2]})
        run(sim, 3.0)  # the followers are out of the ISR; only the leader is in sync
        assert part.isr == [leader]
        sim.apply({"op": "kill_broker", "node": "kafka", "broker": leader})
        sim.apply({"op": "restart_broker", "node": "kafka", "broker": follower})
        run(sim, 12.0)
        if unclean:
            assert part.leader == follower
            assert sim.metrics()["nodes"]["kafka"]["unclean_elections"] == 1
            events = sim.drain_events()
            assert any(e["k"] == "leader" and e["unclean"] for e in events)
            assert any(e["k"] == "drop" and e["reason"] == DROP_UNCLEAN for e in events)
        else:
            assert part.leader is None
            assert sim.metrics()["nodes"]["producer"]["errors"].get("no leader for the partition", 0) > 0


def test_acks_0_records_sent_to_a_dead_leader_are_lost_with_the_reason():
    """acks=0: the producer never learns of a failure; what it sends to a dead leader is gone."""
    sim = sim_of(acks="0", partitions=1)
    run(sim, 0.5)
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": sim.components["topic"].parts[0].leader})
    run(sim, 2.0)
    assert sim.metrics()["dropped"].get("acks=0 and the leader was down", 0) > 0


def test_sticky_partitioner_switches_after_batch_size_bytes():
    """KIP-794 (BuiltInPartitioner): records without a key stick to a partition until batch.size
    bytes were produced to it."""
    assert sticky_switch_points(0, 10, 100, 300) == [3, 6, 9]
    assert sticky_switch_points(250, 4, 100, 300) == [1, 4]
    assert sticky_next_partition(0.99, [1.0, 0.0, 1.0], 0) == 2  # never the current, never leaderless


def test_null_keys_fill_one_partition_batch_by_batch():
    sim = sim_of(key_null_share=1.0, rate=2000, batch_size=2000, record_bytes=100, partitions=6)
    run(sim, 0.5)
    produced = [e for e in sim.drain_events() if e["k"] == "produce"]
    assert produced and all(e["key"] is None for e in produced)
    assert len({e["p"] for e in produced}) > 1


def test_compression_shrinks_bytes_and_its_cpu_cost_bounds_throughput():
    """compression.type: a codec's ratio shows in bytes on the wire, its CPU cost in the most records
    the sender can push per second."""
    assert records_per_second(1000, *CODECS["gzip"], 125.0) < records_per_second(1000, *CODECS["lz4"], 125.0)
    sim = sim_of(compression="zstd", rate=1000)
    run(sim, 1.0)
    producer = sim.metrics()["nodes"]["producer"]
    assert producer["bytes_compressed"] == pytest.approx(producer["bytes_sent"] * 0.28, rel=0.01)


def test_cluster_runs_are_deterministic_and_snapshots_resume_identically():
    def scripted():
        sim = sim_of(seed=4, acks="1", unclean=True)
        for i in range(80):
            if i == 10:
                sim.apply({"op": "isolate_broker", "node": "kafka", "broker": 1})
            if i == 50:
                sim.apply({"op": "reconnect_broker", "node": "kafka", "broker": 1})
            sim.advance(0.25)
        return sim.drain_events(), sim.metrics()
    assert scripted() == scripted()
    sim = sim_of(seed=5)
    run(sim, 2.0)
    sim.apply({"op": "kill_broker", "node": "kafka", "broker": 2})
    sim.drain_events()
    restored = engine.Simulation.restore(sim.snapshot())
    run(sim, 12.0)
    run(restored, 12.0)
    assert sim.drain_events() == restored.drain_events()
    assert sim.metrics() == restored.metrics()
