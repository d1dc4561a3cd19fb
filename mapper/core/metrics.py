"""Prometheus metrics of one service process (its own registry, so tests can build many apps)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric


class Tally:
    """A counter bumped for every websocket message: a plain number, read when /metrics is
    scraped. A prometheus Counter takes a lock on every increment, and these are the hottest."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class _TrafficCollector:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._metrics
        messages_in = CounterMetricFamily(
            "mapper_messages_in", "Websocket frames received", labels=["kind"]
        )
        for kind, tally in m.messages_in.items():
            messages_in.add_metric([kind], tally.value)
        yield messages_in
        yield CounterMetricFamily(
            "mapper_messages_out", "Websocket frames queued", value=m.messages_out.value
        )
        yield CounterMetricFamily(
            "mapper_bytes_in", "Websocket bytes received", value=m.bytes_in.value
        )
        yield CounterMetricFamily(
            "mapper_bytes_out", "Websocket bytes queued", value=m.bytes_out.value
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.rooms = Gauge("mapper_rooms", "Rooms loaded in memory", registry=r)
        self.connections = Gauge("mapper_connections", "Open websocket connections", registry=r)
        # Messages by kind: "binary" (protocol messages) and "text" (refused) frames.
        self.messages_in = {"binary": Tally(), "text": Tally()}
        self.messages_out = Tally()
        self.bytes_in = Tally()
        self.bytes_out = Tally()
        r.register(_TrafficCollector(self))
        self.refused_updates = Counter(
            "mapper_refused_updates", "Document updates refused (read-only clients)", registry=r
        )
        self.schema_corrections = Counter(
            "mapper_schema_corrections", "Schema violations corrected", registry=r
        )
        self.queue_overflows = Counter(
            "mapper_queue_overflows", "Clients dropped because their send queue filled", registry=r
        )
        self.closes = Counter(
            "mapper_connection_closes", "Websocket closes by code", ["code"], registry=r
        )
        self.flush_seconds = Histogram(
            "mapper_flush_seconds",
            "Time to write one batch of updates to the database",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.flushed_updates = Counter(
            "mapper_flushed_updates", "Updates written to the database", registry=r
        )
        self.pending_updates = Gauge(
            "mapper_pending_updates", "Updates accepted but not yet in the database", registry=r
        )

        self.present_users = Gauge(
            "mapper_present_users", "Users present in this process (live status runs)", registry=r
        )
        self.sync_runs = Counter(
            "mapper_sync_runs", "Sync runs of a (dataset, user) subject", ["dataset"], registry=r
        )
        self.esi_answers = Counter(
            "mapper_esi_answers", "ESI answers by status (0: no answer)", ["status"], registry=r
        )
        self.intel_polls = Counter(
            "mapper_intel_polls",
            "Intel polls by source (evescout, esi) and result (new, unchanged, refused)",
            ["source", "result"],
            registry=r,
        )

    def count_out(self, messages: int, size: int) -> None:
        if messages:  # once per broadcast: the tallies' own `inc` would be two more calls
            self.messages_out.value += messages
            self.bytes_out.value += messages * size

    def record_flush(self, seconds: float, rows: int, updates: int) -> None:
        self.flush_seconds.observe(seconds)
        self.flushed_updates.inc(updates)

    def render(self) -> bytes:
        return generate_latest(self.registry)
