"""The process-wide CPU budget (issue 19 point 2): a saturated process slows every room by one
factor (fewer flow events too), and gives the speed back when the load drops."""

from __future__ import annotations

from playground.live import protocol
from playground.live import runner as runner_module
from playground.live.runner import Scheduler


def test_a_saturated_process_scales_every_budget_alike_then_recovers(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(runner_module, "clock", lambda: now[0])
    scheduler = Scheduler(share=0.5, window=1.0)
    assert scheduler.tick_budget(0.04, 0.1) == 0.04 and not scheduler.busy
    for _ in range(50):  # two full cores' worth of ticks, for 5 s
        now[0] += 0.1
        scheduler.record(0.2)
    assert scheduler.busy
    heavy, light = scheduler.tick_budget(0.04, 0.1), scheduler.tick_budget(0.01, 0.1)
    assert heavy < 0.04 * 0.5 and heavy / 0.04 == light / 0.01  # one factor for every room
    assert scheduler.max_flow() < protocol.MAX_FLOW_EVENTS
    for _ in range(50):  # then a tenth of a core
        now[0] += 0.1
        scheduler.record(0.01)
    assert scheduler.tick_budget(0.04, 0.1) == 0.04 and scheduler.max_flow() == protocol.MAX_FLOW_EVENTS


async def test_a_run_slowed_by_the_server_says_so():
    from playground import engine
    from tests.live.helpers import reference
    from tests.live.test_runner import Collector

    scheduler = Scheduler()
    scheduler.factor = 0.05  # as if the process were far over its share (and stays so)
    scheduler.record = lambda seconds: None
    out = Collector()
    room = runner_module.EmbeddedRunner("sched-test", publish=out, tick_seconds=0.1, scheduler=scheduler)
    await room.load(engine.parse_document(reference()))
    room._running = True
    room._watched = True
    room._speed = 100.0  # 10 simulated seconds a tick: far more than 2 ms of budget allows
    for _ in range(3):
        await room.tick()
    frame = out.frames()[-1]
    # far below the 100x asked for (how far depends on the machine and the engine build)
    assert frame["state"]["limited"] == "server_busy" and frame["state"]["effective_speed"] < 10
