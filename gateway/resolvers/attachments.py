"""Attachments: typed by their bytes (PDF, JPEG, PNG), at most 10 MiB, forwarded to the CRM and
remembered as this viewer's for 24 h (the CRM knows no owner: quirk 6 and its service token)."""

from __future__ import annotations

import re
import time
from typing import Any

from gateway.adapters.crm import demandes as crm_demandes
from gateway.context import Context
from gateway.domain.records import Attachment
from gateway.resolvers.demandes import ATTACHMENT_LIFE_S, attachment_key, customer_of, own_scope
from gateway.resolvers.problems import Problem, Refused

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def sniffed(content: bytes) -> str | None:
    return next((mime for magic, mime in SIGNATURES.items() if content.startswith(magic)), None)


def file_name(raw: str | None, mime: str) -> str:
    name = re.split(r"[\\/]", raw or "")[-1].strip()
    name = "".join(c for c in name if c.isprintable())[:255]
    return name or f"piece-jointe{EXTENSIONS[mime]}"


async def upload(ctx: Context, file: Any) -> Attachment:
    scope = await own_scope(ctx)
    read = getattr(file, "read", None)
    if read is None:
        raise Refused([Problem("file", "REQUIRED", "Joignez un fichier.")])
    content: bytes = await read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise Refused([Problem("file", "TOO_LARGE", "Le fichier dépasse 10 Mo.")])
    if not content:
        raise Refused([Problem("file", "REQUIRED", "Le fichier est vide.")])
    mime = sniffed(content)
    if mime is None:
        raise Refused([Problem("file", "UNSUPPORTED_TYPE", "Formats acceptés : PDF, JPEG ou PNG.")])
    result = await crm_demandes.upload(
        ctx.services.backends.crm, file_name(getattr(file, "filename", None), mime), mime, content
    )
    if isinstance(result, list):
        raise Refused([Problem("file", "REFUSED", "Le service client a refusé ce fichier.")])
    await ctx.services.store.put(
        attachment_key(result.id),
        {"owner": customer_of(scope).client_id, "uploaded_at": time.time(), "used": False},
        2 * ATTACHMENT_LIFE_S,  # kept past its life, so an expired one says so
    )
    return result
