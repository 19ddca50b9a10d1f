"""XDEL, XTRIM MINID, XGROUP CREATE / SETID / DELCONSUMER and XAUTOCLAIM's COUNT: the rules
one by one (t_stream.c of Redis 7.0, the command pages), then as commands in a running
simulation, where every message they touch stays counted. The same rules are compared with a
real Redis in tests/differential/test_redis_streams.py."""

from __future__ import annotations

import numpy as np
import pytest

from playground import engine
from playground.engine.redisx.consumers import (
    DROP_DELCONSUMER,
    DROP_MINID_UNREAD,
    DROP_SKIPPED,
    DROP_XDEL_PENDING,
    DROP_XDEL_UNREAD,
)
from playground.engine.redisx.group import (
    ERR_BUSYGROUP,
    ERR_NO_KEY,
    estimate_entries_read,
    xgroup_create_error,
)
from playground.engine.redisx.ids import format_id, make_id
from playground.engine.redisx.stream import nodes_to_trim
from tests.engine.redisx.factories import conserved, group_on, log_with, run, sim_of, stream_doc


def ids(*numbers: int) -> list[int]:
    return [make_id(n, 0) for n in numbers]


# -- rules --------------------------------------------------------------------------------------


def test_xautoclaim_count_is_used_up_by_deleted_entries():
    """XAUTOCLAIM COUNT limits claimed + deleted IDs (t_stream.c xautoclaimCommand decrements
    count for a deleted entry too, since 7.0.4); the cursor is the next pending ID."""
    g = group_on(6)
    g.read_new("c1", None, 0.0)
    g.stream.delete(ids(1, 2))
    reply = g.autoclaim("c2", 0, 0, 10.0, count=2)
    assert reply.claimed == [] and reply.deleted == ids(1, 2)
    assert format_id(reply.next_id) == "3-0"
    reply = g.autoclaim("c2", 0, reply.next_id, 10.0, count=2)
    assert [n.id for n in reply.claimed] == ids(3, 4) and format_id(reply.next_id) == "5-0"


def test_xdel_keeps_pending_ids_in_the_pel_and_xclaim_drops_them():
    """XDEL removes the entry, not its pending ID; XCLAIM of a deleted entry removes it from the
    PEL and returns nothing (Redis 7 xclaimCommand)."""
    g = group_on(4)
    g.read_new("c1", None, 0.0)
    assert len(g.stream.delete(ids(2, 2, 9))) == 1
    assert len(g.pel) == 4 and not g.exists(g.pel[make_id(2, 0)])
    assert [n.id for n in g.claim("c2", 0, ids(2, 3), 1.0)] == ids(3)
    assert sorted(g.pel) == ids(1, 3, 4)


def test_xdel_of_the_first_entry_moves_the_first_id_and_keeps_the_last():
    """XDEL: the first ID follows the oldest remaining entry; last-generated-id, entries-added
    and max-deleted-entry-id are kept (XINFO STREAM)."""
    log = log_with(5)
    log.delete(ids(1, 2, 4))
    assert (log.length, format_id(log.first_id()), log.appended) == (2, "3-0", 5)
    assert format_id(log.max_deleted_id) == "4-0" and format_id(log.last_id) == "5-0"


def test_a_tail_node_emptied_by_xdel_is_freed_and_the_next_xadd_opens_a_node():
    """streamIteratorRemoveEntry frees a node left without entries; streamAppendItem then opens
    a new one, so node boundaries restart at the next entry."""
    log = log_with(150)
    log.delete(ids(*range(101, 151)))
    log.add(np.array(ids(*range(151, 301)), dtype=np.int64), np.zeros(150, dtype=np.int32), 0)
    assert log.anchors == [0, 150]
    assert log.node_end(150) == 250
    start, end = log.trim(maxlen=100, approximate=True)
    assert log.length == 150 and format_id(log.first_id()) == "151-0"


def test_xtrim_minid_exact_evicts_every_lower_id_and_approximate_whole_nodes_only():
    """XTRIM MINID = id: every entry below id goes; MINID ~ id: whole nodes whose last ID is
    below it (streamTrim reads the node's last ID with lpGetEdgeStreamID)."""
    exact = log_with(250)
    exact.trim(minid=make_id(150, 5))
    assert format_id(exact.first_id()) == "151-0"
    approx = log_with(250)
    approx.trim(minid=make_id(150, 5), approximate=True)
    assert format_id(approx.first_id()) == "101-0"


