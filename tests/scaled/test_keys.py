"""Redis names and the cheap reading of published texts."""

from __future__ import annotations

from playground.live import protocol
from playground.live.scaled import keys
from playground.live.scaled.runner import message_from_text


def test_room_keys_share_the_prefix_and_name_the_room():
    assert keys.frames("room-abc-1", "fanout") == "fanout:room:room-abc-1:frames"
    assert keys.snapshot("room-abc-1", "p") == "p:room:room-abc-1:snapshot"
    assert keys.control("room-abc-1", "p") == "p:room:room-abc-1:control"
    assert all(k.startswith("p:room:room-abc-1:") for k in keys.room_keys("room-abc-1", "p"))


def test_published_texts_are_told_apart_by_their_head():
    frame = protocol.frame(seq=12, t=1.5, events=[], metrics={}, state={}, sampled={})
    assert keys.published_kind(frame) == ("frame", 12)
    assert message_from_text(frame) == {"type": "room.frame", "seq": 12, "text": frame}
    body = protocol.snapshot_body(room="r" * 8, seq=3, t=0, document={}, state={}, metrics={}, recent={})
    assert message_from_text(body)["type"] == "room.snapshot" and message_from_text(body)["seq"] == 3
    notice = protocol.notice("resumed", "moved")
    assert keys.published_kind(notice) == ("notice", None)
    assert message_from_text(notice) == {"type": "room.message", "text": notice}
