"""Stream entry IDs: ``<milliseconds>-<sequence>``, as Redis generates and checks them.

An ID is kept as one integer, ``ms << SEQ_BITS | seq``, so IDs compare and sort as integers
(Redis compares them as the 128-bit pair (ms, seq)); numpy arrays of them stay compact.
"""

from __future__ import annotations

SEQ_BITS = 22
SEQ_MASK = (1 << SEQ_BITS) - 1
ZERO = 0

ERR_NOT_GREATER = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
ERR_ZERO = "ERR The ID specified in XADD must be greater than 0-0"


def make_id(ms: int, seq: int) -> int:
    if not 0 <= seq <= SEQ_MASK:
        raise ValueError(f"sequence {seq} is out of the simulated range")
    return (int(ms) << SEQ_BITS) | int(seq)


def split_id(stream_id: int) -> tuple[int, int]:
    return stream_id >> SEQ_BITS, stream_id & SEQ_MASK


def format_id(stream_id: int) -> str:
    ms, seq = split_id(stream_id)
    return f"{ms}-{seq}"


def parse_id(text: str, *, missing_seq: int = 0) -> int:
    """``"5-1"`` -> 5-1; ``"5"`` -> 5-<missing_seq> (XRANGE, XPENDING and XAUTOCLAIM take an
    incomplete ID as its first sequence number when it starts a range)."""
    ms, sep, seq = text.partition("-")
    return make_id(int(ms), int(seq) if sep else missing_seq)


def next_auto_id(now_ms: int, last_id: int) -> int:
    """The ID ``XADD key * ...`` gives (XADD, "Specifying a Stream ID as an argument").

    The milliseconds part is the server's clock, or the last entry's milliseconds if the clock
    is behind (IDs never go back); within one millisecond the sequence number counts up from 0.
    """
    last_ms, last_seq = split_id(last_id)
    if now_ms > last_ms:
        return make_id(now_ms, 0)
    return make_id(last_ms, last_seq + 1)


def check_explicit_id(new_id: int, last_id: int) -> None:
    """An explicit XADD ID must be greater than 0-0 and than the stream's top item (which is
    remembered even after that entry was trimmed or deleted); raises ValueError with Redis's
    error text otherwise."""
    if new_id == ZERO:
        raise ValueError(ERR_ZERO)
    if new_id <= last_id:
        raise ValueError(ERR_NOT_GREATER)
