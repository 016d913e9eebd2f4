"""One module per legacy system; `Backends` is the bundle the app's lifespan builds once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.adapters.claims import Claims
from gateway.adapters.crm.client import Crm
from gateway.adapters.editique import Editique
from gateway.adapters.in_process import build_mocks
from gateway.adapters.policy_admin import PolicyAdmin
from gateway.adapters.transport.breaker import BreakerPolicy
from gateway.adapters.transport.cache import ResponseCache
from gateway.adapters.transport.egress import Egress
from gateway.adapters.transport.resilience import Breakers, Guard, RetryPolicy
from gateway.adapters.transport.transport import Transport
from gateway.observability.health import HealthWindow
from gateway.platform.redis import SharedRedis
from gateway.settings import Settings


@dataclass
class Backends:
    policy_admin: PolicyAdmin
    claims: Claims
    editique: Editique
    crm: Crm
    transports: list[Transport]
    cache: ResponseCache
    breakers: Breakers
    health: HealthWindow = field(default_factory=HealthWindow)
    in_process: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        settings: Settings,
        mocks: dict[str, Any] | None = None,
        redis: SharedRedis | None = None,
    ) -> Backends:
        """Real servers where a URL is set; in-process mocks (given, or fresh ones) elsewhere;
        answers cached in `redis` (the process's shared client) when given."""
        urls = {
            "policy-admin": settings.policy_admin_url,
            "claims": settings.claims_url,
            "editique": settings.editique_url,
            "crm": settings.crm_url,
        }
        apps: dict[str, Any] = dict(mocks or {})
        missing = [name for name, url in urls.items() if not url and name not in apps]
        if missing:  # development and tests only: the mocks serve in process
            apps.update(build_mocks(missing))
        cache = (
            ResponseCache.build(
                redis or SharedRedis.from_settings(settings),
                max_bytes=settings.cache_max_bytes,
                timeout_s=settings.cache_timeout_s,
                stale_s=settings.stale_if_error_s,
            )
            if settings.cache
            else ResponseCache.disabled()
        )
        breakers = Breakers(
            BreakerPolicy(
                failure_rate=settings.breaker_failure_rate,
                min_volume=settings.breaker_min_volume,
                window_s=settings.breaker_window_s,
                ttl_s=settings.breaker_ttl_s,
            )
        )
        policy = RetryPolicy(attempts=settings.retry_attempts)
        health = HealthWindow()

        def transport(name: str, timeout: float, **kwargs: Any) -> Transport:
            guard = Guard(name, breakers, timeout, policy)
            return Transport.build(
                name,
                urls[name],
                apps.get(name),
                guard=guard,
                cache=cache,
                health=health,
                egress=Egress.from_settings(settings, name),
                **kwargs,
            )

        pa = transport(
            "policy-admin",
            settings.timeout_policy_admin_s,
            headers={"X-Api-Key": settings.policy_admin_api_key.get_secret_value()},
        )
        claims = transport(
            "claims",
            settings.timeout_claims_s,
            auth=httpx.BasicAuth(settings.claims_user, settings.claims_password.get_secret_value()),
        )
        editique = transport("editique", settings.timeout_editique_s)
        crm = transport(
            "crm",
            settings.timeout_crm_s,
            headers={"Authorization": f"Bearer {settings.crm_token.get_secret_value()}"},
        )
        return cls(
            policy_admin=PolicyAdmin(pa),
            claims=Claims(claims),
            editique=Editique(
                editique, settings.editique_user, settings.editique_password.get_secret_value()
            ),
            crm=Crm(crm),
            transports=[pa, claims, editique, crm],
            cache=cache,
            breakers=breakers,
            health=health,
            in_process={name: app for name, app in apps.items() if not urls[name]},
        )

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.close()
        await self.cache.close()
