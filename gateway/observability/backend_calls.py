"""One exchange with a legacy system, whatever HTTP client carries it (`backend_call`): a client
span named after the route template, the W3C `traceparent` header for the back-end, the call
metrics, the request's timings and the system's health window; for an exchange that got no answer,
its cause (a fixed word) in a metric and a `backend_unreachable` log line. Route templates keep
labels bounded: a URL (with its customer ids) never becomes a label.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache

import structlog
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from gateway.observability import metrics
from gateway.observability.health import HealthWindow
from gateway.observability.tracing import current, span

log = structlog.get_logger("gateway.backends")

# ---- route templates: bounded labels, never a URL -----------------------------------------------

TEMPLATES = {
    "policy-admin": (
        "/api/v1/personnes/{NUM_PERS}/contrats",
        "/api/v1/contrats/recherche",
        "/api/v1/contrats/{NUM_CTR}",
        "/api/v1/contrats/{NUM_CTR}/affilies",
    ),
    "claims": (
        "/prestations/v2/dossiers",
        "/prestations/v2/dossiers/{numDossier}",
        "/prestations/v2/reglements",
        "/prestations/v2/reglements/{refReglement}",
        "/prestations/v2/remboursements",
    ),
    "crm": tuple(
        "/crm/api" + p
        for p in (
            "/clients/{clientId}",
            "/clients/{clientId}/contact",
            "/clients/{clientId}/preferences",
            "/clients/{clientId}/demandes",
            "/interlocuteurs/{interlocuteurId}",
            "/demandes",
            "/demandes/statistiques",
            "/demandes/{demandeId}",
            "/types-demandes",
            "/pieces-jointes",
            "/pieces-jointes/{pieceJointeId}",
            "/comptes",
            "/comptes/activation",
            "/authentification",
            "/comptes/mot-de-passe-oublie",
            "/comptes/reinitialisation",
            "/comptes/{clientId}/mot-de-passe",
            "/comptes/{clientId}/rattachements",
        )
    ),
}
SOAP_OPERATIONS = frozenset({"RechercherDocuments", "RecupererDocument", "GenererAttestation"})


def _compile(templates: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    # literal routes first, so `/demandes/statistiques` is not `/demandes/{demandeId}`
    ordered = sorted(templates, key=lambda t: (t.count("{"), -len(t)))
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "/?$"), t) for t in ordered]


ROUTES = {name: _compile(templates) for name, templates in TEMPLATES.items()}


def route_template(backend: str, method: str, path: str, headers: Mapping[str, str] | None) -> str:
    """`GET /crm/api/clients/{clientId}` for `/crm/api/clients/C0001001`; `other` when unknown."""
    if backend == "editique":
        action = (headers or {}).get("SOAPAction", "").strip('"').rsplit("/", 1)[-1]
        return f"{method} /editique/ws {action if action in SOAP_OPERATIONS else 'other'}"
    return _route(backend, method, path)


# a page's paths recur (one client's, one contract's): no regex scan each time
@lru_cache(maxsize=4096)
def _route(backend: str, method: str, path: str) -> str:
    if path == "/":
        return f"{method} /"
    for pattern, template in ROUTES.get(backend, []):
        if pattern.match(path):
            return f"{method} {template}"
    return f"{method} other"


# ---- health of each back-end over a sliding window (the `backendHealth` dashboard) --------------


class Call:
    __slots__ = ("cause", "detail", "headers", "status")

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.status: int | None = None
        self.cause: str | None = None
        self.detail = ""

    def answered(self, status: int) -> None:
        self.status = status

    def failed(self, cause: str, detail: str) -> None:
        """No answer, because of `cause` (a fixed word: certificate, dns, refused, reset,
        timeout, proxy…); `detail` is for the logs only."""
        self.cause, self.detail = cause, detail


def outcome_of(status: int | None, error: BaseException | None) -> str:
    if error is not None:
        from gateway.errors import BackendTimeout

        return "timeout" if isinstance(error, BackendTimeout | TimeoutError) else "unreachable"
    if status is None or status < 400:
        return "ok"
    if status == 404:
        return "not_found"
    return "rejected" if status < 500 else "error"


@contextmanager
def backend_call(
    backend: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    health: HealthWindow | None = None,
) -> Iterator[Call]:
    """Around one exchange: `call.headers` (the caller's, plus `traceparent`) must be sent, and
    `call.answered(status)` said once the answer is in, or `call.failed(cause, detail)` when none
    came: the cause is counted (`gateway_backend_failures`) and logged (`backend_unreachable`)."""
    route = route_template(backend, method, path, headers)
    with span(
        f"{backend} {route}",
        kind=SpanKind.CLIENT,
        attributes={"gateway.backend": backend, "http.request.method": method, "http.route": route},
        record_exception=False,  # an exception's text may quote a body; the status says enough
        set_status_on_exception=False,
    ) as current_span:
        sent = dict(headers or {})
        propagate.inject(sent)
        call = Call(sent)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            yield call
        except BaseException as exc:
            error = exc
            raise
        finally:
            seconds = time.perf_counter() - started
            outcome = outcome_of(call.status, error)
            failed = outcome in ("error", "timeout", "unreachable")
            if call.status is not None:
                current_span.set_attribute("http.response.status_code", call.status)
            current_span.set_attribute("gateway.outcome", outcome)
            if failed:
                current_span.set_status(Status(StatusCode.ERROR, outcome))
            metrics.backend_call(backend, route, outcome, seconds)
            if call.cause is not None:
                metrics.backend_failure(backend, call.cause)
                if call.cause != "timeout":  # timeouts are counted, and each logs no news
                    log.warning(
                        "backend_unreachable",
                        backend=backend,
                        route=route,
                        cause=call.cause,
                        detail=call.detail,
                    )
            if health is not None:
                health.record(backend, seconds * 1000, failed)
            info = current.get()
            if info is not None:
                info.backends.setdefault(backend, []).append(seconds * 1000)


# ---- tracing set-up -----------------------------------------------------------------------------
