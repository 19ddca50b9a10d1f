"""Offset reset and replay (kafka-consumer-groups --reset-offsets, ConsumerGroupCommand) and
auto.offset.reset (earliest, latest, none), rule by rule and in runs."""

from __future__ import annotations

import pytest

from playground import engine
from playground.engine.component import CommandError
from playground.engine.kafka.offset_reset import (
    DROP_RESET,
    ResetSpec,
    auto_reset_offset,
    check_inactive,
    clamp,
    group_state,
    parse_reset,
    reset_target,
)
from tests.engine.factories import conserved, simulation, stream_conserved


def never(_: float) -> int | None:
    raise AssertionError("no time lookup expected")


def test_only_an_empty_or_dead_group_may_be_reset():
    """ConsumerGroupCommand.resetOffsets: "Assignments can only be reset if the group ... is
    inactive, but the current state is Stable." for any state but Empty and Dead."""
    check_inactive("g", "Empty")
    check_inactive("g", "Dead")
    with pytest.raises(CommandError, match="group 'g' is inactive, but the current state is Stable"):
        check_inactive("g", "Stable")


def test_group_state_follows_the_coordinator():
    """ClassicGroupState: Empty with no known member, PreparingRebalance while joining,
    CompletingRebalance while syncing, Stable otherwise."""
    assert group_state(0, True, False) == "Empty"
    assert group_state(2, True, False) == "PreparingRebalance"
    assert group_state(2, True, True) == "CompletingRebalance"
    assert group_state(2, False, False) == "Stable"


def test_shift_and_to_offset_are_clamped_to_the_log():
    """ConsumerGroupCommand.checkOffsetsRange: above the log end -> log end, below the log start
    -> log start."""
    assert clamp(500, 100, 400) == 400
    assert clamp(50, 100, 400) == 100
    assert clamp(250, 100, 400) == 250
    assert reset_target(ResetSpec("shift", -1000), 300, 100, 400, never) == 100
    assert reset_target(ResetSpec("shift", 50), 300, 100, 400, never) == 350
    assert reset_target(ResetSpec("offset", 9999), 300, 100, 400, never) == 400


def test_earliest_latest_and_datetime_targets():
    """prepareOffsetsToReset: --to-earliest is the log start, --to-latest the log end,
    --to-datetime the offset ListOffsets finds for the time, or the log end when none
    ("Partition is empty. Falling back to latest known offset.")."""
    assert reset_target(ResetSpec("earliest"), 300, 100, 400, never) == 100
    assert reset_target(ResetSpec("latest"), 300, 100, 400, never) == 400
    assert reset_target(ResetSpec("datetime", 5.0), 300, 100, 400, lambda t: 222) == 222
    assert reset_target(ResetSpec("datetime", 5.0), 300, 100, 400, lambda t: None) == 400


def test_shift_needs_a_committed_offset():
    """prepareOffsetsToReset --shift-by: "Cannot shift offset for partition ... since there is no
    current committed offset"."""
    with pytest.raises(CommandError, match="no current committed offset"):
        reset_target(ResetSpec("shift", -5), None, 0, 10, never)


def test_parse_reset_names_the_bad_field():
    """ResetOffsets' options (--to-datetime, --by-duration, --shift-by, --to-offset) each need their
    value; a bad one is a command error naming the field."""
    assert parse_reset({}, 0) == ResetSpec("earliest")
    assert parse_reset({"to": "duration", "seconds": 4}, 10.0) == ResetSpec("datetime", 6.0)
    with pytest.raises(CommandError, match="to must be one of"):
        parse_reset({"to": "yesterday"}, 0)
    with pytest.raises(CommandError, match="t is required"):
        parse_reset({"to": "datetime"}, 0)
    with pytest.raises(CommandError, match="n must be a whole number"):
        parse_reset({"to": "shift", "n": 1.5}, 0)


def test_auto_offset_reset_policies():
    """auto.offset.reset: earliest -> log start, latest -> log end, none -> no position (poll()
    throws NoOffsetForPartitionException)."""
    assert auto_reset_offset("earliest", 3, 9) == 3
    assert auto_reset_offset("latest", 3, 9) == 9
    assert auto_reset_offset("none", 3, 9) is None


def group(sim):
    return sim.metrics()["nodes"]["group"]


def streams_conserved(sim) -> bool:
    return conserved(sim.metrics()) and all(stream_conserved(s) for s in sim.streams())


def test_reset_refused_while_the_group_has_members():
    """The reset is refused with Kafka's message while the group is Stable."""
    sim = simulation(rate=100)
    sim.advance(2)
    with pytest.raises(CommandError, match="is inactive, but the current state is Stable"):
        sim.apply({"op": "reset_offsets", "node": "group", "to": "earliest"})


