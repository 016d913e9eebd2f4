"""The ASGI application: `/graphql`, `/documents/{token}`, `/healthz`.

The lifespan is the composition root: it builds the `Services` (settings, back-end clients, token
verifier, link signer, clock, audit) once; every request gets a fresh `Context` with its own
loaders. A request without a session reaches only the account's entry points (login,
registration…: gateway/engine/extensions/anonymous_gate.py), which carry their own permission too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.types import ExecutionResult as StrawberryResult

from gateway.adapters import Backends
from gateway.adapters.transport.resilience import start_deadline
from gateway.context import Audit, Context, Services
from gateway.edge import graphiql as web
from gateway.edge import rate_limits as throttling
from gateway.edge.middleware.admission import Admission
from gateway.edge.middleware.body_limits import HttpLimits
from gateway.edge.middleware.observe import Observability, ObservedGraphQL
from gateway.edge.middleware.uploads import UploadGuard, is_multipart, only_uploads
from gateway.edge.probes import livez, readyz
from gateway.edge.request_scope import begin_budget
from gateway.engine.fastpath.gc_tuning import tune_gc
from gateway.engine.operation_limits import Limits
from gateway.engine.persisted import TrustedDocuments
from gateway.engine.schema import build_schema
from gateway.errors import GatewayError, NotFound
from gateway.identity.download_links import DownloadLinks
from gateway.identity.sessions import Sessions
from gateway.identity.signing_key import SigningKey
from gateway.identity.tokens import TokenVerifier
from gateway.loading.loaders import Loaders, Plans
from gateway.observability.logs import configure as configure_logging
from gateway.observability.metrics import exposition, worker_started, worker_stopped
from gateway.observability.tracing import setup_tracing
from gateway.platform.clock import Clock
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.platform.store import build_store
from gateway.settings import Settings


class GraphQLApp(ObservedGraphQL):
    trusted: TrustedDocuments  # set by create_app

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        start_deadline(
            services.settings.request_deadline_s
        )  # inherited by every task of the request
        begin_budget(services.settings)  # back-end calls, cache adds, stale notes (issue 11)
        principal, error = None, None
        try:
            principal = await services.verifier.verify(request.headers.get("authorization"))
        except GatewayError as exc:
            error = exc
        assert isinstance(request, Request)
        loaders = Loaders(services.backends, services.plans)
        return Context(request, services, loaders, principal, error)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        """Rate limits and trusted documents first: a refused request is not even parsed."""
        store = context.services.store
        try:
            await throttling.spend(context)
            query, register = await self.trusted.resolve(
                request_data.query, request_data.extensions, store
            )
        except GatewayError as exc:
            if isinstance(exc, TooManyRequests):
                sub_response.status_code = 429
                sub_response.headers["Retry-After"] = str(exc.retry_after)
            return StrawberryResult(
                data=None, errors=[GraphQLError(exc.message, extensions=exc.extensions)]
            )
        if is_multipart(request.scope) and not only_uploads(query):
            return StrawberryResult(  # multipart is enabled for uploadAttachment only
                data=None,
                errors=[
                    GraphQLError(
                        "Seul uploadAttachment accepte un envoi multipart.",
                        extensions={"code": "BAD_REQUEST"},
                    )
                ],
            )
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=replace(request_data, query=query),
        )
        if register and query and result.data is not None:  # it ran: worth keeping
            await self.trusted.register(register, query, store)
        return result

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET with `extensions` and no `query` is a persisted query, not a browser."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is the stdlib's: the view's 400 stands

    async def render_graphql_ide(self, request: Request) -> Response:
        return web.graphiql_page()  # its scripts served by the gateway itself (web.py)


async def download(request: Request) -> Response:
    services: Services = request.app.state.services
    start_deadline(services.settings.request_deadline_s)
    begin_budget(services.settings)
    try:
        grant = services.links.check(request.path_params["token"])
        if request.headers.get("authorization"):  # a session present must be the link's owner
            principal = await services.verifier.verify(request.headers["authorization"])
            if principal.subject != grant.subject and not principal.is_staff:
                raise NotFound("Ce document")
        pdf = await services.backends.editique.fetch(grant.owner, grant.document_id)
    except GatewayError as exc:
        status = {"NOT_FOUND": 404, "UNAUTHENTICATED": 401}.get(exc.code, 503)
        return JSONResponse({"error": exc.message, "code": exc.code}, status_code=status)
    return Response(
        pdf.content,
        media_type=pdf.mime_type or "application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{pdf.file_name}"',
            "Cache-Control": "private, no-store",
        },
    )


async def healthz(request: Request) -> Response:
    """Liveness, with what dashboards watch: each back-end's breaker and the cache."""
    backends = request.app.state.services.backends
    breakers = await backends.breakers.states()
    return JSONResponse(
        {
            "status": "ok"
            if all(b["state"] == "closed" for b in breakers.values())
            else "degraded",
            "backends": breakers,
            "cache": {
                "hits": backends.cache.hits,
                "misses": backends.cache.misses,
                "errors": backends.cache.errors,
                "staleServed": backends.cache.stale_served,
                "shared": backends.cache.shared,
            },
        }
    )


async def jwks(request: Request) -> Response:
    """The public keys of the gateway's access tokens, for other services to verify them."""
    key: SigningKey = request.app.state.services.sessions.key
    return JSONResponse(key.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def metrics(request: Request) -> Response:
    body, media_type = exposition()
    return Response(body, media_type=media_type)


def create_app(settings: Settings | None = None, mocks: dict[str, Any] | None = None) -> Starlette:
    """The gateway. `mocks` lets tests hand in their own in-process mock instances."""
    settings = settings or Settings()
    configure_logging(production=settings.env == "production")
    setup_tracing()
    schema = build_schema(
        introspection=settings.graphiql, limits=Limits.of(settings), suggestions=settings.graphiql
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backends = Backends.build(settings, mocks)
        store = build_store(settings.redis_url)
        sessions = Sessions(store, SigningKey.from_settings(settings), settings)
        app.state.services = Services(
            settings,
            backends,
            TokenVerifier(settings, sessions=sessions),
            DownloadLinks(settings),
            Clock(settings.today),
            Audit(),
            store,
            RateLimits.build(settings.redis_url),
            sessions,
            Plans() if settings.loads_ahead else None,
        )
        worker_started()
        tune_gc()  # once per process, after start-up's objects exist
        try:
            yield
        finally:
            worker_stopped()
            await backends.aclose()
            await app.state.services.store.close()

    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,  # guarded by UploadGuard, uploadAttachment only
    )
    graphql.trusted = TrustedDocuments(
        persisted_only=settings.persisted_only,
        ttl_s=settings.apq_ttl_s,
        max_length=settings.apq_max_length,
    )
    app = Starlette(
        routes=[
            Route("/graphql", UploadGuard(graphql), methods=["GET", "POST"]),
            Route("/documents/{token}", download, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            *web.routes(settings),  # GraphiQL's scripts and styles, outside production
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
            *web.middleware(settings),  # CORS for GATEWAY_CORS_ORIGINS
            Middleware(
                HttpLimits,
                max_body_bytes=settings.max_body_bytes,
                max_json_depth=settings.max_json_depth,
            ),
        ],
        lifespan=lifespan,
    )
    return app
