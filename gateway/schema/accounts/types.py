"""The account of a customer as the graph shows it (`Person.account`): login, status, the
accounts joined to it. Readable wherever the person is (the customer, staff through `person`)."""

from __future__ import annotations

import strawberry

from gateway.domain import records as rec
from gateway.domain.accounts import AccountStatus
from gateway.resolvers import accounts, second_factor
from gateway.schema.common import Info
from gateway.schema.enums import expose
from gateway.schema.security.devices import DeviceSession, sessions_of
from gateway.schema.security.types import AccountSecurity

expose(AccountStatus, "State of a customer-space account.")


@strawberry.type(
    description="Another customer account joined to this one (« Réunir vos comptes »)."
)
class LinkedAccount:
    customer_number: str = strawberry.field(
        description="Numéro d'adhérent of that account (what `unlinkAccount` takes)."
    )
    display_name: str = strawberry.field(description="Name of its holder.")
    visible: bool = strawberry.field(
        description="Its contracts show in `viewer`: false while its own password must be proven "
        "again (after a reset or a lock), or when it is not held by the same person."
    )


@strawberry.type(description="The customer-space account (codes d'accès).")
class Account:
    customer: strawberry.Private[rec.Customer]

    @strawberry.field(description="Login identifier (an e-mail); null when there is no account.")
    def login(self) -> str | None:
        return self.customer.login

    @strawberry.field(description="State of the account.")
    def status(self) -> AccountStatus:
        return self.customer.account_status

    @strawberry.field(description="French label of `status`.")
    def status_label(self) -> str:
        return self.customer.account_status.label

    @strawberry.field(
        description="The other accounts the CRM joins to this one now; those `visible` show "
        "their contracts in `viewer`."
    )
    async def linked_accounts(self, info: Info) -> list[LinkedAccount]:
        if self.customer.account_status == AccountStatus.NONE:
            return []
        found = await accounts.group(info.context, self.customer.client_id)
        return [
            LinkedAccount(
                customer_number=c.customer_number, display_name=c.display_name, visible=visible
            )
            for c, visible in found
        ]

    @strawberry.field(
        description="Second factor, passkeys and step-up state (« Connexion et sécurité »)."
    )
    async def security(self, info: Info) -> AccountSecurity:
        view = await second_factor.security_of(info.context, self.customer.client_id)
        return AccountSecurity(view=view, customer=self.customer)

    @strawberry.field(
        description="The gateway's open sessions of the account (« Appareils connectés »), last "
        "seen first."
    )
    async def sessions(self, info: Info) -> list[DeviceSession]:
        if self.customer.account_status == AccountStatus.NONE:
            return []
        return await sessions_of(info, self.customer.client_id)
