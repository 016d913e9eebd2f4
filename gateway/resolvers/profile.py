"""Changes a customer makes to their own record, validated before anything is sent.

Rules (PRODUCT.md): e-mail and mobile are each typed twice and must match; an invalid one is
refused with a clear message; the mobile is a French mobile number, normalised to E.164. One
refused field and nothing is written (the CRM's change is all-or-nothing too).
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from gateway.adapters.crm.client import Refusal
from gateway.context import Context
from gateway.domain.records import Customer, Preferences
from gateway.errors import Forbidden, Unauthenticated
from gateway.resolvers.problems import Problem

MARKUP = set("<>&\"'`")
UNSAFE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}  # controls, bidi, zero-width…
FRENCH_MOBILE = re.compile(r"^(?:\+33|0033|0)([67][0-9]{8})$")
CRM_FIELDS = {"email": "email", "mobile": "mobile"}


def normalised_email(value: str) -> str | None:
    """The address as the CRM should store it (domain lower-cased, NFC), or None when it is not
    an e-mail address (email-validator's syntax rules, no deliverability look-up) or holds a
    control, bidi, zero-width character or markup: it is shown in letters and back-office pages."""
    cleaned = value.strip()
    if (
        len(cleaned) > 254
        or any(ch in MARKUP or unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in cleaned)
        or any(ch.isspace() for ch in cleaned)
    ):
        return None
    try:
        found = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError:
        return None
    normalized: str = found.normalized
    return normalized


def normalised_mobile(value: str) -> str | None:
    """`06 12 34 56 78`, `+33 6 12…`, `0612345678` → `+33612345678`; None when not a French mobile."""
    found = FRENCH_MOBILE.match(re.sub(r"[\s.\-()]", "", value))
    return f"+33{found.group(1)}" if found else None


def contact_changes(
    email: str | None,
    email_confirmation: str | None,
    mobile: str | None,
    mobile_confirmation: str | None,
) -> tuple[dict[str, str], list[Problem]]:
    changes: dict[str, str] = {}
    problems: list[Problem] = []
    if email is None and mobile is None:
        problems.append(
            Problem(None, "REQUIRED", "Indiquez une adresse e-mail ou un numéro de mobile.")
        )
    if email is not None:
        cleaned = normalised_email(email)
        if cleaned is None:
            problems.append(Problem("email", "INVALID", "Adresse e-mail invalide."))
        elif (normalised_email(email_confirmation or "") or "").lower() != cleaned.lower():
            problems.append(
                Problem(
                    "emailConfirmation", "MISMATCH", "Les deux adresses e-mail sont différentes."
                )
            )
        else:
            changes["email"] = cleaned
    if mobile is not None:
        number = normalised_mobile(mobile)
        if number is None:
            problems.append(
                Problem(
                    "mobile",
                    "INVALID",
                    "Le mobile doit être un numéro de mobile français (06 ou 07).",
                )
            )
        elif normalised_mobile(mobile_confirmation or "") != number:
            problems.append(
                Problem(
                    "mobileConfirmation", "MISMATCH", "Les deux numéros de mobile sont différents."
                )
            )
        else:
            changes["mobile"] = number
    return changes, problems


def refused(refusals: list[Refusal]) -> list[Problem]:
    return [Problem(CRM_FIELDS.get(r.field), "REFUSED", r.message) for r in refusals]


def own_client_id(ctx: Context) -> str:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Seul le client peut modifier ses coordonnées.")
    return principal.subject


async def update_contact(
    ctx: Context,
    email: str | None,
    email_confirmation: str | None,
    mobile: str | None,
    mobile_confirmation: str | None,
) -> tuple[Customer | None, list[Problem]]:
    client_id = own_client_id(ctx)
    changes, problems = contact_changes(email, email_confirmation, mobile, mobile_confirmation)
    if problems:
        return None, problems
    result = await ctx.services.backends.crm.update_contact(client_id, changes)
    if isinstance(result, list):
        return None, refused(result)
    return result, []


async def update_preferences(
    ctx: Context, preferences: Preferences
) -> tuple[Customer | None, list[Problem]]:
    client_id = own_client_id(ctx)
    if await ctx.loaders.customer(client_id) is None:
        raise Unauthenticated("Compte client inconnu.")
    result = await ctx.services.backends.crm.replace_preferences(client_id, preferences)
    if isinstance(result, list):
        return None, refused(result)
    return result, []
