"""The test-only /_admin surface every mock offers: faults, call log, reset, clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from mocks import MockSystem
from tests.conftest import admin

DEFAULTS = {
    "latency_ms": 0,
    "jitter_ms": 0,
    "error_rate": 0.0,
    "error_status": 503,
    "timeout_rate": 0.0,
    "hang_ms": 30000,
    "quirk_rate": 0.0,
    "seed": None,
    "routes": None,
}
SYSTEM_CALLS = {
    "policy-admin": ("GET", "/api/v1/contrats/AA565656", {"X-Api-Key": "dev-policy-admin-key"}),
    "claims": (
        "GET",
        "/prestations/v2/dossiers/185501146",
        {"Authorization": "Basic Z2F0ZXdheTpkZXYtY2xhaW1zLXBhc3N3b3Jk"},
    ),
    "crm": ("GET", "/crm/api/clients/C0001001", {"Authorization": "Bearer dev-crm-token"}),
}


@pytest.mark.parametrize("system", ["policy-admin", "claims", "editique", "crm"])
async def test_put_replaces_every_setting_and_get_shows_all_keys(
    mocks: dict[str, MockSystem], system: str
) -> None:
    async with admin(mocks[system]) as client:
        assert (await client.get("/_admin/faults")).json() == DEFAULTS
        await client.put("/_admin/faults", json={"latency_ms": 5, "seed": 3})
        answer = await client.put("/_admin/faults", json={"error_rate": 1.0})
        assert answer.json() == {**DEFAULTS, "error_rate": 1.0}


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"latency": 1},
        {"error_rate": 2},
        {"error_status": 404},
        {"seed": "x"},
        {"routes": "x"},
        {"error_rate": 0.6, "timeout_rate": 0.5},
        {"latency_ms": -1},
        {"error_status": True},
    ],
)
async def test_bad_fault_settings_are_refused_and_change_nothing(
    mocks: dict[str, MockSystem], body: object
) -> None:
    async with admin(mocks["claims"]) as client:
        response = await client.put("/_admin/faults", json=body)
        assert response.status_code == 400 and response.json()["error"]
        assert (await client.get("/_admin/faults")).json() == DEFAULTS


async def test_unknown_admin_path_and_method(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["claims"]) as client:
        assert (await client.get("/_admin/nothing")).json() == {"error": "not found"}
        assert (await client.get("/_admin/outbox")).status_code == 404
        response = await client.post("/_admin/faults")
        assert (response.status_code, response.json()) == (405, {"error": "method not allowed"})


@pytest.mark.parametrize("system", ["policy-admin", "claims", "crm"])
async def test_error_rate_one_answers_the_configured_status_every_time(
    mocks: dict[str, MockSystem], system: str
) -> None:
    method, path, headers = SYSTEM_CALLS[system]
    async with admin(mocks[system]) as client:
        for status in (429, 500, 502, 503, 504):
            await client.put("/_admin/faults", json={"error_rate": 1.0, "error_status": status})
            answers = [await client.request(method, path, headers=headers) for _ in range(5)]
            assert {a.status_code for a in answers} == {status}
            if status == 429:
                assert all(a.headers["retry-after"] == "1" for a in answers)


async def test_latency_shows_in_timings_and_the_call_log(mocks: dict[str, MockSystem]) -> None:
    method, path, headers = SYSTEM_CALLS["claims"]
    async with admin(mocks["claims"]) as client:
        await client.put("/_admin/faults", json={"latency_ms": 80})
        started = time.perf_counter()
        await client.request(method, path, headers=headers)
        assert time.perf_counter() - started >= 0.08
        [call] = (await client.get("/_admin/calls")).json()["calls"]
        assert call["duration_ms"] >= 80 and call["status"] == 200 and call["fault"] is None


async def test_a_seed_reproduces_the_same_outcomes(mocks: dict[str, MockSystem]) -> None:
    method, path, headers = SYSTEM_CALLS["policy-admin"]
    settings = {"error_rate": 0.3, "quirk_rate": 0.3, "seed": 42}
    runs = []
    async with admin(mocks["policy-admin"]) as client:
        for _ in range(2):
            await client.put("/_admin/faults", json=settings)
            runs.append(
                [
                    (await client.request(method, path, headers=headers)).json()["CODE_RETOUR"]
                    for _ in range(30)
                ]
            )
    assert runs[0] == runs[1]
    assert {"0000", "E503", "E999"} <= set(runs[0])


async def test_routes_limit_faults_to_matching_requests(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["claims"]) as client:
        headers = SYSTEM_CALLS["claims"][2]
        await client.put(
            "/_admin/faults",
            json={"error_rate": 1.0, "routes": ["GET /prestations/v2/reglements/{refReglement}"]},
        )
        assert (
            await client.get("/prestations/v2/dossiers/185501146", headers=headers)
        ).status_code == 200
        assert (
            await client.get("/prestations/v2/reglements/AVTC0046211800749", headers=headers)
        ).status_code == 503
        await client.put(
            "/_admin/faults", json={"error_rate": 1.0, "routes": ["/prestations/v2/dossiers"]}
        )
        assert (
            await client.get("/prestations/v2/dossiers/185501146", headers=headers)
        ).status_code == 503
        assert (
            await client.get("/prestations/v2/reglements/AVTC0046211800749", headers=headers)
        ).status_code == 200


async def test_timeout_processes_at_once_and_holds_the_answer(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["crm"]) as client:
        headers = SYSTEM_CALLS["crm"][2]
        await client.put(
            "/_admin/faults",
            json={
                "timeout_rate": 1.0,
                "hang_ms": 5000,
                "routes": ["POST /crm/api/clients/{clientId}/demandes"],
            },
        )
        body = {
            "type": "MESSAGE",
            "sujet": "a",
            "description": "b",
            "referenceExterne": "gw-hang-1",
        }
        post = asyncio.ensure_future(
            client.post("/crm/api/clients/C0001001/demandes", json=body, headers=headers)
        )
        await asyncio.sleep(0.05)
        found = await client.get(
            "/crm/api/demandes", params={"referenceExterne": "gw-hang-1"}, headers=headers
        )
        assert len(found.json()["demandes"]) == 1  # committed while the answer is still held
        calls = (await client.get("/_admin/calls")).json()["calls"]
        assert calls[0]["fault"] == "timeout" and calls[0]["status"] is None
        post.cancel()


async def test_call_log_records_every_legacy_request_with_route_keys(
    mocks: dict[str, MockSystem],
) -> None:
    async with admin(mocks["policy-admin"]) as client:
        await client.get("/api/v1/contrats/596054210?x=1")  # unauthenticated: still logged
        await client.get("/api/v1/contrats/recherche", headers=SYSTEM_CALLS["policy-admin"][2])
        await client.get("/openapi.json")
        log = (await client.get("/_admin/calls")).json()
        assert [(c["seq"], c["route"], c["status"], c["query"]) for c in log["calls"]] == [
            (1, "GET /api/v1/contrats/{NUM_CTR}", 401, "x=1"),
            (2, "GET (unmatched)", 405, ""),
        ]
        assert (
            log["counts"] == {"GET /api/v1/contrats/{NUM_CTR}": 1, "GET (unmatched)": 1}
            and log["total"] == 2
        )
        assert log["calls"][0]["at"].endswith(("+01:00", "+02:00"))
        assert [c["seq"] for c in (await client.get("/_admin/calls?since=1")).json()["calls"]] == [
            2
        ]
        assert (await client.delete("/_admin/calls")).status_code == 204
        assert (await client.get("/_admin/calls")).json() == {"calls": [], "counts": {}, "total": 0}


async def test_editique_calls_are_keyed_by_operation(mocks: dict[str, MockSystem]) -> None:
    from tests.support.contract import soap_envelope

    async with admin(mocks["editique"]) as client:
        await client.post(
            "/editique/ws",
            content=soap_envelope("RechercherDocuments", {"idPersonne": "EDQ-1001"}),
            headers={"Content-Type": "text/xml"},
        )
        await client.post(
            "/editique/ws",
            content=soap_envelope("Inconnue", {}),
            headers={"Content-Type": "text/xml"},
        )
        await client.get("/editique/ws?wsdl")
        calls = (await client.get("/_admin/calls")).json()["calls"]
        assert [(c["route"], c["operation"]) for c in calls] == [
            ("POST /editique/ws RechercherDocuments", "RechercherDocuments"),
            ("POST (unmatched)", "Inconnue"),
        ]


async def test_reset_restores_fixtures_faults_log_and_clock(mocks: dict[str, MockSystem]) -> None:
    headers = SYSTEM_CALLS["crm"][2]
    async with admin(mocks["crm"]) as client:
        await client.patch(
            "/crm/api/clients/C0001001/contact", json={"email": "autre@example.fr"}, headers=headers
        )
        await client.put("/_admin/faults", json={"latency_ms": 1})
        await client.put("/_admin/clock", json={"offset_s": -3600})
        await client.post(
            "/crm/api/comptes/mot-de-passe-oublie",
            json={"email": "chris.martin@example.fr"},
            headers=headers,
        )
        assert (await client.post("/_admin/reset")).status_code == 204
        assert (await client.get("/crm/api/clients/C0001001", headers=headers)).json()[
            "email"
        ] == "chris.martin@example.fr"
        assert (await client.get("/_admin/faults")).json() == DEFAULTS
        assert (await client.get("/_admin/clock")).json()["offset_s"] == 0
        assert (await client.get("/_admin/outbox")).json() == {
            "emails": [],
            "sms": [],
            "push": [],
        }
        assert (await client.get("/_admin/calls")).json()["total"] == 1


async def test_clock_offset_is_validated(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["claims"]) as client:
        shifted = (await client.put("/_admin/clock", json={"offset_s": 86401})).json()
        assert shifted["offset_s"] == 86401
        assert (await client.put("/_admin/clock", json={"offset_s": "x"})).status_code == 400
