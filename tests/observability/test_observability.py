"""Metrics, traces, request ids and probes, seen from outside: `/metrics`, spans, headers."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.identity.tokens import TokenVerifier
from gateway.observability import metrics
from gateway.observability import tracing as telemetry
from gateway.observability.operation_names import declared
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.settings import Settings
from mocks import MockSystem
from tests.conftest import faults
from tests.support.gateway import OPERATIONS, PERSONAS, TODAY, Gateway, operation
from tests.support.redis import needs_redis, redis_server

OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"


async def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await gateway.http.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- metrics ------------------------------------------------------------------------------------


async def test_a_home_page_is_counted_by_operation_outcome_and_back_end_route(
    gateway: Gateway,
) -> None:
    before = await scrape(gateway)
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert "errors" not in body
    after = await scrape(gateway)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("gateway_graphql_requests_total", operation="HomePage", outcome="ok") == 1
    assert delta("gateway_graphql_request_duration_seconds_count", operation="HomePage") == 1
    routes = {
        ("crm", "GET /crm/api/clients/{clientId}"),
        ("crm", "GET /crm/api/clients/{clientId}/demandes"),
        ("policy-admin", "GET /api/v1/personnes/{NUM_PERS}/contrats"),
        ("claims", "GET /prestations/v2/reglements"),
        ("editique", "POST /editique/ws RechercherDocuments"),
    }
    for backend, route in routes:
        assert (
            delta("gateway_backend_calls_total", backend=backend, route=route, outcome="ok") >= 1
        ), route
        assert (
            delta("gateway_backend_call_duration_seconds_count", backend=backend, route=route) >= 1
        )
    assert delta("gateway_cache_misses_total", backend="crm") >= 2
    again = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert again["data"] == body["data"] or "errors" not in again
    assert value(await scrape(gateway), "gateway_cache_hits_total", backend="crm") > value(
        after, "gateway_cache_hits_total", backend="crm"
    )
    assert value(after, "process_resident_memory_bytes") > 0  # process metrics
    # bounded labels: route templates and safelisted names, never an identifier of a customer
    labels = " ".join(" ".join(v for _, v in key[1]) for key in after)
    assert not re.search(r"C000\d|000451|A778|EDQ-", labels), labels


async def test_unknown_operation_names_are_other_and_outcomes_are_told_apart(
    gateway: Gateway,
) -> None:
    before = await scrape(gateway)
    made_up = f"Probe{secrets.token_hex(4)}"
    await gateway.run(f"query {made_up} {{ __typename }}", as_=PERSONAS["chris"])
    refused = await gateway.http.post("/graphql", json={"query": operation("HomePage")})
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await faults(gateway, "editique", error_rate=1.0, error_status=503)
    partial = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert partial["data"]["viewer"]["documents"] is None
    await faults(gateway, "crm", error_rate=1.0, error_status=503)
    failed = await gateway.run("Profile", as_=PERSONAS["geralt"])
    assert failed["data"] == {"viewer": None}
    after = await scrape(gateway)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("gateway_graphql_requests_total", operation="other", outcome="ok") == 1
    assert made_up not in str(after)
    assert delta("gateway_graphql_requests_total", operation="HomePage", outcome="refused") == 1
    assert delta("gateway_graphql_requests_total", operation="HomePage", outcome="partial") == 1
    assert delta("gateway_graphql_requests_total", operation="Profile", outcome="error") == 1
    assert delta("gateway_backend_retries_total", backend="editique") >= 1
    assert (
        delta(
            "gateway_backend_calls_total",
            backend="editique",
            route="POST /editique/ws RechercherDocuments",
            outcome="error",
        )
        >= 2
    )


async def test_bad_bodies_are_refused_and_the_ide_page_is_not_a_request(gateway: Gateway) -> None:
    before = await scrape(gateway)
    bad = await gateway.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    ide = await gateway.http.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    after = await scrape(gateway)
    requests = "gateway_graphql_requests_total"
    assert (
        value(after, requests, operation="other", outcome="refused")
        == value(before, requests, operation="other", outcome="refused") + 1
    )
    assert value(after, requests, operation="other", outcome="ok") == value(
        before, requests, operation="other", outcome="ok"
    )


async def test_breaker_transitions_are_counted(gateway: Gateway) -> None:
    gateway.app.state.services.backends.breakers.policy.min_volume = 2
    before = await scrape(gateway)
    await faults(gateway, "claims", error_rate=1.0, error_status=503)
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    after = await scrape(gateway)
    assert value(after, "gateway_breaker_state", backend="claims") == 2
    transitions = value(
        after, "gateway_breaker_transitions_total", backend="claims", state="opened"
    ) - value(before, "gateway_breaker_transitions_total", backend="claims", state="opened")
    assert transitions == 1


async def test_errors_are_counted_by_their_code_once_per_answer(gateway: Gateway) -> None:
    before = await scrape(gateway)
    anonymous = await gateway.http.post("/graphql", json={"query": operation("HomePage")})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await gateway.run("HomePage", as_=PERSONAS["chris"])  # no error: nothing counted
    after = await scrape(gateway)
    name = "gateway_graphql_errors_total"
    assert (
        value(after, name, code="UNAUTHENTICATED") - value(before, name, code="UNAUTHENTICATED")
        == 1
    )
    assert (
        sum(v for (n, _), v in after.items() if n == name)
        - sum(v for (n, _), v in before.items() if n == name)
        == 1
    )


async def test_the_breaker_gauge_says_half_open_when_the_breaker_is(gateway: Gateway) -> None:
    breakers = gateway.app.state.services.backends.breakers
    breakers.policy.min_volume = 2
    breakers.policy.ttl_s = 0.3
    before = await scrape(gateway)
    await faults(gateway, "claims", error_rate=1.0, error_status=503)
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert value(await scrape(gateway), "gateway_breaker_state", backend="claims") == 2
    await asyncio.sleep(0.35)  # the next call would be the probe: half-open, with no call made
    assert breakers.state("claims") == "half-opened"
    half_open = await scrape(gateway)
    assert value(half_open, "gateway_breaker_state", backend="claims") == 1
    await faults(gateway, "claims")  # back: the probe succeeds and closes it
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    after = await scrape(gateway)
    assert value(after, "gateway_breaker_state", backend="claims") == 0

    def reached(state: str) -> float:
        key = "gateway_breaker_transitions_total"
        return value(after, key, backend="claims", state=state) - value(
            before, key, backend="claims", state=state
        )

    # at least: the counters are the process's, and another app still alive in this test
    # process may move its own claims breaker meanwhile (seen once in CI: 2, 2, 1)
    assert min(reached("opened"), reached("half-opened"), reached("closed")) >= 1


IMPORT_THEN_START = """
import asyncio, pathlib, sys
directory = pathlib.Path(sys.argv[1])
import gateway.__main__, gateway.app, gateway.adapters.in_process  # what `serve` imports first
assert not directory.exists(), "a metrics file was written at import"
from gateway.app import create_app
app = create_app()
async def start():
    async with app.router.lifespan_context(app):
        print(sorted(p.name.split("_")[0] for p in directory.glob("*.db")))
