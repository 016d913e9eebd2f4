"""The ASGI application: `/graphql`, `/documents/{token}`, `/healthz`.

The lifespan is the composition root: it builds the `Services` (settings, back-end clients, token
verifier, link signer, clock, audit) once; every request gets a fresh `Context` with its own
loaders. An unauthenticated request resolves nothing: only introspection is answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult as StrawberryResult

from .adapters import Backends
from .adapters.resilience import start_deadline
from .admission import Admission
from .auth import TokenVerifier
from .clock import Clock
from .context import Audit, Context, Services
from .downloads import DownloadLinks
from .errors import GatewayError, NotFound, Unauthenticated
from .gc_tuning import tune_gc
from .metrics import GatewayCollector
from .resolvers.loaders import Loaders
from .schema import build_schema
from .settings import Settings


def only_introspection(query: str | None) -> bool:
    try:
        document = parse(query or "")
    except GraphQLError:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                name = getattr(selection, "name", None)
                if name is None or not name.value.startswith("__"):
                    return False
    return True


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        start_deadline(
            services.settings.request_deadline_s
        )  # inherited by every task of the request
        principal, error = None, None
        try:
            principal = await services.verifier.verify(request.headers.get("authorization"))
        except GatewayError as exc:
            error = exc
        assert isinstance(request, Request)
        return Context(request, services, Loaders(services.backends), principal, error)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        if context.principal is None and not only_introspection(request_data.query):
            error = context.auth_error or Unauthenticated()
            return StrawberryResult(
                data=None, errors=[GraphQLError(error.message, extensions=error.extensions)]
            )
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


async def download(request: Request) -> Response:
    services: Services = request.app.state.services
    start_deadline(services.settings.request_deadline_s)
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
                "shared": backends.cache.max_entries is None,
            },
        }
    )


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None, mocks: dict[str, Any] | None = None) -> Starlette:
    """The gateway. `mocks` lets tests hand in their own in-process mock instances."""
    settings = settings or Settings()
    schema = build_schema(introspection=settings.graphiql)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        backends = Backends.build(settings, mocks)
        app.state.services = Services(
            settings,
            backends,
            TokenVerifier(settings),
            DownloadLinks(settings),
            Clock(settings.today),
            Audit(),
        )
        app.state.metrics = CollectorRegistry()
        app.state.metrics.register(GatewayCollector(backends))
        tune_gc()  # once per process, after start-up's objects exist
        try:
            yield
        finally:
            await backends.aclose()

    graphql = GraphQLApp(
        schema, graphql_ide="graphiql" if settings.graphiql else None, allow_queries_via_get=True
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/documents/{token}", download, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(
                Admission,
                limit=settings.max_in_flight,
                queue=settings.admission_queue,
                wait_s=settings.admission_wait_s,
            )
        ],
    )
