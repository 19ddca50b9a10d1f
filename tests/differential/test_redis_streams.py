"""Differential tests against a real Redis server (127.0.0.1:6379, Redis 7.0 or later).

The same command sequence goes to the server (through redis-py) and to the engine's models of
a stream, a consumer group and Pub/Sub delivery (playground.engine.redisx); every reply is
compared: entry IDs and their order, which consumer got which entry, delivery counts, what is
left pending, XAUTOCLAIM cursors and deleted IDs, MAXLEN and MINID trimming, XDEL, XGROUP
CREATE / SETID / DELCONSUMER, entries-read and lag, and who receives a PUBLISH.

Keys and channels carry a unique prefix and are deleted afterwards (other tests share this
server). Unreachable server: skipped, or a failure when CI=true or FANOUT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest

from playground.engine.redisx.group import ERR_BUSYGROUP, ERR_NO_KEY, GroupState, xgroup_create_error
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
    prefix = f"fanout-redis-streams-{uuid.uuid4().hex}"  # this suite's own prefix: other suites share the server
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


    def xdel(self, ids: list[str]) -> tuple[int, int]:
        return self.r.xdel(self.key, *ids), len(self.log.delete([parse_id(i) for i in ids]))

    def xtrim(self, *, maxlen: int | None = None, minid: str | None = None, approximate: bool = False,
              limit: int | None = None) -> tuple[int, int]:
        real = self.r.xtrim(self.key, maxlen=maxlen, minid=minid, approximate=approximate, limit=limit)
        before = self.log.length
        self.log.trim(maxlen=maxlen, minid=None if minid is None else parse_id(minid), approximate=approximate,
                      limit=limit)
        return real, before - self.log.length

    def entries(self) -> tuple[list[str], list[str]]:
        log = self.log
        return ([i for i, _ in self.r.xrange(self.key)],
                [format_id(log.id_at(p)) for p in log.live_positions(log.first, None)])

    def info(self, group: GroupState | None = None, name: str = "g") -> tuple[tuple, tuple]:
        """XINFO STREAM and XINFO GROUPS against the model: length, first entry, entries-added,
        max-deleted-entry-id, the group's last-delivered-id, entries-read, lag and pending."""
        g = group or self.group
        stream = self.r.xinfo_stream(self.key)
        info = next(i for i in self.r.xinfo_groups(self.key) if i["name"] == name)
        first = stream["first-entry"][0] if stream["first-entry"] else None
        real = (stream["length"], first, stream["entries-added"], stream["max-deleted-entry-id"],
                info["last-delivered-id"], info["entries-read"], info["lag"], info["pending"])
        log = self.log
        model_first = log.first_id()
        model = (log.length, format_id(model_first) if model_first is not None else None, log.appended,
                 format_id(log.max_deleted_id), format_id(g.last_id), g.entries_read, g.lag(), len(g.pel))
        return real, model


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


