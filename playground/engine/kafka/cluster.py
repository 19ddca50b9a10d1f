"""A Kafka cluster: brokers, replica placement, follower fetching, the ISR and leader election.

The controller is modelled as Kafka's KRaft controller quorum, running apart from the brokers
and never failing itself: it learns that a broker is gone when the broker's session lapses
(broker.session.timeout.ms without a heartbeat: a crash, or a broker cut off from the others),
then removes it from every ISR and elects new leaders for the partitions it led. A restarted or
reconnected broker registers again at once. A broker cut off from the others still takes
produce requests from clients until the controller has moved its leaderships away (clients
are on the other side of the cut): its followers cannot fetch from it and it cannot reach the
controller to shrink the ISR, so acks=all requests wait while acks=1 and acks=0 writes are
accepted and then lost at the election.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from playground.engine._mypyc import mypyc_attr
from playground.engine.component import CommandError, CommandSpec, Runtime
from playground.engine.kafka.racks import assign_replicas_rack_aware, broker_racks
from playground.engine.kafka.replication import PartitionState
from playground.engine.registry import Param

if TYPE_CHECKING:
    from playground.engine.kafka.runtime import TopicRuntime
    from playground.engine.kernel import Kernel
    from playground.engine.simulation import Simulation

REPLICATE: Final = 51
SESSION_LAPSE: Final = 52
MAX_SLOW: Final = 10_000


def assign_replicas(partitions: int, replication_factor: int, brokers: list[int], start_index: int,
                    shift: int) -> list[list[int]]:
    """Kafka's rack-unaware replica assignment (AdminUtils.assignReplicasToBrokersRackUnaware).

    The first replica of partition p goes to broker ``(p + start_index) % n``; the others
    follow at ``1 + (shift + j) % (n - 1)`` positions further, and ``shift`` grows by one every
    ``n`` partitions, so that followers spread out too. Kafka draws ``start_index`` and
    ``shift`` at random (here from the cluster's seeded random source); the first replica is
    the preferred leader.
    """
    n = len(brokers)
    if not 1 <= replication_factor <= n:
        raise ValueError(f"replication factor {replication_factor} with {n} brokers")
    out = []
    for p in range(partitions):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start_index) % n
        replicas = [brokers[first]]
        for j in range(replication_factor - 1):
            replicas.append(brokers[(first + 1 + (shift + j) % (n - 1)) % n])
        out.append(replicas)
    return out


def elect_leader(replicas: list[int], isr: list[int], live: set[int], unclean: bool) -> tuple[int | None, bool]:
    """The controller's leader choice for a partition whose leader is gone
    (PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection): the first replica, in
    assignment order, that is alive and in the ISR; when there is none and
    unclean.leader.election.enable is true, the first live replica, in sync or not.
    Returns (leader or None when the partition goes offline, whether the election was unclean).
    """
    for r in replicas:
        if r in live and r in isr:
            return r, False
    if unclean:
        for r in replicas:
            if r in live:
                return r, True
    return None, False


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Broker:
    __slots__ = ("id", "up", "isolated", "fenced", "slow", "token")

    def __init__(self, broker_id: int) -> None:
        self.id = broker_id
        self.up = True
        self.isolated = False  # cut off from the other brokers and the controller
        self.fenced = False  # the controller considers it gone (its session lapsed)
        self.slow = 1.0  # replication round trips take this many times longer
        self.token = 0

    @property
    def state(self) -> str:
        if not self.up:
            return "down"
        if self.isolated:
            return "isolated"
        return "slow" if self.slow > 1 else "up"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class ClusterRuntime(Runtime):
    commands = {"kill_broker": "cmd_kill_broker", "restart_broker": "cmd_restart_broker",
                "slow_broker": "cmd_slow_broker", "isolate_broker": "cmd_isolate_broker",
                "reconnect_broker": "cmd_reconnect_broker"}
    # The broker states each op applies in (the methods refuse the others): a broker row offers
    # only these, so it reads as what can happen to the broker next.
    command_specs = {
        "kill_broker": CommandSpec(item="broker", valid_in=("up", "slow", "isolated")),
        "isolate_broker": CommandSpec(item="broker", valid_in=("up", "slow")),
        "slow_broker": CommandSpec(item="broker", valid_in=("up", "slow"), args=(Param(
            "factor", "Slow ×", "float", 10, "How many times slower it handles requests (1 = normal)", min=1,
            max=MAX_SLOW),)),
        "restart_broker": CommandSpec(item="broker", valid_in=("slow", "isolated", "down")),
        "reconnect_broker": CommandSpec(item="broker", valid_in=("isolated",)),
    }
    items = "brokers"

    def __init__(self, sim: Simulation, node_id: str, params: dict[str, Any]) -> None:
        self.id = node_id
        self.p = params
        self.brokers = {b: Broker(b) for b in range(1, int(params["brokers"]) + 1)}
        self.racks: dict[int, str] = broker_racks(list(self.brokers), int(params.get("racks", 0)))  # broker.rack
        self.rng = sim.kernel.rng(f"kafka_cluster:{node_id}")
        self.round_s = params["replica_fetch_ms"] / 1000.0
        self.lag_max_s = params["replica_lag_time_max_ms"] / 1000.0
        self.session_s = params["broker_session_timeout_ms"] / 1000.0
        self.topics: list[str] = []
        self.elections = 0
        self.unclean_elections = 0
        self.log: list[dict[str, Any]] = []
        sim.kernel.schedule(self.round_s, REPLICATE, self.id)

    # -- placement --------------------------------------------------------------------------

    def register_topic(self, sim: Simulation, topic: TopicRuntime, replication_factor: int) -> list[PartitionState]:
        n = len(self.brokers)
        start, shift = (int(x) for x in self.rng.integers(0, n, 2))
        if self.racks:  # every broker has a broker.rack: AdminUtils' rack-aware placement
            placement = assign_replicas_rack_aware(topic.partition_count, replication_factor, self.racks, start, shift)
        else:
            placement = assign_replicas(topic.partition_count, replication_factor, sorted(self.brokers), start, shift)
        self.topics.append(topic.id)
        return [PartitionState(replicas, sim.kernel.now) for replicas in placement]

    # -- who can talk to whom ---------------------------------------------------------------

    def reachable(self, b: int) -> bool:
        """Can take part in replication: up and not cut off."""
        broker = self.brokers[b]
        return broker.up and not broker.isolated

    def serving(self, b: int | None) -> bool:
        """Takes produce requests from clients (a cut-off leader still does)."""
        return b is not None and self.brokers[b].up

    def live(self) -> set[int]:
        """Brokers the controller considers alive."""
        return {b for b, broker in self.brokers.items() if broker.up and not broker.fenced}

    # -- commands ---------------------------------------------------------------------------

    def _broker(self, command: dict[str, Any]) -> Broker:
        b = command.get("broker")
        if isinstance(b, str) and b.isdigit():
            b = int(b)
        if isinstance(b, bool) or b not in self.brokers:
            raise CommandError(f"cluster {self.id!r} has brokers 1 to {len(self.brokers)}, not {b!r}")
        return self.brokers[b]

    def cmd_kill_broker(self, sim: Simulation, command: dict[str, Any]) -> None:
        """The broker's process crashes: no more fetches or produces; the controller notices when
        its session lapses (broker.session.timeout.ms)."""
        broker = self._broker(command)
        if not broker.up:
            raise CommandError(f"broker {broker.id} is already down")
        broker.up = False
        broker.token += 1
        self._note(sim, broker, "killed")
        if not broker.fenced:
            sim.kernel.schedule(sim.kernel.now + self.session_s, SESSION_LAPSE, self.id, (broker.id, broker.token))

    def cmd_restart_broker(self, sim: Simulation, command: dict[str, Any]) -> None:
        broker = self._broker(command)
        if broker.up and not broker.isolated and broker.slow == 1:
            raise CommandError(f"broker {broker.id} is up and well")
        self._rejoin(sim, broker, "restarted")

    def cmd_reconnect_broker(self, sim: Simulation, command: dict[str, Any]) -> None:
        broker = self._broker(command)
        if not broker.isolated:
            raise CommandError(f"broker {broker.id} is not cut off")
        self._rejoin(sim, broker, "reconnected")

    def cmd_slow_broker(self, sim: Simulation, command: dict[str, Any]) -> None:
        """Replication to and from the broker takes ``factor`` times the round trip (1 = normal)."""
        broker = self._broker(command)
        factor = command.get("factor", 10)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 1 <= factor <= MAX_SLOW:
            raise CommandError(f"factor must be a number from 1 to {MAX_SLOW}")
        broker.slow = float(factor)
        self._note(sim, broker, "slowed" if factor > 1 else "normal speed", factor=factor)

    def cmd_isolate_broker(self, sim: Simulation, command: dict[str, Any]) -> None:
        broker = self._broker(command)
        if not broker.up or broker.isolated:
            raise CommandError(f"broker {broker.id} is {broker.state}")
        broker.isolated = True
        broker.token += 1
        self._note(sim, broker, "isolated")
        sim.kernel.schedule(sim.kernel.now + self.session_s, SESSION_LAPSE, self.id, (broker.id, broker.token))

    def _rejoin(self, sim: Simulation, broker: Broker, change: str) -> None:
        """The broker registers with the controller again: it is a follower of every partition
        that has a leader (its log already truncated to that leader's), and the controller
        elects leaders for offline partitions it can now serve."""
        broker.up, broker.isolated, broker.fenced, broker.slow = True, False, False, 1.0
        broker.token += 1
        self._note(sim, broker, change)
        now = sim.kernel.now
        for topic, p, part in self._partitions(sim):
            if broker.id not in part.replicas:
                continue
            part.fetch_due[broker.id] = now
            part.fetch_upto[broker.id] = part.leo[broker.id]
            if part.leader is None:
                self._elect(sim, topic, p, part)

    def _note(self, sim: Simulation, broker: Broker, change: str, **extra: Any) -> None:
        sim.emit({"k": "broker", "t": sim.kernel.now, "cluster": self.id, "broker": broker.id, "change": change,
                  **extra})

    # -- events -----------------------------------------------------------------------------

    def on_event(self, sim: Simulation, kind: int, arg: Any) -> None:
        if kind == REPLICATE:
            self._round(sim)
            kernel: Kernel = sim.kernel
            kernel.schedule(kernel.now + self.round_s, REPLICATE, self.id)
        elif kind == SESSION_LAPSE:
            b, token = arg
            broker = self.brokers[b]
            if token == broker.token and (not broker.up or broker.isolated):
                self._fence(sim, broker)

    def _partitions(self, sim: Simulation) -> list[tuple[TopicRuntime, int, PartitionState]]:
        out: list[tuple[TopicRuntime, int, PartitionState]] = []
        for topic_id in self.topics:
            topic = sim.components[topic_id]
            out.extend((topic, p, part) for p, part in enumerate(topic.parts))
        return out

    def _fence(self, sim: Simulation, broker: Broker) -> None:
        """The broker's session lapsed: out of every ISR, and its leaderships move."""
        broker.fenced = True
        self._note(sim, broker, "fenced")
        for topic, p, part in self._partitions(sim):
            if part.leader == broker.id:
                self._elect(sim, topic, p, part)
            elif broker.id in part.isr and len(part.isr) > 1:
                part.isr.remove(broker.id)
                self._isr_changed(sim, topic, p, part, "shrink", broker.id)
                topic.advance_hw(sim, p)

    def _elect(self, sim: Simulation, topic: TopicRuntime, p: int, part: PartitionState) -> None:
        live = self.live()
        leader, unclean = elect_leader(part.replicas, part.isr, live, bool(self.p["unclean_leader_election_enable"]))
        old = part.leader
        now = sim.kernel.now
        if leader is None:
            part.leader = None
            sim.emit({"k": "leader", "t": now, "cluster": self.id, "topic": topic.id, "p": p, "leader": None,
                      "old": old, "isr": list(part.isr), "unclean": False})
            topic.leader_lost(sim, p)
            return
        self.elections += 1
        self.unclean_elections += unclean
        part.leader = leader
        part.epoch += 1
        if unclean:
            part.isr = [leader]
        else:
            part.isr = [r for r in part.replicas if r in part.isr and r in live]
        lost = topic.truncate(sim, p, part.leo[leader], unclean)
        for r in part.replicas:
            if r != leader:
                part.leo[r] = min(part.leo[r], part.leader_leo)
                part.fetch_upto[r] = part.leo[r]
                part.fetch_due[r] = now
                part.caught_up[r] = now  # Partition.makeLeader resets the followers' fetch state
        sim.emit({"k": "leader", "t": now, "cluster": self.id, "topic": topic.id, "p": p, "leader": leader,
                  "old": old, "isr": list(part.isr), "unclean": unclean, "epoch": part.epoch, "lost": lost})
        topic.advance_hw(sim, p)

    def _isr_changed(self, sim: Simulation, topic: TopicRuntime, p: int, part: PartitionState, change: str,
                     broker: int) -> None:
        sim.emit({"k": "isr", "t": sim.kernel.now, "cluster": self.id, "topic": topic.id, "p": p,
                  "change": change, "broker": broker, "isr": list(part.isr)})

    # -- replication ------------------------------------------------------------------------

    def _round(self, sim: Simulation) -> None:
        """One replication round: every follower whose fetch is due receives what the leader had
        when it sent the fetch (a range of offsets, however many), and sends the next. A follower
        in the ISR that has not caught up with the leader for replica.lag.time.max.ms leaves it;
        one out of it that reaches the HW rejoins (Partition.maybeShrinkIsr / maybeExpandIsr).
        Then the HW moves to the smallest LEO over the ISR (advance_hw; with every replica in the
        ISR, that is the smallest LEO the round has just seen)."""
        kernel: Kernel = sim.kernel
        now = kernel.now
        lag_max = self.lag_max_s
        round_s = self.round_s
        brokers = self.brokers
        components = sim.components
        # Broker states cannot change during a round: read them once, not per partition. When
        # every broker is up, connected and at normal speed, partitions whose replicas are all in
        # the ISR take the healthy path below, where a fetch sent now is due one round trip later.
        healthy = True
        for broker in brokers.values():
            if not broker.up or broker.isolated or broker.slow != 1.0:
                healthy = False
                break
        if healthy:
            up = ok = dict.fromkeys(brokers, True)
            slow = dict.fromkeys(brokers, 1.0)
        else:
            up = {b: broker.up for b, broker in brokers.items()}
            ok = {b: broker.up and not broker.isolated for b, broker in brokers.items()}  # reachable()
            slow = {b: broker.slow for b, broker in brokers.items()}
        next_due = now + round_s
        for topic_id in self.topics:
            topic: TopicRuntime = components[topic_id]
            parts = topic.parts
            assert parts is not None
            for p, part in enumerate(parts):
                leader = part.leader
                if leader is None or not up[leader]:
                    continue
                pending = part.pending
                leader_leo = pending[-1].end if pending else part.hw  # part.leader_leo
                leo = part.leo
                fetch_due = part.fetch_due
                fetch_upto = part.fetch_upto
                fetch_sent = part.fetch_sent
                caught_up = part.caught_up
                isr = part.isr
                replicas = part.replicas
                changed = False
                low = leo[leader]  # the smallest LEO over the replicas, for the HW
                full = healthy and len(isr) == len(replicas)  # every replica in the ISR
                if full:
                    # The general loop below, for a healthy cluster and a full ISR: every due fetch
                    # is answered and no follower can join the ISR. A change to the rules there
                    # changes this too.
                    for r in replicas:
                        if r == leader:
                            continue
                        leo_r = leo[r]
                        if now >= fetch_due[r]:
                            upto = fetch_upto[r]
                            if leader_leo < upto:
                                upto = leader_leo
                            if upto > leo_r:
                                leo[r] = leo_r = upto
                                changed = True
                            fetch_upto[r] = leader_leo
                            fetch_due[r] = next_due
                            if leo_r >= leader_leo:
                                caught_up[r] = fetch_sent[r] = now
                                if leo_r < low:
                                    low = leo_r
                                continue  # caught up now: it stays in the ISR
                            caught = caught_up[r]
                            sent = fetch_sent[r]
                            if sent > caught:
                                caught_up[r] = caught = sent
                            fetch_sent[r] = now
                        else:
                            caught = caught_up[r]
                        if leo_r < low:
                            low = leo_r
                        if now - caught > lag_max:
                            isr.remove(r)
                            self._isr_changed(sim, topic, p, part, "shrink", r)
                            changed = True
                            full = False
                else:
                    leader_ok = ok[leader]
                    leader_slow = slow[leader]
                    for r in replicas:
                        if r == leader:
                            continue
                        if not up[r] or now < fetch_due[r]:
                            leo_r = leo[r]
                        elif leader_ok and ok[r]:
                            upto = fetch_upto[r]
                            if leader_leo < upto:
                                upto = leader_leo
                            leo_r = leo[r]
                            if upto > leo_r:
                                leo[r] = leo_r = upto
                                changed = True
                            # Caught up with the leader now, or at least with the leader's LEO when
                            # it sent the fetch (it has everything up to ``upto`` by now).
                            if leo_r >= leader_leo:
                                caught_up[r] = now
                            elif fetch_sent[r] > caught_up[r]:
                                caught_up[r] = fetch_sent[r]
                            fetch_sent[r] = now
                            fetch_upto[r] = leader_leo
                            slow_r = slow[r]
                            fetch_due[r] = now + round_s * (slow_r if slow_r > leader_slow else leader_slow)
                        else:
                            fetch_due[r] = now + round_s
                            leo_r = leo[r]
                        if leo_r < low:
                            low = leo_r
                        if not leader_ok:
                            continue  # a cut-off leader cannot reach the controller to change the ISR
                        if r in isr:
                            if now - caught_up[r] > lag_max:
                                isr.remove(r)
                                self._isr_changed(sim, topic, p, part, "shrink", r)
                                changed = True
                        elif ok[r] and leo_r >= part.hw:
                            part.isr = isr = [x for x in replicas if x in isr or x == r]
                            self._isr_changed(sim, topic, p, part, "expand", r)
                            changed = True
                    full = len(isr) == len(replicas)
                if not changed:
                    continue
                if full:
                    # Every replica is in the ISR: the new HW is ``low`` (advance_hw's rule, known
                    # here without reading the LEOs again); the leader is up.
                    if low > part.hw and pending and pending[0].end <= low:
                        topic.commit(sim, p, part, low)
                else:
                    topic.advance_hw(sim, p)

    # -- view -------------------------------------------------------------------------------

    def metrics(self, sim: Simulation) -> dict[str, Any]:
        partitions = []
        leaders: dict[int, int] = dict.fromkeys(self.brokers, 0)
        offline = under = 0
        for topic, p, part in self._partitions(sim):
            if part.leader is None or not self.brokers[part.leader].up:
                offline += 1
            else:
                leaders[part.leader] += 1
            if len(part.isr) < len(part.replicas):
                under += 1
            partitions.append({"topic": topic.id, "p": p, "leader": part.leader, "isr": list(part.isr),
                               "replicas": list(part.replicas), "hw": part.hw, "leo": part.leader_leo})
        return {
            "brokers": [{"id": b.id, "state": b.state, "slow": b.slow, "fenced": b.fenced, "leaders": leaders[b.id],
                         **({"rack": self.racks[b.id]} if self.racks else {})} for b in self.brokers.values()],
            "partitions": partitions[:256],
            "offline_partitions": offline,
            "under_replicated": under,
            "elections": self.elections,
            "unclean_elections": self.unclean_elections,
        }
