"""Ordering, as Kafka promises it: within a partition, not across partitions (the consumer group's
"Check order" counters). Each test names the rule it checks."""

from tests.engine.factories import conserved, simulation


def order_of(sim):
    return sim.components["group"].metrics(sim)["order"]


def test_one_partition_keeps_total_order():
    """Kafka guarantees order within a partition: a single partition read by one consumer gives
    every record in the order the broker appended it."""
    sim = simulation(rate=800, partitions=1, consumers=1, processing_ms=0.5, check_order=True)
    sim.advance(10.0)
    assert order_of(sim) == {"out_of_order": 0, "out_of_key_order": 0}
    assert sim.components["group"].processed > 7000
    assert conserved(sim.metrics())


def test_keyed_partitions_keep_order_per_key_but_not_across_partitions():
    """The default partitioner sends every record of a key to one partition (murmur2 of the key),
    and each partition is read in order, so each key's records stay in order; records of
    different partitions are processed by different consumers at different times, so the
    group as a whole does not keep the order the brokers appended them in. The count is checked
    against a recount from the process events and the log's append times."""
    sim = simulation(rate=800, partitions=6, consumers=3, processing_ms=1.5, check_order=True)
    events = []
    for _ in range(50):
        sim.advance(0.1)
        events += sim.drain_events()
    order = order_of(sim)
    assert order["out_of_key_order"] == 0
    latest, recount = float("-inf"), 0
    logs = sim.components["topic"].logs
    for event in events:
        if event["k"] != "process":
            continue
        for ts in logs[event["p"]].timestamps(event["o"], event["o"] + event["n"]).tolist():
            recount += ts < latest
            latest = max(latest, ts)
    assert order["out_of_order"] == recount > 0


def test_retries_through_a_retry_topic_break_the_order_of_a_key():
    """Non-blocking retries (a retry topic, as Spring Kafka's @RetryableTopic): the partition moves
    on while a failed record waits, so the record is processed after later records of its key."""
    sim = simulation(rate=800, partitions=6, consumers=3, processing_ms=1.5, failure_rate=0.05,
                     backoff_ms=50, check_order=True)
    sim.advance(10.0)
    order = order_of(sim)
    assert order["out_of_key_order"] > 0
    assert order["out_of_order"] >= order["out_of_key_order"]
    assert conserved(sim.metrics())


def test_without_check_order_no_counts_are_kept():
    sim = simulation(rate=200, partitions=3, consumers=2)
    sim.advance(2.0)
    assert order_of(sim) is None


def test_order_counts_of_retried_records_do_not_depend_on_the_rows_the_log_keeps(monkeypatch):
    """A record that succeeds on a retry is checked against the records appended after it, read
    from the log: the log keeps its row while it is in retry, even once the committed offset has
    passed it, so the counts are the same whether the log keeps few rows beyond that or many."""
    from playground.engine.kafka import log

    def counts(tail):
        monkeypatch.setattr(log, "TAIL", tail)
        sim = simulation(rate=800, partitions=6, consumers=3, processing_ms=1.5, failure_rate=0.05,
                         backoff_ms=200, check_order=True)
        sim.advance(10.0)
        return order_of(sim)

    few, many = counts(0), counts(1_000_000)
    assert few == many and few["out_of_key_order"] > 0