def test_stop_reset_to_a_time_and_replay_delivers_the_records_again():
    """Stop the group, reset to t=2 s (the first offset written at or after it, through the
    time index), start again: the records from there on are processed a second time (counted
    as duplicates), and every message is still accounted for."""
    sim = simulation(rate=60, partitions=3, consumers=2, dlq=False)  # few enough that the log keeps every row
    sim.advance(6)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(1)
    assert group(sim)["coordinator_state"] == "Empty"
    committed = {p["p"]: p["committed"] for p in group(sim)["partitions"]}
    duplicates_before = group(sim)["duplicates"]
    sim.apply({"op": "reset_to_datetime", "node": "group", "t": 2.0})  # the button, with the panel's time
    reset = [e for e in sim.drain_events() if e["k"] == "offsets_reset"][0]
    topic = sim.components["topic"]
    for p in range(3):
        old, new = reset["offsets"][f"topic/{p}"]
        assert old == committed[p]
        ts = topic.logs[p].timestamps(new - 1, new + 1)
        assert ts[0] < 2.0 <= ts[1]  # the first record at or after t
    assert group(sim)["offset_resets"][-1]["approximate"] == 0
    replayed = sum(old - new for old, new in reset["offsets"].values())
    sim.apply({"op": "start_consumers", "node": "group"})
    sim.advance(6)
    assert group(sim)["duplicates"] - duplicates_before >= replayed
    assert group(sim)["offset_resets"][-1]["to"] == "datetime"
    assert streams_conserved(sim)


def test_reset_to_a_time_whose_rows_are_forgotten_answers_at_the_time_index_precision():
    """Where the engine forgot the log's rows, --to-datetime returns the time index entry at or
    before the time (UnifiedLog.fetchOffsetByTimestamp looks it up first): never after the exact
    answer, and the reset says it was approximate."""
    sim = simulation(rate=200, partitions=3, consumers=2, processing_ms=0.5, dlq=False)
    sim.advance(6)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(0.5)
    logs = sim.components["topic"].logs
    forgotten = [p for p, log in enumerate(logs) if log.kept_from > log.lookup_time(2.0)["found"]]
    assert forgotten  # rows below the committed offsets were forgotten in some partitions
    sim.apply({"op": "reset_offsets", "node": "group", "to": "datetime", "t": 2.0})
    assert group(sim)["offset_resets"][-1]["approximate"] == len(forgotten)
    committed = {p["p"]: p["committed"] for p in group(sim)["partitions"]}
    for p in forgotten:
        assert committed[p] == logs[p].lookup_time(2.0)["found"] < logs[p].kept_from
    assert streams_conserved(sim)


def test_reset_to_latest_skips_the_backlog_with_a_reason():
    """Records a reset moves past without processing them are dropped, with the reason."""
    sim = simulation(rate=400, partitions=2, consumers=1, processing_ms=5, max_poll_records=20, dlq=False)
    sim.advance(3)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(0.5)
    sim.apply({"op": "reset_to_latest", "node": "group"})
    dropped = sim.metrics()["dropped"].get(DROP_RESET, 0)
    assert dropped > 0
    assert group(sim)["lag"] == 0
    assert streams_conserved(sim)


def test_shift_by_moves_back_and_is_clamped_at_the_log_start():
    """--shift-by N moves the committed offset by N, clamped to the log (checkOffsetsRange); the
    button shifts by -100."""
    sim = simulation(rate=50, partitions=1, consumers=1, dlq=False)
    sim.advance(4)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(0.5)
    before = group(sim)["partitions"][0]["committed"]
    assert before > 110
    sim.apply({"op": "reset_shift_by", "node": "group"})
    assert group(sim)["partitions"][0]["committed"] == before - 100
    sim.apply({"op": "reset_offsets", "node": "group", "to": "shift", "n": -1000})
    assert group(sim)["partitions"][0]["committed"] == 0
    sim.apply({"op": "reset_offsets", "node": "group", "to": "shift", "n": 10**9})
    assert group(sim)["partitions"][0]["committed"] == sim.components["topic"].logs[0].leo
    assert streams_conserved(sim)


