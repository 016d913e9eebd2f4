"""Logs: one JSON line per request with what operators need, and no personal data anywhere."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import structlog

from gateway.observability import logs
from mocks import MockSystem
from mocks.processes import ROOT, free_port, process
from tests.conftest import faults
from tests.support.gateway import PERSONAS, Gateway, fixture, operation, serve

SENSITIVE_KEYS = {
    "NOM",
    "PRENOM",
    "RAISON_SOC_ENT",
    "IBAN",
    "nom",
    "prenom",
    "raisonSociale",
    "nomAffilie",
    "email",
    "motDePasse",
}


def personal_data() -> set[str]:
    """Every name, e-mail, IBAN and password of the fixtures (values of 4 characters or more)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SENSITIVE_KEYS and isinstance(value, str) and len(value) >= 4:
                    found.add(value)
                    if key == "IBAN":
                        found.add(value.replace(" ", ""))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for name in ("crm", "policy_admin", "claims", "editique"):
        walk(fixture(name))
    return found


@contextmanager
def captured() -> Iterator[io.StringIO]:
    """Every log record of the process, rendered as production renders it (JSON lines)."""
    stream = io.StringIO()
    handler = logs.handler(stream, production=True)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_a_request_is_one_json_line_with_id_operation_viewer_and_timings(
    gateway: Gateway,
) -> None:
    with captured() as stream:
        response = await gateway.http.post(
            "/graphql",
            json={"query": operation("HomePage")},
            headers={
                "Authorization": f"Bearer {gateway.token(PERSONAS['chris'])}",
                "X-Request-Id": "front-5f1c2a9e",
            },
        )
    assert response.headers["x-request-id"] == "front-5f1c2a9e"
    events = [e for e in lines(stream) if e["event"] == "request"]
    assert len(events) == 1
    line = events[0]
    print(json.dumps(line, ensure_ascii=False))
    assert line["request_id"] == "front-5f1c2a9e" and line["level"] == "info"
    assert line["operation"] == "HomePage" and line["outcome"] == "ok" and line["status"] == 200
    assert re.fullmatch(r"[0-9a-f]{16}", line["viewer"])
    assert line["duration_ms"] > 0 and line["timestamp"].endswith("Z")
    assert set(line["backends"]) == {"crm", "policy-admin", "claims", "editique"}
    assert line["backends"]["crm"]["calls"] == 2
    text = stream.getvalue()
    assert PERSONAS["chris"] not in text and "MARTIN" not in text


async def test_without_the_access_log_a_request_writes_no_line_but_errors_still_do(
    mocks: dict[str, MockSystem],
) -> None:
    """`GATEWAY_ACCESS_LOG=false` (`serve --no-access-log`): no `request` line, no uvicorn access
    line (that one is always off: the `request` line replaces it); an error is still logged."""
    logs.configure(production=True)
    async with serve(mocks, access_log=False) as quiet:
        with captured() as stream:
            logging.getLogger("uvicorn.access").info('%s - "%s %s"', "127.0.0.1:1", "GET", "/")
            body = await quiet.run("HomePage", as_=PERSONAS["chris"])
            assert "errors" not in body
            quiet.mocks["crm"].clients[PERSONAS["geralt"]]["preferences"] = None  # type: ignore[attr-defined]
            failed = await quiet.run("Profile", as_=PERSONAS["geralt"])
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert [e["event"] for e in lines(stream)] == ["unexpected_error"]


async def test_an_unexpected_error_is_logged_without_locals_or_back_end_data(
    gateway: Gateway,
) -> None:
    client = gateway.mocks["crm"].clients[PERSONAS["geralt"]]  # type: ignore[attr-defined]
    client["preferences"] = None  # the CRM answers a record the adapter cannot read
    with captured() as stream:
        body = await gateway.run("Profile", as_=PERSONAS["geralt"])
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    errors = [e for e in lines(stream) if e["event"] == "unexpected_error"]
    assert len(errors) == 1
    trace = errors[0]["exception"]
    assert "TypeError" in trace and "customer" in trace  # the frames are there …
    assert errors[0]["request_id"] == body["errors"][0]["extensions"]["requestId"]
    text = stream.getvalue()
    for value in (client["nom"], client["prenom"], client["email"], client["mobile"]):
        assert value not in text  # … not the locals holding the CRM's body
    assert "raw =" not in text and "locals" not in text.lower()


