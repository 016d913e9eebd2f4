"""`python -m mocks SYSTEM --port N` serves one mock; `python -m mocks all` serves 9001–9004."""

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
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    systems = (
        list(PORTS.items())
        if args.system == "all"
        else [(args.system, args.port or PORTS[args.system])]
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(systems, args.host))


if __name__ == "__main__":
    main()
