"""The per-request context every resolver receives, and the services it is built from."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog
from starlette.requests import HTTPConnection

from gateway.adapters import Backends
from gateway.domain.events import EventCounts
from gateway.errors import GatewayError, Unauthenticated
from gateway.identity.brute_force import BruteForce
from gateway.identity.download_links import DownloadLinks
from gateway.identity.sessions import Sessions
from gateway.identity.strong_auth import StrongAuthentication
from gateway.identity.tokens import Principal, TokenVerifier
from gateway.loading.loaders import Loaders
from gateway.loading.plans import Plans
from gateway.platform.clock import Clock
from gateway.platform.rate_limiter import RateLimits
from gateway.platform.store import Store
from gateway.platform.watchers import Watchers
from gateway.settings import Settings

log = structlog.get_logger("gateway.audit")


@dataclass
class Audit:
    """Staff reads of customer data: logged, and kept (bounded) for the dashboards and tests."""

    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))

    def record(self, principal: Principal, action: str, target: str) -> None:
        event = {"at": time.time(), "staff": principal.subject, "action": action, "target": target}
        self.events.append(event)
        log.info("staff_read", **event)


@dataclass(kw_only=True)
class Services:
    """Built once by the app's lifespan (the composition root), shared by all requests."""

    settings: Settings
    backends: Backends
    verifier: TokenVerifier
    links: DownloadLinks
    clock: Clock
    audit: Audit
    store: Store  # idempotency records, sessions, persisted queries: shared by every process
    rate_limits: RateLimits
    brute_force: BruteForce  # password checks' allowances, over rate_limits and store
    sessions: Sessions  # access and refresh tokens of the gateway's own logins
    strong_auth: StrongAuthentication  # second-factor challenges, step-up proofs
    cursor_key: (
        bytes  # signs pagination cursors: derived from the gateway secret, every process alike
    )
    plans: Plans | None = None  # loads a query starts ahead (GATEWAY_LOADS_AHEAD)
    live: Watchers[Any] = field(default_factory=Watchers)  # subscriptions' per-customer watchers
    event_counts: EventCounts = field(default_factory=EventCounts)  # notification events' metrics


@dataclass
class Context:
    request: HTTPConnection  # a Request, or the WebSocket of a subscription
    services: Services
    loaders: Loaders
    principal: Principal | None
    auth_error: GatewayError | None = None
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws `connection_init`
    session_ended: bool = False  # a subscription found the token's session ended: its socket closes

    @property
    def today(self) -> date:
        return self.services.clock.today()

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated()
        return self.principal

    @property
    def client_ip(self) -> str:
        """The caller's address as the server saw it (behind a proxy: `FORWARDED_ALLOW_IPS`)."""
        return self.request.client.host if self.request.client else "unknown"

    @property
    def public_url(self) -> str:
        return (self.services.settings.public_url or str(self.request.base_url)).rstrip("/")
