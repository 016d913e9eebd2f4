"""Prometheus metrics of the gateway: module-level families, the `/metrics` endpoint.

Every family is defined once here and counted where the event happens (the transport, the guard,
the cache, the rate limits, the GraphQL view). Label values are bounded: operation names come from
the frontends' safelist (`contracts/operations/**/*.graphql`, else `operation_names.txt`) or `other`,
back-end routes are the legacy contracts' templates (`gateway.observability.tracing.route_template`), outcomes
are fixed words.

Several uvicorn workers: set `PROMETHEUS_MULTIPROC_DIR` (an empty directory, the same for every
worker, before they start) and every worker writes its samples there; any worker's `/metrics` then
merges the whole process group. Without it, one process reports its own (plus `process_*`).
"""

from __future__ import annotations

import os
import resource
import time
from functools import cache
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from gateway.observability.operation_names import declared

# `*_created` series double the output and no dashboard reads them
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
ROOT = Path(__file__).resolve().parents[2]
NAMES_FILE = Path(__file__).with_name("operation_names.txt")

# Latency buckets in seconds: back-end calls are tens of ms, pages up to the 3 s deadline.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)

GRAPHQL_REQUESTS = Counter(
    "gateway_graphql_requests",
    "GraphQL requests by operation (safelisted name or `other`) and outcome "
    "(ok, partial, error, refused).",
    ["operation", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "gateway_graphql_request_duration_seconds",
    "GraphQL request latency, from the first byte read to the answer, by operation.",
    ["operation"],
    buckets=BUCKETS,
)
BACKEND_CALLS = Counter(
    "gateway_backend_calls",
    "HTTP exchanges with a legacy system (each attempt), by system, route template and outcome "
    "(ok, not_found, rejected, error, timeout, unreachable).",
    ["backend", "route", "outcome"],
)
BACKEND_DURATION = Histogram(
    "gateway_backend_call_duration_seconds",
    "Latency of one exchange with a legacy system, by system and route template.",
    ["backend", "route"],
    buckets=BUCKETS,
)
BACKEND_FAILURES = Counter(
    "gateway_backend_failures",
    "Exchanges with a legacy system that got no answer, by system and cause (certificate, tls, "
    "dns, refused, reset, timeout, proxy, malformed, too_large, other).",
    ["backend", "cause"],
)
BACKEND_RETRIES = Counter(
    "gateway_backend_retries", "Attempts retried after a transient failure, by system.", ["backend"]
)
BREAKER_STATE = Gauge(
    "gateway_breaker_state",
    "Circuit breaker: 0 closed, 1 half-open, 2 open (the worst over live workers).",
    ["backend"],
    multiprocess_mode="livemax",
)
BREAKER_TRANSITIONS = Counter(
    "gateway_breaker_transitions",
    "Circuit breaker state changes, by system and the state reached.",
    ["backend", "state"],
)
CACHE_HITS = Counter(
    "gateway_cache_hits", "Back-end answers served from the cache, by system.", ["backend"]
)
CACHE_MISSES = Counter(
    "gateway_cache_misses", "Back-end answers that had to be fetched, by system.", ["backend"]
)
CACHE_ERRORS = Counter(
    "gateway_cache_errors", "Cache calls that failed, timed out or were skipped (each a miss)."
)
STALE_SERVED = Counter(
    "gateway_stale_served", "Last values served because their back-end failed (stale-if-error)."
)
LOADS_AHEAD = Counter(
    "gateway_loads_ahead",
    "Back-end reads started ahead of a page's customer record (resolvers/loaders.py `Plans`), by "
    "outcome: used by the page, or wasted (cancelled; the plan is then forgotten).",
    ["outcome"],
)
IDEMPOTENCY_REPLAYS = Counter(
    "gateway_idempotency_replays",
    "Mutations answered from their idempotency record instead of being run again.",
    ["mutation"],
)
RATE_LIMIT_REFUSALS = Counter(
    "gateway_rate_limit_refusals",
    "Requests refused by one of the gateway's own rate limits, by limit.",
    ["limit"],
)
WORKERS = Gauge("gateway_workers", "Live gateway worker processes.", multiprocess_mode="livesum")
WORKER_MEMORY = Gauge(
    "gateway_workers_resident_memory_bytes",
    "Peak resident memory, summed over live workers.",
    multiprocess_mode="livesum",
)
WORKER_CPU = Gauge(
    "gateway_workers_cpu_seconds",
    "CPU time used, summed over live workers.",
    multiprocess_mode="livesum",
)

STATES = {"closed": 0, "half-opened": 1, "opened": 2}
MUTATIONS_CAP = 64  # idempotent mutations are named in code; a bound all the same


@cache
def operation_names() -> frozenset[str]:
    """The safelist: operation names of the frontends' documents, from the repository's
    `contracts/operations/` when present, plus the packaged list (an installed gateway)."""
    names: set[str] = set()
    if NAMES_FILE.exists():
        names.update(n.strip() for n in NAMES_FILE.read_text("utf-8").splitlines() if n.strip())
    for path in (ROOT / "contracts" / "operations").glob("**/*.graphql"):
        names.update(declared(path.read_text("utf-8")))
    return frozenset(names)


@cache
def child(family: Any, *labels: str) -> Any:
    """A family's child for these label values, looked up once (label values are bounded)."""
    return family.labels(*labels)


def operation_label(name: str | None) -> str:
    return name if name and name in operation_names() else "other"


def graphql_request(operation: str | None, outcome: str, seconds: float) -> None:
    label = operation_label(operation)
    child(GRAPHQL_REQUESTS, label, outcome).inc()
    child(GRAPHQL_DURATION, label).observe(seconds)


def backend_call(backend: str, route: str, outcome: str, seconds: float) -> None:
    child(BACKEND_CALLS, backend, route, outcome).inc()
    child(BACKEND_DURATION, backend, route).observe(seconds)


def backend_failure(backend: str, cause: str) -> None:
    child(BACKEND_FAILURES, backend, cause).inc()


def retry(backend: str) -> None:
    BACKEND_RETRIES.labels(backend).inc()


def breaker_state(backend: str, state: str, transition: bool = True) -> None:
    BREAKER_STATE.labels(backend).set(STATES.get(state, 0))
    if transition:
        BREAKER_TRANSITIONS.labels(backend, state).inc()


def cache_lookup(backend: str, hits: int, misses: int) -> None:
    if hits:
        child(CACHE_HITS, backend).inc(hits)
    if misses:
        child(CACHE_MISSES, backend).inc(misses)


def loads_ahead(used: int, wasted: int) -> None:
    if used:
        child(LOADS_AHEAD, "used").inc(used)
    if wasted:
        child(LOADS_AHEAD, "wasted").inc(wasted)


def cache_error() -> None:
    CACHE_ERRORS.inc()


def stale_served() -> None:
    STALE_SERVED.inc()


_mutations: set[str] = set()


def idempotency_replay(mutation: str) -> None:
    """A mutation answered from its idempotency record (called by the démarches code)."""
    if mutation not in _mutations and len(_mutations) >= MUTATIONS_CAP:
        mutation = "other"
    _mutations.add(mutation)
    IDEMPOTENCY_REPLAYS.labels(mutation).inc()


def rate_limit_refused(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


def worker_started() -> None:
    WORKERS.set(1)
    sample_worker()


def sample_worker() -> None:
    """This worker's memory and CPU, for the process group's sums (multiprocess mode)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    WORKER_MEMORY.set(usage.ru_maxrss * 1024)
    WORKER_CPU.set(time.process_time())


def worker_stopped() -> None:
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def prepare_multiprocess_directory() -> None:
    """Before the workers start (`serve`): the shared directory exists and holds no file of a
    previous run (prometheus-client would add their counts to this run's)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def exposition() -> tuple[bytes, str]:
    """The text of `/metrics`: the whole process group in multiprocess mode, else this process
    (with the standard `process_*` and `python_*` families)."""
    sample_worker()
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
