"""Differential tests against a real Redis server (127.0.0.1:6379, Redis 7.0 or later).

The same command sequence goes to the server (through redis-py) and to the engine's models of
a stream, a consumer group and Pub/Sub delivery (playground.engine.redisx); every reply is
compared: entry IDs and their order, which consumer got which entry, delivery counts, what is
left pending, XAUTOCLAIM cursors and deleted IDs, MAXLEN trimming, and who receives a PUBLISH.

Keys and channels carry a unique prefix and are deleted afterwards (other tests share this
server). Unreachable server: skipped, or a failure when CI=true or FANOUT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest

from playground.engine.redisx.group import GroupState
from playground.engine.redisx.ids import ERR_NOT_GREATER, format_id, next_auto_id, parse_id
from playground.engine.redisx.pubsub import Subscription, deliveries, glob_match
from playground.engine.redisx.stream import StreamLog

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.service


@pytest.fixture
def server():
    client = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        message = f"Redis is not reachable on 127.0.0.1:6379: {exc}"
        if os.environ.get("CI") == "true" or os.environ.get("FANOUT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


@pytest.fixture
def key(server):
    prefix = f"fanout-test-{uuid.uuid4().hex}"
    yield prefix
    for name in server.scan_iter(match=f"{prefix}*"):
        server.delete(name)


def ms() -> float:
    return time.monotonic() * 1000.0


class Pair:
    """Sends each stream command to the server and to the model; returns both replies."""

    def __init__(self, server, key: str) -> None:
        self.r = server
        self.key = key
        self.log = StreamLog()
        self.group: GroupState | None = None

    def xadd(self, ids: list[str], maxlen: int | None = None, approximate: bool = False) -> None:
        for text in ids:
            self.r.xadd(self.key, {"n": text}, id=text, maxlen=maxlen, approximate=approximate)
            entry = parse_id(text)
            self.log.add(np.array([entry], dtype=np.int64), np.array([0], dtype=np.int32), 0)
            if maxlen is not None:
                self.log.trim_maxlen(maxlen, approximate)

    def create(self, start: str) -> None:
        self.r.xgroup_create(self.key, "g", id=start)
        self.group = GroupState(self.log, "$" if start == "$" else parse_id(start))

    def read_new(self, consumer: str, count: int) -> tuple[list[str], list[str]]:
        real = self.r.xreadgroup("g", consumer, {self.key: ">"}, count=count)
        model = self.group.read_new(consumer, count, ms())
        return _ids(real), [format_id(n.id) for n in model]

    def read_history(self, consumer: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
        real = self.r.xreadgroup("g", consumer, {self.key: "0"})
        model = self.group.read_history(consumer, 0, None, ms())
        return ([(i, bool(fields)) for i, fields in (real[0][1] if real else [])],
                [(format_id(n.id), self.group.exists(n)) for n in model])

    def pending(self) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
        real = self.r.xpending_range(self.key, "g", "-", "+", 1000)
        model = self.group.pending_range(0, 1 << 62, 1000, ms())
        return ([(p["message_id"], p["consumer"], p["times_delivered"]) for p in real],
                [(format_id(p.id), p.consumer, p.delivery_count) for p in model])


def _ids(reply) -> list[str]:
    return [i for i, _ in reply[0][1]] if reply else []


def test_consumer_group_reads_acks_and_pending_list_match_the_server(server, key):
    """XREADGROUP > with COUNT hands out the oldest undelivered entries, each to one consumer;
    XACK removes entries from the PEL whoever holds them; reading history (ID 0) is a delivery
    that increments the delivery counter (XREADGROUP, XACK, XPENDING command pages)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 11)])
    pair.create("0")
    for consumer, count in [("c1", 3), ("c2", 3), ("c1", 2), ("c2", 5), ("c1", 1)]:
        real, model = pair.read_new(consumer, count)
        assert real == model, (consumer, count)
    ack = ["1-0", "5-0", "9-0", "42-0"]  # 42-0 was never delivered: ignored
    assert server.xack(key, "g", *ack) == len(pair.group.ack([parse_id(i) for i in ack])) == 3
    real, model = pair.read_history("c1")
    assert real == model
    real, model = pair.pending()
    assert real == model
    assert [(i, c, d) for i, c, d in model] == [("2-0", "c1", 2), ("3-0", "c1", 2), ("4-0", "c2", 1),
                                                ("6-0", "c2", 1), ("7-0", "c1", 2), ("8-0", "c1", 2),
                                                ("10-0", "c2", 1)]
    info = server.xinfo_groups(key)[0]
    assert info["last-delivered-id"] == format_id(pair.group.last_id) == "10-0"
    assert info["pending"] == len(pair.group.pel)
    summary = server.xpending(key, "g")
    count, lowest, highest, per = pair.group.pending_summary()
    assert (summary["pending"], summary["min"], summary["max"]) == (count, format_id(lowest), format_id(highest))
    assert {c["name"]: c["pending"] for c in summary["consumers"]} == per


