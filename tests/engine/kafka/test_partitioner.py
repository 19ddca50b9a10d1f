from playground.engine.kafka.partitioner import murmur2, partition_for_key, to_positive


def test_murmur2_matches_kafka_utils_test_cases():
    """Cases from Kafka's UtilsTest.testMurmur2 (org.apache.kafka.common.utils)."""
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        bytes([ord("a"), ord("b"), ord("c")]): 479470107,
    }
    for data, expected in cases.items():
        assert murmur2(data) == expected


def test_murmur2_matches_values_published_for_short_keys():
    """Every tail length (0-3 leftover bytes) against values computed by Kafka's Utils.murmur2."""
    cases = {b"1": -1993445489, b"12": 126087238, b"123": -267702483, b"1234": -1614185708,
             b"12345": -1188365604}
    for data, expected in cases.items():
        assert murmur2(data) == expected


def test_to_positive_masks_the_sign_bit_rather_than_taking_abs():
    """Utils.toPositive(n) = n & 0x7fffffff, so Integer.MIN_VALUE maps to 0, not a negative."""
    assert to_positive(-2147483648) == 0
    assert to_positive(-1) == 2147483647
    assert to_positive(5) == 5


def test_partition_for_key_is_positive_murmur2_modulo_partitions():
    """BuiltInPartitioner.partitionForKey: toPositive(murmur2(keyBytes)) % numPartitions."""
    assert partition_for_key(b"foobar", 12) == (-790332482 & 0x7FFFFFFF) % 12
    for n in (1, 3, 12, 100):
        for key in (b"a", b"key-1", b"order-42"):
            assert 0 <= partition_for_key(key, n) < n


def test_same_key_always_lands_on_same_partition():
    assert {partition_for_key(b"customer-7", 6) for _ in range(10)} == {partition_for_key(b"customer-7", 6)}
