"""Redis node types in a running simulation: the rules as people see them on the canvas."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import engine, examples
from playground.engine.redisx.consumers import DROP_NO_DLQ, DROP_TRIMMED_UNREAD
from playground.engine.redisx.runtime import DROP_BUFFER_LIMIT, DROP_DISCONNECTED, DROP_NO_SUBSCRIBER
from tests.engine.factories import assert_restored_continues_identically
from tests.engine.redisx.factories import conserved, pubsub_doc, run, sim_of, stream_doc


def test_disconnected_subscriber_misses_what_the_stream_keeps():
    """Pub/Sub keeps nothing for a disconnected subscriber; a stream keeps every entry for its group."""
    sim = sim_of(pubsub_doc(rate=200, with_stream=True, disconnect_at_s=1.0, reconnect_after_s=1.0))
    sim.components["group"].kill(sim, sim.components["group"].consumers["consumer-1"])
    run(sim, 1.0)
    sim.components["group"].restart(sim, sim.components["group"].consumers["consumer-1"])
    run(sim, 3.0)
    m = sim.metrics()
    sub = sim.components["sub1"].copies["ch"]
    assert sub.dropped[DROP_DISCONNECTED] > 100
    group = sim.components["group"].streams(sim)[0]
    assert group["dropped"] == {} and group["acknowledged"] > 500
    assert conserved(m)


def test_channel_without_subscribers_drops_every_message():
    """PUBLISH to a channel nobody subscribes to returns 0: the message is gone."""
    sim = sim_of(pubsub_doc(subscribers=0))
    run(sim, 1.0)
    [stream] = sim.streams()
    assert stream["dropped"] == {DROP_NO_SUBSCRIBER: stream["produced"]} and stream["produced"] > 0


def test_non_matching_pattern_subscriber_gets_nothing():
    """PSUBSCRIBE news.* does not receive messages published to orders."""
    sim = sim_of(pubsub_doc(pattern="news.*"))
    run(sim, 1.0)
    assert sim.components["sub1"].copies == {}
    assert sim.metrics()["nodes"]["ch"]["receivers"] == 0


def test_slow_subscriber_is_disconnected_at_the_output_buffer_limit():
    """client-output-buffer-limit pubsub: past the hard limit the server closes the connection."""
    sim = sim_of(pubsub_doc(rate=500, processing_ms=50.0, buffer_limit=100, reconnect_after_s=0))
    run(sim, 2.0)
    sub = sim.components["sub1"]
    assert not sub.connected and sub.why == "client-output-buffer-limit"
    assert sub.copies["ch"].dropped[DROP_BUFFER_LIMIT] > 0
    assert conserved(sim.metrics())


def test_crashed_consumer_entries_wait_in_the_pel_until_xautoclaim_after_min_idle():
    """A crashed consumer's entries stay pending; XAUTOCLAIM moves each one only once it has been
    idle for min-idle-time, and counts a delivery."""
    sim = sim_of(stream_doc(rate=100, consumers=2, processing_ms=50.0, count=10, crash_at_s=1.0,
                            min_idle_ms=2000, claim_interval_ms=500))
    run(sim, 1.0)
    g = sim.components["group"].state
    stuck = {i: (g.pel[i].delivery_time, g.pel[i].delivery_count) for i in g.consumers["consumer-1"]}
    assert stuck
    moved = {}
    for _ in range(100):
        sim.advance(0.05)
        for i in stuck:
            if i not in moved and i not in g.consumers["consumer-1"]:
                moved[i] = sim.now * 1000.0
    assert set(moved) == set(stuck) and g.consumers["consumer-1"] == []
    for i, at in moved.items():
        assert at - stuck[i][0] >= 2000 - 1e-6
    claims = [e for e in sim.drain_events() if e["k"] == "xautoclaim" and e["n"]]
    assert {e["c"] for e in claims} == {"consumer-2"}


def test_poison_entry_is_dead_lettered_after_max_deliveries():
    """Application rule (Redis has no DLQ): delivery count > max deliveries -> XADD to the
    dead-letter stream and XACK; handled at most max-deliveries times."""
    sim = sim_of(stream_doc(rate=20, poison_rate=1.0, max_deliveries=2, min_idle_ms=100, claim_interval_ms=100))
    run(sim, 3.0)
    dead = [e for e in sim.drain_events() if e["k"] == "dead_letter"]
    assert dead and all(e["attempts"] == 3 and e["dlq"] == "dlq" for e in dead)
    dlq = sim.metrics()["nodes"]["dlq"]
    assert dlq["count"] == len(dead) and "poison" in dlq["recent"][0]["reason"]
    assert dlq["recent"][0]["origin"] == "stream stream, group group"


def test_without_a_dead_letter_stream_the_entry_is_dropped_with_the_reason():
    """No dead-letter stream: XACKed and discarded, counted as dropped."""
    sim = sim_of(stream_doc(rate=20, poison_rate=1.0, max_deliveries=1, min_idle_ms=100, claim_interval_ms=100,
                            dlq=False))
    run(sim, 2.0)
    assert sim.metrics()["dropped"][DROP_NO_DLQ] > 0


def test_redrive_adds_dead_letters_back_to_the_stream_as_new_entries():
    """Redrive: XADD back to the source stream (new IDs), the accounting still balances."""
    sim = sim_of(stream_doc(rate=20, poison_rate=0.3, max_deliveries=1, min_idle_ms=100, claim_interval_ms=100))
    run(sim, 3.0)
    before = sim.metrics()
    held = before["nodes"]["dlq"]["count"]
    assert held > 0
    length = sim.components["stream"].log.appended
    sim.apply({"op": "redrive", "node": "dlq"})
    after = sim.metrics()
    assert sim.components["stream"].log.appended == length + held
    assert after["produced"] == before["produced"] and after["dead_lettered"] == before["dead_lettered"] - held
    assert conserved(after)


def test_maxlen_trims_entries_the_group_has_not_read_and_counts_them():
    """MAXLEN trims regardless of consumer groups: unread entries are lost, with the reason."""
    sim = sim_of(stream_doc(rate=500, maxlen=50, consumers=1, processing_ms=20.0))
    run(sim, 2.0)
    m = sim.metrics()
    assert m["dropped"][DROP_TRIMMED_UNREAD] > 0 and sim.components["stream"].log.length == 50
    assert conserved(m)


def test_approximate_maxlen_keeps_up_to_a_node_more():
    """MAXLEN ~ n keeps between n and n + stream-node-max-entries - 1 entries."""
    sim = sim_of(stream_doc(rate=500, maxlen=150, trim="approximate"))
    for _ in range(30):
        sim.advance(0.1)
        length = sim.components["stream"].log.length
        assert length < 250
    assert length >= 150


def test_blocked_consumers_are_served_in_the_order_they_blocked():
    """XREADGROUP BLOCK: XADD serves the clients blocked on the stream first come, first served."""
    sim = sim_of(stream_doc(rate=0, consumers=3))
    sim.advance(0.01)
    group = sim.components["group"]
    order = list(group.blocked)
    assert sorted(order) == ["consumer-1", "consumer-2", "consumer-3"]
    sim.components["stream"].receive(sim, "pub", np.array([5], dtype=np.int64), np.array([0], dtype=np.int32))
    assert group.state.pel[group.state.pel_ids[0]].consumer == order[0]


def test_restarted_consumer_reads_its_own_pending_entries_first():
    """A consumer restarting under its name reads its history (ID 0) before new entries."""
    sim = sim_of(stream_doc(rate=200, consumers=1, processing_ms=30.0, crash_at_s=0.5, restart_after_s=1.0,
                            claim_interval_ms=0))
    run(sim, 0.5)
    pending = list(sim.components["group"].state.consumers["consumer-1"])
    assert pending
    run(sim, 1.2)
    group = sim.components["group"]
    assert all(i not in group.state.pel or group.state.pel[i].delivery_count == 2 for i in pending)
    assert conserved(sim.metrics())


def test_shipped_redis_examples_run_and_balance():
    for name in ("redis-streams-group", "redis-pubsub-vs-streams", "redis-streams-admin"):
        sim = engine.Simulation(engine.parse_document(examples.load(name)), 3)
        for _ in range(300):
            sim.advance(0.1)
            assert conserved(sim.metrics()), name


ops = st.lists(st.tuples(st.integers(0, 29), st.sampled_from(["kill", "restart", "add", "remove", "disconnect",
                                                               "reconnect", "redrive", "xdel", "xdel_unread",
                                                               "xtrim_minid", "delete", "setid", "setid_end"])),
               max_size=8)
params = st.fixed_dictionaries({
    "rate": st.sampled_from([0.0, 30.0, 400.0]),
    "maxlen": st.sampled_from([0, 20, 300]),
    "trim": st.sampled_from(["exact", "approximate"]),
    "consumers": st.integers(1, 3),
    "processing_ms": st.sampled_from([0.5, 5.0, 40.0]),
    "poison_rate": st.sampled_from([0.0, 0.2]),
    "failure_rate": st.sampled_from([0.0, 0.3]),
    "max_deliveries": st.integers(0, 3),
    "min_idle_ms": st.sampled_from([0, 200, 2000]),
    "claim_interval_ms": st.sampled_from([0, 100, 1000]),
    "block_ms": st.sampled_from([0, 100, 2000]),
    "count": st.sampled_from([1, 10, 100]),
    "dlq": st.booleans(),
})


def mixed_doc(p):
    doc = stream_doc(**p)
    doc["nodes"] += [{"id": "ch", "type": "redis_channel", "params": {}},
                     {"id": "sub", "type": "redis_subscriber",
                      "params": {"processing_ms": p["processing_ms"], "buffer_limit": 200, "reconnect_after_s": 0.5}}]
    doc["edges"] += [{"source": "pub", "target": "ch"}, {"source": "ch", "target": "sub"}]
    return doc


def scripted(p, seed, script):
    sim = sim_of(mixed_doc(p), seed)
    out = []
    for tick in range(30):
        for at, op in script:
            if at != tick:
                continue
            group = sim.components["group"]
            alive = sorted(n for n, c in group.consumers.items()
                           if c.state not in ("dead", "stopped") and not c.stopping)
            down = sorted(n for n, c in group.consumers.items() if c.state in ("dead", "stopped"))
            try:
                if op == "kill" and alive:
                    sim.apply({"op": "kill_consumer", "node": "group", "member": alive[0]})
                elif op == "remove" and alive:
                    sim.apply({"op": "remove_consumer", "node": "group", "member": alive[-1]})
                elif op == "restart" and down:
                    sim.apply({"op": "restart_consumer", "node": "group", "member": down[0]})
                elif op == "add":
                    sim.apply({"op": "add_consumer", "node": "group"})
                elif op == "disconnect":
                    sim.apply({"op": "disconnect_subscriber", "node": "sub"})
                elif op == "reconnect":
                    sim.apply({"op": "reconnect_subscriber", "node": "sub"})
                elif op == "redrive" and p["dlq"]:
                    sim.apply({"op": "redrive", "node": "dlq"})
                elif op in ("xdel", "xdel_unread", "xtrim_minid"):
                    sim.apply({"op": op, "node": "stream"})
                elif op == "delete" and down:
                    sim.apply({"op": "delete_consumer", "node": "group", "member": down[-1]})
                elif op == "setid":
                    sim.apply({"op": "xgroup_setid", "node": "group"})
                elif op == "setid_end":
                    sim.apply({"op": "xgroup_setid_end", "node": "group"})
            except engine.CommandError:
                pass
        sim.advance(0.2)
        out.extend(sim.drain_events())
        m = sim.metrics()
        for stream in sim.streams():
            total = (stream["acknowledged"] + stream["in_flight"] + stream["waiting"] + stream["dead_lettered"]
                     + sum(stream["dropped"].values()))
            assert stream["produced"] == total, stream
            assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"], stream["dead_lettered"]) >= 0
    return out, m


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=params, seed=st.integers(0, 2**32 - 1), script=ops)
def test_every_message_is_counted_once_and_the_same_seed_gives_the_same_run(p, seed, script):
    """Conservation per stream at every tick, under crashes, restarts, disconnects, redrives,
    XDEL, XTRIM MINID, XGROUP DELCONSUMER and SETID (replay and skip); determinism: the same
    seed and commands give the same events and metrics."""
    assert scripted(p, seed, script) == scripted(p, seed, script)


@settings(max_examples=10, deadline=None)
@given(p=params, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 20))
def test_snapshot_at_any_moment_resumes_identically(p, seed, split):
    sim = sim_of(mixed_doc(p), seed)
    for _ in range(split):
        sim.advance(0.2)
    assert_restored_continues_identically(sim, steps=15, dt=0.2)
