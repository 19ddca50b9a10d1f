import numpy as np
import pytest

from playground.engine.redisx.ids import (
    ERR_NOT_GREATER,
    ERR_ZERO,
    check_explicit_id,
    format_id,
    make_id,
    next_auto_id,
    parse_id,
)
from playground.engine.redisx.stream import maxlen_trim_count
from tests.engine.redisx.factories import log_with


def test_auto_id_takes_the_clock_milliseconds_with_sequence_zero():
    """XADD *: ``<millisecondsTime>-<sequenceNumber>``, the time part from the server's clock."""
    assert format_id(next_auto_id(1500, make_id(1499, 7))) == "1500-0"


def test_auto_id_counts_the_sequence_within_one_millisecond():
    """XADD: entries added in the same millisecond get increasing sequence numbers."""
    first = next_auto_id(1500, 0)
    assert [format_id(i) for i in (first, next_auto_id(1500, first))] == ["1500-0", "1500-1"]


def test_auto_id_never_goes_back_when_the_clock_is_behind():
    """XADD: if the clock is behind the top item, the top item's time is reused, sequence + 1."""
    assert format_id(next_auto_id(900, make_id(1000, 3))) == "1000-4"


def test_explicit_id_must_be_greater_than_the_top_item():
    """XADD with an explicit ID: equal or smaller than the top item is an error."""
    with pytest.raises(ValueError) as err:
        check_explicit_id(make_id(5, 0), make_id(5, 0))
    assert str(err.value) == ERR_NOT_GREATER


def test_explicit_zero_id_is_refused():
    """XADD: the minimum valid ID is 0-1."""
    with pytest.raises(ValueError) as err:
        check_explicit_id(0, 0)
    assert str(err.value) == ERR_ZERO


def test_the_top_item_is_remembered_after_trimming_everything():
    """XTRIM keeps the stream's last-generated-id: new IDs must still exceed it."""
    log = log_with(5)
    log.trim_maxlen(0, False)
    assert log.length == 0
    with pytest.raises(ValueError):
        log.add(np.array([make_id(3, 0)], dtype=np.int64), np.zeros(1, dtype=np.int32), 0)


def test_incomplete_id_means_sequence_zero():
    """Range arguments: an ID without its sequence part means <ms>-0 as a start."""
    assert parse_id("7") == make_id(7, 0)


def test_exact_maxlen_keeps_exactly_maxlen_entries():
    """MAXLEN = n (the default): the oldest entries go until n remain."""
    log = log_with(250)
    assert log.trim_maxlen(7, False) == (0, 243)
    assert (log.length, format_id(log.first_id())) == (7, "244-0")


def test_approximate_maxlen_evicts_only_whole_macro_nodes():
    """MAXLEN ~ n: whole nodes only, while at least n entries remain (250 entries in nodes of
    100, 100, 50 with ~ 100 keep 150: the server agrees, see the differential test)."""
    assert maxlen_trim_count(250, 100, True, 100, 100) == 100
    assert maxlen_trim_count(150, 30, True, 100, 100) == 100


def test_approximate_maxlen_leaves_a_short_stream_untrimmed():
    """MAXLEN ~ n on a stream of one node: nothing can be evicted without going below n... or
    the node is not full yet, so nothing goes."""
    assert maxlen_trim_count(50, 10, True, 100, 100) == 0


def test_approximate_maxlen_stops_at_the_limit():
    """MAXLEN ~ n LIMIT c: at most c entries are evicted per call (default 100 * node size)."""
    assert maxlen_trim_count(1000, 0, True, 100, 100, limit=250) == 200
