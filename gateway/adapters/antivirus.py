"""The antivirus every upload passes before it reaches the CRM: a `Scanner` says what it found.

    GATEWAY_CLAMD_ADDRESS set     `Clamd`: clamd's INSTREAM command over its socket (unix or
                                  TCP); a clamd that cannot answer within
                                  GATEWAY_CLAMD_TIMEOUT_S refuses the upload (BACKEND_UNAVAILABLE)
    unset                         `TestSignatures`: the EICAR test file only, found anywhere in
                                  the bytes; a check that the refusal path works, not an antivirus

INSTREAM (clamd(8)): `zINSTREAM\\0`, then chunks each preceded by its length on 4 bytes (network
order), a zero length to end; clamd answers `stream: OK` or `stream: <signature> FOUND`, ended by
`\\0`. No maintained asyncio clamd client is among the project's dependencies; this one speaks
that command alone.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from functools import cache
from typing import Protocol
from urllib.parse import urlsplit

from gateway.errors import BackendError

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CHUNK = 64 * 1024
MAX_REPLY = 4096


class Scanner(Protocol):
    async def found(self, content: bytes) -> str | None:
        """The name of what the scan found in `content`, None when it found nothing; raises
        `BackendError` when it cannot tell."""
        ...


@dataclass(frozen=True)
class TestSignatures:
    """The EICAR test file, wherever it is in the bytes."""

    async def found(self, content: bytes) -> str | None:
        return "Eicar-Test-Signature" if EICAR in content else None


@dataclass(frozen=True)
class Clamd:
    address: str  # unix:///path or tcp://host:port
    timeout_s: float

    async def found(self, content: bytes) -> str | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await self.instream(content)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise BackendError("antivirus") from None
        text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        if text.endswith("FOUND"):
            return text.removeprefix("stream:").removesuffix("FOUND").strip() or "unknown"
        if text.endswith("OK"):
            return None
        raise BackendError("antivirus")  # an ERROR (size limit, clamd's own trouble)

    async def instream(self, content: bytes) -> bytes:
        reader, writer = await self.connect()
        try:
            writer.write(b"zINSTREAM\0")
            for start in range(0, len(content), CHUNK):
                chunk = content[start : start + CHUNK]
                writer.write(struct.pack("!L", len(chunk)) + chunk)
                await writer.drain()
            writer.write(struct.pack("!L", 0))
            await writer.drain()
            return await reader.readuntil(b"\0")
        finally:
            writer.close()

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.address)
        if parts.scheme == "unix":
            return await asyncio.open_unix_connection(parts.path, limit=MAX_REPLY)
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            return await asyncio.open_connection(parts.hostname, parts.port, limit=MAX_REPLY)
        raise OSError(f"clamd address not understood: {self.address}")


@cache
def scanner(address: str | None, timeout_s: float) -> Scanner:
    """The scanner of the settings (`clamd_address`, `clamd_timeout_s`)."""
    return Clamd(address, timeout_s) if address else TestSignatures()
