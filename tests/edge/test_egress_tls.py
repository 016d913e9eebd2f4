"""The gateway against a back-end served over HTTPS by its own process (uvicorn, a test CA made here,
client certificates required), directly and through a real CONNECT proxy (pproxy).

A customer sees a refused certificate as any unreachable back-end (`BACKEND_UNAVAILABLE`); the
operator sees its cause in the `backend_unreachable` log line and `gateway_backend_failures`.

A server that refuses the gateway's missing client certificate says so with a TLS alert
(`certificate_required`), which is how the gateway knows the cause; Python's asyncio TLS servers
(uvicorn) close the connection without sending it, so that case is also run against
`openssl s_server`, whose alert is the one nginx or a load balancer sends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from mocks import MockSystem
from mocks.processes import free_port
from tests.support.gateway import PERSONAS, codes, serve
from tests.support.tls import Pki, https_mock


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.made_in(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def crm_over_tls(pki: Pki) -> Iterator[str]:
    with https_mock("crm", pki) as url:
        yield url


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.lower() in ("https_proxy", "http_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


def failures(cause: str) -> float:
    labels = {"backend": "crm", "cause": cause}
    return REGISTRY.get_sample_value("gateway_backend_failures_total", labels) or 0.0


def unreachable_causes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The causes of the `backend_unreachable` lines logged for the CRM."""
    found = []
    for record in caplog.records:
        event = record.msg if isinstance(record.msg, dict) else {}
        if event.get("event") == "backend_unreachable" and event.get("backend") == "crm":
            found.append(str(event["cause"]))
    return found


async def home_page(mocks: dict[str, MockSystem], **settings: Any) -> dict[str, Any]:
    """HomePage for Chris, the CRM reached over the network, the other systems in process."""
    in_process = {name: mock for name, mock in mocks.items() if name != "crm"}
    async with serve(in_process, **settings) as gateway:
        assert "crm" not in gateway.app.state.services.backends.in_process
        return await gateway.run("HomePage", as_=PERSONAS["chris"])


async def test_a_page_is_served_by_a_back_end_that_requires_our_client_certificate(
    mocks: dict[str, MockSystem], pki: Pki, crm_over_tls: str, no_proxy_settings: Any
) -> None:
    body = await home_page(
        mocks,
        crm_url=crm_over_tls,
        backend_ca_file=pki.ca,  # shared by every back-end
        crm_cert_file=pki.cert("client"),  # the CRM's own client certificate
        crm_key_file=pki.key("client"),
    )
    assert "errors" not in body, body
    assert body["data"]["viewer"]["displayName"] == "Chris MARTIN"


async def test_without_a_client_certificate_the_back_end_is_unavailable_and_never_asked(
    mocks: dict[str, MockSystem], pki: Pki, crm_over_tls: str, no_proxy_settings: Any
) -> None:
    async with httpx.AsyncClient(verify=pki.client_context()) as control:
        await control.post(crm_over_tls + "/_admin/reset")
        body = await home_page(mocks, crm_url=crm_over_tls, backend_ca_file=pki.ca)
        calls = (await control.get(crm_over_tls + "/_admin/calls")).json()
    assert codes(body) and set(codes(body)) == {"BACKEND_UNAVAILABLE"}, body
    assert "/crm/api/clients" not in str(calls)  # refused at the TLS layer, before any HTTP


