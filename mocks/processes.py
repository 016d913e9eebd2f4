"""Real processes on 127.0.0.1: the mocks (and the gateway) for tests and benchmarks over the network."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# a gateway with its in-process mocks starts in 7 s on an idle machine, in over 30 s on a CI
# machine running four test workers on two cores
READY_WITHIN_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@contextmanager
def process(
    args: Sequence[str],
    ready_urls: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = READY_WITHIN_S,
    verify: ssl.SSLContext | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `python args…` in the project, wait until every ready URL answers (HTTPS ones checked
    with `verify`), stop it after.

    Its output goes to a temporary file, never to an unread pipe (a full pipe blocks the process)."""
    output = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the process, closed below)
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        for url in ready_urls:
            while True:
                if proc.poll() is not None:
                    output.seek(0)
                    printed = output.read().decode(errors="replace")
                    raise RuntimeError(f"{args} exited with {proc.returncode}:\n{printed}")
                try:
                    httpx.get(url, timeout=1, verify=verify or True)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{url} not ready after {timeout}s") from None
                    time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.close()


SYSTEMS = ("policy-admin", "claims", "editique", "crm")


@contextmanager
def mock_servers() -> Iterator[dict[str, str]]:
    """The four mocks as separate processes (`python -m mocks SYSTEM --port N`); their base URLs."""
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in SYSTEMS}
    with ExitStack() as stack:
        for name, url in urls.items():
            port = url.rsplit(":", 1)[1]
            stack.enter_context(
                process(["-m", "mocks", name, "--port", port], [url + "/_admin/faults"])
            )
        yield urls


def pointing_at(urls: dict[str, str]) -> dict[str, str]:
    """The gateway's settings that send its calls to these mocks (`mock_servers`' URLs)."""
    from gateway.adapters.in_process import VARIABLES

    return {VARIABLES[name]: url for name, url in urls.items()}


@contextmanager
def gateway_server(env: dict[str, str], timeout: float = READY_WITHIN_S) -> Iterator[str]:
    """`python -m gateway serve` on a free port with `env`, ready (its /healthz answers); its URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["-m", "gateway", "serve", "--port", str(port)]
    with process(serve, [base + "/healthz"], env=env, timeout=timeout):
        yield base