def test_nodes_to_trim_walks_nodes_oldest_first_until_one_cannot_go():
    """streamTrim: MAXLEN removes a node while the rest still holds MAXLEN; LIMIT caps it."""
    nodes = [(100, 1), (50, 2), (100, 3)]
    assert nodes_to_trim(nodes, 250, maxlen=100, approximate=True) == (2, 150, False)
    assert nodes_to_trim(nodes, 250, maxlen=100, approximate=True, limit=120) == (1, 100, False)
    assert nodes_to_trim(nodes, 250, maxlen=200) == (0, 0, True)
    assert nodes_to_trim(nodes, 250, minid=3, approximate=True) == (2, 150, False)


def test_xgroup_create_needs_the_key_or_mkstream_and_a_new_name():
    """xgroupCommand: no key and no MKSTREAM is an error; an existing group is BUSYGROUP."""
    assert xgroup_create_error(False, False, False) == ERR_NO_KEY
    assert xgroup_create_error(False, False, True) is None
    assert xgroup_create_error(True, True, True) == ERR_BUSYGROUP
    assert xgroup_create_error(True, False, False) is None


def test_setid_back_delivers_a_pending_entry_again_with_delivery_count_one():
    """XGROUP SETID moves last-delivered-id; a pending entry read again moves to the reader
    with delivery count 1 (streamReplyWithRange); without ENTRIESREAD the counter is unknown."""
    g = group_on(5)
    g.read_new("c1", 3, 0.0)
    g.read_history("c1", 0, None, 1.0)
    g.set_id(make_id(1, 0))
    assert g.entries_read is None and g.waiting() == 2
    [two, three, four] = g.read_new("c2", 3, 2.0)
    assert (two.consumer, two.delivery_count) == ("c2", 1) and four.id == make_id(4, 0)
    assert g.entries_read is None  # 4-0 is in the middle: Redis cannot estimate it
    g.read_new("c2", None, 3.0)
    assert g.entries_read == 5 and g.lag() == 0


def test_lag_is_unknown_with_a_deletion_ahead_of_the_group():
    """streamReplyWithCGLag: a tombstone after last-delivered-id makes the lag null."""
    g = group_on(5, start=0)
    g.read_new("c1", 2, 0.0)
    assert g.lag() == 3
    g.stream.delete(ids(4))
    assert g.lag() is None
    assert estimate_entries_read(g.stream, g.stream.last_id) == 5


def test_delete_consumer_takes_its_pending_entries_out_of_the_pel():
    """streamDelConsumer: the reply is the consumer's pending count; the entries leave the
    group's PEL too."""
    g = group_on(5)
    g.read_new("c1", 3, 0.0)
    g.read_new("c2", 1, 0.0)
    assert len(g.delete_consumer("c1")) == 3 and len(g.delete_consumer("c1")) == 0
    assert g.pel_ids == ids(4) and list(g.consumers) == ["c2"]


# -- commands in a run --------------------------------------------------------------------------


def test_xdel_of_a_pending_entry_is_dropped_when_xautoclaim_finds_it_deleted():
    """The button XDEL oldest pending: the ID stays in the PEL until XAUTOCLAIM reports it
    deleted; then it is counted as dropped with that reason."""
    sim = sim_of(stream_doc(rate=100, consumers=2, processing_ms=50.0, crash_at_s=0.5, min_idle_ms=500,
                            claim_interval_ms=200))
    run(sim, 0.8)
    group = sim.components["group"]
    before = len(group.state.pel)
    sim.apply({"op": "xdel", "node": "stream"})
    assert len(group.state.pel) == before and conserved(sim.metrics())
    run(sim, 2.0)
    assert group.dropped.get(DROP_XDEL_PENDING) == 1
    assert conserved(sim.metrics())


def test_xdel_of_an_unread_entry_means_the_group_never_sees_it():
    sim = sim_of(stream_doc(rate=200, consumers=1, processing_ms=20.0, count=1))
    run(sim, 0.5)
    sim.apply({"op": "xdel_unread", "node": "stream"})
    assert sim.components["group"].dropped == {DROP_XDEL_UNREAD: 1}
    assert sim.metrics()["nodes"]["stream"]["deleted"] == 1
    run(sim, 0.5)
    assert conserved(sim.metrics())


