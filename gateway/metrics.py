"""Prometheus metrics read at scrape time from the running services (no global counters, so each
app instance reports its own; run uvicorn with one worker per process and scrape each)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .adapters import Backends

STATES = {"closed": 0, "half-opened": 1, "opened": 2}


class GatewayCollector(Collector):
    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    def collect(self) -> Iterator[Metric]:
        cache = self.backends.cache
        hits = CounterMetricFamily("gateway_cache_hits", "Back-end answers served from the cache.")
        hits.add_metric([], cache.hits)
        misses = CounterMetricFamily(
            "gateway_cache_misses", "Back-end answers that had to be fetched."
        )
        misses.add_metric([], cache.misses)
        breaker = GaugeMetricFamily(
            "gateway_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            labels=["backend"],
        )
        for name in self.backends.breakers.names:
            breaker.add_metric([name], STATES.get(self.backends.breakers.state(name), 0))
        yield from (hits, misses, breaker)
