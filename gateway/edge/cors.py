"""CORS: `GATEWAY_CORS_ORIGINS` lists the web origins whose pages may call the gateway (none by
default: same origin only). Tokens travel in `Authorization`, not cookies: no credentials mode."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.settings import Settings

CORS_HEADERS = ["Authorization", "Content-Type", "X-Request-Id", "traceparent", "tracestate"]
CORS_EXPOSED = ["X-Request-Id", "Retry-After"]


def middleware(settings: Settings) -> list[Middleware]:
    """CORS for the allowed origins; none configured: no CORS headers at all (same origin)."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )
    ]
