"""A customer: an individual (personne physique) or a company (personne morale), with their
address and preferences, and the lists of everything they hold (contracts, demandes,
documents, règlements; a company: the members of its collective contracts).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.resolvers import access, queries
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.accounts.types import Account
from gateway.schema.claims.types import Reglement, ReglementFilter, criteria
from gateway.schema.common import Connection, Info, paged, sliced
from gateway.schema.contracts.types import Affiliate, Contract, Intermediary, intermediary
from gateway.schema.demandes.types import Demande
from gateway.schema.documents.types import Document
from gateway.schema.ids import from_global, to_global
from gateway.schema.node import Node
from gateway.schema.person.alerts import (
    AlertSettings,
    NotificationConnection,
    alert_settings_of,
    notifications_of,
)


@strawberry.interface(
    description="A customer: an individual (personne physique) or a company (personne morale)."
)
class Person(Node):
    customer: strawberry.Private[rec.Customer]
    scope: strawberry.Private[Scope]

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Person", self.customer.client_id)

    kind: v.PersonKind = strawberry.field(description="Individual or company.")
    display_name: str = strawberry.field(description="Name to greet the customer with.")
    customer_number: str = strawberry.field(
        description="Numéro d'adhérent, printed on cards and letters."
    )
    email: str | None = strawberry.field(description="Contact e-mail; null when unknown.")
    mobile: str | None = strawberry.field(
        description="French mobile number (E.164); null when unknown."
    )
    contact_data_required: bool = strawberry.field(
        description="True when the e-mail or the mobile is missing: the UI asks for them first."
    )

    @strawberry.field(description="Postal address.")
    def address(self) -> Address | None:
        found = self.customer.address
        if found is None:
            return None
        return Address(
            lines=list(found.lines),
            postal_code=found.postal_code,
            city=found.city,
            country=found.country,
        )

    @strawberry.field(description="Contact preferences and consents.")
    def preferences(self) -> Preferences:
        p = self.customer.preferences
        return Preferences(
            paperless=p.paperless,
            consents=Consents(
                group_offers=p.group_offers,
                targeted_communication=p.targeted_communication,
                satisfaction_surveys=p.satisfaction_surveys,
            ),
        )

    @strawberry.field(description="The customer-space account: login, status, joined accounts.")
    def account(self) -> Account:
        return Account(customer=self.customer)

    @strawberry.field(description="Alert settings (« Paramètres > Notifications »).")
    async def alert_settings(self, info: Info) -> AlertSettings | None:
        return await alert_settings_of(info, self.customer.client_id)

    @strawberry.field(description="Notifications posted to the customer, newest first.")
    async def notifications(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> NotificationConnection | None:
        return await notifications_of(info, self.customer.client_id, first, after)

    @strawberry.field(description="The customer's intermediary.")
    async def intermediary(self, info: Info) -> Intermediary | None:
        if self.customer.intermediary_id is None:
            return None
        return intermediary(await info.context.loaders.intermediary(self.customer.intermediary_id))

    @strawberry.field(
        description="Contracts on which the person holds a role (a company: its contracts)."
    )
    async def contracts(
        self,
        info: Info,
        status: list[v.ContractStatus] | None = None,
        family: list[v.ProductFamily] | None = None,
    ) -> list[Contract] | None:
        found = await queries.contracts(info.context, self.scope, status, family)
        return [Contract.of(c, self.scope) for c in found]

    @strawberry.field(description="Online demandes of the last 6 months, newest first.")
    async def demandes(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: list[v.DemandeStatus] | None = None,
    ) -> Connection[Demande] | None:
        found = await queries.demandes(info.context, self.scope, status)
        return sliced(found, first, after, lambda d: Demande.of(d, self.scope))

    @strawberry.field(description="Documents issued to the person, newest first.")
    async def documents(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        period: v.DocumentPeriod = v.DocumentPeriod.LAST_12_MONTHS,
        category: v.DocumentCategory | None = None,
        contract_id: strawberry.ID | None = None,
    ) -> Connection[Document] | None:
        contract = None
        if contract_id is not None:
            contract = await contract_by_id(info, self.scope, contract_id)
        found = await queries.documents(info.context, self.scope, period, category, contract)
        return sliced(found, first, after, lambda d: Document.of(d, self.scope))

    @strawberry.field(
        description="Règlements and health reimbursements of the last 3 years, newest first."
    )
    async def reglements(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: ReglementFilter | None = None,
    ) -> Connection[Reglement] | None:
        wanted = await criteria(info, self.scope, filter)
        return await paged(
            first,
            after,
            lambda offset, limit: queries.reglements(
                info.context, self.scope, None, wanted, offset, limit
            ),
            lambda r: Reglement.of(r, self.scope),
        )


async def contract_by_id(info: Info, scope: Scope, contract_id: str) -> rec.ContractSummary:
    _, number = from_global(contract_id, "Contract")
    return await access.contract(info.context, scope, number)


@strawberry.type(description="A customer who is a person (personne physique).")
class Individual(Person):
    civility: v.Civility | None = strawberry.field(description="Civility.")
    civility_label: str | None = strawberry.field(description="French label of `civility`.")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Family name, upper case.")
    birth_date: date | None = strawberry.field(description="Date of birth.")
    health_insurance_scheme: v.HealthScheme | None = strawberry.field(
        description="Mandatory health insurance scheme."
    )
    health_insurance_scheme_label: str | None = strawberry.field(
        description="French label of `healthInsuranceScheme`."
    )


@strawberry.type(description="A customer who is a company (personne morale).")
class Company(Person):
    name: str = strawberry.field(description="Company name (raison sociale).")
    siret: str | None = strawberry.field(description="SIRET number.")

    @strawberry.field(
        description="Members (affiliés) of one of the company's collective contracts."
    )
    async def affiliates(
        self, info: Info, contract_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[Affiliate] | None:
        _, number = from_global(contract_id, "Contract")
        found = await queries.affiliates(info.context, self.scope, number)
        return sliced(found, first, after, lambda a: Affiliate.of(a, number))


def person(customer: rec.Customer, scope: Scope) -> Person:
    """The schema's person: plain attributes (a field resolver per value costs more than the value)."""
    common: dict[str, Any] = {
        "customer": customer,
        "scope": scope,
        "kind": v.PersonKind.COMPANY if customer.is_company else v.PersonKind.INDIVIDUAL,
        "display_name": customer.display_name,
        "customer_number": customer.customer_number,
        "email": customer.email,
        "mobile": customer.mobile,
        "contact_data_required": customer.email is None or customer.mobile is None,
    }
    if customer.is_company:
        return Company(
            **common, name=customer.company_name or customer.last_name, siret=customer.siret
        )
    return Individual(
        **common,
        civility=customer.civility,
        civility_label=customer.civility.label if customer.civility else None,
        first_name=customer.first_name,
        last_name=customer.last_name,
        birth_date=customer.birth_date,
        health_insurance_scheme=customer.health_scheme,
        health_insurance_scheme_label=customer.health_scheme.label
        if customer.health_scheme
        else None,
    )


@strawberry.type(description="A postal address.")
class Address:
    lines: list[str] = strawberry.field(description="1 to 4 address lines.")
    postal_code: str = strawberry.field(description="Postal code.")
    city: str = strawberry.field(description="City.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="Marketing and survey consents.")
class Consents:
    group_offers: bool = strawberry.field(description="Offers from the group's companies.")
    targeted_communication: bool = strawberry.field(
        description="Targeted (profiled) communication."
    )
    satisfaction_surveys: bool = strawberry.field(description="Satisfaction surveys.")


@strawberry.type(description="Contact preferences.")
class Preferences:
    paperless: bool = strawberry.field(description="Documents online only, no paper mail.")
    consents: Consents = strawberry.field(description="Consents given.")