def test_xautoclaim_count_is_used_up_by_deleted_entries_and_the_cursor_follows(server, key):
    """XAUTOCLAIM COUNT bounds the reply: pending IDs whose entries were deleted are removed from
    the PEL, listed in the third element and use up the count like claimed ones, and the
    cursor is the next pending ID after the last one examined (t_stream.c xautoclaimCommand,
    ``count--`` for a deleted ID since the CVE-2022-31144 fix, Redis 7.0.4)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 11)])
    pair.create("0")
    assert pair.read_new("c1", 10) == ([f"{i}-0" for i in range(1, 11)],) * 2
    assert pair.xdel(["2-0", "3-0", "4-0", "7-0"]) == (4, 4)
    g = pair.group
    cursor_real, cursor_model, rounds = "0-0", 0, []
    while True:
        real = server.xautoclaim(key, "g", "c2", 0, cursor_real, count=2)
        reply = g.autoclaim("c2", 0, cursor_model, ms(), count=2)
        assert [i for i, _ in real[1]] == [format_id(n.id) for n in reply.claimed]
        assert real[2] == [format_id(i) for i in reply.deleted]
        assert real[0] == format_id(reply.next_id)
        rounds.append(([i for i, _ in real[1]], real[2], real[0]))
        cursor_real, cursor_model = real[0], reply.next_id
        if cursor_real == "0-0":
            break
    assert rounds == [(["1-0"], ["2-0"], "3-0"), ([], ["3-0", "4-0"], "5-0"), (["5-0", "6-0"], [], "7-0"),
                      (["8-0"], ["7-0"], "9-0"), (["9-0", "10-0"], [], "0-0")]
    assert pair.pending()[0] == pair.pending()[1]
    assert len(g.pel) == server.xpending(key, "g")["pending"] == 6


def test_xdel_leaves_pending_ids_in_the_pel_until_read_back_or_claimed(server, key):
    """XDEL removes any entry, not only the oldest: length drops, entries-added and the last ID
    stay, max-deleted-entry-id rises; a deleted pending entry stays in the PEL, comes back
    without fields from XREADGROUP history, and XCLAIM of it removes it from the PEL without
    returning it (XDEL, XCLAIM pages; Redis 7 rule); a group never reads a deleted entry."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 9)])
    pair.create("0")
    assert pair.read_new("c1", 3) == (["1-0", "2-0", "3-0"],) * 2
    assert pair.xdel(["2-0", "5-0", "5-0", "42-0"]) == (2, 2)
    assert pair.entries() == (["1-0", "3-0", "4-0", "6-0", "7-0", "8-0"],) * 2
    real, model = pair.info()
    assert real == model
    assert pair.pending()[0] == pair.pending()[1]
    real, model = pair.read_history("c1")
    assert real == model == [("1-0", True), ("2-0", False), ("3-0", True)]
    real = server.xclaim(key, "g", "c2", 0, ["2-0", "3-0"])
    model = pair.group.claim("c2", 0, [parse_id("2-0"), parse_id("3-0")], ms())
    assert [i for i, _ in real] == [format_id(n.id) for n in model] == ["3-0"]
    assert pair.pending()[0] == pair.pending()[1]
    assert [i for i, _, _ in pair.pending()[1]] == ["1-0", "3-0"]
    real, model = pair.read_new("c2", 10)
    assert real == model == ["4-0", "6-0", "7-0", "8-0"]  # 5-0 was deleted before the group read it
    real, model = pair.info()
    assert real == model
    # deleting the first entry moves the first ID; deleting everything leaves an empty stream
    assert pair.xdel(["1-0"]) == (1, 1)
    assert pair.info()[0] == pair.info()[1]
    assert pair.xdel(["3-0", "4-0", "6-0", "7-0", "8-0"]) == (5, 5)
    real, model = pair.info()
    assert real == model
    assert model[:4] == (0, None, 8, "8-0")


