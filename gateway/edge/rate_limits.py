"""Rate limits of `/graphql` (the `limits` library, through `services.rate_limits`).

Every request spends, before its document is even parsed:

    signed in     GATEWAY_RATE_LIMIT_CLIENT     per client id (the token's subject)
    anonymous     GATEWAY_RATE_LIMIT_ANONYMOUS  per IP: login, registration, password reset
    everyone      GATEWAY_RATE_LIMIT_IP         per IP (many customers may share one: higher)

Beyond a limit the answer is HTTP 429 with `Retry-After` and one GraphQL error `RATE_LIMITED`
with `extensions.retryAfter` (seconds). The IP is the connection's peer: behind a proxy, run
uvicorn with `--forwarded-allow-ips` so that it is the client's. When the counters cannot be
reached (Redis down) requests go through: an outage of the counters is not an outage.
"""

from __future__ import annotations

from gateway.context import Context


async def spend(context: Context) -> None:
    """Count this request against its limits; raises `TooManyRequests` beyond one."""
    settings, limits = context.services.settings, context.services.rate_limits
    ip = context.client_ip
    if context.principal is None:
        await limits.hit(settings.rate_limit_anonymous, "graphql-anonymous", ip)
    else:
        await limits.hit(settings.rate_limit_client, "graphql-client", context.principal.subject)
    await limits.hit(settings.rate_limit_ip, "graphql-ip", ip)
