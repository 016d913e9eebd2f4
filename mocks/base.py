"""What every mock legacy system shares: test-only admin surface, faults, call log, clock.

A mock is a `MockSystem` subclass that declares its routes and answers legacy requests; this
module wraps it in one ASGI app:

* ``/_admin/…``            admin surface (faults, calls, reset, clock, outbox), never logged
* contract document        ``GET /openapi.json`` (REST) or ``GET /editique/ws?wsdl``, never logged
* anything else            a legacy request: logged on arrival, matched to a route key, then
                           drawn (timeout → error → quirk → normal, `legacy/README.md`) and answered

Fault draws follow the README exactly: one `random.Random(seed)` per PUT or reset, one
`rng.random()` per matching request, then `rng.uniform(0, jitter_ms)` only when jitter is on.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

PARIS = ZoneInfo("Europe/Paris")
ERROR_STATUSES = (429, 500, 502, 503, 504)
CALL_LOG_SIZE = 10_000


class AdminError(Exception):
    """A bad admin request: answered `400 {"error": …}`."""


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A legacy JSON answer: raw UTF-8 (accents unescaped), `application/json; charset=UTF-8`."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=UTF-8",
    )


def admin_json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type="application/json; charset=utf-8",
    )


def proxy_error(status: int) -> Response:
    """How a front proxy answers a status the system itself has no body for."""
    headers = {"Retry-After": "1"} if status == 429 else None
    return Response(
        HTTPStatus(status).phrase,
        status_code=status,
        headers=headers,
        media_type="text/plain; charset=utf-8",
    )


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


@dataclass
class FaultSettings:
    latency_ms: float = 0
    jitter_ms: float = 0
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    hang_ms: float = 30000
    quirk_rate: float = 0.0
    seed: int | None = None
    routes: list[str] | None = None

    @classmethod
    def parse(cls, body: Any) -> FaultSettings:
        """Validate a PUT body: every key optional, a missing key takes its default."""
        if not isinstance(body, dict):
            raise AdminError("body must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise AdminError(f"unknown key: {unknown[0]}")
        settings = cls()
        for key, value in body.items():
            setattr(settings, key, _checked(key, value))
        total = settings.error_rate + settings.timeout_rate + settings.quirk_rate
        if total > 1:
            raise AdminError("error_rate + timeout_rate + quirk_rate must not exceed 1")
        return settings

    def applies_to(self, path: str, route: str) -> bool:
        if self.routes is None:
            return True
        return any(path.startswith(r) if r.startswith("/") else r == route for r in self.routes)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked(key: str, value: Any) -> Any:
    if key in ("latency_ms", "jitter_ms", "hang_ms"):
        if not _is_number(value) or value < 0:
            raise AdminError(f"{key} must be a number >= 0")
    elif key in ("error_rate", "timeout_rate", "quirk_rate"):
        if not _is_number(value) or not 0 <= value <= 1:
            raise AdminError(f"{key} must be a number in [0, 1]")
    elif key == "error_status":
        if not isinstance(value, int) or isinstance(value, bool) or value not in ERROR_STATUSES:
            raise AdminError("error_status must be one of 429, 500, 502, 503, 504")
    elif key == "seed":
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise AdminError("seed must be an integer or null")
    elif (
        key == "routes"
        and value is not None
        and not (isinstance(value, list) and all(isinstance(r, str) for r in value))
    ):
        raise AdminError("routes must be null or a list of strings")
    return value


@dataclass
class Call:
    seq: int
    method: str
    path: str
    query: str
    route: str
    operation: str | None
    at: str
    status: int | None = None
    fault: str | None = None
    duration_ms: float | None = None
    started: float = field(default=0.0, repr=False)

    def as_json(self) -> dict[str, Any]:
        entry = asdict(self)
        del entry["started"]
        return entry


class CallLog:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.calls: deque[Call] = deque(maxlen=CALL_LOG_SIZE)
        self.counts: Counter[str] = Counter()
        self.seq = 0

    def arrive(self, method: str, path: str, query: str, route: str, operation: str | None) -> Call:
        self.seq += 1
        call = Call(self.seq, method, path, query, route, operation, iso_ms(datetime.now(PARIS)))
        call.started = time.perf_counter()
        self.calls.append(call)
        self.counts[route] += 1
        return call

    def as_json(self, since: int | None) -> dict[str, Any]:
        calls = [c.as_json() for c in self.calls if since is None or c.seq > since]
        return {"calls": calls, "counts": dict(self.counts), "total": sum(self.counts.values())}


class Clock:
    """The mock's notion of now: real time shifted by an offset settable through `/_admin/clock`."""

    def __init__(self) -> None:
        self.offset_s: float = 0

    def now(self) -> datetime:
        return datetime.now(PARIS) + timedelta(seconds=self.offset_s)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # full path as in the legacy document, e.g. /api/v1/contrats/{NUM_CTR}
    handler: str  # name of the MockSystem method answering it

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{pattern}$")


