import numpy as np

from playground.engine.redisx.group import GroupState
from playground.engine.redisx.ids import format_id, make_id
from tests.engine.redisx.factories import group_on, log_with


def ids(nacks):
    return [format_id(n.id) for n in nacks]


def test_read_new_hands_each_entry_to_one_consumer_in_id_order():
    """XREADGROUP ... >: the oldest entries never delivered to the group, at most COUNT."""
    g = group_on(5)
    assert ids(g.read_new("c1", 2, 0)) == ["1-0", "2-0"]
    assert ids(g.read_new("c2", 2, 0)) == ["3-0", "4-0"]
    assert ids(g.read_new("c1", 2, 0)) == ["5-0"]
    assert format_id(g.last_id) == "5-0"


def test_group_created_at_dollar_only_sees_later_entries():
    """XGROUP CREATE ... $: the last-delivered-id is the stream's last ID."""
    log = log_with(3)
    g = GroupState(log, "$")
    assert g.read_new("c", None, 0) == []
    log.add(np.array([make_id(9, 0)], dtype=np.int64), np.zeros(1, dtype=np.int32), 0)
    assert ids(g.read_new("c", None, 0)) == ["9-0"]


def test_reading_own_history_is_a_delivery():
    """XREADGROUP with ID 0: the consumer's pending entries; delivery count +1, idle restarts."""
    g = group_on(3)
    g.read_new("c1", None, 0)
    assert ids(g.read_history("c1", 0, None, 500)) == ["1-0", "2-0", "3-0"]
    assert [(r.delivery_count, r.idle) for r in g.pending_range(0, 1 << 62, 10, 700)] == [(2, 200)] * 3


def test_xack_removes_pending_entries_whoever_holds_them():
    """XACK: removes the IDs from the group's PEL; unknown IDs are ignored."""
    g = group_on(3)
    g.read_new("c1", 2, 0)
    g.read_new("c2", 1, 0)
    assert ids(g.ack([make_id(3, 0), make_id(1, 0), make_id(42, 0)])) == ["3-0", "1-0"]
    assert g.pending_summary() == (1, make_id(2, 0), make_id(2, 0), {"c1": 1})


def test_xclaim_skips_entries_not_idle_long_enough():
    """XCLAIM min-idle-time: entries idle for less are left where they are."""
    g = group_on(2)
    g.read_new("c1", None, 0)
    assert g.claim("c2", 1000, [make_id(1, 0)], 999) == []
    assert ids(g.claim("c2", 1000, [make_id(1, 0)], 1000)) == ["1-0"]


def test_xclaim_increments_the_delivery_count_unless_justid_and_retrycount_sets_it():
    """XCLAIM: delivery count +1; JUSTID leaves it; RETRYCOUNT sets it; IDLE sets the idle time."""
    g = group_on(3)
    g.read_new("c1", None, 0)
    assert [n.delivery_count for n in g.claim("c2", 0, [make_id(1, 0)], 10)] == [2]
    assert [n.delivery_count for n in g.claim("c2", 0, [make_id(2, 0)], 10, justid=True)] == [1]
    assert [n.delivery_count for n in g.claim("c2", 0, [make_id(3, 0)], 10, retrycount=9, idle=50)] == [9]
    assert g.pending_range(make_id(3, 0), make_id(3, 0), 1, 10)[0].idle == 50


def test_xautoclaim_claims_count_entries_and_returns_the_next_cursor():
    """XAUTOCLAIM ... COUNT n: at most n claimed; the cursor is the next pending ID, 0-0 at the end."""
    g = group_on(5)
    g.read_new("c1", None, 0)
    reply = g.autoclaim("c2", 100, 0, 200, count=2)
    assert ids(reply.claimed) == ["1-0", "2-0"] and format_id(reply.next_id) == "3-0"
    reply = g.autoclaim("c2", 100, reply.next_id, 200, count=5)
    assert ids(reply.claimed) == ["3-0", "4-0", "5-0"] and reply.next_id == 0


def test_xautoclaim_skips_entries_idle_for_less_than_min_idle_time():
    """XAUTOCLAIM min-idle-time: only entries idle at least that long move."""
    g = group_on(3)
    g.read_new("c1", 2, 0)
    g.read_new("c1", 1, 150)
    assert ids(g.autoclaim("c2", 100, 0, 200).claimed) == ["1-0", "2-0"]


def test_xautoclaim_removes_pending_entries_that_were_trimmed_and_lists_them_as_deleted():
    """XAUTOCLAIM (Redis 7.0+): PEL entries whose stream entry is gone are removed and reported."""
    g = group_on(4)
    g.read_new("c1", None, 0)
    g.stream.trim_maxlen(1, False)
    reply = g.autoclaim("c2", 0, 0, 10)
    assert [format_id(i) for i in reply.deleted] == ["1-0", "2-0", "3-0"] and ids(reply.claimed) == ["4-0"]
    assert len(g.pel) == 1


def test_trimming_ignores_the_pending_list():
    """MAXLEN evicts entries whether or not they are pending or acknowledged: the PEL keeps them."""
    g = group_on(4)
    g.read_new("c1", None, 0)
    g.stream.trim_maxlen(1, False)
    assert len(g.pel) == 4
    assert [g.exists(n) for n in g.read_history("c1", 0, None, 5)] == [False, False, False, True]


def test_entries_trimmed_before_the_group_read_them_are_never_delivered():
    """XREADGROUP >: delivery resumes at the oldest entry still in the stream."""
    g = group_on(10)
    g.read_new("c1", 2, 0)
    g.stream.trim_maxlen(3, False)
    assert ids(g.read_new("c1", None, 0)) == ["8-0", "9-0", "10-0"]
    assert g.unread() == 0


def test_xpending_idle_filter_and_consumer_filter():
    """XPENDING IDLE min-idle-time ... consumer: only that consumer's entries idle long enough."""
    g = group_on(4)
    g.read_new("c1", 2, 0)
    g.read_new("c2", 2, 50)
    rows = g.pending_range(0, 1 << 62, 10, 100, min_idle=60)
    assert [(format_id(r.id), r.consumer) for r in rows] == [("1-0", "c1"), ("2-0", "c1")]
    assert [format_id(r.id) for r in g.pending_range(0, 1 << 62, 10, 100, consumer="c2")] == ["3-0", "4-0"]