def test_scrubbing_of_links_query_strings_tokens_and_ibans() -> None:
    logs.configure(production=True)
    with captured() as stream:
        logging.getLogger("uvicorn.error").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:50000",
            "GET",
            "/documents/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJDMDAwMSJ9.c2lnbmF0dXJl",
            "1.1",
            200,
        )
        logging.getLogger("uvicorn.error").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:1",
            "GET",
            "/graphql?query=x&v=C0001001",
            "1.1",
            200,
        )
        structlog.get_logger("gateway.test").warning(
            "odd",
            detail="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig FR7630006000011234567890189",
        )
    text = stream.getvalue()
    assert "/documents/[redacted]" in text and "eyJ" not in text
    assert "/graphql?[redacted]" in text and "C0001001" not in text
    assert "FR76" not in text and "[iban]" in text


async def test_a_representative_run_logs_no_personal_data(gateway: Gateway) -> None:
    """HomePage and every operation for several personas, staff reads, a failing back-end, an
    unexpected error, downloads and refused requests: every log line grepped."""
    needles = personal_data()
    assert len(needles) > 100
    tokens: list[str] = []
    with captured() as stream:
        for persona in ("chris", "geralt", "paul", "brico", "lefevre", "elodie"):
            token = gateway.token(PERSONAS[persona])
            tokens.append(token)
            home = await gateway.run("HomePage", token=token)
            for name in ("Profile", "Demandes", "Documents"):
                assert "errors" not in await gateway.run(name, token=token)
            viewer = home["data"]["viewer"]
            for contract in viewer["contracts"][:3]:
                await gateway.run("ContractPage", {"id": contract["id"]}, token=token)
                dossiers = await gateway.run(
                    "ContractDossiers", {"id": contract["id"]}, token=token
                )
                await gateway.run("ContractReglements", {"id": contract["id"]}, token=token)
                await gateway.run("CompanyAffiliates", {"contractId": contract["id"]}, token=token)
                for edge in ((dossiers["data"]["contract"] or {}).get("dossiers") or {}).get(
                    "edges", []
                )[:2]:
                    await gateway.run("DossierDetail", {"id": edge["node"]["id"]}, token=token)
            for edge in viewer["reglements"]["edges"][:2]:
                await gateway.run("ReglementDetail", {"id": edge["node"]["id"]}, token=token)
            for edge in viewer["demandes"]["edges"][:2]:
                await gateway.run("DemandeDetail", {"id": edge["node"]["id"]}, token=token)
            for edge in viewer["documents"]["edges"][:1]:
                link = edge["node"]["downloadUrl"]
                tokens.append(link.rsplit("/", 1)[1])
                pdf = await gateway.http.get(link.replace("http://gateway.test", ""))
                assert pdf.status_code == 200
        staff = gateway.token("agent-7", "staff")
        await gateway.run("dashboards/BackendHealth", token=staff)
        await gateway.run(
            "dashboards/DemandeStatistics", {"from": "2026-01-01", "to": "2026-11-24"}, token=staff
        )
        await gateway.run(
            "{ person(clientId: $id) { displayName email } }".replace("$id", '"C0001002"'),
            token=staff,
        )
        await gateway.run(
            'mutation { updateContactData(input: {email: "x@y", emailConfirmation: "x@y"}) '
            "{ userErrors { field code } } }",
            token=tokens[0],
        )
        await gateway.http.post(
            "/graphql",
            json={"query": "{ viewer { displayName } }"},
            headers={"Authorization": "Bearer " + tokens[0][:-3] + "abc"},
        )
        await gateway.clear_calls()  # cold cache: the failures below reach the back-ends
        await faults(gateway, "editique", error_rate=1.0, error_status=503)
        await faults(gateway, "claims", timeout_rate=1.0, hang_ms=2000)
        gateway.app.state.services.settings.request_deadline_s = 1.0
        await gateway.run("HomePage", as_=PERSONAS["geralt"])
        gateway.mocks["crm"].clients[PERSONAS["paul"]]["preferences"] = None  # type: ignore[attr-defined]
        await gateway.run("Profile", as_=PERSONAS["paul"])
    text = stream.getvalue()
    assert len(text.splitlines()) > 80 and "unexpected_error" in text and "staff_read" in text
    leaked = sorted(n for n in needles | set(tokens) if n in text)
    print(f"{len(text.splitlines())} log lines, {len(needles)} values searched: {len(leaked)} hits")
    assert leaked == []


