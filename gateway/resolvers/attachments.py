"""Attachments: at most 10 MiB, typed by their content (PDF, JPEG, PNG that parse as what their
name claims, without active content: `domain/files.py`), scanned by the antivirus
(`adapters/antivirus.py`), forwarded to the CRM under a safe name with the extension of their
real type, and remembered as this viewer's for 24 h (the CRM knows no owner: quirk 6 and its
service token). A refused file never reaches the CRM."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.adapters.antivirus import scanner
from gateway.adapters.crm import demandes as crm_demandes
from gateway.context import Context
from gateway.domain.files import FileRefusal, inspect, safe_name
from gateway.domain.records import Attachment
from gateway.resolvers.demandes import ATTACHMENT_LIFE_S, attachment_key, customer_of, own_scope
from gateway.resolvers.problems import Problem, Refused

MAX_BYTES = 10 * 1024 * 1024


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
    name = getattr(file, "filename", None)
    kind = await asyncio.to_thread(inspect, content, name)  # parsing is CPU: off the loop
    if isinstance(kind, FileRefusal):
        raise Refused([Problem("file", kind.code, kind.message)])
    settings = ctx.services.settings
    found = await scanner(settings.clamd_address, settings.clamd_timeout_s).found(content)
    if found is not None:
        raise Refused(
            [Problem("file", "INFECTED", "L'antivirus a trouvé un virus dans ce fichier.")]
        )
    result = await crm_demandes.upload(
        ctx.services.backends.crm, safe_name(name, kind), kind.mime, content
    )
    if isinstance(result, list):
        raise Refused([Problem("file", "REFUSED", "Le service client a refusé ce fichier.")])
    await ctx.services.store.put(
        attachment_key(result.id),
        {"owner": customer_of(scope).client_id, "uploaded_at": time.time(), "used": False},
        2 * ATTACHMENT_LIFE_S,  # kept past its life, so an expired one says so
    )
    return result
