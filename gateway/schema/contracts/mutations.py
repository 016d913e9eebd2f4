"""Contract acts: termination (after its preview), bank details, beneficiaries, debit day.

Each is sent as the catalogue's demande (`resolvers/contract_acts.py`) and answers with it.
"""

from __future__ import annotations

import enum
from datetime import date

import strawberry

from gateway.domain import records as rec
from gateway.resolvers import contract_acts, demandes
from gateway.schema.common import Info
from gateway.schema.demandes.types import Demande
from gateway.schema.ids import contract_number
from gateway.schema.payloads import payload
from gateway.schema.user_errors import UserError


@strawberry.enum(description="What a bank account is used for.")
class BankAccountUsage(enum.Enum):
    DEBIT = strawberry.enum_value("DEBIT", description="Prélèvement des cotisations.")
    REFUND = strawberry.enum_value("REFUND", description="Versement des remboursements.")
    BOTH = strawberry.enum_value("BOTH", description="Les deux.")


@strawberry.input(description="Terminate a contract (step 2, after the preview).")
class TerminationInput:
    idempotency_key: str = strawberry.field(description="Client-generated, 8–64 characters.")
    contract_id: strawberry.ID = strawberry.field(description="The contract to terminate.")
    reason: str | None = strawberry.field(default=None, description="Optional reason.")


@strawberry.input(description="New bank details of a contract, with the RIB attached.")
class BankDetailsInput:
    idempotency_key: str = strawberry.field(description="Client-generated, 8–64 characters.")
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    iban: str = strawberry.field(description="The new IBAN (spaces allowed).")
    holder: str = strawberry.field(description="Account holder.")
    usage: BankAccountUsage = strawberry.field(description="What the account is for.")
    rib_attachment_id: str = strawberry.field(description="The RIB, from `uploadAttachment`.")


@strawberry.input(description="A named beneficiary and their share.")
class BeneficiaryInput:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Family name.")
    birth_date: date = strawberry.field(description="Date of birth.")
    share: int = strawberry.field(description="Share in percent; all shares add up to 100.")


@strawberry.input(description="Named beneficiaries of a contract (replaces the clause).")
class BeneficiariesInput:
    idempotency_key: str = strawberry.field(description="Client-generated, 8–64 characters.")
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    beneficiaries: list[BeneficiaryInput] = strawberry.field(description="1 to 10 beneficiaries.")


@strawberry.input(description="A new day of the month for the premium's direct debit.")
class DebitDayInput:
    idempotency_key: str = strawberry.field(description="Client-generated, 8–64 characters.")
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    day: int = strawberry.field(description="5, 10 or 15.")


@strawberry.type(description="Result of a termination request.")
class TerminationPayload:
    demande: Demande | None = strawberry.field(description="The RESIL demande; null when refused.")
    effective_date: date | None = strawberry.field(description="Date the contract ends.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of a change of bank details.")
class BankDetailsPayload:
    demande: Demande | None = strawberry.field(description="The RIB demande; null when refused.")
    masked_iban: str | None = strawberry.field(description="The new IBAN, masked.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of a contract act sent as a demande.")
class ActPayload:
    demande: Demande | None = strawberry.field(description="The demande; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


async def wrapped(info: Info, found: rec.Demande) -> Demande:
    return Demande.of(found, await demandes.own_scope(info.context))


def number_of(contract_id: str) -> str:
    return contract_number(contract_id) or ""


@strawberry.type(description="Contract acts.")
class ContractActsMutation:
    @strawberry.mutation(description="Terminate a contract, on the date the preview gives.")
    async def request_termination(self, info: Info, input: TerminationInput) -> TerminationPayload:
        async def work() -> tuple[Demande, date]:
            found, effective = await contract_acts.request_termination(
                info.context, input.idempotency_key, number_of(input.contract_id), input.reason
            )
            return await wrapped(info, found), effective

        return await payload(
            lambda r, errors: TerminationPayload(
                demande=r[0] if r else None, effective_date=r[1] if r else None, user_errors=errors
            ),
            work(),
        )

    @strawberry.mutation(
        description="New bank details (IBAN checked; only its masked form is returned)."
    )
    async def change_bank_details(self, info: Info, input: BankDetailsInput) -> BankDetailsPayload:
        async def work() -> tuple[Demande, str]:
            found, masked = await contract_acts.change_bank_details(
                info.context,
                input.idempotency_key,
                number_of(input.contract_id),
                input.iban,
                input.holder,
                input.usage.name,
                input.rib_attachment_id,
            )
            return await wrapped(info, found), masked

        return await payload(
            lambda r, errors: BankDetailsPayload(
                demande=r[0] if r else None, masked_iban=r[1] if r else None, user_errors=errors
            ),
            work(),
        )

    @strawberry.mutation(description="Designate beneficiaries (shares adding up to 100 %).")
    async def designate_beneficiaries(self, info: Info, input: BeneficiariesInput) -> ActPayload:
        items = [
            contract_acts.Beneficiary(b.first_name, b.last_name, b.birth_date, b.share)
            for b in input.beneficiaries
        ]

        async def work() -> Demande:
            found = await contract_acts.designate_beneficiaries(
                info.context, input.idempotency_key, number_of(input.contract_id), items
            )
            return await wrapped(info, found)

        return await payload(lambda d, errors: ActPayload(demande=d, user_errors=errors), work())

    @strawberry.mutation(description="Change the premium's debit day (5, 10 or 15).")
    async def change_debit_day(self, info: Info, input: DebitDayInput) -> ActPayload:
        async def work() -> Demande:
            found = await contract_acts.change_debit_day(
                info.context, input.idempotency_key, number_of(input.contract_id), input.day
            )
            return await wrapped(info, found)

        return await payload(lambda d, errors: ActPayload(demande=d, user_errors=errors), work())
