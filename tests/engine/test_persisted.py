"""Trusted documents (the frontends' manifest) and APQ as Apollo Client, urql and graphql-codegen
speak them.

`persisted_fixtures/` holds the real tools' output, unedited: `apollo-persisted-query-manifest.json`
(`@apollo/generate-persisted-query-manifest` 1.4.0), `codegen-persisted-documents.json`
(`@graphql-codegen/client-preset` 6.2.0, `persistedDocuments: true`) and `client-requests.json`,
the first request Apollo Client 4.3.8 (persisted-query link; HttpLink) and urql 6.0.3
(persistedExchange; fetchExchange) sent for each of `contracts/operations/` (the frontend kit of
`tests/frontend/` records them again when its packages are installed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.engine import documents
from gateway.engine.documents import ManifestError, render, sha256
from gateway.engine.persisted import MANIFEST, Manifest, build_manifest
from mocks import MockSystem
from tests.support.gateway import OPERATIONS, Gateway, codes, operation, serve

FIXTURES = Path(__file__).parent / "persisted_fixtures"
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
        "run: .venv/bin/python -m gateway documents build contracts/operations "
        "--output gateway/engine/trusted_documents.json"
    )


def test_the_shipped_manifest_holds_every_hash_the_real_tools_produce() -> None:
    """What Apollo's manifest generator and codegen's client preset wrote for the 33 documents
    they were run on: every id names the same body in the shipped manifest, which holds every
    document of contracts/operations/ (those and the later ones)."""
    shipped = Manifest.of(documents.load(MANIFEST)).by_digest
    files = sorted(OPERATIONS.rglob("*.graphql"))
    for tool in ("apollo-persisted-query-manifest.json", "codegen-persisted-documents.json"):
        entries = documents.load(FIXTURES / tool)
        assert len(entries) == 33 and len(files) >= 33
        assert all(shipped.get(entry.digest) == entry.body for entry in entries), tool
    for file in files:  # the file's own text still counts
        assert shipped[sha256(file.read_text("utf-8"))] == file.read_text("utf-8")


def test_the_forms_are_what_apollo_client_urql_and_codegen_send() -> None:
    """graphql-core's `print_ast` prints as graphql-js's `print`; the `__typename` added as Apollo
    Client and urql add it; codegen's sorted print: byte for byte, for every document."""
    requests = json.loads((FIXTURES / "client-requests.json").read_text("utf-8"))
    codegen = json.loads((FIXTURES / "codegen-persisted-documents.json").read_text("utf-8"))
    assert len(requests) == 33
    for path, sent in requests.items():
        forms = documents.forms((OPERATIONS / path).read_text("utf-8"))
        assert sent["apollo-client HttpLink"]["query"] == forms["typename"], path
        assert sent["urql fetchExchange"]["query"] == forms["typename"], path
        apq = sent["apollo-client persisted-query link"]["sha256Hash"]
        assert apq == sha256(forms["typename"]), path
        assert codegen["sha256:" + sha256(forms["codegen"])] == forms["codegen"], path


def test_a_folder_builds_in_both_ecosystem_formats(tmp_path: Path) -> None:
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "Login.graphql").write_text("mutation Login { __typename }\n")
    (tmp_path / "Home.graphql").write_text("# the home page\nquery Home { viewer { id } }\n")
    apollo = documents.apollo_manifest(documents.entries_of(tmp_path))
    assert apollo["format"] == "apollo-persisted-query-manifest" and apollo["version"] == 1
    assert {(o["name"], o["type"]) for o in apollo["operations"]} == {
        ("Login", "mutation"),
        ("Home", "query"),
    }
    assert all(o["id"] == sha256(o["body"]) for o in apollo["operations"])
    assert "query Home {\n  viewer {\n    id\n    __typename\n  }\n}" in {
        o["body"] for o in apollo["operations"]
    }
    codegen = documents.codegen_manifest(documents.entries_of(tmp_path, ["codegen"]))
    assert codegen == {
        "sha256:" + sha256("mutation Login { __typename }"): "mutation Login { __typename }",
        "sha256:" + sha256("query Home { viewer { id } }"): "query Home { viewer { id } }",
    }


@pytest.mark.parametrize(
    "content",
    ['{"format": "something-else", "operations": []}', "[]", '{"abc": "{ a }"}', "not json"],
)
def test_a_manifest_in_no_known_format_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(ManifestError, match=str(path)):
        documents.load(path)


