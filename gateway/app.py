"""The composition root: `create_app` wires the ASGI application once.

The lifespan builds the `Services` (settings, back-end clients, token verifier, link signer,
clock, audit, store, sessions) once; every request gets a fresh `Context` with its own loaders
(`edge/graphql_view.py`). A request without a session reaches only the account's entry points
(login, registration…: `engine/extensions/anonymous_gate.py`), which carry their own permission too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from limits.aio.storage import MemoryStorage
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway.adapters import Backends
from gateway.context import Audit, Services
from gateway.domain.events import EventCounts
from gateway.edge import cors, graphiql
from gateway.edge.graphql_view import GraphQLApp
from gateway.edge.middleware.admission import Admission
from gateway.edge.middleware.body_limits import HttpLimits
from gateway.edge.middleware.observe import Observability
from gateway.edge.middleware.uploads import UploadGuard
from gateway.edge.probes import Drain, livez, readyz
from gateway.edge.routes import download, healthz, jwks, metrics
from gateway.edge.subscriptions import OpenStreams
from gateway.engine.fastpath.gc_tuning import tune_gc
from gateway.engine.fastpath.memory_storage import PacedMemoryStorage
from gateway.engine.operation_limits import Limits, document_reader
from gateway.engine.persisted import Manifest, TrustedDocuments
from gateway.engine.schema import build_schema
from gateway.identity.brute_force import BruteForce, derive_key
from gateway.identity.download_links import DownloadLinks
from gateway.identity.sessions import Sessions
from gateway.identity.signing_key import SigningKey
from gateway.identity.strong_auth import StrongAuthentication
from gateway.identity.tokens import TokenVerifier
from gateway.loading.plans import Plans
from gateway.observability.logs import configure as configure_logging
from gateway.observability.metrics import (
    live_event_found,
    live_event_sent,
    worker_started,
    worker_stopped,
)
from gateway.observability.tracing import setup_tracing
from gateway.platform.clock import Clock
from gateway.platform.rate_limiter import RateLimits
from gateway.platform.redis import SharedRedis
from gateway.platform.store import build_store
from gateway.platform.watchers import Codec, Watchers
from gateway.resolvers.accounts import reset_requests_settled
from gateway.resolvers.events import looks_settled
from gateway.resolvers.live import LiveState
from gateway.schema.ids import derive_cursor_key
from gateway.settings import Settings


def create_app(settings: Settings | None = None, mocks: dict[str, Any] | None = None) -> Starlette:
    """The gateway. `mocks` lets tests hand in their own in-process mock instances."""
    settings = settings or Settings()
    configure_logging(production=settings.env == "production")
    setup_tracing()
    limits = Limits.of(settings)
    schema = build_schema(
        introspection=settings.graphiql,
        limits=limits,
        suggestions=settings.graphiql,
        fast_paths=settings.fast_paths,
    )
    # rate-limit counters in memory: swept once a second (a fast path) or as `limits` ships
    in_memory = PacedMemoryStorage if settings.fast_paths else MemoryStorage

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = SharedRedis.from_settings(settings)  # one client: cache, store, rate limits
        backends = Backends.build(settings, mocks, redis)
        store = build_store(redis)
        rate_limits = RateLimits.build(redis, in_memory)
        sessions = Sessions(store, SigningKey.from_settings(settings), settings)
        app.state.services = Services(
            settings=settings,
            backends=backends,
            verifier=TokenVerifier(settings, sessions=sessions),
            links=DownloadLinks(settings),
            clock=Clock(settings.today),
            audit=Audit(),
            store=store,
            rate_limits=rate_limits,
            brute_force=BruteForce(
                rate_limits, store, derive_key(settings.jwt_secret.get_secret_value())
            ),
            sessions=sessions,
            strong_auth=StrongAuthentication(store),
            cursor_key=derive_cursor_key(settings.jwt_secret.get_secret_value()),
            plans=Plans() if settings.loads_ahead else None,
            live=Watchers(  # one watcher per customer: in the deployment with Redis
                settings.live_interval_s,
                settings.live_per_customer,
                settings.live_max_subscriptions,
                redis,
                Codec(LiveState.to_json, LiveState.from_json),
                max_reads=settings.live_max_reads,
            ),
            event_counts=EventCounts(found=live_event_found, sent=live_event_sent),
        )
        app.state.drain = drain = Drain()
        drain.on_sigterm()  # /readyz says 503 from SIGTERM on, while in-flight requests finish
        graphql.streams = OpenStreams()
        drain.when_draining(graphql.streams.drain)  # subscribers reconnect to another pod
        worker_started()
        breakers = asyncio.create_task(backends.breakers.watch())  # the breaker gauge, each second
        if settings.fast_paths:
            tune_gc()  # once per process, after start-up's objects exist
        try:
            yield
        finally:
            await graphql.streams.close()  # those still open are told to reconnect
            breakers.cancel()
            await app.state.services.live.close()  # leases released: another pod reads at once
            drain.restore()
            worker_stopped()
            # password-reset e-mails asked for and still on their way to the CRM, and the
            # notification events sign-ins are posting
            async with asyncio.timeout(2 * settings.request_deadline_s):
                await reset_requests_settled()
                await looks_settled()
            await backends.aclose()
            await app.state.services.store.close()

    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,  # guarded by UploadGuard, uploadAttachment only
        # subscriptions: WebSocket, and Server-Sent Events (distinct connections)
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=settings.live_init_timeout_s),
        max_subscriptions_per_connection=None,  # GATEWAY_LIVE_PER_CUSTOMER, typed: subscriptions.py
    )
    graphql.limits = limits
    graphql.suggestions = settings.graphiql
    graphql.read = document_reader(settings.fast_paths)
    graphql.trusted = TrustedDocuments(
        Manifest.load(*settings.trusted_documents),
        persisted_only=settings.persisted_only,
        ttl_s=settings.apq_ttl_s,
        max_length=settings.apq_max_length,
        limits=limits,
    )
    app = Starlette(
        routes=[
            Route("/graphql", UploadGuard(graphql), methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # graphql-transport-ws subscriptions
            Route("/documents/{token}", download, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            *graphiql.routes(settings),  # GraphiQL's scripts and styles, outside production
        ],
        middleware=[
            # outermost: request id, access log, server span
            Middleware(Observability, log_requests=settings.access_log),
            Middleware(  # overload is a fast 503, never a page of back-end errors
                Admission,
                limit=settings.max_in_flight,
                queue=settings.admission_queue,
                wait_s=settings.admission_wait_s,
            ),
            *cors.middleware(settings),  # CORS for GATEWAY_CORS_ORIGINS
            Middleware(
                HttpLimits,
                max_body_bytes=settings.max_body_bytes,
                max_json_depth=settings.max_json_depth,
            ),
        ],
        lifespan=lifespan,
    )
    return app
