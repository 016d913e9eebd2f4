"""« Connexion et sécurité » of an account as the viewer's session sees it (`Account.security`).

Holds no secret: the CRM keeps every one of them.
"""

from __future__ import annotations

import strawberry

from gateway.domain import records as rec
from gateway.resolvers import passkeys
from gateway.schema.common import Info
from gateway.schema.security.passkeys import Passkey


@strawberry.type(
    description="The strong authentication of an account, as the viewer's session sees it. "
    "Holds no secret."
)
class AccountSecurity:
    customer: strawberry.Private[rec.Customer]

    @strawberry.field(description="The account's passkeys, oldest first (10 at most).")
    async def passkeys(self, info: Info) -> list[Passkey]:
        found = await passkeys.passkeys_of(
            info.context, self.customer.client_id, self.customer.account_status
        )
        return [Passkey(stored=k) for k in found]
