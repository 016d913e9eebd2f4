"""CRM adapter, strong authentication (`crm.openapi.yaml`, tag `securite`) and the security alert
(`POST /clients/{clientId}/notifications`, event `SECURITE_COMPTE`).

The CRM generates, keeps and checks every secret: the TOTP secret and its URI come once in the
answer to an enrolment, the recovery codes once in the answer to a confirmation or a renewal, a
one-time code only by e-mail or SMS. Nothing here stores or logs one, nor any body.

Every write is one attempt (a code check counts towards the lock, a code sent supersedes the
previous one: never replayed), except the notification, which the CRM makes idempotent with its
`cleIdempotence` (quirk 12): it is repeated with the same key after a lost answer. The CRM's
refusals come back as `Refusal` values; `429 LIMITE_ATTEINTE` as `CodeLimit` with its
`Retry-After`; a 5xx, a timeout or an unreadable answer is a `BackendError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.adapters.crm.accounts import Refusal, refusal
from gateway.adapters.crm.client import instant
from gateway.adapters.transport.transport import Transport
from gateway.domain.security import (
    AccountSecurityState,
    CodeChannel,
    CodeSent,
    Enrolment,
    PendingEnrolment,
    SecondFactorMethod,
    SecondFactorState,
)
from gateway.errors import BackendError, BackendUnavailable

BACKEND = "crm"
BASE = "/crm/api"
MOTIFS = {"SIGN_IN": "CONNEXION", "SENSITIVE_ACT": "ACTE_SENSIBLE"}
NOTIFY_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class CodeLimit:
    """`429 LIMITE_ATTEINTE`: nothing was sent; another code may be asked in `retry_after` s."""

    retry_after: int


@dataclass(frozen=True, slots=True)
class Activated:
    second_factor: SecondFactorState
    recovery_codes: tuple[str, ...]


def second_factor(raw: dict[str, Any]) -> SecondFactorState:
    return SecondFactorState(
        SecondFactorMethod(raw["methode"]),
        instant(raw["depuis"]) if raw["depuis"] else None,
        int(raw["codesSecoursRestants"]),
    )


def security_state(raw: dict[str, Any]) -> AccountSecurityState:
    pending = raw["enrolementEnCours"]
    return AccountSecurityState(
        locked=raw["statutCompte"] == "VERROUILLE",
        second_factor=second_factor(raw["secondFacteur"]),
        pending=PendingEnrolment(
            SecondFactorMethod(pending["methode"]), instant(pending["expireLe"])
        )
        if pending
        else None,
        passkeys=len(raw["clesAcces"]),
    )


class CrmSecurity:
    """Built over the CRM's transport (shared pool, breaker)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *ok: int
    ) -> dict[str, Any] | Refusal | CodeLimit:
        async def attempt(budget: float) -> dict[str, Any] | Refusal | CodeLimit:
            kwargs = {} if body is None else {"json": body}
            response = await self.transport.send(method, BASE + path, budget, **kwargs)
            if response.status_code in ok:
                return dict(orjson.loads(response.content))
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            found = refusal(response)
            if found.code == "LIMITE_ATTEINTE":
                return CodeLimit(retry_after_s(response.headers.get("retry-after")))
            return found

        try:
            return await self.transport.write(attempt)
        except orjson.JSONDecodeError:
            raise BackendUnavailable(BACKEND) from None

    async def state(self, client_id: str) -> AccountSecurityState | None:
        """The account's state now (never cached: it changes with every proof); None: no account."""
        found = await self._send("GET", f"/comptes/{client_id}/securite", None, 200)
        if isinstance(found, CodeLimit):
            raise BackendUnavailable(BACKEND)
        if isinstance(found, Refusal):
            if found.status == 404:
                return None
            raise BackendUnavailable(BACKEND)
        return security_state(found)

    async def enrol(
        self, client_id: str, method: SecondFactorMethod
    ) -> Enrolment | Refusal | CodeLimit:
        found = await self._send(
            "POST", f"/comptes/{client_id}/securite/enrolement", {"methode": method.value}, 201
        )
        if isinstance(found, Refusal | CodeLimit):
            return found
        return Enrolment(
            SecondFactorMethod(found["methode"]),
            found["secret"],
            found["uriOtpauth"],
            found["destinataire"],
            instant(found["expireLe"]),
        )

    async def confirm(self, client_id: str, code: str) -> Activated | Refusal:
        found = await self._send(
            "POST", f"/comptes/{client_id}/securite/enrolement/confirmation", {"code": code}, 200
        )
        if isinstance(found, CodeLimit):
            raise BackendUnavailable(BACKEND)
        if isinstance(found, Refusal):
            return found
        state = SecondFactorState(
            SecondFactorMethod(found["methode"]),
            instant(found["depuis"]),
            len(found["codesSecours"]),
        )
        return Activated(state, tuple(found["codesSecours"]))

    async def disable(self, client_id: str, code: str) -> SecondFactorState | Refusal:
        found = await self._send(
            "POST", f"/comptes/{client_id}/securite/desactivation", {"code": code}, 200
        )
        if isinstance(found, CodeLimit):
            raise BackendUnavailable(BACKEND)
        return found if isinstance(found, Refusal) else second_factor(found["secondFacteur"])

    async def renew_recovery_codes(self, client_id: str, code: str) -> tuple[str, ...] | Refusal:
        found = await self._send(
            "POST", f"/comptes/{client_id}/securite/codes-secours", {"code": code}, 200
        )
        if isinstance(found, CodeLimit):
            raise BackendUnavailable(BACKEND)
        return found if isinstance(found, Refusal) else tuple(found["codesSecours"])

    async def send_code(
        self, client_id: str, channel: CodeChannel, purpose: str
    ) -> CodeSent | Refusal | CodeLimit:
        """A new one-time code (`purpose`: SIGN_IN or SENSITIVE_ACT); it supersedes the last one."""
        found = await self._send(
            "POST",
            f"/comptes/{client_id}/securite/codes",
            {"canal": channel.value, "motif": MOTIFS[purpose]},
            202,
        )
        if isinstance(found, Refusal | CodeLimit):
            return found
        return CodeSent(
            CodeChannel(found["canal"]), found["destinataire"], instant(found["expireLe"])
        )

    async def verify(self, client_id: str, code: str, purpose: str) -> int | Refusal:
        """The recovery codes left after a right code; a wrong one (counted) is a `Refusal`."""
        found = await self._send(
            "POST",
            f"/comptes/{client_id}/securite/verification",
            {"code": code, "motif": MOTIFS[purpose]},
            200,
        )
        if isinstance(found, CodeLimit):
            raise BackendUnavailable(BACKEND)
        return found if isinstance(found, Refusal) else int(found["codesSecoursRestants"])

    async def notify(self, client_id: str, body: dict[str, Any]) -> None:
        """Post a notification; after a lost answer it is posted again with the same
        `cleIdempotence`, which the CRM answers without delivering it twice."""
        for attempt in range(NOTIFY_ATTEMPTS):
            try:
                found = await self._send(
                    "POST", f"/clients/{client_id}/notifications", body, 200, 202
                )
            except BackendError:
                if attempt == NOTIFY_ATTEMPTS - 1:
                    raise
                continue
            if isinstance(found, Refusal | CodeLimit):
                raise BackendUnavailable(BACKEND)
            return


def retry_after_s(value: str | None) -> int:
    try:
        return max(1, math.ceil(float(value or "60")))
    except ValueError:
        return 60
