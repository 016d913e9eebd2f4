"""Devices: the id an app or browser keeps for itself, the label a session shows, and the devices
each account has signed in from.

The device id travels as `deviceId` in the sign-in inputs and as the `X-Device-Id` header (the
input wins when both are sent); 1 to 128 printable characters, anything else is no id. It is kept
only as its SHA-256, per account:

    devices:<sub>       {known: [sha256…]}      the devices the account signed in from (1 year,
                                                the 50 latest)

A sign-in from a device the account has never used is *new* — except the account's very first
sign-in with a device id, which records it silently (the product's rule: an account with no known
device yet gets no alert). Without a device id nothing is recorded and nothing is new.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from enum import Enum

from gateway.platform.store import Store

HEADER = "x-device-id"
MAX_DEVICE_ID = 128
KNOWN_TTL_S = 366 * 86_400
KNOWN_KEPT = 50


def device_id(headers: Mapping[str, str], given: str | None = None) -> str | None:
    """The caller's device id: the input's, else the header's; None when absent or malformed."""
    for value in (given, headers.get(HEADER)):
        if value is not None:
            value = value.strip()
            if 0 < len(value) <= MAX_DEVICE_ID and value.isprintable():
                return value
    return None


def device_digest(subject: str, device: str) -> str:
    return hashlib.sha256(f"{subject}\x00{device}".encode()).hexdigest()


class Seen(Enum):
    FIRST = "FIRST"  # the account's first known device: recorded, no alert
    KNOWN = "KNOWN"
    NEW = "NEW"  # a device the account never used: the « nouvel appareil » alert


async def seen(store: Store, subject: str, device: str) -> Seen:
    """Whether `device` is new to the account (without recording it: see `remember`)."""
    record = await store.get(f"devices:{subject}")
    if record is None or not record.get("known"):
        return Seen.FIRST
    return Seen.KNOWN if device_digest(subject, device) in record["known"] else Seen.NEW


async def remember(store: Store, subject: str, device: str) -> None:
    """Record a device the account signed in from (a successful sign-in)."""
    record = await store.get(f"devices:{subject}") or {"known": []}
    digest = device_digest(subject, device)
    known = [d for d in record["known"] if d != digest] + [digest]
    await store.put(f"devices:{subject}", {"known": known[-KNOWN_KEPT:]}, KNOWN_TTL_S)


# ---- « Safari sur iPhone » ------------------------------------------------------------------------
APPS = [  # the insurer's own apps name themselves in their user agent
    (
        re.compile(r"EspaceClient/.*\b(iOS|iPhone|iPad)\b|\b(iOS|iPhone|iPad)\b.*EspaceClient/"),
        "Application iPhone",
    ),
    (re.compile(r"EspaceClient/.*Android|Android.*EspaceClient/|okhttp/"), "Application Android"),
    (re.compile(r"EspaceClient/|CFNetwork/"), "Application iPhone"),
]
BROWSERS = [  # order matters: Edge and Opera also say Chrome, Chrome also says Safari
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/|AppleWebKit/"), "Safari"),
]
SYSTEMS = [
    (re.compile(r"iPhone"), "iPhone"),
    (re.compile(r"iPad"), "iPad"),
    (re.compile(r"Android.*Mobile"), "téléphone Android"),
    (re.compile(r"Android"), "tablette Android"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"CrOS"), "Chromebook"),
    (re.compile(r"Mac OS X|Macintosh"), "Mac"),
    (re.compile(r"Linux"), "Linux"),
]


def device_label(user_agent: str | None) -> str:
    """What « Appareils connectés » shows for a session: « Safari sur iPhone », « Application
    Android »; « Appareil inconnu » when the user agent says nothing we know."""
    agent = (user_agent or "")[:512]
    for pattern, label in APPS:
        if pattern.search(agent):
            return label
    browser = next((name for pattern, name in BROWSERS if pattern.search(agent)), None)
    system = next((name for pattern, name in SYSTEMS if pattern.search(agent)), None)
    if browser and system:
        return f"{browser} sur {system}"
    if browser or system:
        return browser or f"Navigateur sur {system}"
    return "Appareil inconnu"
