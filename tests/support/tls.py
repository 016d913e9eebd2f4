"""A test PKI made in the test (trustme) and mocks served over HTTPS by uvicorn as processes."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

from mocks.processes import free_port, process


@dataclass(frozen=True)
class Pki:
    """PEM files in `folder`: the CA the back-ends' certificates come from (`ca`), a CA nobody
    uses (`stranger_ca`), server certificates for 127.0.0.1 (valid, expired, or for another
    host), and the gateway's client certificate and key, issued by `ca`."""

    folder: Path
    authority: trustme.CA

    @classmethod
    def made_in(cls, folder: Path) -> Pki:
        authority = trustme.CA(organization_name="Assureur test")
        authority.cert_pem.write_to_path(str(folder / "ca.pem"))
        trustme.CA().cert_pem.write_to_path(str(folder / "stranger-ca.pem"))
        past = datetime.now(UTC) - timedelta(days=30)
        leaves = {
            "server": authority.issue_cert("127.0.0.1", "localhost"),
            "expired": authority.issue_cert(
                "127.0.0.1", not_before=past - timedelta(days=365), not_after=past
            ),
            "elsewhere": authority.issue_cert("backend.elsewhere.example"),
            "client": authority.issue_cert(common_name="gateway", organization_name="Gateway"),
        }
        for name, leaf in leaves.items():
            leaf.cert_chain_pems[0].write_to_path(str(folder / f"{name}.pem"))
            leaf.private_key_pem.write_to_path(str(folder / f"{name}-key.pem"))
        return cls(folder, authority)

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def stranger_ca(self) -> Path:
        return self.folder / "stranger-ca.pem"

    def cert(self, name: str) -> Path:
        return self.folder / f"{name}.pem"

    def key(self, name: str) -> Path:
        return self.folder / f"{name}-key.pem"

    def client_context(self) -> ssl.SSLContext:
        """What a well-configured caller uses: our CA, our client certificate, no host check (a
        readiness probe of a server whose certificate may be expired or for another host)."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(str(self.cert("client")), str(self.key("client")))
        return context


@contextmanager
def https_mock(system: str, pki: Pki, server: str = "server") -> Iterator[str]:
    """`python -m mocks SYSTEM` over HTTPS with the `server` certificate, asking every caller for
    a client certificate issued by the PKI's CA; its base URL."""
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    args = ["-m", "mocks", system, "--port", str(port)]
    args += ["--ssl-certfile", str(pki.cert(server)), "--ssl-keyfile", str(pki.key(server))]
    args += ["--ssl-ca-certs", str(pki.ca), "--require-client-cert"]
    with process(args, [url + "/_admin/faults"], verify=pki.client_context()):
        yield url