def test_xdel_then_trimming_counts_only_live_entries_and_frees_emptied_nodes(server, key):
    """Trimming counts live entries: MAXLEN = n keeps n live entries (tombstones inside the
    evicted range cost nothing), MAXLEN ~ n removes a macro node while the live entries left
    are at least n (a node's count excludes XDELed entries), and a tail node emptied by XDEL is
    freed so the next XADD opens a new node (t_stream.c streamTrim, streamIteratorRemoveEntry,
    streamAppendItem). stream-node-max-entries is 100."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 251)])
    assert pair.xdel([f"{i}-0" for i in range(101, 151)]) == (50, 50)  # half of the second node
    for threshold in (180, 120, 60):
        real, model = pair.xtrim(maxlen=threshold, approximate=True)
        assert real == model, threshold
        assert server.xlen(key) == pair.log.length
    real, model = pair.xtrim(maxlen=30)
    assert real == model
    assert pair.entries()[0] == pair.entries()[1]
    tail = Pair(server, key + "-tail")
    tail.xadd([f"{i}-0" for i in range(1, 151)])
    assert tail.xdel([f"{i}-0" for i in range(101, 151)]) == (50, 50)  # the tail node is freed
    tail.xadd([f"{i}-0" for i in range(151, 301)])
    removed = []
    for threshold in (200, 100, 0):
        real, model = tail.xtrim(maxlen=threshold, approximate=True)
        assert real == model, threshold
        removed.append(model)
        assert tail.entries()[0] == tail.entries()[1]
    # nodes [1..100] [101..150, all deleted: freed] [151..250] [251..300]: the 50 entries from 151
    # start a node of their own, so ~100 cannot evict them (counting nodes from 1 would)
    assert removed == [0, 100, 150]


def test_xtrim_minid_exact_and_approximate_match_the_server(server, key):
    """XTRIM MINID = id evicts every entry with a lower ID; MINID ~ id evicts only whole macro
    nodes whose last ID is lower, at most LIMIT entries (XTRIM page; t_stream.c streamTrim)."""
    approx = Pair(server, key + "-approx")
    approx.xadd([f"{i}-0" for i in range(1, 351)])
    for threshold, limit in (("150-0", None), ("260-5", None), ("340-0", 50), ("340-0", None)):
        real, model = approx.xtrim(minid=threshold, approximate=True, limit=limit)
        assert real == model, threshold
        assert approx.entries()[0] == approx.entries()[1]
    exact = Pair(server, key + "-exact")
    exact.xadd([f"{i}-0" for i in range(1, 351)])
    exact.xdel(["150-0", "151-0"])
    for threshold in ("120-1", "152-0", "152-0", "400-0"):
        real, model = exact.xtrim(minid=threshold)
        assert real == model, threshold
        assert exact.entries()[0] == exact.entries()[1]
    assert server.xlen(exact.key) == exact.log.length == 0


def _text(error) -> str:
    """An error reply without its code (redis-py drops ERR, and maps codes to classes)."""
    text = str(error.value) if hasattr(error, "value") else str(error)
    code, _, rest = text.partition(" ")
    return rest if code.isupper() else text


def test_xgroup_create_mkstream_and_busygroup_match_the_server(server, key):
    """XGROUP CREATE needs the key unless MKSTREAM creates an empty stream; a second group of
    the same name answers BUSYGROUP (XGROUP CREATE page; t_stream.c xgroupCommand)."""
    with pytest.raises(redis.exceptions.ResponseError) as err:
        server.xgroup_create(key, "g", id="$")
    assert _text(err) == _text(xgroup_create_error(False, False, False)) == _text(ERR_NO_KEY)
    assert server.exists(key) == 0
    assert xgroup_create_error(False, False, True) is None
    assert server.xgroup_create(key, "g", id="$", mkstream=True) is True
    assert server.xlen(key) == 0
    with pytest.raises(redis.exceptions.ResponseError) as err:
        server.xgroup_create(key, "g", id="$", mkstream=True)
    assert _text(err) == _text(xgroup_create_error(True, True, True)) == _text(ERR_BUSYGROUP)
    with pytest.raises(redis.exceptions.ResponseError) as err:
        server.xgroup_create(key, "g", id="0")
    assert _text(err) == _text(xgroup_create_error(True, True, False))
    # a stream emptied by XDEL still exists: no MKSTREAM needed for another group
    server.xadd(key, {"n": "1"}, id="1-0")
    server.xdel(key, "1-0")
    assert xgroup_create_error(server.exists(key) == 1, False, False) is None
    assert server.xgroup_create(key, "g2", id="0") is True


def test_xgroup_setid_moves_reads_back_and_forth_with_entries_read(server, key):
    """XGROUP SETID sets last-delivered-id: ``>`` reads then continue after it, delivering
    again entries already read (a pending one moves to the reader with delivery count 1) or
    skipping entries; ENTRIESREAD sets the read counter, without it the counter is unknown and
    lag is estimated (XGROUP SETID, XINFO GROUPS pages; t_stream.c streamReplyWithRange,
    streamReplyWithCGLag)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 11)])
    pair.create("0")
    assert pair.info()[0] == pair.info()[1]
    assert pair.read_new("c1", 6) == ([f"{i}-0" for i in range(1, 7)],) * 2
    assert server.xack(key, "g", "1-0", "2-0") == len(pair.group.ack([parse_id("1-0"), parse_id("2-0")]))
    real, model = pair.info()
    assert real == model
    for target, entries_read in (("2-0", 2), ("4-0", None), ("$", None), ("0", 0), ("8-0", 8)):
        server.xgroup_setid(key, "g", target, entries_read=entries_read)
        pair.group.set_id("$" if target == "$" else parse_id(target), entries_read)
        real, model = pair.info()
        assert real == model, target
        if target == "4-0":
            assert pair.read_new("c2", 3) == (["5-0", "6-0", "7-0"],) * 2
            real, model = pair.pending()
            assert real == model
            assert ("5-0", "c2", 1) in model  # was c1's, delivered once more: now c2's, count 1
            assert pair.info()[0] == pair.info()[1]
        if target == "0":
            assert pair.read_new("c3", 3) == (["1-0", "2-0", "3-0"],) * 2
            assert pair.info()[0] == pair.info()[1]
    pair.xdel(["9-0"])
    server.xgroup_setid(key, "g", "7-0")
    pair.group.set_id(parse_id("7-0"))
    real, model = pair.info()
    assert real == model
    assert model[5:7] == (None, None)  # a deletion ahead: Redis cannot tell the lag
    assert pair.read_new("c1", 10) == (["8-0", "10-0"],) * 2
    real, model = pair.info()
    assert real == model


