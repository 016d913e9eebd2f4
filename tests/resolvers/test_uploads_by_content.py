"""Uploads typed by their content: a file reaches the CRM only when it parses as the type its
name claims, carries no active content and passes the antivirus, under a safe name with the
extension of its real type. Each refused file is one of an outside run that was accepted."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mocks.base import MockSystem
from tests.support.demarches import errors_of, posts, upload
from tests.support.files import ATTACKS, EICAR, JPEG, PDF, PNG
from tests.support.gateway import Gateway, codes, serve


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_file_that_is_not_what_it_claims_never_reaches_the_crm(
    gateway: Gateway, attack: str
) -> None:
    name, content, code = ATTACKS[attack]
    body = await upload(gateway, content, name)

    assert errors_of(body, "uploadAttachment") == [("file", code)], body
    assert body["data"]["uploadAttachment"]["attachment"] is None
    assert posts(gateway, route="/pieces-jointes") == 0


@pytest.mark.parametrize(
    ("sent", "content", "kept", "mime"),
    [
        ("facture.pdf", PDF, "facture.pdf", "application/pdf"),
        ("Facture Mars.PDF", PDF, "Facture Mars.pdf", "application/pdf"),
        ("photo.jpeg", JPEG, "photo.jpg", "image/jpeg"),
        ("scan", PNG, "scan.png", "image/png"),
        ("shell.php.png", PNG, "shell_php.png", "image/png"),
        (
            "C:\\Users\\x\\<img src=x onerror=alert(1)>.png",
            PNG,
            "img src_x onerror_alert(1).png",
            "image/png",
        ),
        ("../../etc/passwd.pdf", PDF, "passwd.pdf", "application/pdf"),
        ("...pdf", PDF, "piece-jointe.pdf", "application/pdf"),
    ],
)
async def test_an_accepted_file_is_kept_under_a_safe_name_of_its_real_type(
    gateway: Gateway, sent: str, content: bytes, kept: str, mime: str
) -> None:
    body = await upload(gateway, content, sent)

    attachment = body["data"]["uploadAttachment"]["attachment"]
    assert attachment["name"] == kept and attachment["mimeType"] == mime, body
    stored = gateway.mocks["crm"].pieces[attachment["id"]]  # type: ignore[attr-defined]
    assert stored["nom"] == kept and stored["contenu"] == content


async def clamd(path: Path, answers: list[bytes]) -> asyncio.Server:
    """A clamd speaking INSTREAM on a unix socket: FOUND for the EICAR string, OK otherwise."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readuntil(b"\0") == b"zINSTREAM\0"
        data = b""
        while size := struct.unpack("!L", await reader.readexactly(4))[0]:
            data += await reader.readexactly(size)
        answer = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
        answers.append(answer)
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(session, path=str(path))


@pytest.fixture
async def scanned(
    mocks: dict[str, MockSystem], tmp_path: Path
) -> AsyncIterator[tuple[Gateway, list[bytes]]]:
    answers: list[bytes] = []
    socket = tmp_path / "clamd.ctl"
    server = await clamd(socket, answers)
    async with server, serve(mocks, clamd_address=f"unix://{socket}") as gateway:
        yield gateway, answers


async def test_with_clamd_configured_every_upload_is_scanned_by_it(
    scanned: tuple[Gateway, list[bytes]],
) -> None:
    gateway, answers = scanned
    clean = await upload(gateway, PDF, "facture.pdf")
    infected = await upload(gateway, ATTACKS["EICAR inside a PDF"][1], "facture.pdf")

    assert clean["data"]["uploadAttachment"]["attachment"]["id"]
    assert errors_of(infected, "uploadAttachment") == [("file", "INFECTED")]
    assert answers == [b"stream: OK\0", b"stream: Eicar-Test-Signature FOUND\0"]
    assert posts(gateway, route="/pieces-jointes") == 1


async def test_a_configured_clamd_that_does_not_answer_refuses_the_upload(
    mocks: dict[str, MockSystem], tmp_path: Path
) -> None:
    async with serve(mocks, clamd_address=f"unix://{tmp_path / 'absent.ctl'}") as gateway:
        body = await upload(gateway, PDF, "facture.pdf")

    assert codes(body) == ["BACKEND_UNAVAILABLE"] and body["data"] is None
    assert posts(gateway, route="/pieces-jointes") == 0