def test_sigterm_lets_in_flight_requests_finish_and_access_logs_are_redacted() -> None:
    """`python -m gateway serve`: a request in flight when SIGTERM arrives is answered; the
    process ends within the grace period; its access log shows no signed link."""
    crm_port, port = free_port(), free_port()
    crm = f"http://127.0.0.1:{crm_port}"
    with process(["-m", "mocks", "crm", "--port", str(crm_port)], [crm + "/_admin/faults"]):
        httpx.put(crm + "/_admin/faults", json={"latency_ms": 1500}).raise_for_status()
        env = {
            **os.environ,
            "CRM_URL": crm,
            "GATEWAY_TIMEOUT_CRM_S": "3",
            "GATEWAY_REQUEST_DEADLINE_S": "6",
            "GATEWAY_SHUTDOWN_GRACE_S": "5",
        }
        output = tempfile.TemporaryFile()  # noqa: SIM115
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(base + "/livez", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            httpx.get(base + "/documents/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
            from gateway.identity.tokens import TokenVerifier
            from gateway.settings import Settings

            token = TokenVerifier(Settings()).issue(PERSONAS["chris"], "customer")
            answers: list[httpx.Response] = []

            def slow() -> None:
                answers.append(
                    httpx.post(
                        base + "/graphql",
                        json={"query": "{ viewer { displayName } }"},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=15,
                    )
                )

            thread = threading.Thread(target=slow)
            thread.start()
            time.sleep(0.5)  # the request is waiting for the CRM
            started = time.monotonic()
            gateway.send_signal(signal.SIGTERM)
            thread.join(15)
            gateway.wait(10)
            stopped = time.monotonic() - started
        finally:
            if gateway.poll() is None:
                gateway.kill()
                gateway.wait()
        output.seek(0)
        printed = output.read().decode(errors="replace")
        output.close()
    assert answers and answers[0].status_code == 200, printed
    assert answers[0].json()["data"]["viewer"]["displayName"] == "Chris MARTIN"
    # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM is a clean exit
    assert gateway.returncode in (0, -signal.SIGTERM) and stopped < 5, (stopped, printed)
    assert "Finished server process" in printed
    assert "/documents/[redacted]" in printed and "eyJ" not in printed, printed
    assert "Chris" not in printed and "MARTIN" not in printed
    print(printed)


@pytest.mark.parametrize("production", [True, False])
def test_tracebacks_are_plain_in_both_renderers(production: bool) -> None:
    stream = io.StringIO()
    handler = logs.handler(stream, production=production)
    logger = logging.getLogger("gateway.tb")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        secret_body = {"nom": "DUPONT-SECRET"}  # a local the traceback must not show
        try:
            secret_body["absent"]
        except KeyError:
            logs.configure_structlog()
            structlog.get_logger("gateway.tb").error("boom", exc_info=True)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "KeyError" in text and "DUPONT-SECRET" not in text