def test_xclaim_idle_option_and_xautoclaim_cursor_match_the_server(server, key):
    """XCLAIM moves an entry idle for at least min-idle-time and increments its delivery count
    (IDLE sets its idle time, JUSTID leaves the count); XAUTOCLAIM scans the PEL from a cursor,
    claims at most COUNT idle entries and returns the next cursor (XCLAIM, XAUTOCLAIM pages)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 9)])
    pair.create("0")
    assert pair.read_new("c1", 4) == (["1-0", "2-0", "3-0", "4-0"],) * 2
    assert pair.read_new("c2", 4) == (["5-0", "6-0", "7-0", "8-0"],) * 2
    g = pair.group
    # min-idle-time 60 s: nothing is idle that long, nothing moves
    assert server.xclaim(key, "g", "c3", 60_000, ["1-0", "2-0"]) == []
    assert g.claim("c3", 60_000, [parse_id("1-0"), parse_id("2-0")], ms()) == []
    # IDLE 10 s: claimed, and now idle for 10 s as far as the next command is concerned
    real = server.xclaim(key, "g", "c3", 0, ["2-0", "6-0"], idle=10_000)
    model = g.claim("c3", 0, [parse_id("2-0"), parse_id("6-0")], ms(), idle=10_000)
    assert [i for i, _ in real] == [format_id(n.id) for n in model] == ["2-0", "6-0"]
    real = server.xclaim(key, "g", "c2", 0, ["3-0"], justid=True)
    model = g.claim("c2", 0, [parse_id("3-0")], ms(), justid=True)
    assert real == [format_id(n.id) for n in model] == ["3-0"]
    assert pair.pending()[0] == pair.pending()[1]
    # XAUTOCLAIM with min-idle-time 5 s takes only the two entries idle for 10 s
    real = server.xautoclaim(key, "g", "c4", 5_000, "0-0", count=10)
    reply = g.autoclaim("c4", 5_000, 0, ms(), count=10)
    assert real[0] == format_id(reply.next_id) == "0-0"
    assert [i for i, _ in real[1]] == [format_id(n.id) for n in reply.claimed] == ["2-0", "6-0"]
    # A real short sleep makes everything idle for more than 150 ms, then c2 re-reads its own
    # pending entries (a delivery: idle restarts), so XAUTOCLAIM must skip exactly those.
    time.sleep(0.3)
    real, model = pair.read_history("c2")
    assert real == model == [("3-0", True), ("5-0", True), ("7-0", True), ("8-0", True)]
    cursor_real, cursor_model, rounds = "0-0", 0, []
    while True:
        real = server.xautoclaim(key, "g", "c5", 150, cursor_real, count=2)
        reply = g.autoclaim("c5", 150, cursor_model, ms(), count=2)
        assert [i for i, _ in real[1]] == [format_id(n.id) for n in reply.claimed]
        assert real[0] == format_id(reply.next_id)
        rounds.append([i for i, _ in real[1]])
        cursor_real, cursor_model = real[0], reply.next_id
        if cursor_real == "0-0":
            break
    assert rounds == [["1-0", "2-0"], ["4-0", "6-0"], []]
    real, model = pair.pending()
    assert real == model
    assert [(i, d) for i, _, d in model] == [("1-0", 2), ("2-0", 4), ("3-0", 2), ("4-0", 2), ("5-0", 2),
                                             ("6-0", 4), ("7-0", 2), ("8-0", 2)]


def test_trimmed_pending_entries_come_back_empty_then_are_removed_by_xautoclaim(server, key):
    """MAXLEN trimming ignores the PEL: trimmed entries stay pending; XREADGROUP history returns
    them without fields; XAUTOCLAIM removes them from the PEL and lists them as deleted; a group
    never sees entries trimmed before it read them (XTRIM, XREADGROUP, XAUTOCLAIM, Redis 7.0+)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 11)])
    pair.create("0")
    real, model = pair.read_new("c1", 4)
    assert real == model == ["1-0", "2-0", "3-0", "4-0"]
    server.xtrim(key, maxlen=3, approximate=False)
    assert pair.log.trim_maxlen(3, False) == (0, 7)
    real, model = pair.read_history("c1")
    assert real == model == [("1-0", False), ("2-0", False), ("3-0", False), ("4-0", False)]
    real = server.xautoclaim(key, "g", "c2", 0, "0-0", count=10)
    reply = pair.group.autoclaim("c2", 0, 0, ms(), count=10)
    assert real[2] == [format_id(i) for i in reply.deleted] == ["1-0", "2-0", "3-0", "4-0"]
    assert real[1] == [] and reply.claimed == []
    assert pair.pending() == ([], [])
    # entries 5-0 .. 7-0 were trimmed before the group read them: never delivered
    real, model = pair.read_new("c2", 100)
    assert real == model == ["8-0", "9-0", "10-0"]


