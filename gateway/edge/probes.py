"""Kubernetes-style probes.

* `GET /livez`: the process answers (the event loop is not stuck). Nothing else: restarting a
  gateway because a back-end is down would not bring the back-end back.
* `GET /readyz`: this process should get traffic: settings valid (the app would not have started
  otherwise, and they are checked again), every back-end reachable **or** its breaker closed (an
  open breaker is confirmed by one short probe of the system, outside the breaker and the retries),
  the shared Redis reachable when one is configured. 200 `{"status": "ready", …}` or 503 with the
  failing checks.
* `/healthz` (`routes.py`) stays the dashboards' summary (breakers, cache), always 200.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.context import Services
from gateway.errors import GatewayError
from gateway.settings import Settings

PROBE_TIMEOUT_S = 0.5
# probes and scrapes: never queued by admission, never logged per request
PROBE_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    checks: dict[str, Any] = {"settings": settings_valid(services.settings)}
    breakers = await services.backends.breakers.states()
    transports = {t.backend: t for t in services.backends.transports}
    results = await asyncio.gather(
        *(backend_ready(transports[name], breakers.get(name, {})) for name in sorted(transports))
    )
    checks.update(zip(sorted(transports), results, strict=True))
    if services.settings.redis_url:
        checks["redis"] = await redis_ready(services)
    ready = all(check == "ok" for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


def settings_valid(settings: Settings) -> str:
    try:
        Settings.model_validate(settings.model_dump())
    except ValueError:
        return "invalid"
    return "ok"


async def backend_ready(transport: Any, breaker: dict[str, Any]) -> str:
    """`ok` when the breaker is closed, or when the system answers a probe (any status below 500)."""
    if breaker.get("state", "closed") == "closed":
        return "ok"
    try:
        response = await transport.send("GET", "/", PROBE_TIMEOUT_S)
    except GatewayError:
        return f"breaker {breaker['state']}, unreachable"
    if response.status_code >= 500:
        return f"breaker {breaker['state']}, answering {response.status_code}"
    return "ok"


async def redis_ready(services: Services) -> str:
    try:
        await services.store.get("readyz")
    except GatewayError:
        return "unreachable"
    return "ok"
