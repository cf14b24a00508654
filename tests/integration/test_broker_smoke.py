"""kafka-python 3.0.x against the real Kafka 4.1 broker built by `make kafka-dist`.

What the pipeline relies on: an idempotent acks=all producer with keyed JSON
values, consumers reading by manual assign() from the beginning, offsets
committed for a group without joining it, end offsets, and no loss and no
duplicate across a broker restart (clean or SIGKILL).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.serializer import DefaultSerializer, JsonSerializer
from kafka.structs import OffsetAndMetadata

PARTITIONS = 3
SERVERS = [f"server_{i}" for i in range(1, 11)]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def make_rows(n: int, start: int = 0) -> list[dict]:
    """Rows shaped like the `cpu` topic's messages; (ts, server_id) is unique."""
    rows = []
    for i in range(start, start + n):
        server = SERVERS[i % len(SERVERS)]
        secs = i // len(SERVERS)
        ts = f"{10 + secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        rows.append({"ts": ts, "server_id": server, "cpu_pct": round(i * 0.37 % 100, 2)})
    return rows


def producer(broker) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=broker.bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        # kafka-python 3.x wants Serializer objects (plain callables still work,
        # with a DeprecationWarning).
        key_serializer=DefaultSerializer(),
        value_serializer=JsonSerializer(),
    )


def produce(broker, topic: str, rows: list[dict]) -> list:
    """Send every row keyed by server_id; return the RecordMetadata of each, in order."""
    p = producer(broker)
    try:
        futures = [p.send(topic, key=row["server_id"], value=row) for row in rows]
        p.flush(timeout=30)
        return [f.get(timeout=30) for f in futures]
    finally:
        p.close(timeout=10)


def consumer(broker, group_id: str | None = None) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        key_deserializer=DefaultSerializer(),
        value_deserializer=JsonSerializer(),
    )


def read_all(c: KafkaConsumer, expected: int, timeout: float = 30.0) -> list:
    """Poll until `expected` records arrived (then a little longer, to catch extras)."""
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        for batch in c.poll(timeout_ms=500).values():
            records.extend(batch)
    # Anything beyond `expected` would be a duplicate: give it a chance to show up.
    for batch in c.poll(timeout_ms=300).values():
        records.extend(batch)
    return records


def test_idempotent_keyed_json_roundtrip_with_manual_assign_and_commit(kafka_broker):
    topic = unique("smoke-cpu")
    kafka_broker.create_topics([topic], partitions=PARTITIONS)
    kafka_broker.create_topics([topic], partitions=PARTITIONS)  # idempotent

    rows = make_rows(500)
    metas = produce(kafka_broker, topic, rows)

    # Keyed: one partition per server, and the keys spread over all 3 partitions.
    partition_of = defaultdict(set)
    for row, meta in zip(rows, metas):
        partition_of[row["server_id"]].add(meta.partition)
    assert all(len(p) == 1 for p in partition_of.values()), partition_of
    assert {meta.partition for meta in metas} == set(range(PARTITIONS))

    # Idempotent: the broker knows a producer id on each partition written.
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    admin = kafka_broker.admin()
    try:
        producers = admin.describe_producers(tps)
    finally:
        admin.close()
    assert set(producers) == set(tps)
    for tp, state in producers.items():
        assert state.active_producers, f"no idempotent producer state on {tp}"
        assert all(p.producer_id >= 0 for p in state.active_producers)

    group = unique("smoke-group")
    c = consumer(kafka_broker, group_id=group)
    try:
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        per_partition = Counter(meta.partition for meta in metas)
        assert end == {tp: per_partition[tp.partition] for tp in tps}
        assert sum(end.values()) == len(rows)

        records = read_all(c, len(rows))
        got = [(r.key, r.value) for r in records]
        assert len(got) == len(rows), f"{len(got)} records read back, {len(rows)} sent"
        assert sorted(got, key=repr) == sorted(((r["server_id"], r) for r in rows), key=repr)
        # Per partition: offsets 0..n-1 without gap, in the order they were sent.
        by_partition = defaultdict(list)
        for r in records:
            by_partition[r.partition].append(r)
        for p, recs in by_partition.items():
            assert [r.offset for r in recs] == list(range(end[TopicPartition(topic, p)]))
            sent = [row for row, meta in zip(rows, metas) if meta.partition == p]
            assert [r.value for r in recs] == sent
        assert {tp: c.position(tp) for tp in tps} == end

        # Commit for the group while manually assigned (no join, no rebalance).
        c.commit({tp: OffsetAndMetadata(end[tp], "smoke", -1) for tp in tps})
        assert {tp: c.committed(tp) for tp in tps} == end
    finally:
        c.close(autocommit=False)

    # A new consumer in that group resumes at the committed offsets: nothing left.
    c2 = consumer(kafka_broker, group_id=group)
    try:
        c2.assign(tps)
        assert {tp: c2.position(tp) for tp in tps} == end
        assert read_all(c2, 0, timeout=1.0) == []
    finally:
        c2.close(autocommit=False)


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_broker_restart_loses_and_duplicates_nothing(kafka_broker, hard):
    topic = unique("smoke-restart")
    kafka_broker.create_topics([topic], partitions=PARTITIONS)
    before = make_rows(200)
    after = make_rows(200, start=200)

    produce(kafka_broker, topic, before)
    port = kafka_broker.port
    kafka_broker.restart(hard=hard)
    assert kafka_broker.port == port and kafka_broker.is_running()
    produce(kafka_broker, topic, after)

    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    c = consumer(kafka_broker)
    try:
        c.assign(tps)
        c.seek_to_beginning(*tps)
        assert sum(c.end_offsets(tps).values()) == len(before) + len(after)
        records = read_all(c, len(before) + len(after))
    finally:
        c.close()
    keys = Counter((r.value["ts"], r.value["server_id"]) for r in records)
    sent = Counter((row["ts"], row["server_id"]) for row in before + after)
    assert keys == sent
    assert max(keys.values()) == 1


def test_kafka_tools_from_jars(kafka_broker):
    """The tool classes the Ansible role and the benchmarks call, from libs/ only."""
    topic = unique("smoke-tools")
    bootstrap = kafka_broker.bootstrap_servers
    out = kafka_broker.run_tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                                bootstrap, "--create", "--if-not-exists", "--topic", topic,
                                "--partitions", PARTITIONS, "--replication-factor", 1).stdout
    assert f"Created topic {topic}." in out, out
    admin = kafka_broker.admin()
    try:
        admin.wait_for_topics([topic])
        [described] = admin.describe_topics([topic])
    finally:
        admin.close()
    assert len(described["partitions"]) == PARTITIONS

    perf = kafka_broker.run_tool(
        "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", 2000,
        "--record-size", 100, "--throughput", -1,
        "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all").stdout
    assert "2000 records sent" in perf, perf

    group = unique("smoke-tools-group")
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    c = consumer(kafka_broker, group_id=group)
    try:
        c.assign(tps)
        end = c.end_offsets(tps)
        c.commit({tp: OffsetAndMetadata(end[tp] // 2, "", -1) for tp in tps})
    finally:
        c.close(autocommit=False)
    out = kafka_broker.run_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                                "--bootstrap-server", bootstrap, "--describe", "--group", group
                                ).stdout
    lag = sum(int(line.split()[5]) for line in out.splitlines()
              if line.startswith(group) and line.split()[1] == topic)
    assert lag == sum(end[tp] - end[tp] // 2 for tp in tps), out
