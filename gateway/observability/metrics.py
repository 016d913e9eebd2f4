"""Prometheus metrics of the gateway: its families, the `/metrics` endpoint.

Every family is defined once here (`Families`), created when the app starts (`families()`, never
at import), and counted where the event happens (the transport, the guard,
the cache, the rate limits, admission, the GraphQL view). Label values are bounded: operation names come from
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
from dataclasses import dataclass
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

ROOT = Path(__file__).resolve().parents[2]
NAMES_FILE = Path(__file__).with_name("operation_names.txt")

# Latency buckets in seconds: back-end calls are tens of ms, pages up to the 3 s deadline.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Families:
    """Every family of the gateway, registered once in the process's default registry."""

    graphql_requests: Counter
    graphql_duration: Histogram
    backend_calls: Counter
    backend_duration: Histogram
    backend_failures: Counter
    backend_retries: Counter
    breaker_state: Gauge
    breaker_transitions: Counter
    cache_hits: Counter
    cache_misses: Counter
    cache_errors: Counter
    stale_served: Counter
    loads_ahead: Counter
    idempotency_replays: Counter
    rate_limit_refusals: Counter
    workers: Gauge
    worker_memory: Gauge
    worker_cpu: Gauge
    graphql_errors: Counter
    admission_refusals: Counter
    live_subscriptions: Gauge
    live_watchers: Gauge
    live_snapshots: Counter
    live_events_found: Counter
    live_events_sent: Counter

    @classmethod
    def create(cls) -> Families:
        return cls(
            graphql_requests=Counter(
                "gateway_graphql_requests",
                "GraphQL requests by operation (safelisted name or `other`) and outcome "
                "(ok, partial, error, refused).",
                ["operation", "outcome"],
            ),
            graphql_duration=Histogram(
                "gateway_graphql_request_duration_seconds",
                "GraphQL request latency, from the first byte read to the answer, by operation.",
                ["operation"],
                buckets=BUCKETS,
            ),
            backend_calls=Counter(
                "gateway_backend_calls",
                "HTTP exchanges with a legacy system (each attempt), by system, route template and outcome "
                "(ok, not_found, rejected, error, timeout, unreachable).",
                ["backend", "route", "outcome"],
            ),
            backend_duration=Histogram(
                "gateway_backend_call_duration_seconds",
                "Latency of one exchange with a legacy system, by system and route template.",
                ["backend", "route"],
                buckets=BUCKETS,
            ),
            backend_failures=Counter(
                "gateway_backend_failures",
                "Exchanges with a legacy system that got no answer, by system and cause "
                "(certificate, tls, dns, refused, reset, timeout, proxy, malformed, too_large, "
                "other).",
                ["backend", "cause"],
            ),
            backend_retries=Counter(
                "gateway_backend_retries",
                "Attempts retried after a transient failure, by system.",
                ["backend"],
            ),
            breaker_state=Gauge(
                "gateway_breaker_state",
                "Circuit breaker: 0 closed, 1 half-open, 2 open (the worst over live workers).",
                ["backend"],
                multiprocess_mode="livemax",
            ),
            breaker_transitions=Counter(
                "gateway_breaker_transitions",
                "Circuit breaker state changes, by system and the state reached.",
                ["backend", "state"],
            ),
            cache_hits=Counter(
                "gateway_cache_hits",
                "Back-end answers served from the cache, by system.",
                ["backend"],
            ),
            cache_misses=Counter(
                "gateway_cache_misses",
                "Back-end answers that had to be fetched, by system.",
                ["backend"],
            ),
            cache_errors=Counter(
                "gateway_cache_errors",
                "Cache calls that failed, timed out or were skipped (each a miss).",
            ),
            stale_served=Counter(
                "gateway_stale_served",
                "Last values served because their back-end failed (stale-if-error).",
            ),
            loads_ahead=Counter(
                "gateway_loads_ahead",
                "Back-end reads started ahead of a page's customer record (resolvers/loaders.py `Plans`), by "
                "outcome: used by the page, or wasted (cancelled; the plan is then forgotten).",
                ["outcome"],
            ),
            idempotency_replays=Counter(
                "gateway_idempotency_replays",
                "Mutations answered from their idempotency record instead of being run again.",
                ["mutation"],
            ),
            rate_limit_refusals=Counter(
                "gateway_rate_limit_refusals",
                "Requests refused by one of the gateway's own rate limits, by limit.",
                ["limit"],
            ),
            workers=Gauge(
                "gateway_workers", "Live gateway worker processes.", multiprocess_mode="livesum"
            ),
            worker_memory=Gauge(
                "gateway_workers_resident_memory_bytes",
                "Peak resident memory, summed over live workers.",
                multiprocess_mode="livesum",
            ),
            worker_cpu=Gauge(
                "gateway_workers_cpu_seconds",
                "CPU time used, summed over live workers.",
                multiprocess_mode="livesum",
            ),
            graphql_errors=Counter(
                "gateway_graphql_errors",
                "GraphQL requests answered with at least one error of this code "
                "(`extensions.code`: BACKEND_UNAVAILABLE, FORBIDDEN…), by code.",
                ["code"],
            ),
            admission_refusals=Counter(
                "gateway_admission_refusals",
                "Requests answered 503 OVERLOADED by admission control (queue full or wait too long).",
            ),
            live_subscriptions=Gauge(
                "gateway_live_subscriptions",
                "Open subscriptions, by transport (graphql-transport-ws, graphql-sse), summed "
                "over live workers.",
                ["transport"],
                multiprocess_mode="livesum",
            ),
            live_watchers=Gauge(
                "gateway_live_watchers",
                "Customers watched, by role: holder (holds the customer's lease and reads the "
                "back-ends), follower (hears the holder through Redis), alone (reads by itself: "
                "no Redis, or Redis unreachable); summed over live workers.",
                ["role"],
                multiprocess_mode="livesum",
            ),
            live_snapshots=Counter(
                "gateway_live_snapshots",
                "Customer states of the live watchers, by outcome: read (from the back-ends), "
                "failed (a read that failed), received (from the holder, through Redis).",
                ["outcome"],
            ),
            live_events_found=Counter(
                "gateway_live_events_found",
                "Events the gateway found for a watched customer (a règlement paid, a document "
                "available, a demande moved), by kind.",
                ["kind"],
            ),
            live_events_sent=Counter(
                "gateway_live_events_sent",
                "Events posted to the customer's notification feed, by kind.",
                ["kind"],
            ),
        )