asyncio.run(start())
"""


def test_an_import_writes_no_metrics_file_and_the_start_makes_the_directory(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "tmp" / "prometheus"  # not there yet, as in an empty emptyDir
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_THEN_START, str(directory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "counter" in done.stdout and "gauge" in done.stdout


async def test_rate_limit_refusals_and_idempotency_replays_are_counted() -> None:
    limits = RateLimits.build(None)
    rule = "2/minute"
    before = metrics.child("rate_limit_refusals", rule)._value.get()
    for _ in range(2):
        await limits.hit(rule, "test-observability", "same")
    with pytest.raises(TooManyRequests):
        await limits.hit(rule, "test-observability", "same")
    assert metrics.child("rate_limit_refusals", rule)._value.get() == before + 1
    replays = metrics.child("idempotency_replays", "submitDemande")._value.get()
    metrics.idempotency_replay("submitDemande")
    assert metrics.child("idempotency_replays", "submitDemande")._value.get() == replays + 1


def test_live_events_are_counted_by_kind_with_a_bounded_label() -> None:
    """What the events engineer counts: a kind per CRM code, and nothing unbounded."""
    found = metrics.child("live_events_found", "REGLEMENT_EFFECTUE")._value.get()
    sent = metrics.child("live_events_sent", "REGLEMENT_EFFECTUE")._value.get()
    metrics.live_event_found("REGLEMENT_EFFECTUE", 2)
    metrics.live_event_sent("REGLEMENT_EFFECTUE")
    assert metrics.child("live_events_found", "REGLEMENT_EFFECTUE")._value.get() == found + 2
    assert metrics.child("live_events_sent", "REGLEMENT_EFFECTUE")._value.get() == sent + 1
    other = metrics.child("live_events_sent", "other")._value.get()
    metrics.live_event_sent("a kind {with} quotes")
    for n in range(metrics.KINDS_CAP + 1):
        metrics.live_event_sent(f"KIND_{n}")
    assert metrics.child("live_events_sent", "other")._value.get() >= other + 2


def test_the_safelist_holds_every_operation_of_the_frontends() -> None:
    names = {
        name
        for path in OPERATIONS.glob("**/*.graphql")
        for name in declared(path.read_text("utf-8"))
    }
    assert {"HomePage", "BackendHealth", "DemandeStatistics"} <= names
    packaged = set(metrics.NAMES_FILE.read_text("utf-8").split())
    missing = sorted(names - packaged)
    assert not missing, (
        f"add to gateway/observability/operation_names.txt (installed gateways): {missing}"
    )
    assert metrics.operation_label("HomePage") == "HomePage"
    assert metrics.operation_label("DropTables") == "other"


async def test_documented_metric_names_are_those_of_the_endpoint(gateway: Gateway) -> None:
    await gateway.run("HomePage", as_=PERSONAS["chris"])
    text = (await gateway.http.get("/metrics")).text
    exposed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    page = OPERATING.read_text("utf-8")
    section = page.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`((?:gateway|process)_[a-z_]+)`", section))
    gateway_families = {name for name in exposed if name.startswith("gateway_")}
    assert gateway_families == {n for n in documented if n.startswith("gateway_")}
    assert documented <= exposed


def test_multiprocess_workers_are_merged_in_one_scrape(tmp_path: Path) -> None:
    """Two uvicorn workers sharing PROMETHEUS_MULTIPROC_DIR: one scrape sees both."""
    from mocks.processes import free_port, process

    port = free_port()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    args = ["-m", "uvicorn", "gateway.app:create_app", "--factory", "--workers", "2"]
    base = f"http://127.0.0.1:{port}"
    with process([*args, "--port", str(port)], [base + "/livez"], env=env, timeout=60):
        token = TokenVerifier(Settings()).issue(PERSONAS["chris"], "customer")
        for _ in range(6):  # a new connection each: the kernel spreads them over the workers
            answer = httpx.post(
                base + "/graphql",
                json={"query": "query HomePage { __typename }"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == 200
        for _ in range(20):  # both workers must have started (each writes its own file)
            text = httpx.get(base + "/metrics", timeout=10).text
            workers = re.search(r"^gateway_workers (\S+)", text, re.M)
            if workers and float(workers.group(1)) == 2:
                break
            httpx.get(base + "/livez", timeout=5)
        assert workers and float(workers.group(1)) == 2, text[:2000]
        found = re.search(
            r'^gateway_graphql_requests_total\{operation="HomePage",outcome="ok"\} (\S+)',
            text,
            re.M,
        )
        assert found and float(found.group(1)) == 6
        assert len(list(tmp_path.glob("gauge_livesum_*.db"))) == 2  # one file per worker, merged


# ---- traces -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


class Recorder:
    """An in-process mock that remembers the `traceparent` of each request it receives."""

    def __init__(self, app: MockSystem) -> None:
        self.app = app
        self.traceparents: list[str | None] = []
        self.baggages: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            found = headers.get(b"traceparent")
            self.traceparents.append(found.decode() if found else None)
            baggage = headers.get(b"baggage")
            self.baggages.append(baggage.decode() if baggage else None)
        await self.app(scope, receive, send)


async def test_a_home_page_is_one_trace_server_operation_and_one_span_per_back_end_call(
    mocks: dict[str, MockSystem], spans: InMemorySpanExporter
) -> None:
    recorders = {name: Recorder(mock) for name, mock in mocks.items()}
    settings = Settings(today=TODAY)
    app = create_app(settings, mocks=recorders)  # type: ignore[arg-type]
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client,
    ):
        gateway = Gateway(client, settings, mocks, app)
        response = await client.post(
            "/graphql",
            json={"query": operation("HomePage")},
            headers={
                "Authorization": f"Bearer {gateway.token(PERSONAS['chris'])}",
                "traceparent": f"00-{trace_id}-{parent_id}-01",
            },
        )
    assert "errors" not in response.json()
    mine = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    by_id = {s.context.span_id: s for s in mine}

    def parent(span: ReadableSpan) -> str:
        assert span.parent is not None
        found = by_id.get(span.parent.span_id)
        return found.name if found else f"{span.parent.span_id:016x}"

    tree = sorted((parent(s), s.name) for s in mine)
    print("\n".join(f"{p} -> {n}" for p, n in tree))
    assert tree == sorted(
        [
            (parent_id, "POST /graphql"),
            ("POST /graphql", "query HomePage"),
            ("query HomePage", "crm GET /crm/api/clients/{clientId}"),
            ("query HomePage", "crm GET /crm/api/clients/{clientId}/demandes"),
            ("query HomePage", "policy-admin GET /api/v1/personnes/{NUM_PERS}/contrats"),
            ("query HomePage", "claims GET /prestations/v2/reglements"),
            ("query HomePage", "claims GET /prestations/v2/remboursements"),
            ("query HomePage", "editique POST /editique/ws RechercherDocuments"),
        ]
    )
    expected_service = os.environ.get("OTEL_SERVICE_NAME", "espace-client-gateway")
    assert all(s.resource.attributes["service.name"] == expected_service for s in mine)
    # the back-ends got the trace: each call carries its own span as parent
    sent = [t for r in recorders.values() for t in r.traceparents]
    client_spans = {f"{s.context.span_id:016x}" for s in mine if s.name.split()[0] in mocks}
    assert len(sent) == 6 and all(t and t.split("-")[1] == trace_id for t in sent)
    assert {t.split("-")[2] for t in sent if t} == client_spans


async def test_without_an_sdk_no_span_is_made_and_the_clients_traceparent_reaches_the_back_ends(
    mocks: dict[str, MockSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No exporter configured (production's default): spans are skipped, not built as no-ops, and
    each back-end call still carries the client's trace (its own span as parent); a request without
    a `traceparent` sends none."""
    monkeypatch.setattr(telemetry, "_provider", None)
    started: list[str] = []
    monkeypatch.setattr(
        telemetry.tracer, "start_as_current_span", lambda name, **_: started.append(name)
    )
    recorders = {name: Recorder(mock) for name, mock in mocks.items()}
    settings = Settings(today=TODAY, cache=False)
    app = create_app(settings, mocks=recorders)  # type: ignore[arg-type]
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client,
    ):
        gateway = Gateway(client, settings, mocks, app)
        for traceparent in (f"00-{trace_id}-{parent_id}-01", None):
            headers = {"Authorization": f"Bearer {gateway.token(PERSONAS['chris'])}"}
            if traceparent:
                headers["traceparent"] = traceparent
            response = await client.post(
                "/graphql", json={"query": operation("HomePage")}, headers=headers
            )
            assert "errors" not in response.json()
        await client.post(  # baggage alone is passed on too, as the propagator always did
            "/graphql",
            json={"query": operation("HomePage")},
            headers={
                "Authorization": f"Bearer {gateway.token(PERSONAS['chris'])}",
                "baggage": "tenant=espace",
            },
        )
    sent = [t for r in recorders.values() for t in r.traceparents]
    assert started == []
    assert sorted(sent, key=str) == [f"00-{trace_id}-{parent_id}-01"] * 6 + [None] * 12
    assert [b for r in recorders.values() for b in r.baggages].count("tenant=espace") == 6