def test_auto_offset_reset_latest_skips_what_was_written_before_the_group_started():
    """auto.offset.reset=latest: a new group starts at the log end; records already there are
    never processed by it (dropped, with the reason)."""
    doc = {"fanout": 1, "name": "late", "nodes": [
        {"id": "producer", "type": "producer", "params": {"rate": 200, "keys": 10}},
        {"id": "topic", "type": "kafka_topic", "params": {"partitions": 2}},
        {"id": "early", "type": "consumer_group", "params": {"consumers": 1, "processing_ms": 1}},
        {"id": "late", "type": "consumer_group",
         "params": {"consumers": 1, "processing_ms": 1, "auto_offset_reset": "latest"}}],
        "edges": [{"source": "producer", "target": "topic"}, {"source": "topic", "target": "early"},
                  {"source": "topic", "target": "late"}]}
    sim = engine.Simulation(engine.parse_document(doc), 5, record_flow=False)
    # "late" first consumes at 3 s: its consumer is stopped before it commits anything.
    sim.apply({"op": "stop_consumers", "node": "late"})
    sim.advance(3)
    sim.apply({"op": "start_consumers", "node": "late"})
    sim.advance(2)
    late = sim.metrics()["nodes"]["late"]
    assert late["auto_offset_reset"] == "latest"
    assert sim.metrics()["dropped"].get(DROP_RESET, 0) > 400
    assert late["processed"] < sim.metrics()["nodes"]["early"]["processed"] / 2
    assert streams_conserved(sim)


def test_auto_offset_reset_none_fails_each_consumer_until_offsets_are_set():
    """auto.offset.reset=none: poll() throws NoOffsetForPartitionException for a partition with
    no committed offset; the consumer's process exits (its session times out), the next owner
    fails too, and the group runs once an operator has reset the offsets."""
    sim = simulation(rate=100, partitions=2, consumers=2, auto_offset_reset="none", session_timeout_ms=6000,
                     dlq=False)
    sim.advance(1)
    view = group(sim)
    assert view["offset_errors"][0]["error"] == "NoOffsetForPartitionException"
    assert view["processed"] == 0
    sim.advance(10)
    assert group(sim)["members"] == []
    sim.apply({"op": "reset_offsets", "node": "group", "to": "earliest"})
    sim.apply({"op": "start_consumers", "node": "group"})
    sim.advance(3)
    assert group(sim)["processed"] > 0
    assert streams_conserved(sim)


def test_reset_restores_identically_from_a_snapshot():
    """Time travel: a simulation restored after a reset continues exactly as the original."""
    sim = simulation(rate=100, partitions=2, consumers=2)
    sim.advance(2)
    sim.apply({"op": "stop_consumers", "node": "group"})
    sim.advance(1)
    sim.apply({"op": "reset_offsets", "node": "group", "to": "offset", "offset": 10})
    restored = engine.Simulation.restore(sim.snapshot())
    for s in (sim, restored):
        s.apply({"op": "start_consumers", "node": "group"})
        s.advance(2)
    assert sim.metrics() == restored.metrics()


def test_the_replay_ready_topology_works_as_its_description_says():
    """kafka-replay: audit fails with NoOffsetForPartitionException and becomes Empty; billing's
    reset is refused while it runs; stopped, it is Empty only after the static member's session
    timeout; reset to 10 s ago and started again, it replays (duplicates), books balanced."""
    from playground import examples

    sim = engine.Simulation(engine.parse_document(examples.load("kafka-replay")), 1, record_flow=False)
    sim.advance(15)
    nodes = sim.metrics()["nodes"]
    assert nodes["audit"]["offset_errors"][0]["error"] == "NoOffsetForPartitionException"
    assert nodes["audit"]["coordinator_state"] == "Empty"
    assert nodes["billing"]["static_members"] == 1
    with pytest.raises(CommandError, match="inactive"):
        sim.apply({"op": "reset_offsets", "node": "billing"})
    sim.apply({"op": "stop_consumers", "node": "billing"})
    sim.advance(3)
    with pytest.raises(CommandError, match="inactive"):  # the static consumer-1 is still known
        sim.apply({"op": "reset_by_duration", "node": "billing"})
    sim.advance(8)
    sim.apply({"op": "reset_by_duration", "node": "billing"})
    moved = sim.metrics()["nodes"]["billing"]["offset_resets"][-1]["moved"]
    assert moved < -500  # back to 30 s ago: what it read in the ~19 s before it stopped, 60 records/s
    sim.apply({"op": "start_consumers", "node": "billing"})
    sim.apply({"op": "reset_offsets", "node": "audit"})
    sim.apply({"op": "start_consumers", "node": "audit"})
    sim.advance(8)
    nodes = sim.metrics()["nodes"]
    assert nodes["billing"]["duplicates"] >= -moved
    assert nodes["audit"]["processed"] > 1000
    assert streams_conserved(sim)