@dataclass
class Match:
    route: Route | None
    params: dict[str, str]
    path_known: bool  # the path exists with another method (405 rather than 404)
    allowed: list[str]

    @property
    def key(self) -> str:
        return self.route.key if self.route else ""


class Router:
    """Matches a path to a documented route; literal templates win over parameterised ones."""

    def __init__(self, routes: Iterable[Route]) -> None:
        # literal segments first: `/demandes/statistiques` before `/demandes/{demandeId}`
        self.routes = sorted(routes, key=lambda r: r.template.count("{"))
        self.compiled = [(r, r.regex()) for r in self.routes]

    def match(self, method: str, path: str) -> Match:
        allowed: list[str] = []
        matched_template: str | None = None
        for route, regex in self.compiled:
            found = regex.match(path)
            if not found:
                continue
            if matched_template is None:
                matched_template = route.template
            if route.template != matched_template:
                continue  # a less specific template for a path a literal one already claims
            if route.method == method:
                return Match(route, found.groupdict(), True, [])
            allowed.append(route.method)
        return Match(None, {}, bool(allowed), allowed)


class MockSystem:
    """One legacy system. Subclasses declare `name`, `base_path`, `routes` and the handlers."""

    name: ClassVar[str]
    base_path: ClassVar[str]
    routes: ClassVar[list[Route]]

    def __init__(self) -> None:
        self.router = Router(self.routes)
        self.log = CallLog()
        self.clock = Clock()
        self.faults = FaultSettings()
        self.rng = random.Random(None)
        self.load()

    # ---- to be provided by each system -------------------------------------------------------
    def load(self) -> None:
        """(Re)build the in-memory state from the fixtures."""
        raise NotImplementedError

    async def contract_document(self, request: Request) -> Response | None:
        """The machine-readable contract, if this request asks for it (never faulted or logged)."""
        raise NotImplementedError

    async def identify(self, request: Request) -> tuple[str, str | None, Match]:
        """Route key, SOAP operation and match of a legacy request (at arrival, before anything)."""
        match = self.router.match(request.method, request.url.path)
        key = match.key or f"{request.method} (unmatched)"
        return key, None, match

    async def process(self, request: Request, match: Match) -> Response:
        """Answer a legacy request as documented (authentication first)."""
        raise NotImplementedError

    def injected_error(self, status: int) -> Response:
        """The answer for an injected error status, in the system's own format when it has one."""
        return proxy_error(status)

    async def quirk(self, request: Request, match: Match) -> Response:
        """The system's own quirk (README table)."""
        raise NotImplementedError

    def extra_admin(self, request: Request, name: str) -> Awaitable[Response] | None:
        """Admin routes only some systems have (the CRM outbox)."""
        return None

    # ---- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if request.url.path.startswith("/_admin"):
            response = await self.admin(request)
        else:
            document = await self.contract_document(request)
            response = document if document is not None else await self.legacy(request)
        await response(scope, receive, send)

    async def legacy(self, request: Request) -> Response:
        key, operation, match = await self.identify(request)
        call = self.log.arrive(request.method, request.url.path, request.url.query, key, operation)
        try:
            response = await self._faulted(request, key, match, call)
        except asyncio.CancelledError:
            call.duration_ms = None
            raise
        call.status = response.status_code
        call.duration_ms = round((time.perf_counter() - call.started) * 1000, 3)
        return response

    async def _faulted(self, request: Request, key: str, match: Match, call: Call) -> Response:
        settings = self.faults
        if not settings.applies_to(request.url.path, key):
            return await self.process(request, match)
        u = self.rng.random()
        jitter = self.rng.uniform(0, settings.jitter_ms) if settings.jitter_ms > 0 else 0.0
        delay = (settings.latency_ms + jitter) / 1000
        if u < settings.timeout_rate:
            call.fault = "timeout"
        elif u < settings.timeout_rate + settings.error_rate:
            call.fault = "error"
        elif u < settings.timeout_rate + settings.error_rate + settings.quirk_rate:
            call.fault = "quirk"
        if delay:
            await asyncio.sleep(delay)
        if call.fault == "error":
            return self.injected_error(settings.error_status)
        if call.fault == "quirk":
            return await self.quirk(request, match)
        response = await self.process(request, match)
        if call.fault == "timeout":
            await asyncio.sleep(settings.hang_ms / 1000)
        return response

    # ---- admin surface ------------------------------------------------------------------------
    def reset(self) -> None:
        self.load()
        self.faults = FaultSettings()
        self.rng = random.Random(None)
        self.log.clear()
        self.clock.offset_s = 0

    async def admin(self, request: Request) -> Response:
        name = request.url.path.removeprefix("/_admin").strip("/")
        method = request.method
        try:
            if name == "faults":
                if method == "GET":
                    return admin_json(asdict(self.faults))
                if method == "PUT":
                    self.faults = FaultSettings.parse(await _admin_body(request))
                    self.rng = random.Random(self.faults.seed)
                    return admin_json(asdict(self.faults))
            elif name == "calls":
                if method == "GET":
                    return admin_json(self.log.as_json(_since(request)))
                if method == "DELETE":
                    self.log.clear()
                    return Response(status_code=204)
            elif name == "reset":
                if method == "POST":
                    self.reset()
                    return Response(status_code=204)
            elif name == "clock":
                if method == "GET":
                    return admin_json(self._clock_json())
                if method == "PUT":
                    self.clock.offset_s = _offset(await _admin_body(request))
                    return admin_json(self._clock_json())
            else:
                extra = self.extra_admin(request, name)
                if extra is not None:
                    return await extra
                return admin_json({"error": "not found"}, 404)
        except AdminError as exc:
            return admin_json({"error": str(exc)}, 400)
        return admin_json({"error": "method not allowed"}, 405)

    def _clock_json(self) -> dict[str, Any]:
        return {"offset_s": self.clock.offset_s, "now": iso_ms(self.clock.now())}


async def _admin_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise AdminError("body must be a JSON object") from exc


def _since(request: Request) -> int | None:
    raw = request.query_params.get("since")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise AdminError("since must be an integer") from exc


def _offset(body: Any) -> float:
    if not isinstance(body, dict):
        raise AdminError("body must be a JSON object")
    unknown = sorted(set(body) - {"offset_s"})
    if unknown:
        raise AdminError(f"unknown key: {unknown[0]}")
    value = body.get("offset_s", 0)
    if not _is_number(value):
        raise AdminError("offset_s must be a number")
    return float(value) if isinstance(value, float) else int(value)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


__all__ = [
    "PARIS",
    "AdminError",
    "FaultSettings",
    "Match",
    "MockSystem",
    "Route",
    "Router",
    "admin_json",
    "json_body",
    "proxy_error",
]