# ---- request ids --------------------------------------------------------------------------------


async def test_request_id_is_echoed_in_the_header_and_in_errors(gateway: Gateway) -> None:
    given = "req-0123456789abcdef"
    response = await gateway.http.post(
        "/graphql", json={"query": operation("HomePage")}, headers={"X-Request-Id": given}
    )
    assert response.headers["x-request-id"] == given
    assert response.json()["errors"][0]["extensions"]["requestId"] == given
    for insane in ("x", "a" * 65, "abc\u00e9defgh", "12345678 ; drop"):
        response = await gateway.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"X-Request-Id": insane.encode("utf-8")},
        )
        generated = response.headers["x-request-id"]
        assert generated != insane and re.fullmatch(r"[0-9a-f]{32}", generated)
    download = await gateway.http.get("/documents/not-a-link")
    assert download.status_code == 404 and re.fullmatch(
        r"[0-9a-f]{32}", download.headers["x-request-id"]
    )


# ---- probes -------------------------------------------------------------------------------------


async def test_a_crm_outage_keeps_every_pod_ready_and_serving_while_healthz_says_degraded(
    gateway: Gateway,
) -> None:
    assert (await gateway.http.get("/livez")).json() == {"status": "alive"}
    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "checks": {"started": "ok", "settings": "ok", "draining": "ok"},
    }
    first = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert "errors" not in first
    breakers = gateway.app.state.services.backends.breakers
    breakers.policy.min_volume = 2
    breakers.policy.ttl_s = 60
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 60  # the CRM's answers are no longer fresh
    await faults(gateway, "crm", error_rate=1.0, error_status=503)
    for persona in ("paul", "chris"):
        await gateway.run("HomePage", as_=PERSONAS[persona])
    assert (await breakers.states())["crm"]["state"] == "opened"

    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200, ready.text  # the pod stays in the Service
    assert (await gateway.http.get("/livez")).status_code == 200
    health = await gateway.http.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["backends"]["crm"]["state"] == "opened"
    samples = await scrape(gateway)
    assert value(samples, "gateway_breaker_state", backend="crm") == 2
    stale = await gateway.run("HomePage", as_=PERSONAS["paul"])  # seen before: last values
    assert "errors" not in stale and stale["data"]["viewer"]["displayName"] == "Paul BERTRAND"
    assert [note["backend"] for note in stale["extensions"]["stale"]] == ["crm"]
    unseen = await gateway.run("HomePage", as_=PERSONAS["geralt"])  # never seen: a typed error
    assert [e["extensions"]["code"] for e in unseen["errors"]] == ["BACKEND_UNAVAILABLE"]
    dashboard = await gateway.run("dashboards/BackendHealth", as_="agent-7", role="staff")
    circuits = {b["backend"]: b["circuit"] for b in dashboard["data"]["backendHealth"]}
    assert circuits["crm"] == "OPEN"


