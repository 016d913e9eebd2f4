"""IBANs (ISO 13616) checked with python-stdnum, and masked wherever one could leave the gateway.

The full IBAN goes to the CRM and nowhere else: never a log, an error or a response. Whatever the
gateway reads back (a demande's description) passes through `mask_ibans` first.
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum.exceptions import InvalidChecksum, ValidationError

IBAN_LIKE = re.compile(
    r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b"  # as printed: capitals, spaces anywhere
    # as typed: any case, in groups of 4 separated by a space, a dash or a dot, or none
    r"|\b[A-Za-z]{2}[0-9]{2}(?:[ .-]?[A-Za-z0-9]{4}){2,7}(?:[ .-]?[A-Za-z0-9]{1,4})?\b"
)
SEPARATORS = re.compile(r"[\s.-]")


def check(value: str) -> tuple[str | None, str | None]:
    """(the compact IBAN, None) when valid, else (None, the French reason)."""
    compact = stdnum_iban.compact(value)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", compact):
        return None, "Un IBAN commence par le code du pays et deux chiffres de contrôle."
    try:
        stdnum_iban.validate(compact)
    except InvalidChecksum:
        return None, "Les chiffres de contrôle de l'IBAN sont incorrects : vérifiez votre saisie."
    except ValidationError:
        return None, "La longueur ou le format de l'IBAN ne correspond pas à son pays."
    return compact, None


def mask(value: str) -> str:
    """`FR76 **** **** **** **** ***5 632`: country, check digits and the last 3 characters, of
    the IBAN however it was typed (any case, spaces, dashes or dots)."""
    compact = SEPARATORS.sub("", value).upper()
    masked = compact[:4] + "*" * (len(compact) - 7) + compact[-3:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mask_ibans(text: str | None) -> str | None:
    """`text` with every IBAN-looking sequence masked, in capitals or not, grouped or not."""
    if text is None:
        return None
    return IBAN_LIKE.sub(lambda m: mask(m.group(0)), text)
