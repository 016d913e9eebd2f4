"""`python -m mocks SYSTEM --port N` serves one mock; `python -m mocks all` serves the four.

`all` binds 9001–9004 (policy admin, claims, éditique, CRM), or N to N+3 in that order with
`--base-port N`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn

from . import PORTS, SYSTEMS, build_mock


async def serve(systems: list[tuple[str, int]], host: str) -> None:
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                build_mock(name), host=host, port=port, log_level="warning", lifespan="off"
            )
        )
        for name, port in systems
    ]
    for (name, port), _ in zip(systems, servers, strict=True):
        print(f"mock {name} on http://{host}:{port}", flush=True)
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(systems, args.host))


if __name__ == "__main__":
    main()
