"""Trusted documents (the frontends' manifest) and APQ as Apollo Client's link speaks them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.engine.persisted import MANIFEST, build_manifest, load_manifest, render, sha256
from mocks import MockSystem
from tests.support.gateway import OPERATIONS, Gateway, codes, operation, serve

UNLISTED = "query Greeting { __typename }"
PREFERENCES = (
    "mutation Prefs { updatePreferences(input: {paperless: true, consents: "
    "{groupOffers: false, targetedCommunication: false, satisfactionSurveys: true}}) "
    "{ userErrors { code } } }"
)


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}


async def post(
    gateway: Gateway, body: dict[str, Any], as_: str | None = "C0001002"
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {gateway.token(as_)}"} if as_ else {}
    response = await gateway.http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_checked_in_manifest_is_up_to_date() -> None:
    assert MANIFEST.read_text("utf-8") == render(build_manifest()), (
        "run: .venv/bin/python -m gateway.engine.persisted"
    )


def test_the_manifest_holds_every_frontend_document_by_its_sha256() -> None:
    manifest = load_manifest()
    files = sorted(OPERATIONS.rglob("*.graphql"))
    assert len(manifest) == len(files) and files
    for path in files:
        assert manifest[sha256(path.read_text("utf-8"))] == path.read_text("utf-8")


def test_the_manifest_covers_sub_folders(tmp_path: Path) -> None:
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "Login.graphql").write_text("mutation Login { __typename }\n")
    (tmp_path / "Home.graphql").write_text("query Home { __typename }\n")
    documents = build_manifest(tmp_path)["documents"]
    assert {(d["path"], d["name"]) for d in documents.values()} == {
        ("accounts/Login.graphql", "Login"),
        ("Home.graphql", "Home"),
    }


async def test_apq_not_found_then_registered_then_served_by_hash(gateway: Gateway) -> None:
    first = await post(gateway, {"extensions": persisted(UNLISTED)})
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(first) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await post(gateway, {"query": UNLISTED, "extensions": persisted(UNLISTED)})
    assert registered == {"data": {"__typename": "Query"}}
    again = await post(gateway, {"extensions": persisted(UNLISTED)})
    assert again == {"data": {"__typename": "Query"}}
    got = await gateway.http.get("/graphql", params={"extensions": json.dumps(persisted(UNLISTED))})
    assert got.json() == {"data": {"__typename": "Query"}}


async def test_a_frontend_document_runs_by_hash_alone(gateway: Gateway) -> None:
    body = await post(gateway, {"extensions": persisted(operation("Profile"))})
    assert "errors" not in body and body["data"]["viewer"]["displayName"]


async def test_a_hash_that_is_not_the_query_s_is_refused(gateway: Gateway) -> None:
    body = await post(gateway, {"query": UNLISTED, "extensions": persisted("{ viewer { id } }")})
    assert codes(body) == ["BAD_USER_INPUT"] and body["data"] is None
    malformed = await post(
        gateway, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}}
    )
    assert codes(malformed) == ["BAD_USER_INPUT"]


async def test_a_document_that_fails_validation_is_not_registered(gateway: Gateway) -> None:
    broken = "query Broken { nope }"
    assert codes(await post(gateway, {"query": broken, "extensions": persisted(broken)})) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    assert codes(await post(gateway, {"extensions": persisted(broken)})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


async def test_get_never_runs_a_persisted_mutation(gateway: Gateway) -> None:
    await post(gateway, {"query": PREFERENCES, "extensions": persisted(PREFERENCES)})
    await gateway.clear_calls()
    token = gateway.token("C0001002")
    got = await gateway.http.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(PREFERENCES))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert got.status_code in (400, 405) and gateway.calls()["crm"] == 0


async def test_persisted_only_runs_the_manifest_and_nothing_else(
    mocks: dict[str, MockSystem],
) -> None:
    async with serve(mocks, persisted_only=True) as gateway:
        by_text = await post(gateway, {"query": operation("Profile")})
        by_hash = await post(gateway, {"extensions": persisted(operation("Profile"))})
        assert by_text == by_hash and "errors" not in by_text
        for refused in (
            {"query": operation("Profile") + " "},  # not the same text
            {"query": UNLISTED},
            {"query": UNLISTED, "extensions": persisted(UNLISTED)},  # no registration
            {"extensions": persisted(UNLISTED)},
        ):
            body = await post(gateway, refused)
            assert codes(body) == ["PERSISTED_QUERY_NOT_IN_LIST"] and body["data"] is None
        anonymous = await post(gateway, {"query": "{ __typename }"}, as_=None)
        assert codes(anonymous) == ["PERSISTED_QUERY_NOT_IN_LIST"]


async def test_apq_registrations_are_shared_through_redis(
    mocks: dict[str, MockSystem], redis_url: str
) -> None:
    query = "query SharedGreeting { __typename }"
    async with serve(mocks, redis_url=redis_url) as one:
        await post(one, {"query": query, "extensions": persisted(query)})
    async with serve(mocks, redis_url=redis_url) as other:  # another process, same Redis
        assert await post(other, {"extensions": persisted(query)}) == {
            "data": {"__typename": "Query"}
        }


async def test_anonymous_registrations_stay_in_the_process_and_are_bounded(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anonymous callers reach only the account's entry points: a flood of their registrations
    (each up to 20 kB, a week) must not fill the store every process shares."""
    from gateway.engine import persisted as module

    monkeypatch.setattr(module, "LOCAL_MAX", 3)
    store = gateway.app.state.services.store
    documents = [f"query Anonymous{n} {{ __typename }}" for n in range(5)]
    for document in documents:
        body = await post(gateway, {"query": document, "extensions": persisted(document)}, as_=None)
        assert body == {"data": {"__typename": "Query"}}
    assert not [key for key in store.records if key.startswith("apq:")]
    oldest, newest = documents[0], documents[-1]
    assert await post(gateway, {"extensions": persisted(newest)}, as_=None) == {
        "data": {"__typename": "Query"}
    }
    assert codes(await post(gateway, {"extensions": persisted(oldest)}, as_=None)) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


async def test_a_client_registers_a_bounded_number_of_documents_a_day(gateway: Gateway) -> None:
    from gateway.engine.persisted import APQ_PER_CLIENT

    allowed = int(APQ_PER_CLIENT.split("/")[0])
    store = gateway.app.state.services.store
    for n in range(allowed + 5):
        document = f"query Greeting{n} {{ __typename }}"
        body = await post(gateway, {"query": document, "extensions": persisted(document)})
        assert body == {"data": {"__typename": "Query"}}  # beyond: it runs, unregistered
    assert len([key for key in store.records if key.startswith("apq:")]) == allowed
