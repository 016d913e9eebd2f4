"""The mocks as separate processes over real HTTP: `python -m mocks SYSTEM --port N` and `all`."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import httpx
import pytest
import zeep
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from mocks.processes import free_port, mock_servers, port_is_free, process
from tests.support.contract import check_rest


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def test_rest_mocks_answer_over_http_as_documented(served: dict[str, str]) -> None:
    calls = [
        ("policy-admin", "/api/v1/contrats/ADH184068708", {"X-Api-Key": "dev-policy-admin-key"}),
        (
            "claims",
            "/prestations/v2/reglements/AVTC0046211800749",
            {"Authorization": "Basic Z2F0ZXdheTpkZXYtY2xhaW1zLXBhc3N3b3Jk"},
        ),
        ("crm", "/crm/api/clients/C0009001", {"Authorization": "Bearer dev-crm-token"}),
    ]
    for system, path, headers in calls:
        response = httpx.get(served[system] + path, headers=headers)
        assert response.status_code == 200
        check_rest(system, response)


def test_zeep_calls_every_editique_operation_with_a_username_token(served: dict[str, str]) -> None:
    client = zeep.Client(
        served["editique"] + "/editique/ws?wsdl",
        wsse=UsernameToken("gateway", "dev-editique-password"),
    )
    found = client.service.RechercherDocuments(
        idPersonne="EDQ-1001",
        dateDebut=datetime.date(2023, 10, 1),
        dateFin=datetime.date(2023, 10, 31),
    )
    assert [d.idDocument for d in found] == ["DOC20231020000312", "DOC20231020000311"]
    assert found[0].dateEmission.utcoffset() == datetime.timedelta(hours=2)
    pdf = client.service.RecupererDocument(idDocument="DOC20231020000311", idPersonne="EDQ-1001")
    assert (
        pdf.contenu.startswith(b"%PDF")
        and len(pdf.contenu) == pdf.tailleOctets == found[1].tailleOctets
    )
    made = client.service.GenererAttestation(
        idPersonne="EDQ-1003", numContrat="ADH184068708", typeAttestation="ATTA"
    )
    assert made.typeDocument == "ATTA" and made.bloc == "CONTRAT"
    with pytest.raises(Fault) as fault:
        client.service.RecupererDocument(idDocument="DOC20231020000311", idPersonne="EDQ-1002")
    assert "Document inconnu" in fault.value.message
    wrong = zeep.Client(
        served["editique"] + "/editique/ws?wsdl", wsse=UsernameToken("gateway", "wrong")
    )
    with pytest.raises(Fault, match="Authentification"):
        wrong.service.RechercherDocuments(idPersonne="EDQ-1001")


def test_injected_latency_and_hang_over_real_http(served: dict[str, str]) -> None:
    url, headers = served["claims"], {"Authorization": "Basic Z2F0ZXdheTpkZXYtY2xhaW1zLXBhc3N3b3Jk"}
    httpx.put(url + "/_admin/faults", json={"latency_ms": 100})
    started = time.perf_counter()
    assert httpx.get(url + "/prestations/v2/dossiers/185501146", headers=headers).status_code == 200
    assert time.perf_counter() - started >= 0.1
    httpx.put(url + "/_admin/faults", json={"timeout_rate": 1.0, "hang_ms": 3000})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url + "/prestations/v2/dossiers/185501146", headers=headers, timeout=0.3)
    httpx.post(url + "/_admin/reset")


@pytest.mark.skipif(
    not all(port_is_free(p) for p in range(9001, 9005)), reason="ports 9001-9004 are in use"
)
def test_mocks_all_serves_the_four_systems_on_their_usual_ports() -> None:
    urls = [f"http://127.0.0.1:{port}/_admin/faults" for port in range(9001, 9005)]
    with process(["-m", "mocks", "all"], urls):
        assert httpx.get("http://127.0.0.1:9003/editique/ws?wsdl").status_code == 200
        assert (
            httpx.get(
                "http://127.0.0.1:9004/crm/api/types-demandes",
                headers={"Authorization": "Bearer dev-crm-token"},
            ).status_code
            == 200
        )


def test_mocks_all_serves_the_four_systems_from_a_base_port() -> None:
    """A machine where 9001-9004 are taken still runs the mocks over HTTP, on four ports in a row."""
    base = next(
        port
        for port in iter(free_port, None)
        if port < 65_000 and all(port_is_free(port + offset) for offset in range(4))
    )
    urls = [f"http://127.0.0.1:{base + offset}/_admin/faults" for offset in range(4)]
    with process(["-m", "mocks", "all", "--base-port", str(base)], urls):
        assert httpx.get(f"http://127.0.0.1:{base + 2}/editique/ws?wsdl").status_code == 200
        crm = httpx.get(
            f"http://127.0.0.1:{base + 3}/crm/api/types-demandes",
            headers={"Authorization": "Bearer dev-crm-token"},
        )
        assert crm.status_code == 200
