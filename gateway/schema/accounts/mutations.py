"""Account mutations: register, activate, sign in, stay signed in, recover, secure, join accounts.

The rules live in `resolvers/accounts.py`; here are the inputs, the payloads and who may call.
The fields of `anonymous.ANONYMOUS_FIELDS` are the only root fields a request without a token
reaches (the gate decides on the resolved operation); each of them is also `[Anyone]` on the
field, every other account field `[Customer]`, so a field stays safe whatever the gate does.
"""

from __future__ import annotations

from datetime import date

import strawberry
from stdnum.fr import siret as siret_number

from gateway.domain.accounts import CompanyIdentity, IndividualIdentity
from gateway.resolvers import accounts
from gateway.resolvers.problems import Problem
from gateway.schema.accounts.types import Account
from gateway.schema.common import Info
from gateway.schema.permissions import Anyone, Customer
from gateway.schema.security.sessions import SessionPayload, session_payload
from gateway.schema.user_errors import UserError, user_errors


@strawberry.input(description="Who an individual is, as printed on their card and letters.")
class IndividualIdentityInput:
    customer_number: str = strawberry.field(description="Numéro d'adhérent (8 digits).")
    last_name: str = strawberry.field(description="Family name.")
    first_name: str = strawberry.field(description="First name.")
    birth_date: date = strawberry.field(description="Date of birth.")


@strawberry.input(description="Who a company is, as in its activation letter.")
class CompanyIdentityInput:
    customer_number: str = strawberry.field(description="Numéro d'adhérent (8 digits).")
    site_number: str = strawberry.field(description="Numéro de site déclarant (4 digits).")
    siret: str = strawberry.field(description="SIRET (14 digits, spaces allowed).")
    confidential_code: str = strawberry.field(description="Code confidentiel (8 characters).")


@strawberry.input(description="Account creation: one identity (individual OR company), the login.")
class RegisterAccountInput:
    individual: IndividualIdentityInput | None = strawberry.field(
        default=None, description="An individual's identity (or `company`)."
    )
    company: CompanyIdentityInput | None = strawberry.field(
        default=None, description="A company's identity (or `individual`)."
    )
    email: str = strawberry.field(description="E-mail: the login, and where the link is sent.")
    email_confirmation: str = strawberry.field(description="The same e-mail, typed again.")
    terms_accepted: bool = strawberry.field(description="The terms of use are accepted.")


@strawberry.input(description="The e-mailed activation token and the chosen password.")
class ActivateAccountInput:
    token: str = strawberry.field(description="Token of the activation link (valid 24 hours).")
    password: str = strawberry.field(description="The new password.")
    password_confirmation: str = strawberry.field(description="The same password, typed again.")