def test_xtrim_minid_drops_what_the_group_had_not_read():
    sim = sim_of(stream_doc(rate=200, consumers=1, processing_ms=20.0, count=1))
    run(sim, 7.0)
    sim.apply({"op": "xtrim_minid", "node": "stream"})
    group = sim.components["group"]
    assert group.dropped.get(DROP_MINID_UNREAD, 0) > 0
    first = sim.metrics()["nodes"]["stream"]["first_id"]
    assert int(first.split("-")[0]) >= int(sim.kernel.now * 1000) - 5000 > 1900
    assert conserved(sim.metrics())


def test_delconsumer_of_a_crashed_consumer_drops_its_pending_entries():
    """Deleting a crashed consumer: Redis answers its pending count and those entries leave
    the PEL; nobody will claim them, so they are counted as dropped."""
    sim = sim_of(stream_doc(rate=100, consumers=2, processing_ms=30.0, crash_at_s=0.5, claim_interval_ms=0))
    run(sim, 1.0)
    group = sim.components["group"]
    pending = len(group.state.consumers["consumer-1"])
    assert pending > 0
    with pytest.raises(engine.CommandError, match="consumer-2 is"):
        sim.apply({"op": "delete_consumer", "node": "group", "member": "consumer-2"})
    sim.apply({"op": "delete_consumer", "node": "group", "member": "consumer-1"})
    event = [e for e in sim.drain_events() if e.get("change") == "deleted"][0]
    assert event["pending"] == pending
    assert sum(group.dropped.values()) == pending and DROP_DELCONSUMER in group.dropped
    assert "consumer-1" not in group.consumers and conserved(sim.metrics())


def test_group_without_mkstream_fails_to_start_then_xgroup_create_works_once():
    """XGROUP CREATE before the first XADD without MKSTREAM fails: the stream keeps the
    entries for nobody; the XGROUP CREATE command then succeeds, and again answers BUSYGROUP."""
    sim = sim_of(stream_doc(rate=100, consumers=1, mkstream=False, start_id="0"))
    assert sim.metrics()["nodes"]["group"]["create_error"] == ERR_NO_KEY
    run(sim, 1.0)
    assert sim.metrics()["acknowledged"] == 0 and conserved(sim.metrics())
    sim.apply({"op": "xgroup_create", "node": "group"})
    with pytest.raises(engine.CommandError, match="BUSYGROUP"):
        sim.apply({"op": "xgroup_create", "node": "group"})
    run(sim, 1.0)
    m = sim.metrics()
    assert m["acknowledged"] > 100 and conserved(m)


def test_setid_0_replays_the_stream_and_setid_end_skips_the_backlog():
    sim = sim_of(stream_doc(rate=100, consumers=1, processing_ms=1.0))
    run(sim, 1.0)
    group = sim.components["group"]
    acked = group.acked
    sim.apply({"op": "xgroup_setid", "node": "group"})
    assert group.replayed > 50
    run(sim, 1.0)
    assert group.acked > acked + group.replayed and conserved(sim.metrics())
    slow = sim_of(stream_doc(rate=300, consumers=1, processing_ms=20.0))
    run(slow, 1.0)
    waiting = slow.components["group"].state.waiting()
    slow.apply({"op": "xgroup_setid_end", "node": "group"})
    assert slow.components["group"].dropped[DROP_SKIPPED] == waiting > 0
    assert conserved(slow.metrics())


def test_xtrim_minid_approximate_leaves_the_node_holding_the_threshold():
    """MINID ~: whole macro nodes only; the node holding the threshold ID stays whole."""
    exact = sim_of(stream_doc(rate=200, consumers=1, processing_ms=0.1))
    approx = sim_of(stream_doc(rate=200, consumers=1, processing_ms=0.1))
    for s in (exact, approx):
        run(s, 7.0)
    exact.apply({"op": "xtrim_minid", "node": "stream"})
    approx.apply({"op": "xtrim_minid_approx", "node": "stream"})
    kept_exact = exact.metrics()["nodes"]["stream"]["length"]
    kept_approx = approx.metrics()["nodes"]["stream"]["length"]
    assert kept_exact < kept_approx < kept_exact + 100
    assert conserved(approx.metrics())
