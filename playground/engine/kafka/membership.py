"""Who is in a consumer group: static and dynamic members, and stopping or starting them all.

A static member has a group.instance.id (KIP-345): the coordinator keeps its partitions while it
restarts within session.timeout.ms, close() sends no LeaveGroup, and the range and round-robin
assignors sort it before every dynamic member (assignors.member_order). A group may mix both: the
first ``static_consumers`` consumers are static (all of them with ``static_membership``), the
others dynamic. Their group.instance.id is their consumer name (consumer-1, consumer-2...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.engine.kafka.group import GroupRuntime
    from playground.engine.simulation import Simulation

MAX_MEMBERS = 64  # as group.MAX_MEMBERS


def is_static(params: Mapping[str, Any], number: int) -> bool:
    """Whether consumer number ``number`` (1-based) has a group.instance.id."""
    return bool(params.get("static_membership")) or number <= int(params.get("static_consumers", 0))


def stop_consumers(group: GroupRuntime, sim: Simulation) -> None:
    """Every running consumer is closed, as stopping the application does (KafkaConsumer.close:
    offsets committed, then LeaveGroup from a dynamic member; a static member sends none, so the
    group is Empty only once its session has timed out)."""
    for member_id in [m.id for m in group.members.values() if m.state != "dead" and not m.leaving and not m.out]:
        if member_id in group.members:
            group.remove_member(sim, member_id)


def start_consumers(group: GroupRuntime, sim: Simulation) -> None:
    """The application starts again with ``consumers`` consumers: the static ones under their
    group.instance.id (one still known to the coordinator is left as it is), the dynamic ones as
    new members; each starts from the committed offsets (or auto.offset.reset)."""
    for number in range(1, int(group.p["consumers"]) + 1):
        if len(group.members) >= MAX_MEMBERS:
            return
        if not is_static(group.p, number):
            group.add_member(sim)
        elif f"consumer-{number}" not in group.members:
            group.add_member(sim, number)
