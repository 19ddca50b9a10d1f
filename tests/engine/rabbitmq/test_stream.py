"""Streams (stream.py, stream_runtime.py): offsets, reading by chunk, no removal on ack,
retention by segment ("Streams" guide; rabbit_stream_queue.erl and osiris, RabbitMQ 3.10)."""

import pytest

from playground import engine
from playground.engine.rabbitmq import flow
from playground.engine.rabbitmq.queue import Message
from playground.engine.rabbitmq.stream import StreamLog, parse_offset_spec
from tests.engine.rabbitmq.factories import conserved, edge, node, sim


def log_of(times, size=10, **kw):
    log = StreamLog(**kw)
    for i, t in enumerate(times):
        log.append(Message(i, "", "s", size=size), t)
    return log


def test_offset_specs_choose_where_a_consumer_starts():
    """rabbit_stream_queue parse_offset_arg/1 and osiris: first, last (start of the last chunk),
    next, an offset (clamped), a timestamp (first chunk at or after it), an interval."""
    log = log_of([1.0, 1.0, 2.0, 3.0, 3.0])  # chunks at offsets 0, 2, 3
    assert log.start_offset("first", 0, 10.0) == (0, 0)
    assert log.start_offset("last", 0, 10.0) == (3, 3)
    assert log.start_offset("next", 0, 10.0) == (5, 5)
    assert log.start_offset("offset", 4, 10.0) == (4, 4)
    assert log.start_offset("offset", 99, 10.0) == (5, 5)
    assert log.start_offset("timestamp", 1.5, 10.0) == (2, 2)
    assert log.start_offset("interval", 8.5, 10.0) == (2, 2)
    assert parse_offset_spec("30s") == ("interval", 30.0) and parse_offset_spec("1h") == ("interval", 3600.0)
    assert parse_offset_spec("@2.5") == ("timestamp", 2.5) and parse_offset_spec("42") == ("offset", 42.0)
    with pytest.raises(ValueError):
        parse_offset_spec("yesterday")


def test_retention_deletes_whole_closed_segments_oldest_first_never_the_active_one():
    """Retention runs when a segment fills and a new one starts; it deletes whole segments while
    the stream is above x-max-length-bytes (osiris_log write_chunk/6, trigger_retention_eval). A new
    segment opens with a tracking snapshot chunk (evaluate_tracking_snapshot/2)."""
    log = log_of([float(t) for t in range(10)], size=10, segment_bytes=30, max_bytes=50)
    assert log.first_offset > 0 and log.retained() * 10 <= 50 + 30
    assert log.deleted + log.retained() == 10
    # each segment after the first opens with a tracking snapshot taking one offset
    first = log.first_offset
    assert [(c.first, c.tracking) for c in log.chunks()][:2] == [(first, True), (first + 1, False)]
    assert log.next_offset == 10 + 3
    assert log_of([0.0] * 10, size=10, segment_bytes=30, max_bytes=5).first_offset == 0  # one chunk, one segment


def stream_doc(consumers=(), **stream):
    nodes = [node("pub", "amqp_publisher", rate=0), node("s", "amqp_queue", queue_type="stream", **stream)]
    edges = [edge("pub", "s")]
    for name, params in consumers:
        nodes.append(node(name, "amqp_consumer", **{"consumers": 1, "processing_ms": 1, **params}))
        edges.append(edge("s", name))
    return nodes, edges


def publish_one_by_one(s, n):
    for _ in range(n):
        s.apply({"op": "publish", "node": "pub"})
        s.advance(0.01)


def test_every_consumer_reads_every_message_and_acks_remove_nothing():
    s = sim(*stream_doc([("a", {"stream_offset": "first"}), ("b", {"stream_offset": "first"})]))
    publish_one_by_one(s, 5)
    s.advance(1.0)
    m = s.metrics()["nodes"]
    assert m["a"]["acked"] == m["b"]["acked"] == 5 and m["s"]["retained"] == 5
    assert all(conserved(st) for st in s.streams())


def test_consumers_attached_later_start_where_their_offset_says():
    """A consumer added after five messages (chunks 0, 1, 2 and 3-4): next gets only the two
    published later, last the last chunk and those, 1 everything from offset 1."""
    s = sim(*stream_doc([(name, {"stream_offset": spec, "consumers": 0})
                         for name, spec in (("n", "next"), ("l", "last"), ("o", "1"), ("f", "first"))]))
    publish_one_by_one(s, 3)
    s.apply({"op": "publish", "node": "pub", "count": 2})  # one chunk of two
    s.advance(0.01)
    for name in "nlof":
        s.apply({"op": "add_consumer", "node": name})
    publish_one_by_one(s, 2)
    s.advance(0.5)
    m = s.metrics()["nodes"]
    assert [m[name]["acked"] for name in "nlof"] == [2, 4, 6, 7]


def test_prefetch_is_credit_spent_per_chunk_so_a_whole_chunk_is_delivered():
    """rabbit_stream_queue stream_entries/4: a chunk is delivered whole while any credit is left."""
    s = sim(*stream_doc([("c", {"stream_offset": "first", "prefetch": 2, "processing_ms": 1000})]))
    s.apply({"op": "publish", "node": "pub", "count": 5})
    s.advance(0.01)
    assert s.metrics()["nodes"]["s"]["unacked"] == 5


def test_nack_closes_the_channel_and_auto_ack_or_no_prefetch_is_refused():
    """rabbit_stream_queue settle/4 (nack / reject: not_implemented) and consume/3."""
    s = sim(*stream_doc([("bad", {"stream_offset": "first", "poison_rate": 1.0, "on_failure": "requeue"}),
                         ("auto", {"ack_mode": "auto"}), ("zero", {"prefetch": 0})]))
    publish_one_by_one(s, 2)
    m = s.metrics()["nodes"]
    assert m["bad"]["channels"] == [] and "not supported" in m["bad"]["errors"][0]
    assert "automatic acknowledgement" in m["auto"]["errors"][0]
    assert "prefetch" in m["zero"]["errors"][0]
    assert m["s"]["retained"] == 2


def test_max_age_deletes_old_segments_at_the_periodic_check():
    nodes, edges = stream_doc(max_age_s=30, segment_bytes=100)
    s = sim(nodes, edges)
    for _ in range(4):
        s.apply({"op": "publish", "node": "pub", "size": 100})
        s.advance(10.0)
    s.advance(100.0)
    m = s.metrics()
    # segments of one message each, after a tracking snapshot: offsets 0, 1+2, 3+4, 5+6
    assert m["nodes"]["s"]["first_offset"] == 5 and m["dropped"] == {flow.DROP_RETENTION: 3}
    assert all(conserved(st) for st in s.streams())


def test_a_bad_stream_offset_is_an_error_naming_the_field():
    with pytest.raises(engine.DocumentError) as err:
        engine.parse_document({"fanout": 1, "name": "t", "edges": [], "nodes": [
            {"id": "c", "type": "amqp_consumer", "params": {"stream_offset": "soon"}}]})
    assert err.value.errors[0].path == "nodes[0].params.stream_offset"
