"""One module per legacy system; `Backends` is the bundle the app's lifespan builds once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ..settings import Settings
from .claims import Claims
from .crm import Crm
from .editique import Editique
from .policy_admin import PolicyAdmin
from .transport import Transport


@dataclass
class Backends:
    policy_admin: PolicyAdmin
    claims: Claims
    editique: Editique
    crm: Crm
    transports: list[Transport]
    in_process: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, mocks: dict[str, Any] | None = None) -> Backends:
        """Real servers where a URL is set; in-process mocks (given, or fresh ones) elsewhere."""
        urls = {
            "policy-admin": settings.policy_admin_url,
            "claims": settings.claims_url,
            "editique": settings.editique_url,
            "crm": settings.crm_url,
        }
        apps: dict[str, Any] = dict(mocks or {})
        missing = [name for name, url in urls.items() if not url and name not in apps]
        if missing:
            from mocks import build_mock  # development and tests only: the mocks serve in process

            apps.update({name: build_mock(name) for name in missing})
        pa = Transport.build(
            "policy-admin",
            urls["policy-admin"],
            apps.get("policy-admin"),
            timeout=settings.timeout_policy_admin_s,
            headers={"X-Api-Key": settings.policy_admin_api_key.get_secret_value()},
        )
        claims = Transport.build(
            "claims",
            urls["claims"],
            apps.get("claims"),
            timeout=settings.timeout_claims_s,
            auth=httpx.BasicAuth(settings.claims_user, settings.claims_password.get_secret_value()),
        )
        editique = Transport.build(
            "editique", urls["editique"], apps.get("editique"), timeout=settings.timeout_editique_s
        )
        crm = Transport.build(
            "crm",
            urls["crm"],
            apps.get("crm"),
            timeout=settings.timeout_crm_s,
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
            in_process={name: app for name, app in apps.items() if not urls[name]},
        )

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.close()
