"""`python -m mocks SYSTEM --port N` serves one mock; `python -m mocks all` serves the four.

`all` binds 9001–9004 (policy admin, claims, éditique, CRM), or N to N+3 in that order with
`--base-port N`. Over HTTPS with `--ssl-certfile` (and `--ssl-keyfile`); `--ssl-ca-certs` with
`--require-client-cert` asks every caller for a certificate that CA issued (mTLS)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
from typing import Any

import uvicorn

from . import PORTS, SYSTEMS, build_mock


async def serve(systems: list[tuple[str, int]], host: str, tls: dict[str, Any]) -> None:
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                build_mock(name), host=host, port=port, log_level="warning", lifespan="off", **tls
            )
        )
        for name, port in systems
    ]
    scheme = "https" if tls else "http"
    for (name, port), _ in zip(systems, servers, strict=True):
        print(f"mock {name} on {scheme}://{host}:{port}", flush=True)
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mocks", description=__doc__)
    parser.add_argument("system", choices=[*SYSTEMS, "all"])
    parser.add_argument(
        "--port", type=int, help="port of a single system (default: its usual port)"
    )
    parser.add_argument(
        "--base-port",
        type=int,
        help="with all: the first of four consecutive ports (default: 9001)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ssl-certfile", help="PEM certificate (and chain): serve HTTPS")
    parser.add_argument("--ssl-keyfile", help="PEM key of the certificate")
    parser.add_argument("--ssl-ca-certs", help="PEM CAs whose client certificates are accepted")
    parser.add_argument(
        "--require-client-cert", action="store_true", help="refuse callers without one (mTLS)"
    )
    args = parser.parse_args()
    if args.system == "all" and args.port is not None:
        parser.error("--port names one system's port: use --base-port with all")
    if args.system != "all" and args.base_port is not None:
        parser.error("--base-port is for all: use --port with one system")
    if args.system == "all":
        base = PORTS["policy-admin"] if args.base_port is None else args.base_port
        if not 1 <= base <= 65_532:
            parser.error(f"--base-port {base}: the four ports must lie within 1-65535")
        systems = [(name, base + offset) for offset, name in enumerate(PORTS)]
    else:
        systems = [(args.system, args.port or PORTS[args.system])]
    tls: dict[str, Any] = {}
    if args.ssl_certfile:
        tls = {"ssl_certfile": args.ssl_certfile, "ssl_keyfile": args.ssl_keyfile}
        if args.ssl_ca_certs:
            tls["ssl_ca_certs"] = args.ssl_ca_certs
        if args.require_client_cert:
            tls["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(systems, args.host, tls))


if __name__ == "__main__":
    main()
