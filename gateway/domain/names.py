"""A person's name as the insurer files it: letters of any alphabet (accents included), spaces,
apostrophes, hyphens and dots, at least one letter. Markup (`<img onerror=…>`), digits and other
signs are refused: a name is printed on contracts and letters and shown back in pages."""

from __future__ import annotations

import unicodedata

SIGNS = frozenset(" '’-.")


def is_person_name(text: str) -> bool:
    """True when `text` is made of letters and the signs of names only, with one letter at least."""
    letters = 0
    for char in unicodedata.normalize("NFC", text):
        if unicodedata.category(char).startswith(("L", "M")):
            letters += 1
        elif char not in SIGNS:
            return False
    return letters > 0
