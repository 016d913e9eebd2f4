"""The customer's own record: contact data (each value typed twice) and preferences."""

from __future__ import annotations

import strawberry

from gateway.domain.records import Customer, Preferences
from gateway.resolvers import profile
from gateway.resolvers.access import Scope
from gateway.resolvers.problems import Problem
from gateway.schema.common import Info
from gateway.schema.person.types import Person, person
from gateway.schema.user_errors import UserError, user_errors


@strawberry.input(description="New contact data; each value typed twice.")
class ContactDataInput:
    email: str | None = strawberry.field(default=None, description="New e-mail address.")
    email_confirmation: str | None = strawberry.field(
        default=None, description="The same e-mail, typed again."
    )
    mobile: str | None = strawberry.field(default=None, description="New French mobile number.")
    mobile_confirmation: str | None = strawberry.field(
        default=None, description="The same mobile, typed again."
    )


@strawberry.input(description="Marketing and survey consents.")
class ConsentsInput:
    group_offers: bool = strawberry.field(description="Offers from the group's companies.")
    targeted_communication: bool = strawberry.field(
        description="Targeted (profiled) communication."
    )
    satisfaction_surveys: bool = strawberry.field(description="Satisfaction surveys.")


@strawberry.input(description="Contact preferences, replaced as a whole.")
class PreferencesInput:
    paperless: bool = strawberry.field(description="Documents online only, no paper mail.")
    consents: ConsentsInput = strawberry.field(description="Consents.")


@strawberry.type(description="Result of a change to the customer's record.")
class PersonPayload:
    person: Person | None = strawberry.field(
        description="The customer after the change; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


def person_payload(customer: Customer | None, problems: list[Problem]) -> PersonPayload:
    return PersonPayload(
        person=person(customer, Scope(customer)) if customer else None,
        user_errors=user_errors(problems),
    )


@strawberry.type(description="Changes the customer makes to their own record.")
class ProfileMutation:
    @strawberry.mutation(description="Change the e-mail and/or the mobile (each typed twice).")
    async def update_contact_data(self, info: Info, input: ContactDataInput) -> PersonPayload:
        return person_payload(
            *await profile.update_contact(
                info.context,
                input.email,
                input.email_confirmation,
                input.mobile,
                input.mobile_confirmation,
            )
        )

    @strawberry.mutation(description="Replace the contact preferences and consents.")
    async def update_preferences(self, info: Info, input: PreferencesInput) -> PersonPayload:
        c = input.consents
        wanted = Preferences(
            input.paperless, c.group_offers, c.targeted_communication, c.satisfaction_surveys
        )
        return person_payload(*await profile.update_preferences(info.context, wanted))
