"""Invariants under random topologies, random commands and random consumer crashes."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from playground import engine
from tests.engine.factories import assert_restored_continues_identically, conserved, kafka_doc

params = st.fixed_dictionaries({
    "rate": st.sampled_from([0.0, 10.0, 150.0, 2000.0]),
    "keys": st.integers(1, 200),
    "partitions": st.integers(1, 12),
    "consumers": st.integers(1, 5),
    "processing_ms": st.sampled_from([0.1, 2.0, 30.0]),
    "poison_rate": st.sampled_from([0.0, 0.02, 0.5]),
    "failure_rate": st.sampled_from([0.0, 0.1, 0.6]),
    "max_attempts": st.integers(1, 4),
    "backoff_ms": st.sampled_from([0.0, 20.0, 500.0]),
    "dlq": st.booleans(),
    "auto_commit_interval_ms": st.sampled_from([100, 5000]),
    "session_timeout_ms": st.sampled_from([6000, 10000]),
    "commit": st.sampled_from(["auto", "after_processing", "before_processing"]),
    "assignor": st.sampled_from(["range", "roundrobin", "sticky", "cooperative-sticky"]),
    "max_poll_interval_ms": st.sampled_from([1000, 300_000]),
    "lag_alert": st.sampled_from([0, 50]),
    "static_membership": st.booleans(),
    "static_consumers": st.integers(0, 3),
    "auto_offset_reset": st.sampled_from(["earliest", "latest", "none"]),
})


class KafkaRun(RuleBasedStateMachine):
    @initialize(p=params, seed=st.integers(0, 2**32 - 1))
    def build(self, p, seed):
        self.sim = engine.Simulation(engine.parse_document(kafka_doc(**p)), seed)
        self.last_t = 0.0

    def _group(self):
        return self.sim.components["group"]

    @rule(dt=st.sampled_from([0.01, 0.1, 0.5, 3.0]))
    def advance(self, dt):
        self.sim.advance(dt)

    @precondition(lambda self: len(self._group().members) < 8)
    @rule()
    def add_consumer(self):
        self.sim.apply({"op": "add_consumer", "node": "group"})

    @rule(data=st.data(), crash=st.booleans())
    def remove_or_kill(self, data, crash):
        group = self._group()
        alive = [m.id for m in group.members.values() if m.state != "dead" and not m.leaving]
        if not alive:
            return
        member = data.draw(st.sampled_from(alive))
        self.sim.apply({"op": "kill_consumer" if crash else "remove_consumer", "node": "group", "member": member})

    @rule(data=st.data(), factor=st.sampled_from([1, 30, 300]))
    def slow_consumer(self, data, factor):
        """A member whose polls outlast max.poll.interval.ms leaves and rejoins."""
        alive = [m.id for m in self._group().members.values() if m.state != "dead" and not m.leaving]
        if alive:
            member = data.draw(st.sampled_from(alive))
            self.sim.apply({"op": "slow_consumer", "node": "group", "member": member, "factor": factor})

    @rule(stop=st.booleans())
    def stop_or_start_consumers(self, stop):
        if stop or len(self._group().members) < 8:
            self.sim.apply({"op": "stop_consumers" if stop else "start_consumers", "node": "group"})

    @rule(spec=st.sampled_from([{"to": "earliest"}, {"to": "latest"}, {"to": "shift", "n": -50},
                                {"to": "datetime", "t": 1.0}, {"to": "offset", "offset": 30}]))
    def reset_offsets(self, spec):
        """--reset-offsets: refused unless the group is Empty; the books hold either way."""
        try:
            self.sim.apply({"op": "reset_offsets", "node": "group", **spec})
        except engine.CommandError:
            pass

    @rule()
    def redrive(self):
        if "dlq" in self.sim.components:
            try:
                self.sim.apply({"op": "redrive", "node": "dlq"})
            except engine.CommandError:
                pass  # nothing waiting to be redriven

    @invariant()
    def clock_never_goes_back(self):
        assert self.sim.now >= self.last_t
        self.last_t = self.sim.now

    @invariant()
    def every_message_is_counted_exactly_once(self):
        for stream in self.sim.streams():
            total = (stream["acknowledged"] + stream["in_flight"] + stream["waiting"]
                     + stream["dead_lettered"] + sum(stream["dropped"].values()))
            assert stream["produced"] == total, stream
            assert min(stream["acknowledged"], stream["in_flight"], stream["waiting"]) >= 0, stream

    @invariant()
    def no_partition_is_owned_twice(self):
        group = self._group()
        owned = [tp for m in group.members.values() for tp in m.assigned]
        assert len(owned) == len(set(owned))
        for member in group.members.values():
            for tp in member.assigned:
                assert group.owner[tp] == member.id

    @invariant()
    def committed_offsets_never_pass_the_log_end(self):
        group = self._group()
        for (topic, p), committed in group.committed.items():
            assert 0 <= committed <= self.sim.components[topic].logs[p].leo


KafkaRun.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
test_kafka_run_invariants = KafkaRun.TestCase


@settings(max_examples=15, deadline=None)
@given(p=params, seed=st.integers(0, 2**32 - 1),
       script=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(["add", "kill", "remove"])), max_size=4))
def test_same_seed_gives_the_same_trace(p, seed, script):
    def trace():
        sim = engine.Simulation(engine.parse_document(kafka_doc(**p)), seed)
        out = []
        for tick in range(40):
            for at, op in script:
                if at != tick:
                    continue
                group = sim.components["group"]
                alive = sorted(m.id for m in group.members.values() if m.state != "dead" and not m.leaving)
                if op == "add" and len(group.members) < 8:
                    sim.apply({"op": "add_consumer", "node": "group"})
                elif op != "add" and alive:
                    sim.apply({"op": f"{op}_consumer", "node": "group", "member": alive[0]})
            sim.advance(0.25)
            out.extend(sim.drain_events())
            assert conserved(sim.metrics())
        return out, sim.metrics()

    assert trace() == trace()


@settings(max_examples=10, deadline=None)
@given(p=params, seed=st.integers(0, 2**32 - 1), split=st.integers(1, 30))
def test_snapshot_at_any_moment_resumes_identically(p, seed, split):
    sim = engine.Simulation(engine.parse_document(kafka_doc(**p)), seed)
    for _ in range(split):
        sim.advance(0.2)
    assert_restored_continues_identically(sim, steps=20, dt=0.2)
