"""Invariants of replicated Kafka topics under random broker kills, restarts, isolations and slowdowns."""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from playground import engine
from tests.engine.kafka.test_cluster import cluster_doc

params = st.fixed_dictionaries({
    "brokers": st.integers(1, 4),
    "acks": st.sampled_from(["0", "1", "all"]),
    "unclean": st.booleans(),
    "rate": st.sampled_from([0.0, 50.0, 800.0]),
    "partitions": st.integers(1, 4),
    "lag_ms": st.sampled_from([500, 30_000]),
    "group": st.booleans(),
    "enable_idempotence": st.booleans(),
    "max_in_flight": st.sampled_from([1, 5]),
    "key_null_share": st.sampled_from([0.0, 0.5]),
    "delivery_timeout_ms": st.sampled_from([2000, 120_000]),
})


class ClusterRun(RuleBasedStateMachine):
    @initialize(p=params, seed=st.integers(0, 2**32 - 1), rf_pick=st.integers(0, 3), isr_pick=st.integers(0, 3))
    def build(self, p, seed, rf_pick, isr_pick):
        rf = 1 + rf_pick % p["brokers"]
        min_isr = 1 + isr_pick % rf
        self.sim = engine.Simulation(engine.parse_document(cluster_doc(rf=rf, min_isr=min_isr, **p)), seed)
        self.brokers = p["brokers"]
        self.last_t = 0.0

    @rule(dt=st.sampled_from([0.05, 0.5, 3.0, 10.0]))
    def advance(self, dt):
        self.sim.advance(dt)

    @rule(data=st.data(), op=st.sampled_from(["kill_broker", "restart_broker", "isolate_broker",
                                              "reconnect_broker", "slow_broker"]))
    def fault(self, data, op):
        broker = data.draw(st.integers(1, self.brokers))
        command = {"op": op, "node": "kafka", "broker": broker}
        if op == "slow_broker":
            command["factor"] = data.draw(st.sampled_from([1, 50, 5000]))
        try:
            self.sim.apply(command)
        except engine.CommandError:
            pass  # e.g. restarting a broker that is up

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
            assert min(stream["in_flight"], stream["waiting"]) >= 0, stream

    @invariant()
    def the_high_watermark_is_bounded_by_the_in_sync_replicas(self):
        topic = self.sim.components["topic"]
        for p, part in enumerate(topic.parts):
            assert topic.fetchable_end(p) == part.hw <= part.leader_leo
            assert set(part.isr) <= set(part.replicas) and part.isr
            if part.leader is not None:
                assert part.leader in part.replicas
            pending = sum(len(b.keys) for b in part.pending)
            assert part.leader_leo - part.hw == pending
        group = self.sim.components.get("group")
        if group is not None:
            for (_, p), pos in group.position.items():
                assert pos <= topic.parts[p].hw


ClusterRun.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
test_cluster_run_invariants = ClusterRun.TestCase