@pytest.fixture(scope="module")
def openssl_server(pki: Pki) -> Iterator[str]:
    """`openssl s_server` asking for a client certificate from the PKI's CA; its base URL."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    port = free_port()
    args = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-www", "-quiet"]
    args += ["-cert", str(pki.cert("server")), "-key", str(pki.key("server"))]
    args += ["-CAfile", str(pki.ca), "-Verify", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"https://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_missing_client_certificate_is_logged_as_a_certificate_failure(
    mocks: dict[str, MockSystem],
    pki: Pki,
    openssl_server: str,
    no_proxy_settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.backends")
    before = failures("certificate")
    body = await home_page(mocks, crm_url=openssl_server, backend_ca_file=pki.ca)
    assert codes(body) and set(codes(body)) == {"BACKEND_UNAVAILABLE"}, body
    assert "certif" not in str(body["errors"]).lower()
    assert failures("certificate") > before
    assert set(unreachable_causes(caplog)) == {"certificate"}


@pytest.mark.parametrize(
    ("server", "ca", "client_certificate"),
    [
        pytest.param("server", "stranger_ca", True, id="server-of-an-unknown-ca"),
        pytest.param("expired", "ca", True, id="expired-server-certificate"),
        pytest.param("elsewhere", "ca", True, id="certificate-for-another-host"),
    ],
)
async def test_a_refused_certificate_is_backend_unavailable_and_logged_as_a_certificate_failure(
    mocks: dict[str, MockSystem],
    pki: Pki,
    crm_over_tls: str,
    no_proxy_settings: Any,
    caplog: pytest.LogCaptureFixture,
    server: str,
    ca: str,
    client_certificate: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.backends")
    settings: dict[str, Any] = {"backend_ca_file": pki.ca if ca == "ca" else pki.stranger_ca}
    if client_certificate:
        settings |= {"backend_cert_file": pki.cert("client"), "backend_key_file": pki.key("client")}
    before = failures("certificate")
    if server == "server":
        body = await home_page(mocks, crm_url=crm_over_tls, **settings)
    else:
        with https_mock("crm", pki, server=server) as url:
            body = await home_page(mocks, crm_url=url, **settings)
    assert codes(body) and set(codes(body)) == {"BACKEND_UNAVAILABLE"}, body
    assert body["data"] is None or body["data"]["viewer"] is None
    said = str(body["errors"]).lower()
    assert "certif" not in said and "127.0.0.1" not in said and "ssl" not in said
    assert failures("certificate") > before
    causes = unreachable_causes(caplog)
    assert causes and set(causes) == {"certificate"}, causes


# ---- through an egress proxy ----------------------------------------------------------------------


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the proxy exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """pproxy, an HTTP proxy that tunnels `CONNECT`; its URL and the file of its verbose log."""
    port = free_port()
    log = tmp_path_factory.mktemp("proxy") / "pproxy.log"
    # `python -m pproxy -l http://…`, on asyncio's own loop: pproxy installs uvloop when it finds
    # it, then asks for a current loop the way uvloop refuses on Python 3.11
    run = "import sys; sys.modules['uvloop'] = None; from pproxy.server import main; main()"
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-c", run, "-l", f"http://127.0.0.1:{port}", "-v"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_for_port(port, proc)
            yield f"http://127.0.0.1:{port}", log
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def tunnels(log: Path, target: str) -> int:
    """Connections the proxy opened to `target` (host:port), from its verbose log."""
    return sum(target in line for line in log.read_text(errors="replace").splitlines())


async def test_calls_to_an_https_back_end_go_through_the_egress_proxy(
    mocks: dict[str, MockSystem],
    pki: Pki,
    crm_over_tls: str,
    proxy: tuple[str, Path],
    no_proxy_settings: pytest.MonkeyPatch,
) -> None:
    proxy_url, log = proxy
    target = crm_over_tls.removeprefix("https://")
    before = tunnels(log, target)
    no_proxy_settings.setenv("HTTPS_PROXY", proxy_url)
    body = await home_page(
        mocks,
        crm_url=crm_over_tls,
        backend_ca_file=pki.ca,
        backend_cert_file=pki.cert("client"),
        backend_key_file=pki.key("client"),
    )
    assert "errors" not in body, body
    await asyncio.sleep(0.2)  # the proxy's log line is written as the tunnel opens: let it land
    assert tunnels(log, target) > before, log.read_text(errors="replace")[-2000:]


async def test_no_proxy_hosts_are_reached_directly_and_a_dead_proxy_is_a_proxy_failure(
    mocks: dict[str, MockSystem],
    pki: Pki,
    crm_over_tls: str,
    proxy: tuple[str, Path],
    no_proxy_settings: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.backends")
    proxy_url, log = proxy
    target = crm_over_tls.removeprefix("https://")
    tls = {
        "backend_ca_file": pki.ca,
        "backend_cert_file": pki.cert("client"),
        "backend_key_file": pki.key("client"),
    }
    before = tunnels(log, target)
    no_proxy_settings.setenv("HTTPS_PROXY", proxy_url)
    no_proxy_settings.setenv("NO_PROXY", "localhost,127.0.0.1")
    body = await home_page(mocks, crm_url=crm_over_tls, **tls)
    assert "errors" not in body, body
    await asyncio.sleep(0.2)
    assert tunnels(log, target) == before  # not through the proxy

    no_proxy_settings.delenv("NO_PROXY")
    no_proxy_settings.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")  # nobody there
    failed_before = failures("proxy")
    body = await home_page(mocks, crm_url=crm_over_tls, **tls)
    assert set(codes(body)) == {"BACKEND_UNAVAILABLE"}, body
    assert failures("proxy") > failed_before
    assert set(unreachable_causes(caplog)) == {"proxy"}
