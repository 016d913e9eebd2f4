"""The strong authentication of an account as the graph shows it (`Account.security`), the
sign-in's second-factor challenge and the step-up's. Holds no secret: a TOTP secret and the
recovery codes appear only in the answer of the mutation that made them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain import records as rec
from gateway.domain import security as sec
from gateway.resolvers import passkeys
from gateway.resolvers.second_factor import Challenge, SecurityView
from gateway.schema.common import Info
from gateway.schema.enums import expose
from gateway.schema.security.passkeys import Passkey

expose(sec.SecondFactorMethod, "How an account proves the second factor.")
expose(sec.StepUpMethod, "A proof of identity asked before a sensitive act (step-up).")
expose(sec.CodeChannel, "Where a one-time code is sent.")
expose(sec.OneTimeCodePurpose, "What a one-time code is for.")


@strawberry.type(description="The second factor of an account.")
class SecondFactor:
    method: sec.SecondFactorMethod = strawberry.field(description="Method (NONE: password only).")
    enabled_since: datetime | None = strawberry.field(
        description="When it was switched on; null for NONE."
    )
    recovery_codes_left: int = strawberry.field(
        description="Unused recovery codes (0 to 10; 0 for NONE)."
    )

    @strawberry.field(description="French label of `method`.")
    def method_label(self) -> str:
        return self.method.label

    @classmethod
    def of(cls, state: sec.SecondFactorState) -> SecondFactor:
        return cls(
            method=state.method,
            enabled_since=state.since,
            recovery_codes_left=state.recovery_codes_left,
        )


@strawberry.type(description="A second-factor activation waiting for its first code.")
class PendingEnrolment:
    method: sec.SecondFactorMethod = strawberry.field(description="Method being activated.")
    expires_at: datetime = strawberry.field(description="End of the activation's validity.")

    @strawberry.field(description="French label of `method`.")
    def method_label(self) -> str:
        return self.method.label


@strawberry.type(
    description="The strong authentication of an account, as the viewer's session sees it. "
    "Holds no secret."
)
class AccountSecurity:
    view: strawberry.Private[SecurityView]
    customer: strawberry.Private[rec.Customer]

    @strawberry.field(description="The second-factor method in force.")
    def second_factor(self) -> SecondFactor:
        return SecondFactor.of(self.view.state.second_factor)

    @strawberry.field(
        description="An activation started and not yet confirmed (10 minutes); null when none."
    )
    def pending_enrolment(self) -> PendingEnrolment | None:
        pending = self.view.state.pending
        return (
            PendingEnrolment(method=pending.method, expires_at=pending.expires_at)
            if pending
            else None
        )

    @strawberry.field(
        description="Proofs this account can give to confirm a sensitive act, in the order to "
        "offer them."
    )
    def step_up_methods(self) -> list[sec.StepUpMethod]:
        return self.view.step_up_methods

    @strawberry.field(
        description="Until when this session may do sensitive acts without a new proof (10 "
        "minutes after its last strong authentication); null: a proof is needed."
    )
    def strong_authentication_valid_until(self) -> datetime | None:
        return self.view.valid_until

    @strawberry.field(description="The account's passkeys, oldest first (10 at most).")
    async def passkeys(self, info: Info) -> list[Passkey]:
        found = await passkeys.passkeys_of(
            info.context, self.customer.client_id, self.customer.account_status
        )
        return [Passkey(stored=k) for k in found]


@strawberry.type(description="A password sign-in waiting for its second factor.")
class SecondFactorChallenge:
    token: str = strawberry.field(
        description="Opaque, valid until `expiresAt`: pass it to `verifySecondFactor`."
    )
    method: sec.SecondFactorMethod = strawberry.field(description="The account's method.")
    sent_to: str | None = strawberry.field(
        description="EMAIL/SMS: where the code was sent, masked; null for TOTP."
    )
    expires_at: datetime = strawberry.field(description="End of the challenge (5 minutes).")

    @strawberry.field(description="French label of `method`.")
    def method_label(self) -> str:
        return self.method.label

    @classmethod
    def of(cls, found: Challenge) -> SecondFactorChallenge:
        return cls(
            token=found.challenge.token,
            method=found.method,
            sent_to=found.sent_to,
            expires_at=found.challenge.expires_at,
        )


@strawberry.type(description="A second-factor activation started.")
class SecondFactorEnrolment:
    method: sec.SecondFactorMethod = strawberry.field(description="Method being activated.")
    totp_secret: str | None = strawberry.field(
        description="TOTP: the secret (base32) for manual entry, in this answer only; null "
        "otherwise."
    )
    otpauth_uri: str | None = strawberry.field(
        description="TOTP: its otpauth:// URI, for the QR code, in this answer only; null "
        "otherwise."
    )
    sent_to: str | None = strawberry.field(
        description="EMAIL/SMS: where the first code went, masked; null for TOTP."
    )
    expires_at: datetime = strawberry.field(
        description="The activation waits until then for its first code."
    )

    @strawberry.field(description="French label of `method`.")
    def method_label(self) -> str:
        return self.method.label


@strawberry.type(description="A step-up waiting for its proof.")
class StepUpChallenge:
    token: str = strawberry.field(description="Opaque: pass it to `verifyStepUp`.")
    method: sec.StepUpMethod = strawberry.field(description="The proof asked.")
    sent_to: str | None = strawberry.field(
        description="EMAIL_CODE/SMS_CODE: where the code went, masked."
    )
    expires_at: datetime = strawberry.field(description="End of the challenge.")
    passkey_options_json: str | None = strawberry.field(
        name="passkeyOptionsJSON",
        description="PASSKEY: JSON string, PublicKeyCredentialRequestOptionsJSON (WebAuthn "
        "Level 3); null otherwise.",
    )

    @strawberry.field(description="French label of `method`.")
    def method_label(self) -> str:
        return self.method.label