def test_maxlen_exact_and_approximate_trimming_match_the_server(server, key):
    """MAXLEN = n keeps exactly n entries; MAXLEN ~ n evicts only whole macro nodes
    (stream-node-max-entries, 100 by default), so n to n + 99 remain and short streams are not
    trimmed at all (XADD and XTRIM pages, t_stream.c streamTrim)."""
    assert int(server.config_get("stream-node-max-entries")["stream-node-max-entries"]) == 100
    approx = Pair(server, key + "-approx")
    approx.xadd([f"{i}-0" for i in range(1, 251)], maxlen=100, approximate=True)
    assert server.xlen(approx.key) == approx.log.length == 150
    assert server.xrange(approx.key, count=1)[0][0] == format_id(approx.log.first_id()) == "101-0"
    for threshold in (120, 30, 0):
        removed = server.xtrim(approx.key, maxlen=threshold, approximate=True)
        start, end = approx.log.trim_maxlen(threshold, True)
        assert removed == end - start, threshold
        assert server.xlen(approx.key) == approx.log.length
    short = Pair(server, key + "-short")
    short.xadd([f"{i}-0" for i in range(1, 51)], maxlen=10, approximate=True)
    assert server.xlen(short.key) == short.log.length == 50
    exact = Pair(server, key + "-exact")
    exact.xadd([f"{i}-0" for i in range(1, 251)], maxlen=7)
    assert server.xlen(exact.key) == exact.log.length == 7
    assert server.xrange(exact.key, count=1)[0][0] == format_id(exact.log.first_id()) == "244-0"


def test_group_start_id_and_xadd_id_rules_match_the_server(server, key):
    """XGROUP CREATE with $ delivers only later entries, with an ID the entries after it; XADD
    with <ms>-* numbers entries within a millisecond from 0; an explicit ID must exceed the
    top item, which is remembered after trimming (XGROUP CREATE, XADD pages)."""
    pair = Pair(server, key)
    pair.xadd(["5-0", "5-1", "6-0"])
    server.xgroup_create(key, "late", id="$")
    late = GroupState(pair.log, "$")
    server.xgroup_create(key, "mid", id="5-0")
    mid = GroupState(pair.log, parse_id("5-0"))
    auto = [server.xadd(key, {"n": "x"}, id="7-*") for _ in range(3)]
    last = pair.log.last_id
    model_auto = []
    for _ in range(3):
        last = next_auto_id(7, last)
        model_auto.append(last)
    assert auto == [format_id(i) for i in model_auto] == ["7-0", "7-1", "7-2"]
    pair.log.add(np.array(model_auto, dtype=np.int64), np.zeros(3, dtype=np.int32), 0)
    real = server.xreadgroup("late", "c", {key: ">"})
    assert _ids(real) == [format_id(n.id) for n in late.read_new("c", None, ms())] == auto
    real = server.xreadgroup("mid", "c", {key: ">"})
    assert _ids(real) == [format_id(n.id) for n in mid.read_new("c", None, ms())] == ["5-1", "6-0", *auto]
    server.xtrim(key, maxlen=0, approximate=False)
    pair.log.trim_maxlen(0, False)
    with pytest.raises(redis.exceptions.ResponseError) as err:
        server.xadd(key, {"n": "x"}, id="7-2")
    assert str(err.value) == ERR_NOT_GREATER.removeprefix("ERR ")
    with pytest.raises(ValueError, match="equal or smaller"):
        pair.log.add(np.array([parse_id("7-2")], dtype=np.int64), np.zeros(1, dtype=np.int32), 0)