@strawberry.input(description="The e-mailed reset token and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="Token of the reset link (valid 30 minutes).")
    password: str = strawberry.field(description="The new password.")
    password_confirmation: str = strawberry.field(description="The same password, typed again.")


@strawberry.input(description="Credentials of a customer-space account.")
class LoginInput:
    login: str = strawberry.field(description="E-mail (or legacy identifier) of the account.")
    password: str = strawberry.field(description="Its password.")
    device_id: str | None = strawberry.field(
        default=None,
        description="The id the app or browser keeps for this device (a new one sends the "
        "« nouvel appareil » alert).",
    )


@strawberry.input(description="The second step of a sign-in.")
class VerifySecondFactorInput:
    challenge_token: str = strawberry.field(description="`SecondFactorChallenge.token`.")
    code: str = strawberry.field(
        description="6 digits (app, e-mail or SMS) or a recovery code (XXXXX-XXXXX)."
    )


@strawberry.input(description="A new password for the signed-in customer.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The current password.")
    new_password: str = strawberry.field(description="The new password.")
    new_password_confirmation: str = strawberry.field(description="The new password, typed again.")


@strawberry.input(description="Credentials of the other account to join to the viewer's.")
class LinkAccountInput:
    login: str = strawberry.field(description="Login of the other account.")
    password: str = strawberry.field(description="Password of the other account.")


@strawberry.type(description="Whether a request about an account was taken into account.")
class AccountRequestPayload:
    accepted: bool = strawberry.field(description="True when done (or, for a reset, sent on).")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of joining another account.")
class LinkAccountPayload:
    account: Account | None = strawberry.field(
        description="The viewer's account after the join; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


def accepted(problems: list[Problem]) -> AccountRequestPayload:
    return AccountRequestPayload(accepted=not problems, user_errors=user_errors(problems))


def identity(input: RegisterAccountInput) -> IndividualIdentity | CompanyIdentity | None:
    if (input.individual is None) == (input.company is None):
        return None
    if input.individual is not None:
        i = input.individual
        return IndividualIdentity(
            i.customer_number.strip(), i.last_name, i.first_name, i.birth_date
        )
    assert input.company is not None
    c = input.company
    return CompanyIdentity(
        c.customer_number.strip(),
        c.site_number.strip(),
        siret_number.compact(c.siret),
        c.confidential_code.strip().upper(),
    )


@strawberry.type(description="Customer-space accounts and sessions.")
class AccountsMutation:
    @strawberry.mutation(
        description="Create an account (no token): an activation link is e-mailed.",
        permission_classes=[Anyone],
    )
    async def register_account(
        self, info: Info, input: RegisterAccountInput
    ) -> AccountRequestPayload:
        return accepted(
            await accounts.register(
                info.context,
                identity(input),
                input.email,
                input.email_confirmation,
                input.terms_accepted,
            )
        )

    @strawberry.mutation(
        description="Activate an account with the e-mailed token and choose its password.",
        permission_classes=[Anyone],
    )
    async def activate_account(
        self, info: Info, input: ActivateAccountInput
    ) -> AccountRequestPayload:
        return accepted(
            await accounts.activate(
                info.context, input.token, input.password, input.password_confirmation
            )
        )

    @strawberry.mutation(
        description="Sign in: a 15-minute access token and a refresh token.",
        permission_classes=[Anyone],
    )
    async def login(self, info: Info, input: LoginInput) -> SessionPayload:
        return session_payload(
            await accounts.login(info.context, input.login, input.password, input.device_id)
        )

    @strawberry.mutation(
        description="Sign-in, step 2 (no token): the second factor turns the challenge into a "
        "session.",
        permission_classes=[Anyone],
    )
    async def verify_second_factor(
        self, info: Info, input: VerifySecondFactorInput
    ) -> SessionPayload:
        return session_payload(
            await accounts.verify_second_factor(info.context, input.challenge_token, input.code)
        )

    @strawberry.mutation(
        description="Trade a refresh token (once) for a new session's tokens.",
        permission_classes=[Anyone],
    )
    async def refresh_session(self, info: Info, refresh_token: str) -> SessionPayload:
        return session_payload(await accounts.refresh(info.context, refresh_token))

    @strawberry.mutation(
        description="Sign out: the session ends, its tokens stop working.",
        permission_classes=[Anyone],
    )
    async def logout(self, info: Info, refresh_token: str) -> AccountRequestPayload:
        await accounts.logout(info.context, refresh_token)
        return accepted([])

    @strawberry.mutation(
        description="E-mail a reset link if an account has this login (the answer never says).",
        permission_classes=[Anyone],
    )
    async def request_password_reset(self, info: Info, email: str) -> AccountRequestPayload:
        return accepted(await accounts.request_password_reset(info.context, email))

    @strawberry.mutation(
        description="A new password from the e-mailed link: unlocks, ends every session.",
        permission_classes=[Anyone],
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> AccountRequestPayload:
        return accepted(
            await accounts.reset_password(
                info.context, input.token, input.password, input.password_confirmation
            )
        )

    @strawberry.mutation(
        description="Change the password (signed in): every other session ends.",
        permission_classes=[Customer],
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> AccountRequestPayload:
        return accepted(
            await accounts.change_password(
                info.context,
                input.current_password,
                input.new_password,
                input.new_password_confirmation,
            )
        )

    @strawberry.mutation(
        description="Join another individual account (« Réunir vos comptes »).",
        permission_classes=[Customer],
    )
    async def link_account(self, info: Info, input: LinkAccountInput) -> LinkAccountPayload:
        found, problems = await accounts.link_account(info.context, input.login, input.password)
        return LinkAccountPayload(
            account=Account(customer=found) if found else None,
            user_errors=user_errors(problems),
        )