def test_the_canonical_form_ignores_layout_typename_and_order_but_not_a_mutation_s_steps() -> None:
    assert documents.canonical("query A { b { c d } }") == documents.canonical(
        "# comment\nquery A {\n  b { d c __typename }\n}"
    )
    assert documents.canonical("query A { b { c } }") != documents.canonical(
        "query A { b { c e } }"
    )
    assert documents.canonical("query A { b: c }") != documents.canonical("query A { c }")
    assert documents.canonical("mutation M { a b }") != documents.canonical("mutation M { b a }")


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
            {"query": operation("Profile").replace("displayName", "displayName id")},
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


def client_requests() -> list[tuple[str, str, dict[str, Any]]]:
    requests = json.loads((FIXTURES / "client-requests.json").read_text("utf-8"))
    found = []
    for path, by_client in requests.items():
        for client, sent in by_client.items():
            body: dict[str, Any] = {"operationName": Path(path).stem}
            if "query" in sent:
                body["query"] = sent["query"]
            if "sha256Hash" in sent:
                body["extensions"] = {"persistedQuery": {"version": 1, **sent}}
            found.append((path, client, body))
    return found


async def test_persisted_only_accepts_every_request_apollo_client_and_urql_send(
    mocks: dict[str, MockSystem],
) -> None:
    """132 requests: 33 documents from each of Apollo Client's persisted-query link and HttpLink,
    urql's persistedExchange and fetchExchange, as they sent them. None is refused as untrusted
    (some miss their variables: that is a later, ordinary error)."""
    requests = client_requests()
    assert len(requests) == 132
    async with serve(mocks, persisted_only=True) as gateway:
        for path, client, body in requests:
            answer = await post(gateway, body)
            assert not {"PERSISTED_QUERY_NOT_IN_LIST", "PERSISTED_QUERY_NOT_FOUND"} & set(
                codes(answer)
            ), (path, client, answer)
        home = await post(gateway, next(b for p, _, b in requests if p == "HomePage.graphql"))
        assert "errors" not in home and home["data"]["viewer"]["__typename"] == "Individual"


async def test_persisted_only_runs_codegen_hashes_alone_or_with_the_query_a_client_prints(
    mocks: dict[str, MockSystem],
) -> None:
    """codegen's `sha256:<hex>` ids (its persisted-query link's generateHash), hash-only; and the
    same id beside the `__typename` text Apollo Client prints, which runs as sent."""
    codegen = documents.load(FIXTURES / "codegen-persisted-documents.json")
    profile = next(entry for entry in codegen if entry.body.startswith("query Profile"))
    by_id = {"persistedQuery": {"version": 1, "sha256Hash": "sha256:" + profile.digest}}
    printed = documents.forms(operation("Profile"))["typename"]
    async with serve(mocks, persisted_only=True) as gateway:
        alone = await post(gateway, {"extensions": by_id})
        assert "errors" not in alone and "__typename" not in alone["data"]["viewer"]
        beside = await post(gateway, {"query": printed, "extensions": by_id})
        assert "errors" not in beside and beside["data"]["viewer"]["__typename"] == "Individual"
        other = await post(gateway, {"query": operation("HomePage"), "extensions": by_id})
        assert codes(other) == ["BAD_USER_INPUT"]  # a trusted id, another document's text


async def test_a_frontend_s_own_manifest_is_trusted_beside_the_shipped_one(
    mocks: dict[str, MockSystem], tmp_path: Path
) -> None:
    greeting = "query Greeting { __typename }"
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({"sha256:" + sha256(greeting): greeting}))
    async with serve(mocks, persisted_only=True, trusted_documents=(manifest,)) as gateway:
        assert await post(gateway, {"extensions": persisted(greeting)}) == {
            "data": {"__typename": "Query"}
        }
        assert await post(gateway, {"query": "query Greeting {\n  __typename\n}"}) == {
            "data": {"__typename": "Query"}
        }
        assert "errors" not in await post(gateway, {"extensions": persisted(operation("Profile"))})


def test_a_configured_manifest_that_cannot_be_read_stops_the_start(tmp_path: Path) -> None:
    """A persisted-only gateway that silently dropped a frontend's manifest would refuse it all."""
    from gateway.app import create_app
    from gateway.settings import Settings

    broken = tmp_path / "persisted-documents.json"
    broken.write_text('{"format": "apollo-persisted-query-manifest", "version": 2}')
    with pytest.raises(ManifestError, match="version 1"):
        create_app(Settings(persisted_only=True, trusted_documents=(broken,)))
    with pytest.raises(ManifestError, match=r"missing\.json"):
        create_app(Settings(trusted_documents=(tmp_path / "missing.json",)))


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