# -- Pub/Sub ------------------------------------------------------------------------------------


def _drain(pubsub, seconds: float = 0.3, out: list | None = None) -> list[tuple[str, str | None, str]]:
    out = [] if out is None else out
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] in ("message", "pmessage"):
            out.append((message["type"], message.get("pattern"), message["data"]))
    return out


def test_pubsub_reaches_only_connected_subscribers_and_each_matching_subscription(server, key):
    """PUBLISH is fire and forget: it reaches the clients subscribed at that moment, once per
    matching subscription (SUBSCRIBE by name and each matching PSUBSCRIBE pattern), returns
    their count, and a client that unsubscribed misses what was published meanwhile, for good
    (PUBLISH, SUBSCRIBE, PSUBSCRIBE pages)."""
    channel = f"{key}.orders"
    a = server.pubsub(ignore_subscribe_messages=True)
    b = server.pubsub(ignore_subscribe_messages=True)
    try:
        a.subscribe(channel)
        a.psubscribe(f"{key}.*")
        b.subscribe(channel)
        got_a: list = []
        got_b: list = []
        _drain(a, 0.2, got_a)
        _drain(b, 0.2, got_b)
        subs = [Subscription("a", channel=channel), Subscription("a", pattern=f"{key}.*"),
                Subscription("b", channel=channel)]
        connected = {"a", "b"}
        expected: dict[str, list[str]] = {"a": [], "b": []}
        script = [("publish", "m1"), ("drop b", None), ("publish", "m2"), ("publish", "m3"), ("back b", None),
                  ("publish", "m4")]
        for step, data in script:
            if step == "drop b":
                b.unsubscribe(channel)
                _drain(b, 0.2, got_b)
                connected.discard("b")
            elif step == "back b":
                b.subscribe(channel)
                _drain(b, 0.2, got_b)
                connected.add("b")
            else:
                model = deliveries(channel, subs, connected)
                assert server.publish(channel, data) == len(model), data
                for d in model:
                    expected[d.client].append(data)
        _drain(a, 0.3, got_a)
        _drain(b, 0.3, got_b)
        assert [m[2] for m in got_a] == expected["a"] == ["m1", "m1", "m2", "m2", "m3", "m3", "m4", "m4"]
        assert [m[2] for m in got_b] == expected["b"] == ["m1", "m4"]
        assert sorted({m[0] for m in got_a}) == ["message", "pmessage"]
    finally:
        a.close()
        b.close()


def test_glob_patterns_match_the_channels_the_server_matches(server, key):
    """PSUBSCRIBE glob rules (util.c stringmatchlen): * ? [abc] [^a] [a-z] and backslash
    escapes; each pattern's pmessages are compared with glob_match over a set of channels."""
    patterns = ["*", "news.*", "news.?", "news.[ab]*", "news.[^a]*", "news.[a-c]", "n*s.*t", "news.\\*", "news.*.x",
                "news.[c-a]", "new[", "*.*"]
    channels = ["news.a", "news.b", "news.c", "news.abc", "news.*", "news.x.x", "news.", "nets.t", "news", "new[",
                "ns.t", "newt.at"]
    ps = server.pubsub(ignore_subscribe_messages=True)
    try:
        for pattern in patterns:
            ps.psubscribe(f"{key}:{pattern}")
        for _ in patterns:
            ps.get_message(timeout=0.2)
        for channel in channels:
            server.publish(f"{key}:{channel}", channel)
        got = {(m[1].removeprefix(f"{key}:"), m[2]) for m in _drain(ps, 0.5)}
        model = {(p, c) for p in patterns for c in channels if glob_match(f"{key}:{p}", f"{key}:{c}")}
        assert got == model
    finally:
        ps.close()
