"""Producer compression codecs (compression.type): what each one typically costs and saves.

Kafka compresses whole record batches on the producer; the broker stores them as they are and
consumers decompress. The ratio (compressed size / original size) and the CPU time per megabyte
depend on the data; the figures here are typical of JSON-like records (the ballpark of the
codec benchmarks in the Kafka documentation's "Compression" notes and of each codec's own
published speeds: gzip slow and small, snappy and lz4 fast and larger, zstd small at moderate
cost). A producer may override both per run.
"""

from __future__ import annotations

from typing import NamedTuple

RECORD_BATCH_OVERHEAD = 61  # bytes of a record batch's header (DefaultRecordBatch.RECORD_BATCH_OVERHEAD)


class Codec(NamedTuple):
    ratio: float  # compressed bytes / original bytes
    cpu_ms_per_mb: float  # producer CPU time to compress one megabyte


CODECS: dict[str, Codec] = {
    "none": Codec(1.0, 0.0),
    "gzip": Codec(0.30, 25.0),  # ~40 MB/s on one core
    "snappy": Codec(0.50, 2.5),  # ~400 MB/s
    "lz4": Codec(0.48, 2.0),  # ~500 MB/s
    "zstd": Codec(0.28, 5.0),  # ~200 MB/s at the default level
}


def batch_cost(records: int, record_bytes: int, ratio: float, cpu_ms_per_mb: float) -> tuple[int, int, float]:
    """(uncompressed bytes, bytes on the wire, CPU seconds) of a batch of ``records``."""
    raw = records * record_bytes
    return raw, max(1, round(raw * ratio)) if records else 0, raw / 1_000_000 * cpu_ms_per_mb / 1000.0


def records_per_second(record_bytes: int, ratio: float, cpu_ms_per_mb: float, network_mb_s: float) -> float:
    """The most records a producer can push through per second: its sender compresses batch by
    batch while the previous batch is on the wire, so the slower of the two stages sets the pace."""
    mb = record_bytes / 1_000_000
    cpu = mb * cpu_ms_per_mb / 1000.0
    net = mb * ratio / network_mb_s if network_mb_s > 0 else 0.0
    per_record = max(cpu, net)
    return float("inf") if per_record <= 0 else 1.0 / per_record
