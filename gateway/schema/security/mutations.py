"""Second-factor and step-up mutations: inputs, payloads, who may call. The rules live in
`resolvers/second_factor.py` and `resolvers/step_up.py`; `verifySecondFactor`, the sign-in's
second step, sits with `login` (`schema/accounts/mutations.py`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain import security as sec
from gateway.resolvers import second_factor, step_up
from gateway.resolvers.problems import Refused
from gateway.schema.common import Info
from gateway.schema.permissions import Anyone, Customer
from gateway.schema.security.types import (
    SecondFactor,
    SecondFactorEnrolment,
    StepUpChallenge,
)
from gateway.schema.user_errors import UserError, user_errors


@strawberry.input(description="Start activating a second factor.")
class EnrolSecondFactorInput:
    method: sec.SecondFactorMethod = strawberry.field(description="TOTP, EMAIL or SMS.")


@strawberry.input(description="The first code of an activation.")
class ConfirmSecondFactorInput:
    code: str = strawberry.field(description="6 digits.")


@strawberry.input(description="Switch the second factor off.")
class DisableSecondFactorInput:
    code: str = strawberry.field(
        description="A current code (app, SENSITIVE_ACT code, or recovery code)."
    )


@strawberry.input(description="New recovery codes.")
class RenewRecoveryCodesInput:
    code: str = strawberry.field(
        description="A current code (app, SENSITIVE_ACT code, or recovery code)."
    )


@strawberry.input(description="Send (or resend) a one-time code.")
class SendOneTimeCodeInput:
    idempotency_key: str = strawberry.field(
        description="Client-generated, 8–64 characters; a retry with it sends nothing new."
    )
    purpose: sec.OneTimeCodePurpose = strawberry.field(description="Sign-in or sensitive act.")
    channel: sec.CodeChannel = strawberry.field(
        description="E-mail or SMS (the method's own channel when 2FA is on)."
    )
    challenge_token: str | None = strawberry.field(
        default=None,
        description="SIGN_IN: `SecondFactorChallenge.token` (no access token then); "
        "SENSITIVE_ACT: `StepUpChallenge.token` or null.",
    )


@strawberry.input(description="Ask for a proof before a sensitive act.")
class RequestStepUpInput:
    idempotency_key: str = strawberry.field(
        description="Client-generated, 8–64 characters; a retry with it sends nothing new."
    )
    method: sec.StepUpMethod = strawberry.field(
        description="One of `AccountSecurity.stepUpMethods`."
    )


@strawberry.input(description="The proof of a step-up.")
class VerifyStepUpInput:
    challenge_token: str = strawberry.field(description="`StepUpChallenge.token`.")
    code: str | None = strawberry.field(
        default=None, description="The code typed (all methods but PASSKEY)."
    )
    passkey_credential_json: str | None = strawberry.field(
        default=None,
        name="passkeyCredentialJSON",
        description="PASSKEY: JSON string, AuthenticationResponseJSON (WebAuthn Level 3).",
    )


@strawberry.type(description="Result of starting an activation.")
class EnrolSecondFactorPayload:
    enrolment: SecondFactorEnrolment | None = strawberry.field(
        description="The pending activation; null when refused."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="With TOO_MANY_CODES: seconds before a code may be sent again."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of confirming an activation.")
class ConfirmSecondFactorPayload:
    second_factor: SecondFactor | None = strawberry.field(
        description="The second factor now in force; null when refused."
    )
    recovery_codes: list[str] | None = strawberry.field(
        description="The 10 recovery codes, shown once; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of a change to the second factor.")
class SecondFactorPayload:
    second_factor: SecondFactor | None = strawberry.field(
        description="The second factor after the change; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of renewing the recovery codes.")
class RecoveryCodesPayload:
    recovery_codes: list[str] | None = strawberry.field(
        description="The 10 new codes, shown once; null when refused."
    )
    second_factor: SecondFactor | None = strawberry.field(
        description="The second factor after the renewal; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of sending a one-time code.")
class OneTimeCodePayload:
    channel: sec.CodeChannel | None = strawberry.field(
        description="Channel used; null when refused."
    )
    sent_to: str | None = strawberry.field(description="Where it went, masked; null when refused.")
    expires_at: datetime | None = strawberry.field(
        description="End of the code's validity (10 minutes)."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="With TOO_MANY_CODES: seconds before another code may be sent."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of asking for a step-up.")
class StepUpChallengePayload:
    challenge: StepUpChallenge | None = strawberry.field(
        description="The challenge; null when refused."
    )
    retry_after_seconds: int | None = strawberry.field(
        description="With TOO_MANY_CODES: seconds before a code may be sent again."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of a step-up.")
class StepUpPayload:
    valid_until: datetime | None = strawberry.field(
        description="Sensitive acts are allowed until then; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


def retry_after(refused: Refused) -> int | None:
    return refused.retry_after if isinstance(refused, step_up.CodesLimited) else None


@strawberry.type(description="Second factor and step-up.")
class SecurityMutation:
    @strawberry.mutation(
        description="Start activating a second factor (TOTP secret, or a first code by e-mail "
        "or SMS).",
        permission_classes=[Customer],
    )
    async def enrol_second_factor(
        self, info: Info, input: EnrolSecondFactorInput
    ) -> EnrolSecondFactorPayload:
        try:
            found = await second_factor.enrol(info.context, input.method)
        except Refused as refused:
            return EnrolSecondFactorPayload(
                enrolment=None,
                retry_after_seconds=retry_after(refused),
                user_errors=user_errors(refused.problems),
            )
        enrolment = SecondFactorEnrolment(
            method=found.method,
            totp_secret=found.totp_secret,
            otpauth_uri=found.otpauth_uri,
            sent_to=found.sent_to,
            expires_at=found.expires_at,
        )
        return EnrolSecondFactorPayload(
            enrolment=enrolment, retry_after_seconds=None, user_errors=[]
        )

    @strawberry.mutation(
        description="Confirm the activation with a first code: the 10 recovery codes, once.",
        permission_classes=[Customer],
    )
    async def confirm_second_factor(
        self, info: Info, input: ConfirmSecondFactorInput
    ) -> ConfirmSecondFactorPayload:
        try:
            found = await second_factor.confirm(info.context, input.code)
        except Refused as refused:
            return ConfirmSecondFactorPayload(
                second_factor=None, recovery_codes=None, user_errors=user_errors(refused.problems)
            )
        return ConfirmSecondFactorPayload(
            second_factor=SecondFactor.of(found.second_factor),
            recovery_codes=list(found.recovery_codes),
            user_errors=[],
        )

    @strawberry.mutation(
        description="Switch the second factor off (with a current code).",
        permission_classes=[Customer],
    )
    async def disable_second_factor(
        self, info: Info, input: DisableSecondFactorInput
    ) -> SecondFactorPayload:
        try:
            found = await second_factor.disable(info.context, input.code)
        except Refused as refused:
            return SecondFactorPayload(
                second_factor=None, user_errors=user_errors(refused.problems)
            )
        return SecondFactorPayload(second_factor=SecondFactor.of(found), user_errors=[])

    @strawberry.mutation(
        description="Replace the recovery codes (with a current code): the 10 new ones, once.",
        permission_classes=[Customer],
    )
    async def renew_recovery_codes(
        self, info: Info, input: RenewRecoveryCodesInput
    ) -> RecoveryCodesPayload:
        try:
            codes, state = await second_factor.renew_recovery_codes(info.context, input.code)
        except Refused as refused:
            return RecoveryCodesPayload(
                recovery_codes=None, second_factor=None, user_errors=user_errors(refused.problems)
            )
        return RecoveryCodesPayload(
            recovery_codes=list(codes), second_factor=SecondFactor.of(state), user_errors=[]
        )

    @strawberry.mutation(
        description="Send a one-time code by e-mail or SMS (sign-in or sensitive act).",
        permission_classes=[Anyone],  # SIGN_IN: no token yet; SENSITIVE_ACT needs one
    )
    async def send_one_time_code(
        self, info: Info, input: SendOneTimeCodeInput
    ) -> OneTimeCodePayload:
        try:
            sent = await second_factor.send_one_time_code(
                info.context,
                input.idempotency_key,
                input.purpose.value,
                input.channel,
                input.challenge_token,
            )
        except Refused as refused:
            return OneTimeCodePayload(
                channel=None,
                sent_to=None,
                expires_at=None,
                retry_after_seconds=retry_after(refused),
                user_errors=user_errors(refused.problems),
            )
        return OneTimeCodePayload(
            channel=sent.channel,
            sent_to=sent.sent_to,
            expires_at=sent.expires_at,
            retry_after_seconds=None,
            user_errors=[],
        )

    @strawberry.mutation(
        description="Ask for a proof before a sensitive act (sends the code for EMAIL_CODE / "
        "SMS_CODE).",
        permission_classes=[Customer],
    )
    async def request_step_up(
        self, info: Info, input: RequestStepUpInput
    ) -> StepUpChallengePayload:
        try:
            found = await step_up.request_step_up(info.context, input.idempotency_key, input.method)
        except Refused as refused:
            return StepUpChallengePayload(
                challenge=None,
                retry_after_seconds=retry_after(refused),
                user_errors=user_errors(refused.problems),
            )
        challenge = StepUpChallenge(
            token=found.challenge.token,
            method=found.challenge.method,
            sent_to=found.sent_to,
            expires_at=found.challenge.expires_at,
            passkey_options_json=found.passkey_options_json,
        )
        return StepUpChallengePayload(challenge=challenge, retry_after_seconds=None, user_errors=[])

    @strawberry.mutation(
        description="Give the proof: sensitive acts are allowed for 10 minutes.",
        permission_classes=[Customer],
    )
    async def verify_step_up(self, info: Info, input: VerifyStepUpInput) -> StepUpPayload:
        try:
            until = await step_up.verify_step_up(
                info.context, input.challenge_token, input.code, input.passkey_credential_json
            )
        except Refused as refused:
            return StepUpPayload(valid_until=None, user_errors=user_errors(refused.problems))
        return StepUpPayload(valid_until=until, user_errors=[])