async def test_readiness_fails_from_sigterm_on_while_the_server_drains(
    mocks: dict[str, MockSystem],
) -> None:
    received: list[int] = []

    def server_handler(signum: int, frame: object) -> None:  # the server's graceful shutdown
        received.append(signum)

    original = signal.signal(signal.SIGTERM, server_handler)
    try:
        app = create_app(Settings(today=TODAY), mocks=mocks)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
            ) as client,
        ):
            assert (await client.get("/readyz")).status_code == 200
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0)  # the handler runs between bytecodes of the main thread
            draining = await client.get("/readyz")
            assert draining.status_code == 503 and draining.json()["checks"]["draining"] == "yes"
            assert (await client.get("/livez")).status_code == 200
            assert received == [signal.SIGTERM]  # handed on to the server
        assert signal.getsignal(signal.SIGTERM) is server_handler  # put back at shutdown
    finally:
        signal.signal(signal.SIGTERM, original)


@needs_redis
async def test_readiness_needs_the_configured_redis(
    mocks: dict[str, MockSystem], tmp_path: Path
) -> None:
    async def ready(url: str) -> httpx.Response:
        app = create_app(Settings(today=TODAY, redis_url=url), mocks=mocks)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
            ) as client,
        ):
            return await client.get("/readyz")

    with redis_server(tmp_path) as (url, _):
        up = await ready(url)
    assert up.status_code == 200 and up.json()["checks"]["redis"] == "ok"
    down = await ready(url)  # the same server, stopped
    assert down.status_code == 503 and down.json()["checks"]["redis"] == "unreachable"


def test_serve_prepares_an_empty_multiprocess_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.observability.metrics import prepare_multiprocess_directory

    directory = tmp_path / "prometheus" / "gateway"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    prepare_multiprocess_directory()
    assert directory.is_dir()
    (directory / "counter_123.db").write_bytes(b"old run")
    prepare_multiprocess_directory()
    assert list(directory.iterdir()) == []
