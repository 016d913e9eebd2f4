"""Customer-space accounts in domain terms: their status, the password policy, what a login proves.

No I/O. The CRM holds the accounts and checks passwords; the gateway checks the policy first so
the customer sees every broken rule at once, in French, before anything is sent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from gateway.domain.security import SecondFactorMethod
from gateway.domain.values import Labelled

PASSWORD_MIN, PASSWORD_MAX = 12, 64


class AccountStatus(Labelled):
    ACTIVE = "ACTIVE"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"
    LOCKED = "LOCKED"
    NONE = "NONE"


def broken_password_rules(password: str) -> list[str]:
    """The CRM's policy (`crm.openapi.yaml`, "Password policy"): one French sentence per broken rule."""
    broken = []
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        broken.append(
            f"Le mot de passe doit compter entre {PASSWORD_MIN} et {PASSWORD_MAX} caractères."
        )
    if not any(c.islower() for c in password):
        broken.append("Le mot de passe doit contenir au moins une lettre minuscule.")
    if not any(c.isupper() for c in password):
        broken.append("Le mot de passe doit contenir au moins une lettre majuscule.")
    if not any(c in "0123456789" for c in password):
        broken.append("Le mot de passe doit contenir au moins un chiffre.")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        broken.append("Le mot de passe doit contenir au moins un caractère spécial.")
    if any(unicodedata.category(c) == "Cc" for c in password):
        broken.append("Le mot de passe ne doit contenir aucun caractère de contrôle.")
    return broken


@dataclass(frozen=True, slots=True)
class IndividualIdentity:
    customer_number: str
    last_name: str
    first_name: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class CompanyIdentity:
    customer_number: str
    site_number: str
    siret: str
    confidential_code: str


@dataclass(frozen=True, slots=True)
class Authenticated:
    """What a successful password check proves: who, what kind, and the joined accounts."""

    client_id: str
    is_company: bool
    group: tuple[str, ...]  # client ids of the joined accounts, own included, ascending
    second_factor: SecondFactorMethod = SecondFactorMethod.NONE  # not NONE: not signed in yet