def multiprocess_directory() -> Path | None:
    """`PROMETHEUS_MULTIPROC_DIR`, when set: every worker writes its samples there."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory) if directory else None


@cache
def families() -> Families:
    """The families, created once per process: when the app starts (`worker_started`), or at the
    first count of code running without an app (tests, scripts). Never at import: in multiprocess
    mode a family writes its file at creation, and the directory may not exist before start-up
    (an empty `/tmp` volume)."""
    directory = multiprocess_directory()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    # `*_created` series double the output and no dashboard reads them
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return Families.create()


STATES = {"closed": 0, "half-opened": 1, "opened": 2}
MUTATIONS_CAP = 64  # idempotent mutations are named in code; a bound all the same
CODES_CAP = 64  # error codes are the gateway's own words; a bound all the same
KINDS_CAP = 16  # event kinds are the CRM's few codes; a bound all the same
WATCHER_ROLES = frozenset({"holder", "follower", "alone"})


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
def child(family: str, *labels: str) -> Any:
    """A family's child (by its `Families` field) for these label values, looked up once (label
    values are bounded)."""
    return getattr(families(), family).labels(*labels)


def operation_label(name: str | None) -> str:
    return name if name and name in operation_names() else "other"


def graphql_request(operation: str | None, outcome: str, seconds: float) -> None:
    label = operation_label(operation)
    child("graphql_requests", label, outcome).inc()
    child("graphql_duration", label).observe(seconds)


def backend_call(backend: str, route: str, outcome: str, seconds: float) -> None:
    child("backend_calls", backend, route, outcome).inc()
    child("backend_duration", backend, route).observe(seconds)


def backend_failure(backend: str, cause: str) -> None:
    child("backend_failures", backend, cause).inc()


def retry(backend: str) -> None:
    child("backend_retries", backend).inc()


def breaker_state(backend: str, state: str, transition: bool = True) -> None:
    child("breaker_state", backend).set(STATES.get(state, 0))
    if transition:
        child("breaker_transitions", backend, state).inc()


def cache_lookup(backend: str, hits: int, misses: int) -> None:
    if hits:
        child("cache_hits", backend).inc(hits)
    if misses:
        child("cache_misses", backend).inc(misses)


def loads_ahead(used: int, wasted: int) -> None:
    if used:
        child("loads_ahead", "used").inc(used)
    if wasted:
        child("loads_ahead", "wasted").inc(wasted)


def cache_error() -> None:
    families().cache_errors.inc()


def stale_served() -> None:
    families().stale_served.inc()


_mutations: set[str] = set()


def idempotency_replay(mutation: str) -> None:
    """A mutation answered from its idempotency record (called by the démarches code)."""
    if mutation not in _mutations and len(_mutations) >= MUTATIONS_CAP:
        mutation = "other"
    _mutations.add(mutation)
    child("idempotency_replays", mutation).inc()


def rate_limit_refused(limit: str) -> None:
    child("rate_limit_refusals", limit).inc()


_codes: set[str] = set()


def graphql_errors(codes: list[str]) -> None:
    """The error codes of one answer, each counted once."""
    for code in set(codes):
        if code not in _codes:
            if len(_codes) >= CODES_CAP or not code.replace("_", "").isalnum():
                code = "other"
            _codes.add(code)
        child("graphql_errors", code).inc()


def admission_refused() -> None:
    families().admission_refusals.inc()


def live_subscription(transport: str, opened: bool) -> None:
    """A subscription opened (or closed) over `transport` (`graphql-transport-ws`, `graphql-sse`)."""
    gauge = child("live_subscriptions", transport)
    if opened:
        gauge.inc()
    else:
        gauge.dec()


def live_watcher(was: str, now: str) -> None:
    """A watcher changed role (`holder`, `follower`, `alone`; any other word: not counted)."""
    if was in WATCHER_ROLES:
        child("live_watchers", was).dec()
    if now in WATCHER_ROLES:
        child("live_watchers", now).inc()


def live_snapshot(outcome: str) -> None:
    child("live_snapshots", outcome).inc()


_kinds: dict[str, set[str]] = {"found": set(), "sent": set()}


def _kind(counted: str, kind: str) -> str:
    seen = _kinds[counted]
    if kind not in seen:
        if len(seen) >= KINDS_CAP or not kind.replace("_", "").isalnum():
            return "other"
        seen.add(kind)
    return kind


def live_event_found(kind: str, count: int = 1) -> None:
    """Events of `kind` (the CRM's code: `REGLEMENT_EFFECTUE`…) found for a watched customer."""
    if count:
        child("live_events_found", _kind("found", kind)).inc(count)


def live_event_sent(kind: str, count: int = 1) -> None:
    """Events of `kind` posted to the customer's notification feed."""
    if count:
        child("live_events_sent", _kind("sent", kind)).inc(count)


def worker_started() -> None:
    """The app starts in this process: its families exist from now on (files included)."""
    families().workers.set(1)
    sample_worker()


def sample_worker() -> None:
    """This worker's memory and CPU, for the process group's sums (multiprocess mode)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    found = families()
    found.worker_memory.set(usage.ru_maxrss * 1024)
    found.worker_cpu.set(time.process_time())


def worker_stopped() -> None:
    if multiprocess_directory() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def prepare_multiprocess_directory() -> None:
    """Before the workers start (`serve`): the shared directory exists and holds no file of a
    previous run (prometheus-client would add their counts to this run's)."""
    path = multiprocess_directory()
    if path is None:
        return
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def exposition() -> tuple[bytes, str]:
    """The text of `/metrics`: the whole process group in multiprocess mode, else this process
    (with the standard `process_*` and `python_*` families)."""
    sample_worker()
    if multiprocess_directory() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
