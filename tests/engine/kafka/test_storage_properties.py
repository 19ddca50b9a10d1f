"""Conservation and log structure under random retention, compaction, tombstones and crashes."""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from playground import engine
from tests.engine.kafka.factories import conserved, storage_doc

topics = st.fixed_dictionaries({
    "readers": st.integers(0, 2),
    "rate": st.sampled_from([50.0, 800.0, 4000.0]),
    "keys": st.sampled_from([1, 5, 200]),
    "partitions": st.integers(1, 4),
    "consumers": st.integers(1, 3),
    "processing_ms": st.sampled_from([0.5, 5.0, 40.0]),
    "tombstone_share": st.sampled_from([0.0, 0.1, 0.5]),
    "cleanup_policy": st.sampled_from(["delete", "compact", "compact,delete"]),
    "segment_bytes": st.sampled_from([1024, 4096, 65536]),
    "retention_ms": st.sampled_from([-1, 500, 3000]),
    "retention_bytes": st.sampled_from([-1, 5000, 50_000]),
    "retention_check_ms": st.sampled_from([100, 1000]),
    "min_cleanable_dirty_ratio": st.sampled_from([0.1, 0.5, 0.9]),
    "min_compaction_lag_ms": st.sampled_from([0, 1000]),
    "delete_retention_ms": st.sampled_from([0, 2000]),
    "cleaner_backoff_ms": st.sampled_from([100, 1000]),
    "index_interval_bytes": st.sampled_from([0, 4096]),
})


class StorageRun(RuleBasedStateMachine):
    @initialize(p=topics, seed=st.integers(0, 2**32 - 1))
    def build(self, p, seed):
        self.sim = engine.Simulation(engine.parse_document(storage_doc(**p)), seed, record_flow=False)
        self.groups = [f"group{i}" for i in range(p["readers"])]

    @rule(dt=st.sampled_from([0.05, 0.5, 2.0]))
    def advance(self, dt):
        self.sim.advance(dt)

    @rule(data=st.data())
    def kill_a_consumer(self, data):
        if not self.groups:
            return
        gid = data.draw(st.sampled_from(self.groups))
        alive = [m.id for m in self.sim.components[gid].members.values() if m.state != "dead" and not m.leaving]
        if alive:
            self.sim.apply({"op": "kill_consumer", "node": gid, "member": data.draw(st.sampled_from(alive))})

    @rule(data=st.data())
    def add_a_consumer(self, data):
        if self.groups:
            self.sim.apply({"op": "add_consumer", "node": data.draw(st.sampled_from(self.groups))})

    @invariant()
    def every_message_is_counted_exactly_once(self):
        conserved(self.sim)

    @invariant()
    def segments_tile_the_log_from_its_start_to_its_end(self):
        for log in self.sim.components["topic"].logs:
            segs = log.segments
            assert segs[0].base == log.log_start and segs[-1].end == log.leo
            for a, b in zip(segs, segs[1:], strict=False):
                assert a.end == b.base
            for seg in segs:
                assert 0 <= seg.records <= seg.end - seg.base and seg.bytes >= 0
            assert log.records + log.removed_by_retention + log.removed_by_compaction == log.leo
            if log.config.compacts:  # every record still in the log has its row
                assert log.hi - log.lo == log.records
                assert log.start >= log.log_start

    @invariant()
    def compaction_leaves_one_record_per_key_in_the_cleaned_part(self):
        for log in self.sim.components["topic"].logs:
            if log.cleaner_runs:
                a, b = log._row(log.log_start), log._row(log.last_cleaned["upto"])
                keys = log.keybuf[a:b]
                assert len(keys) == len(set(keys.tolist()))


TestStorageRun = StorageRun.TestCase
TestStorageRun.settings = settings(max_examples=30, stateful_step_count=12, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])
