"""Kubernetes' probes: is the process alive, can this pod serve.

* `GET /livez`: the process answers (the event loop is not stuck). Nothing else: restarting a
  gateway because a back-end is down would not bring the back-end back.
* `GET /readyz`: this pod can serve: started (the app's services exist), settings valid, the
  shared Redis reachable when one is configured, and not draining (SIGTERM received: the
  Service stops sending it new requests while the in-flight ones finish). 200 `{"status":
  "ready", …}` or 503 with the failing checks. A back-end's breaker is never a reason: every pod
  sees the same back-ends, and an outage that took every pod out of the Service would throw
  away the cached, stale-if-error and partial answers the gateway still gives.
* Back-end health stays visible in `/healthz` (`routes.py`: `degraded` while a breaker is not
  closed, always 200), in the metrics (`gateway_breaker_state`) and in `backendHealth`.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.context import Services
from gateway.errors import GatewayError
from gateway.settings import Settings

# probes and scrapes: never queued by admission, never logged per request
PROBE_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class Drain:
    """Whether this process is shutting down (set once, never cleared)."""

    def __init__(self) -> None:
        self.draining = False
        self.restore: Callable[[], None] = lambda: None
        self.callbacks: list[tuple[asyncio.AbstractEventLoop, Callable[[], None]]] = []

    def when_draining(self, callback: Callable[[], None]) -> None:
        """`callback()` run in this event loop when draining begins (open subscriptions are told
        to reconnect elsewhere)."""
        self.callbacks.append((asyncio.get_running_loop(), callback))

    def begin(self) -> None:
        """Draining from now on (from a signal handler too: the callbacks run in their loop)."""
        if self.draining:
            return
        self.draining = True
        for loop, callback in self.callbacks:
            if not loop.is_closed():
                loop.call_soon_threadsafe(callback)

    def on_sigterm(self) -> None:
        """Drain on SIGTERM, then hand the signal to the server's own handler (uvicorn's graceful
        shutdown). Only where a server handles SIGTERM in this thread: an app driven by a test or
        an embedding program leaves the signal alone."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):  # SIG_DFL / SIG_IGN: no server of ours listens for it
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.begin()
            previous(signum, frame)

        signal.signal(signal.SIGTERM, handler)

        def restore() -> None:
            if signal.getsignal(signal.SIGTERM) is handler:
                signal.signal(signal.SIGTERM, previous)

        self.restore = restore


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    services: Services | None = getattr(request.app.state, "services", None)
    drain: Drain | None = getattr(request.app.state, "drain", None)
    checks: dict[str, Any] = {"started": "ok" if services is not None else "starting"}
    if services is not None:
        checks["settings"] = settings_valid(services.settings)
        if services.settings.redis_url:
            checks["redis"] = await redis_ready(services)
    checks["draining"] = "yes" if drain is not None and drain.draining else "ok"
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


async def redis_ready(services: Services) -> str:
    try:
        await services.store.get("readyz")
    except GatewayError:
        return "unreachable"
    return "ok"
