"""What a consumer group shows (GroupRuntime.metrics): its members, partitions, lag, rebalances,
and, where set, static members, racks, offset resets and the errors of auto.offset.reset=none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.engine.kafka.offset_reset import group_state

if TYPE_CHECKING:
    from playground.engine.kafka.group import GroupRuntime, Member
    from playground.engine.simulation import Simulation


def member_state(member: Member) -> str:
    if member.out == "left":
        return "left: poll timeout"
    if member.out == "stalled":
        return "stalled: poll timeout"
    return "leaving" if member.leaving else member.state


def member_view(group: GroupRuntime, sim: Simulation, m: Member) -> dict[str, Any]:
    view = {"id": m.id, "state": member_state(m), "partitions": [f"{t}/{p}" for t, p in m.assigned],
            "lag": group._lag(sim, m.assigned), "slow": m.slow}
    if m.instance_id is not None:
        view["instance_id"] = m.instance_id
    if m.rack is not None:
        view["rack"] = m.rack
    return view


def group_metrics(group: GroupRuntime, sim: Simulation) -> dict[str, Any]:
    partitions = []
    lag = 0
    for (topic, p), committed in group.committed.items():
        leo = sim.components[topic].logs[p].leo
        partition_lag = leo - committed
        lag += partition_lag
        partitions.append({"topic": topic, "p": p, "committed": committed, "position": group.position[(topic, p)],
                           "lag": partition_lag, "owner": group.owner[(topic, p)]})
    known = sum(1 for m in group.members.values() if m.out != "left")
    members = [member_view(group, sim, m) for m in group.members.values()]
    view = {
        "generation": group.generation,
        "state": group.state,
        "members": members,
        "partitions": partitions,
        "lag": lag,
        "lag_alert": group.lag_threshold,
        "alerting": group.alerting,
        "protocol": group._protocol(),
        "paused_s": group.paused_s,
        "duplicates": group.duplicates,
        "e2e_duplicates": group.e2e_duplicates if group.count_dups else None,
        "isolation_level": "read_committed" if group.read_committed else "read_uncommitted",
        "output": {"topic": group.output, "written": group.written,
                   "guarantee": "exactly_once" if group.eos else "at_least_once",
                   "commits": group.txn_commits, "aborts": group.txn_aborts, "open": len(group.txns)}
        if group.output is not None else None,
        "order": {"out_of_order": group.out_of_order, "out_of_key_order": group.out_of_key_order}
        if group.check_order else None,
        "retried": group.retried + sum(1 for due in group.silent_retries if due <= sim.kernel.now),
        "processed": group.processed,
        "rebalancing_since": group.rebalance["started"] if group.rebalance else None,
        "rebalances": group.rebalances[-20:],
    }
    # Only where they are in use, so that the views of groups without them stay as they were.
    if known == 0:
        view["coordinator_state"] = group_state(known, group.state == "rebalancing", group.join_closed)
    static = sum(1 for m in group.members.values() if m.instance_id is not None)
    if static:
        view["static_members"] = static
    if group.offset_reset != "earliest":
        view["auto_offset_reset"] = group.offset_reset
    if group.resets:
        view["offset_resets"] = list(group.resets)
    if group.offset_errors:
        view["offset_errors"] = list(group.offset_errors)
    if group.racks is not None:
        view["racks"] = group.racks.view()
    return view


def check_lag_alert(group: GroupRuntime, sim: Simulation) -> None:
    """The lag alert, sampled every LAG_CHECK_S: raised when the group's lag passes the threshold,
    cleared when it is back at or under it."""
    lag = group._lag(sim)
    if not group.alerting and lag > group.lag_threshold:
        group.alerting = True
        sim.emit({"k": "lag_alert", "t": sim.kernel.now, "g": group.id, "lag": lag, "threshold": group.lag_threshold})
    elif group.alerting and lag <= group.lag_threshold:
        group.alerting = False
        sim.emit({"k": "lag_ok", "t": sim.kernel.now, "g": group.id, "lag": lag, "threshold": group.lag_threshold})
