"""What a sign-in answers (`SessionPayload`): a session, or the second factor's challenge.

Every way in answers it: a password (`login`, `verifySecondFactor`), a passkey (`loginWithPasskey`),
a refresh.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.identity.sessions import IssuedSession
from gateway.resolvers.accounts import LoginResult
from gateway.schema.security.types import SecondFactorChallenge
from gateway.schema.user_errors import UserError, user_errors


@strawberry.type(description="A signed-in session: send `accessToken` as a bearer token.")
class Session:
    access_token: str = strawberry.field(description="JWT valid 15 minutes.")
    refresh_token: str = strawberry.field(
        description="Opaque, valid 30 days, usable once: `refreshSession` returns its successor."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires.")


@strawberry.type(description="Result of a sign-in or a refresh.")
class SessionPayload:
    session: Session | None = strawberry.field(description="The session; null when refused.")
    second_factor_challenge: SecondFactorChallenge | None = strawberry.field(
        description="With 2FA on, after a right password: the challenge to answer (then "
        "`session` is null)."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


def session_payload(result: LoginResult) -> SessionPayload:
    issued: IssuedSession | None = result.session
    return SessionPayload(
        session=Session(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_at=issued.expires_at,
        )
        if issued
        else None,
        second_factor_challenge=SecondFactorChallenge.of(result.challenge)
        if result.challenge
        else None,
        user_errors=user_errors(result.problems),
    )
