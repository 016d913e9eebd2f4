"""The CRM's routes of tag `securite`: second factor, one-time and recovery codes, passkeys.

A mixin of the CRM mock (`crm.Crm`), which provides the accounts, the clock, the body parser and
the outbox. Checks come in the documented order: account (`404`), body (`400`), lock (`423`),
state (`409`), then the code (`401`, `423`) or the rate (`429`). The CRM stores passkeys as given:
the caller is the WebAuthn relying party and verifies every ceremony itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from . import crm_rules as rules
from .base import json_body
from .crm_errors import Refused, invalid, locked, not_found
from .crm_secrets import (
    CODE_LIFE,
    MAX_PASSKEYS,
    Enrolment,
    Security,
    SentCode,
    is_six_digits,
    new_totp_secret,
    one_time_code,
    recovery_codes,
)

BASE = "/crm/api"
CREDENTIAL_ID = re.compile(r"^[A-Za-z0-9_-]{22,1364}$")
PUBLIC_KEY = re.compile(r"^[A-Za-z0-9_-]{1,4096}$")
AAGUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TRANSPORTS = ("usb", "nfc", "ble", "smart-card", "hybrid", "internal")
METHODS = ("TOTP", "EMAIL", "SMS")
MOTIFS = ("CONNEXION", "ACTE_SENSIBLE")
LOCK_AFTER = 5
LIVE = ("ACTIF", "VERROUILLE")


def wrong_code() -> Refused:
    return Refused(
        401,
        "CODE_INVALIDE",
        "Code incorrect ou expiré",
        [rules.detail("code", "Code incorrect ou expiré")],
    )


def conflict(message: str, champ: str | None = None, why: str = "") -> Refused:
    return Refused(409, "CONFLIT", message, [rules.detail(champ, why)] if champ else [])


def inactive(champ: str) -> Refused:
    return conflict("La double authentification n'est pas activée", champ, "Aucune méthode active")


def sign_count(body: dict[str, Any], details: list[dict[str, str]]) -> None:
    value = body.get("signCount")
    if "signCount" not in body:
        details.append(rules.detail("signCount", "Champ obligatoire"))
    elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4294967295:
        details.append(rules.detail("signCount", "Entier de 0 à 4294967295 attendu"))


def passkey_name(body: dict[str, Any], details: list[dict[str, str]]) -> None:
    value = body.get("nom")
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 50:
        details.append(rules.detail("nom", "Nom de 1 à 50 caractères attendu"))


def code_field(body: dict[str, Any], details: list[dict[str, str]]) -> None:
    rules.string(body, "code", details, required=True, min_length=1, max_length=32)


class SecurityRoutes:
    """Handlers of tag `securite`; mixed into the CRM mock."""

    accounts: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]
    security: dict[str, Security]

    # provided by the CRM mock
    def now(self) -> datetime:
        raise NotImplementedError

    async def body(self, request: Request) -> dict[str, Any]:
        raise NotImplementedError

    def own_account(self, client_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
        raise NotImplementedError

    def group(self, client_id: str) -> list[str]:
        raise NotImplementedError

    def send(self, channel: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    # ---- state -------------------------------------------------------------------------------
    def security_of(self, client_id: str) -> Security:
        return self.security.setdefault(client_id, Security())

    def security_view(self, client_id: str) -> dict[str, Any]:
        state = self.security_of(client_id)
        pending = state.pending(self.now())
        return {
            "clientId": client_id,
            "statutCompte": self.accounts[client_id]["statut"],
            "secondFacteur": {
                "methode": state.methode,
                "depuis": state.depuis.isoformat() if state.depuis else None,
                "codesSecoursRestants": len(state.recovery),
            },
            "enrolementEnCours": {
                "methode": pending.methode,
                "expireLe": pending.expire.isoformat(),
            }
            if pending
            else None,
            "clesAcces": self.passkeys_of(client_id),
        }

    def passkeys_of(self, client_id: str) -> list[dict[str, Any]]:
        keys = sorted(
            self.security_of(client_id).passkeys.values(),
            key=lambda k: (datetime.fromisoformat(k["creeLe"]), k["credentialId"]),
        )
        return [self.passkey_view(k) for k in keys]

    @staticmethod
    def passkey_view(key: dict[str, Any]) -> dict[str, Any]:
        fields = ("credentialId", "nom", "transports", "aaguid", "signCount", "creeLe")
        return {**{f: key[f] for f in fields}, "derniereUtilisation": key["derniereUtilisation"]}

    def find_passkey(self, credential_id: str) -> tuple[str, dict[str, Any]]:
        if CREDENTIAL_ID.match(credential_id):
            for client_id, state in self.security.items():
                if credential_id in state.passkeys:
                    return client_id, state.passkeys[credential_id]
        raise not_found("Clé d'accès inconnue")

    def live_account(self, client_id: str) -> tuple[dict[str, Any], Security]:
        return self.own_account(client_id, LIVE), self.security_of(client_id)

    @staticmethod
    def unlocked(account: dict[str, Any]) -> None:
        if account["statut"] == "VERROUILLE":
            raise locked()

    def send_code(
        self, client_id: str, state: Security, canal: str, motif: str
    ) -> tuple[str, datetime]:
        """Send a new one-time code (superseding the previous one) within the rate rule."""
        now = self.now()
        wait = state.retry_after(now)
        if wait is not None:
            raise Refused(
                429,
                "LIMITE_ATTEINTE",
                "Trop de codes demandés : réessayez plus tard",
                headers={"Retry-After": str(wait)},
            )
        to = (
            self.accounts[client_id]["identifiant"]
            if canal == "EMAIL"
            else self.clients[client_id]["mobile"]
        )
        state.code = SentCode(one_time_code(), motif, canal, now)
        state.sends.append(now)
        self.send(
            "emails" if canal == "EMAIL" else "sms",
            {
                "type": "CODE",
                "destinataire": to,
                "clientId": client_id,
                "code": state.code.code,
                "motif": motif,
                "envoyeLe": now.isoformat(),
            },
        )
        return to, now

    def checked_code(self, account: dict[str, Any], state: Security, code: str, motif: str) -> str:
        """Check a second-factor code (counted); the kind of code accepted."""
        now = self.now()
        kind: str | None = None
        if is_six_digits(code):
            if state.methode == "TOTP" and state.secret:
                step = state.check_totp(state.secret, code, now)
                if step is not None:
                    state.last_step, kind = step, "TOTP"
            elif state.code is not None and state.code.accepts(code, motif, now):
                state.code.used, kind = True, "CODE_UNIQUE"
        elif state.methode != "NONE" and state.use_recovery(code):
            kind = "CODE_SECOURS"
        if kind is None:
            state.failures += 1
            if state.failures >= LOCK_AFTER:
                account["statut"] = "VERROUILLE"
                raise locked()
            raise wrong_code()
        state.failures = 0
        return kind

    async def code_body(
        self, request: Request, client_id: str, with_motif: bool = False
    ) -> tuple[dict[str, Any], Security, dict[str, Any]]:
        account, state = self.live_account(client_id)
        body = await self.body(request)
        details = rules.unknown_fields(body, {"code", "motif"} if with_motif else {"code"})
        code_field(body, details)
        if with_motif and body.get("motif") not in MOTIFS:
            details.append(rules.detail("motif", "CONNEXION ou ACTE_SENSIBLE attendu"))
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(account)
        return account, state, body

    # ---- second factor -----------------------------------------------------------------------
    async def get_security(self, request: Request, p: dict[str, str]) -> Response:
        self.live_account(p["clientId"])
        return json_body(self.security_view(p["clientId"]))

    async def start_enrolment(self, request: Request, p: dict[str, str]) -> Response:
        client_id = p["clientId"]
        account, state = self.live_account(client_id)
        body = await self.body(request)
        details = rules.unknown_fields(body, {"methode"})
        if body.get("methode") not in METHODS:
            details.append(rules.detail("methode", "TOTP, EMAIL ou SMS attendu"))
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(account)
        method = body["methode"]
        if state.methode != "NONE":
            raise conflict(
                "La double authentification est déjà activée",
                "methode",
                f"Désactivez d'abord la méthode actuelle ({state.methode})",
            )
        if method == "SMS" and not self.clients[client_id]["mobile"]:
            raise conflict(
                "Aucun numéro de mobile enregistré", "methode", "Envoi par SMS impossible"
            )
        now = self.now()
        secret, to = None, None
        if method == "TOTP":
            secret = new_totp_secret()
        else:
            to, now = self.send_code(client_id, state, method, "ENROLEMENT")
        state.enrolment = Enrolment(method, now + CODE_LIFE, secret)
        uri = None
        if secret is not None:
            label = quote(f"Espace Client:{account['identifiant']}", safe=":")
            uri = (
                f"otpauth://totp/{label}?secret={secret}&issuer=Espace%20Client"
                "&algorithm=SHA1&digits=6&period=30"
            )
        return json_body(
            {
                "clientId": client_id,
                "methode": method,
                "secret": secret,
                "uriOtpauth": uri,
                "destinataire": to,
                "expireLe": state.enrolment.expire.isoformat(),
            },
            201,
        )

    async def confirm_enrolment(self, request: Request, p: dict[str, str]) -> Response:
        client_id = p["clientId"]
        _, state, body = await self.code_body(request, client_id)
        now = self.now()
        pending = state.pending(now)
        if pending is None:
            raise conflict(
                "Aucune activation de double authentification en cours",
                "code",
                "Recommencez l'activation",
            )
        code, step = body["code"], None
        if pending.secret is not None:
            step = Security().check_totp(pending.secret, code, now) if is_six_digits(code) else None
            right = step is not None
        else:
            right = state.code is not None and state.code.accepts(code, "ENROLEMENT", now)
        if not right:
            pending.failures += 1
            if pending.failures >= LOCK_AFTER:
                state.enrolment = None
            raise wrong_code()
        if state.code is not None and pending.secret is None:
            state.code.used = True
        state.methode, state.depuis, state.secret = pending.methode, now, pending.secret
        state.last_step, state.failures, state.enrolment = step, 0, None
        state.recovery = recovery_codes()
        return json_body(
            {
                "clientId": client_id,
                "methode": state.methode,
                "depuis": now.isoformat(),
                "codesSecours": list(state.recovery),
            }
        )

    async def disable_second_factor(self, request: Request, p: dict[str, str]) -> Response:
        account, state, body = await self.code_body(request, p["clientId"])
        if state.methode == "NONE":
            raise inactive("code")
        self.checked_code(account, state, body["code"], "ACTE_SENSIBLE")
        state.disable()
        return json_body(self.security_view(p["clientId"]))

    async def renew_recovery_codes(self, request: Request, p: dict[str, str]) -> Response:
        account, state, body = await self.code_body(request, p["clientId"])
        if state.methode == "NONE":
            raise inactive("code")
        self.checked_code(account, state, body["code"], "ACTE_SENSIBLE")
        state.recovery = recovery_codes()
        return json_body({"clientId": p["clientId"], "codesSecours": list(state.recovery)})

    async def send_one_time_code(self, request: Request, p: dict[str, str]) -> Response:
        client_id = p["clientId"]
        account, state = self.live_account(client_id)
        body = await self.body(request)
        details = rules.unknown_fields(body, {"canal", "motif"})
        if body.get("canal") not in ("EMAIL", "SMS"):
            details.append(rules.detail("canal", "EMAIL ou SMS attendu"))
        if body.get("motif") not in MOTIFS:
            details.append(rules.detail("motif", "CONNEXION ou ACTE_SENSIBLE attendu"))
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(account)
        canal, motif = body["canal"], body["motif"]
        if state.methode == "TOTP":
            raise conflict(
                "Ce compte utilise une application d'authentification",
                "canal",
                "Aucun code n'est envoyé pour la méthode TOTP",
            )
        if state.methode == "NONE" and motif == "CONNEXION":
            raise conflict(
                "La double authentification n'est pas activée",
                "motif",
                "Aucun second facteur à la connexion",
            )
        if state.methode != "NONE" and canal != state.methode:
            raise conflict(
                "Canal non autorisé pour ce compte",
                "canal",
                f"Les codes de ce compte sont envoyés par {state.methode}",
            )
        if canal == "SMS" and not self.clients[client_id]["mobile"]:
            raise conflict("Aucun numéro de mobile enregistré", "canal", "Envoi par SMS impossible")
        to, sent = self.send_code(client_id, state, canal, motif)
        return json_body(
            {
                "clientId": client_id,
                "canal": canal,
                "motif": motif,
                "destinataire": to,
                "envoyeLe": sent.isoformat(),
                "expireLe": (sent + CODE_LIFE).isoformat(),
            },
            202,
        )

    async def verify_second_factor(self, request: Request, p: dict[str, str]) -> Response:
        account, state, body = await self.code_body(request, p["clientId"], with_motif=True)
        if state.methode == "NONE" and body["motif"] == "CONNEXION":
            raise conflict(
                "La double authentification n'est pas activée",
                "motif",
                "Aucun second facteur à la connexion",
            )
        kind = self.checked_code(account, state, body["code"], body["motif"])
        return json_body(
            {
                "clientId": p["clientId"],
                "motif": body["motif"],
                "type": kind,
                "codesSecoursRestants": len(state.recovery),
                "verifieLe": self.now().isoformat(),
            }
        )

    # ---- passkeys ----------------------------------------------------------------------------
    async def list_passkeys(self, request: Request, p: dict[str, str]) -> Response:
        self.live_account(p["clientId"])
        return json_body({"clientId": p["clientId"], "clesAcces": self.passkeys_of(p["clientId"])})

    async def register_passkey(self, request: Request, p: dict[str, str]) -> Response:
        client_id = p["clientId"]
        account, state = self.live_account(client_id)
        body = await self.body(request)
        allowed = {"credentialId", "clePublique", "signCount", "transports", "aaguid", "nom"}
        details = rules.unknown_fields(body, allowed)
        for name, pattern in (
            ("credentialId", CREDENTIAL_ID),
            ("clePublique", PUBLIC_KEY),
            ("aaguid", AAGUID),
        ):
            rules.string(body, name, details, required=True, pattern=pattern)
        sign_count(body, details)
        transports = body.get("transports")
        if (
            not isinstance(transports, list)
            or len(transports) > 6
            or not all(isinstance(t, str) and t in TRANSPORTS for t in transports)
            or len(set(transports)) != len(transports)
        ):
            details.append(rules.detail("transports", "Liste de transports WebAuthn distincts"))
        passkey_name(body, details)
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(account)
        credential_id = body["credentialId"]
        if any(credential_id in s.passkeys for s in self.security.values()):
            raise conflict(
                "Cette clé d'accès est déjà enregistrée",
                "credentialId",
                "Identifiant de clé déjà utilisé",
            )
        if len(state.passkeys) >= MAX_PASSKEYS:
            raise conflict(f"Nombre maximal de clés d'accès atteint ({MAX_PASSKEYS})")
        key = {
            "credentialId": credential_id,
            "nom": body["nom"].strip(),
            "transports": body["transports"],
            "aaguid": body["aaguid"],
            "signCount": body["signCount"],
            "creeLe": self.now().isoformat(),
            "derniereUtilisation": None,
            "clePublique": body["clePublique"],
        }
        state.passkeys[credential_id] = key
        return json_body(
            self.passkey_view(key),
            201,
            {"Location": f"{BASE}/comptes/{client_id}/cles-acces/{credential_id}"},
        )

    def own_passkey(self, p: dict[str, str]) -> tuple[dict[str, Any], Security, dict[str, Any]]:
        account, state = self.live_account(p["clientId"])
        key = state.passkeys.get(p["credentialId"])
        if key is None:
            raise not_found("Clé d'accès inconnue")
        return account, state, key

    async def rename_passkey(self, request: Request, p: dict[str, str]) -> Response:
        account, _, key = self.own_passkey(p)
        body = await self.body(request)
        details = rules.unknown_fields(body, {"nom"})
        passkey_name(body, details)
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(account)
        key["nom"] = body["nom"].strip()
        return json_body(self.passkey_view(key))

    async def delete_passkey(self, request: Request, p: dict[str, str]) -> Response:
        account, state, key = self.own_passkey(p)
        self.unlocked(account)
        del state.passkeys[key["credentialId"]]
        return Response(status_code=204)

    async def find_passkey_route(self, request: Request, p: dict[str, str]) -> Response:
        client_id, key = self.find_passkey(p["credentialId"])
        return json_body(
            {
                "credentialId": key["credentialId"],
                "clientId": client_id,
                "typeCompte": self.clients[client_id]["type"],
                "statutCompte": self.accounts[client_id]["statut"],
                "clePublique": key["clePublique"],
                "signCount": key["signCount"],
                "transports": key["transports"],
            }
        )

    async def record_assertion(self, request: Request, p: dict[str, str]) -> Response:
        client_id, key = self.find_passkey(p["credentialId"])
        body = await self.body(request)
        details = rules.unknown_fields(body, {"signCount"})
        sign_count(body, details)
        if details:
            raise invalid("Requête invalide", details)
        self.unlocked(self.accounts[client_id])
        count = body["signCount"]
        if not (count > key["signCount"] or count == key["signCount"] == 0):
            raise conflict(
                "Compteur de signature incohérent",
                "signCount",
                "Le compteur de signature doit augmenter",
            )
        key["signCount"], key["derniereUtilisation"] = count, self.now().isoformat()
        return json_body(
            {
                "clientId": client_id,
                "typeCompte": self.clients[client_id]["type"],
                "rattaches": self.group(client_id),
                "credentialId": key["credentialId"],
                "signCount": count,
                "derniereUtilisation": key["derniereUtilisation"],
            }
        )
