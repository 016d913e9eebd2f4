"""Helpers of the second-factor and step-up tests: codes read from the mock CRM's outbox, TOTP
codes on the mock's clock, and a real step-up (an e-mailed code) for the sensitive acts."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp

from tests.support.gateway import Gateway


def codes_sent(gateway: Gateway, client_id: str, motif: str, box: str = "emails") -> list[str]:
    """One-time codes the mock CRM sent for `client_id` and `motif`, oldest first."""
    sent = gateway.mocks["crm"].sent[box]  # type: ignore[attr-defined]
    return [
        m["code"]
        for m in sent
        if m["type"] == "CODE" and m["clientId"] == client_id and m["motif"] == motif
    ]


def totp_now(gateway: Gateway, secret: str, steps: int = 0) -> str:
    """The TOTP code of `secret` on the mock CRM's clock (`steps` 30-second steps later)."""
    now = gateway.mocks["crm"].now()  # type: ignore[attr-defined]
    return str(pyotp.TOTP(secret).at(now, counter_offset=steps))


async def step_up(gateway: Gateway, token: str, client_id: str) -> dict[str, Any]:
    """requestStepUp (EMAIL_CODE) then verifyStepUp with the code the CRM e-mailed."""
    asked = await gateway.run(
        "securite/RequestStepUp",
        {"input": {"idempotencyKey": uuid.uuid4().hex, "method": "EMAIL_CODE"}},
        token=token,
    )
    return await verify_step_up(gateway, token, client_id, asked["data"]["requestStepUp"])


async def verify_step_up(
    gateway: Gateway, token: str, client_id: str, challenge: dict[str, Any]
) -> dict[str, Any]:
    """verifyStepUp with the code the CRM e-mailed for `challenge` (requestStepUp's payload)."""
    assert challenge["userErrors"] == [], challenge
    code = codes_sent(gateway, client_id, "ACTE_SENSIBLE")[-1]
    verified = await gateway.run(
        "securite/VerifyStepUp",
        {"input": {"challengeToken": challenge["challenge"]["token"], "code": code}},
        token=token,
    )
    payload: dict[str, Any] = verified["data"]["verifyStepUp"]
    assert payload["userErrors"] == [] and payload["validUntil"], payload
    return payload


async def stepped_up(gateway: Gateway, client_id: str) -> str:
    """From now on `as_=client_id` uses a token whose session proved an e-mailed code."""
    token = gateway.token(client_id)
    await step_up(gateway, token, client_id)
    gateway.strong[client_id] = token
    return token