def test_xgroup_create_entries_read_and_the_lag_redis_can_tell(server, key):
    """XGROUP CREATE ... [ENTRIESREAD n]: without it the read counter is unknown and XINFO
    GROUPS works the lag out when it can (at the last ID, before the first entry), else shows
    null; with it, lag is entries-added minus n (t_stream.c streamReplyWithCGLag,
    streamEstimateDistanceFromFirstEverEntry)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 11)])
    pair.xtrim(maxlen=8)
    cases = [("end", "$", None), ("start", "0", None), ("middle", "5-0", None), ("told", "5-0", 5)]
    groups = {}
    for name, start, entries_read in cases:
        server.xgroup_create(key, name, id=start, entries_read=entries_read)
        groups[name] = GroupState(pair.log, "$" if start == "$" else parse_id(start), entries_read)
    for name, _, _ in cases:
        real, model = pair.info(groups[name], name)
        assert real == model, name
    assert [pair.info(groups[n], n)[1][6] for n, _, _ in cases] == [0, 8, None, 5]
    for name, _, _ in cases:
        assert _ids(server.xreadgroup(name, "c", {key: ">"}, count=2)) == \
            [format_id(n.id) for n in groups[name].read_new("c", 2, ms())]
        real, model = pair.info(groups[name], name)
        assert real == model, name


def test_xgroup_delconsumer_returns_its_pending_count_and_drops_them_from_the_pel(server, key):
    """XGROUP DELCONSUMER answers how many entries the consumer had pending; those leave the
    group's PEL (nobody can claim them any more) while the entries stay in the stream
    (XGROUP DELCONSUMER page; t_stream.c streamDelConsumer)."""
    pair = Pair(server, key)
    pair.xadd([f"{i}-0" for i in range(1, 8)])
    pair.create("0")
    pair.read_new("c1", 3)
    pair.read_new("c2", 3)
    assert server.xgroup_delconsumer(key, "g", "c1") == len(pair.group.delete_consumer("c1")) == 3
    assert server.xgroup_delconsumer(key, "g", "nobody") == len(pair.group.delete_consumer("nobody")) == 0
    assert pair.pending()[0] == pair.pending()[1]
    assert [c["name"] for c in server.xinfo_consumers(key, "g")] == sorted(pair.group.consumers) == ["c2"]
    real = server.xautoclaim(key, "g", "c3", 0, "0-0")
    reply = pair.group.autoclaim("c3", 0, 0, ms())
    assert [i for i, _ in real[1]] == [format_id(n.id) for n in reply.claimed] == ["4-0", "5-0", "6-0"]
    assert server.xlen(key) == pair.log.length == 7
    assert pair.info()[0] == pair.info()[1]


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
