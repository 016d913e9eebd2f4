"""The gateway's routes besides `/graphql`: document downloads, health, metrics, public keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.context import Services
from gateway.edge.request_scope import begin_request
from gateway.errors import GatewayError, NotFound
from gateway.identity.signing_key import SigningKey
from gateway.observability.metrics import exposition
from gateway.platform.store import RedisStore


async def download(request: Request) -> Response:
    services: Services = request.app.state.services
    begin_request(services)
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
    """Liveness, with what dashboards watch: each back-end's breaker, the cache, and the shared
    store (its circuit, and the answers its last good memory gave while it was unreachable)."""
    services = request.app.state.services
    backends = services.backends
    store = services.store
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
            "store": {
                "circuitOpen": isinstance(store, RedisStore) and store.shared.circuit.is_open,
                "answeredFromMemory": services.sessions.stood_in,
            },
        }
    )


async def jwks(request: Request) -> Response:
    """The public keys of the gateway's access tokens, for other services to verify them."""
    key: SigningKey = request.app.state.services.sessions.key
    return JSONResponse(key.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def metrics(request: Request) -> Response:
    request.app.state.services.backends.breakers.observe_all()  # states that time alone changed
    body, media_type = exposition()
    return Response(body, media_type=media_type)
