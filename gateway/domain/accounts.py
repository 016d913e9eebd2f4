"""Customer-space accounts in domain terms: their status, the password policy, what a login proves.

No I/O. The CRM holds the accounts and checks passwords; the gateway checks the policy first so
the customer sees every broken rule at once, in French, before anything is sent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from gateway.domain.security import SecondFactorMethod
from gateway.domain.values import Labelled

if TYPE_CHECKING:
    from gateway.domain.records import Customer

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


def folded_name(text: str) -> str:
    """A name as the CRM compares it at registration: case, accents, hyphens and spaces ignored
    (`crm.openapi.yaml`, `POST /comptes`)."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return re.sub(r"[\s\-]", "", stripped).casefold()


def same_person(one: Customer, other: Customer) -> bool:
    """Two CRM clients are one person (« Réunir vos comptes »): both individuals with the same
    `nom`, `prenom` (compared as the CRM compares them at registration) and `dateNaissance`."""
    if one.is_company or other.is_company or one.birth_date is None:
        return False
    if not one.first_name or not other.first_name:
        return False
    return (
        one.birth_date == other.birth_date
        and folded_name(one.last_name) == folded_name(other.last_name)
        and folded_name(one.first_name) == folded_name(other.first_name)
    )
