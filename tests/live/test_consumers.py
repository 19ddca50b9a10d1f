"""The websocket protocol end to end through LiveConsumer, on the in-memory channel layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from playground.live import protocol, rooms
from tests.live.helpers import KEY, ROOM, Viewer, complete_frames, merge_metrics, starter


def frames(messages: list[dict]) -> list[dict]:
    """The frames, with the complete metrics a browser holds after each (deltas merged)."""
    return complete_frames(messages)


async def test_first_viewer_of_an_empty_room_gets_hello_and_the_controls(viewers):
    alice = viewers(ROOM, KEY)
    hello = await alice.connect()
    assert hello == {
        "v": 1,
        "type": "hello",
        "room": ROOM,
        "seq": 0,
        "controller": True,
        "state": hello["state"],
    }
    assert hello["state"]["running"] is False


async def test_malformed_room_id_is_closed_with_4400(viewers):
    viewer = viewers("bad!room")
    connected, _ = await viewer.comm.connect()
    assert connected
    closed = await viewer.comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4400}


async def test_load_gives_snapshot_at_t0_paused_with_the_document(viewers):
    alice = viewers(ROOM, KEY)
    await alice.connect()
    await alice.send({"type": "load", "document": starter()})
    snapshot = await alice.receive()
    assert snapshot["type"] == "snapshot" and snapshot["v"] == 1
    assert snapshot["t"] == 0 and snapshot["room"] == ROOM and snapshot["controller"] is True
    assert snapshot["state"]["running"] is False
    assert [n["id"] for n in snapshot["document"]["nodes"]][0] == "orders-api"
    assert snapshot["metrics"]["produced"] == 0
    assert snapshot["recent"] == {"dlq": [], "rebalances": []}


async def test_run_streams_frames_with_increasing_seq_and_rising_produced(presenter: Viewer):
    await presenter.send({"type": "control", "action": "run"})
    seen = await presenter.receive_until(lambda m: m["type"] == "frame" and m["t"] >= 1.0)
    got = frames(seen)
    seqs = [f["seq"] for f in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    produced = [f["metrics"]["produced"] for f in got]
    assert produced == sorted(produced) and produced[-1] > produced[0]
    assert all(f["state"]["running"] for f in got)
    assert all(
        set(f) - {"delta"} == {"v", "type", "seq", "t", "events", "metrics", "state", "sampled"} for f in got
    )
    assert got[0].get("delta") is None and all(f["delta"] for f in got[1:])  # complete after a load


async def test_pause_sends_one_frame_then_silence(presenter: Viewer):
    await presenter.send({"type": "control", "action": "run"})
    await presenter.receive_until(lambda m: m["type"] == "frame" and m["t"] >= 0.3)
    await presenter.send({"type": "control", "action": "pause"})
    paused = await presenter.receive_until(
        lambda m: m["type"] == "frame" and not m["state"]["running"]
    )
    assert await presenter.nothing(0.3)
    # The time stands still while paused.
    await presenter.send({"type": "resync"})
    snapshot = await presenter.receive_type("snapshot")
    assert snapshot["t"] == paused[-1]["t"] and snapshot["seq"] == paused[-1]["seq"]


async def test_step_gives_exactly_one_frame_advancing_t_by_one_tick(presenter: Viewer):
    await presenter.send({"type": "control", "action": "speed", "value": 50})
    before = await presenter.receive_type("frame")  # a paused speed change shows at once
    assert before["state"]["speed"] == 50
    await presenter.send({"type": "control", "action": "step"})
    step = await presenter.receive()
    assert step["type"] == "frame" and step["seq"] == before["seq"] + 1
    assert step["t"] == pytest.approx(before["t"] + 0.1)
    assert step["state"]["running"] is False and step["state"]["tick"] == 1
    assert await presenter.nothing(0.3)


async def test_add_consumer_gives_rebalance_start_and_end(presenter: Viewer):
    await presenter.send({"type": "control", "action": "speed", "value": 20})
    await presenter.send({"type": "control", "action": "run"})
    earlier = await presenter.receive_until(lambda m: m["type"] == "frame" and m["t"] >= 0.5)
    await presenter.send({"type": "command", "command": {"op": "add_consumer", "node": "billing"}})
    seen = await presenter.receive_until(
        lambda m: (
            any(e["k"] == "rebalance_end" for e in m.get("events", ()))
            and m["type"] == "frame"
            and m["t"] > 0.5
        )
    )
    events = [e for f in seen if f["type"] == "frame" for e in f["events"]]
    member = [e for e in events if e["k"] == "member" and e["change"] == "added"]
    start = [e for e in events if e["k"] == "rebalance_start" and e["t"] > 0.5]
    end = [e for e in events if e["k"] == "rebalance_end" and e["t"] > 0.5]
    assert member and start and end
    assert len(end[-1]["after"]) == 3  # the group grew from 2 members to 3
    group = frames(earlier + seen)[-1]["metrics"]["nodes"]["billing"]  # deltas merged from the first
    assert len(group["members"]) == 3


async def test_command_shows_within_one_frame_while_paused(presenter: Viewer):
    await presenter.send({"type": "command", "command": {"op": "add_consumer", "node": "billing"}})
    frame = await presenter.receive()
    assert frame["type"] == "frame"
    assert any(e["k"] == "member" and e["change"] == "added" for e in frame["events"])


async def test_late_joiner_gets_a_snapshot_first_with_the_current_seq(
    presenter: Viewer, viewers: Callable[..., Viewer]
):
    await presenter.send({"type": "control", "action": "run"})
    await presenter.receive_until(lambda m: m["type"] == "frame" and m["seq"] >= 5)
    bob = viewers(ROOM)
    snapshot = await bob.connect()
    assert snapshot["type"] == "snapshot" and snapshot["controller"] is False
    assert snapshot["seq"] >= 5 and snapshot["t"] > 0
    assert snapshot["document"]["name"] == starter()["name"]
    following = await bob.receive_type("frame")
    assert following["seq"] == snapshot["seq"] + 1


async def test_every_viewer_gets_the_same_frames(presenter: Viewer, viewers: Callable[..., Viewer]):
    bob = viewers(ROOM)
    await bob.connect()
    await presenter.send({"type": "control", "action": "step"})
    assert await presenter.receive() == await bob.receive()


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("not json", "bad_message", "not valid JSON"),
        ("[1, 2]", "bad_message", "JSON object"),
        ('{"type": "dance"}', "unknown_type", "dance"),
        ('{"type": "control", "action": "speed", "value": 1000}', "bad_message", "speed"),
        ('{"type": "control", "action": "speed", "value": 0}', "bad_message", "speed"),
        ('{"type": "control", "action": "fly"}', "bad_message", "action"),
        ('{"type": "command", "command": {"op": "explode"}}', "bad_command", "explode"),
        (
            '{"type": "command", "command": {"op": "add_consumer", "node": "nope"}}',
            "bad_command",
            "nope",
        ),
        ('{"type": "load", "document": "x"}', "bad_message", "document"),
    ],
)
async def test_bad_message_gets_an_error_frame_and_the_run_goes_on(
    presenter: Viewer, text: str, code: str, says: str
):
    await presenter.send({"type": "control", "action": "run"})
    first = await presenter.receive_type("frame")
    await presenter.send(text)
    seen = await presenter.receive_until(lambda m: m["type"] == "error")
    error = seen[-1]
    assert error["v"] == 1 and error["code"] == code and says in error["message"]
    later = await presenter.receive_type("frame")
    assert later["seq"] > first["seq"] and later["state"]["running"] is True


async def test_binary_message_gets_bad_message(presenter: Viewer):
    await presenter.comm.send_to(bytes_data=b"\x00\x01")
    error = await presenter.receive()
    assert error["type"] == "error" and error["code"] == "bad_message"


async def test_viewer_without_the_key_gets_read_only(
    presenter: Viewer, viewers: Callable[..., Viewer]
):
    bob = viewers(ROOM, "not-the-key")
    snapshot = await bob.connect()
    assert snapshot["controller"] is False
    for message in (
        {"type": "control", "action": "run"},
        {"type": "command", "command": {"op": "add_consumer", "node": "billing"}},
        {"type": "load", "document": starter()},
    ):
        await bob.send(message)
        error = await bob.receive()
        assert error["type"] == "error" and error["code"] == "read_only"
    assert await presenter.nothing(0.2)  # nothing ran, nothing was reloaded


async def test_any_viewer_may_resync(presenter: Viewer, viewers: Callable[..., Viewer]):
    bob = viewers(ROOM)
    await bob.connect()
    await bob.send({"type": "resync"})
    snapshot = await bob.receive()
    assert snapshot["type"] == "snapshot" and snapshot["controller"] is False


async def test_invalid_document_names_the_field_and_the_old_run_goes_on(presenter: Viewer):
    await presenter.send({"type": "control", "action": "run"})
    await presenter.receive_type("frame")
    bad = starter()
    bad["nodes"][1]["params"]["partitions"] = 100_000
    await presenter.send({"type": "load", "document": bad})
    error = await presenter.receive_type("error")
    assert error["code"] == "invalid_document"
    assert error["errors"][0]["path"] == "nodes[1].params.partitions"
    assert "at most" in error["errors"][0]["message"]
    frame = await presenter.receive_type("frame")
    assert frame["state"]["running"] is True and frame["t"] > 0


async def test_controls_before_any_load_get_no_simulation(viewers):
    alice = viewers(ROOM, KEY)
    await alice.connect()
    await alice.send({"type": "control", "action": "run"})
    error = await alice.receive()
    assert error["code"] == "no_simulation"
    await alice.send({"type": "resync"})
    assert (await alice.receive())["type"] == "hello"


async def test_reset_goes_back_to_t0_paused_with_a_snapshot(presenter: Viewer):
    await presenter.send({"type": "control", "action": "run"})
    ran = await presenter.receive_until(lambda m: m["type"] == "frame" and m["t"] >= 0.5)
    await presenter.send({"type": "control", "action": "reset"})
    snapshot = await presenter.receive_type("snapshot")
    assert snapshot["t"] == 0 and snapshot["state"]["running"] is False
    assert snapshot["metrics"]["produced"] == 0
    assert snapshot["seq"] >= ran[-1]["seq"]  # seq keeps counting across resets
    assert await presenter.nothing(0.2)


async def test_reset_replays_the_same_run(presenter: Viewer):
    async def five_steps() -> list[int]:
        out = []
        held = None
        for _ in range(5):  # 11 messages in all: inside the rate limit's burst
            await presenter.send({"type": "control", "action": "step"})
            held = merge_metrics(held, await presenter.receive_type("frame"))
            out.append(held["produced"])
        return out

    first = await five_steps()
    await presenter.send({"type": "control", "action": "reset"})
    await presenter.receive_type("snapshot")
    assert await five_steps() == first


async def test_load_takes_an_explicit_seed(presenter: Viewer):
    await presenter.send({"type": "load", "document": starter(), "seed": 42})
    snapshot = await presenter.receive_type("snapshot")
    assert snapshot["state"]["seed"] == 42


async def test_control_flood_is_rate_limited_and_the_run_goes_on(presenter: Viewer):
    """Issue 19 point 3: one rate_limited notice per burst, not one per refused message."""
    for _ in range(120):
        await presenter.send({"type": "control", "action": "speed", "value": 2})
    seen = []
    while not await presenter.nothing(0.5):
        seen.append(await presenter.receive())
    assert frames(seen)  # the messages that fitted in the burst were applied
    notices = [m for m in seen if m["type"] == "error" and "too many messages" in m["message"]]
    assert len(notices) == 1
    # Tokens come back at 20 a second: a run sent after the flood is accepted.
    await asyncio.sleep(0.3)
    await presenter.send({"type": "control", "action": "run"})
    await presenter.receive_until(lambda m: m["type"] == "frame" and m["state"]["running"])


async def test_a_full_server_refuses_new_rooms(settings, viewers):
    settings.FANOUT_MAX_ROOMS = 1
    await rooms.reset_registry()
    alice = viewers(ROOM, KEY)
    await alice.connect()
    bob = viewers("another-room", KEY)
    connected, _ = await bob.comm.connect()
    assert connected
    error = await bob.receive()
    assert error["type"] == "error" and error["code"] == "room_full"
    closed = await bob.comm.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and closed["code"] == 4429


def test_group_name_is_made_in_one_place():
    assert protocol.group_name(ROOM) == "live.room." + ROOM
    with pytest.raises(ValueError):
        protocol.group_name("no")


# -- control keys: issued by the server, checked in the database (issue 19, point 4) ----------


async def test_a_key_that_was_never_issued_controls_nothing_even_in_a_new_room(viewers):
    """The takeover: before, the first connection to bring any ?key= to a room became its
    controller. Now an unissued key is dropped: hello says controller false, load is read_only."""
    mallory = viewers("room-never-issued", "mallory-made-this-up", issue=False)
    hello = await mallory.connect()
    assert hello["type"] == "hello" and hello["controller"] is False
    await mallory.send({"type": "load", "document": starter()})
    error = await mallory.receive_type("error")
    assert error["code"] == "read_only"


async def test_the_issued_key_controls_and_any_other_key_does_not(viewers):
    alice = viewers(ROOM, KEY)
    assert (await alice.connect())["controller"] is True
    for guess in ("alice-key-124", KEY + "x", KEY.upper(), "", "x" * 129):
        mallory = viewers(ROOM, guess or None, issue=False)
        assert (await mallory.connect())["controller"] is False


async def test_a_key_issued_for_one_room_does_not_control_another(viewers):
    alice = viewers(ROOM, KEY)
    await alice.connect()
    other = viewers("room-bob-2222", KEY, issue=False)
    assert (await other.connect())["controller"] is False


async def test_issued_keys_survive_a_restart_of_the_room_registry(viewers):
    """Every room is forgotten (as when the process restarts): the stored key still controls,
    and a new key brought first to the now empty room still does not."""
    from django.test import AsyncClient

    issued = (await AsyncClient().post("/rooms/")).json()
    alice = viewers(issued["room"], issued["key"], issue=False)
    assert (await alice.connect())["controller"] is True
    await alice.disconnect()
    await rooms.reset_registry()
    mallory = viewers(issued["room"], "mallory-got-here-first", issue=False)
    assert (await mallory.connect())["controller"] is False
    alice_again = viewers(issued["room"], issued["key"], issue=False)
    assert (await alice_again.connect())["controller"] is True


# -- hostile documents through `load` (issue 19, point 5) -------------------------------------


async def test_a_load_with_a_lone_surrogate_is_refused_and_the_room_keeps_sending(presenter: Viewer):
    """Before, it was accepted, and every later snapshot of the room failed to encode: silence
    for good. Now an error frame names the field; the run goes on and snapshots still come."""
    text = '{"type": "load", "document": ' + json.dumps(starter()).replace(
        '"name": "', '"name": "\\ud800', 1) + "}"
    await presenter.send(text)
    error = await presenter.receive_type("error")
    assert error["code"] == "invalid_document"
    assert error["errors"][0]["path"] == "name" and "lone surrogate" in error["errors"][0]["message"]
    await presenter.send({"type": "resync"})
    snapshot = await presenter.receive_type("snapshot")
    assert snapshot["document"]["name"] == starter()["name"]
    await presenter.send({"type": "control", "action": "step"})
    assert (await presenter.receive_type("frame"))["t"] > 0


@pytest.mark.parametrize(("spoil", "path", "words"), [
    (lambda d: d.update(nodes=json.loads("[" * 900 + "]" * 900)), "nodes[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
     "nested too deeply"),
    (lambda d: d["nodes"][0]["params"].update(rate=10**4000), "nodes[0].params.rate", "2**53"),
    (lambda d: d["nodes"][0].update(label="a\udc00b"), "nodes[0].label", "lone surrogate"),
])
async def test_a_hostile_load_gets_an_error_frame_naming_the_field(presenter: Viewer, spoil, path, words):
    document = starter()
    spoil(document)
    text = json.dumps({"type": "load", "document": document})
    await presenter.send(text)
    error = await presenter.receive_type("error")
    assert error["code"] in ("invalid_document", "bad_message"), error
    if error["code"] == "invalid_document":
        assert any(e["path"] == path and words in e["message"] for e in error["errors"]), error
    await presenter.send({"type": "resync"})
    assert (await presenter.receive_type("snapshot"))["t"] == 0
