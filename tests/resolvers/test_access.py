"""Access rules: every persona against every other persona's objects; staff reads are audited."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from gateway.schema.ids import to_global
from tests.support.gateway import PERSONAS, Gateway, codes

# What each persona owns (global ids), reached through their own pages in the tests below.
OWN = {
    "chris": {"contract": "596054210"},
    "geralt": {"contract": "AA565656"},
    "paul": {"contract": "ADH184068708", "dossier": "185501146"},
    "brico": {"contract": "80785436"},
}
# The company sees its affiliate's dossiers and règlements (not his membership, demandes, documents).
SHARED = {("paul", "brico"): {"dossier", "reglement"}}
FIELDS = {
    "contract": "contract",
    "dossier": "dossier",
    "reglement": "reglement",
    "demande": "demande",
    "document": "document",
}


async def owned_ids(gateway: Gateway, persona: str) -> dict[str, str]:
    """One global id of each kind the persona may see, taken from their own pages."""
    client = PERSONAS[persona]
    home = (await gateway.run("HomePage", as_=client))["data"]["viewer"]
    found = {"contract": to_global("Contract", OWN[persona]["contract"])}
    if home["demandes"]["edges"]:
        found["demande"] = home["demandes"]["edges"][0]["node"]["id"]
    if home["documents"]["edges"]:
        found["document"] = home["documents"]["edges"][0]["node"]["id"]
        found["download"] = home["documents"]["edges"][0]["node"]["downloadUrl"]
    if home["reglements"]["edges"]:
        found["reglement"] = home["reglements"]["edges"][0]["node"]["id"]
    if "dossier" in OWN[persona]:
        found["dossier"] = to_global("Dossier", OWN[persona]["dossier"])
    if persona == "brico":
        # objects of another affiliate than Paul, whose own are shared with the company
        page = await gateway.run(
            "ContractDossiers", {"id": found["contract"], "first": 20}, as_=client
        )
        found["dossier"] = next(
            e["node"]["id"]
            for e in page["data"]["contract"]["dossiers"]["edges"]
            if e["node"]["affiliate"]["displayName"] != "Paul BERTRAND"
        )
        regl = await gateway.run(
            "ContractReglements", {"id": found["contract"], "first": 20}, as_=client
        )
        found["reglement"] = next(
            e["node"]["id"]
            for e in regl["data"]["contract"]["reglements"]["edges"]
            if e["node"]["beneficiaryName"] != "Paul BERTRAND"
        )
    return found


async def fetch(gateway: Gateway, kind: str, global_id: str, as_: str) -> dict[str, Any]:
    return await gateway.run(
        f"query($id: ID!) {{ {FIELDS[kind]}(id: $id) {{ id }} }}", {"id": global_id}, as_=as_
    )


async def test_access_matrix_foreign_objects_are_not_found(gateway: Gateway) -> None:
    owned = {persona: await owned_ids(gateway, persona) for persona in OWN}
    tried = 0
    for owner, viewer in product(OWN, OWN):
        for kind, global_id in owned[owner].items():
            if kind == "download":
                continue
            body = await fetch(gateway, kind, global_id, PERSONAS[viewer])
            visible = owner == viewer or kind in SHARED.get((owner, viewer), set())
            if visible:
                assert body["data"][FIELDS[kind]] == {"id": global_id}, (owner, kind, body)
            else:
                assert body["data"][FIELDS[kind]] is None and codes(body) == ["NOT_FOUND"], (
                    owner,
                    viewer,
                    kind,
                )
                tried += 1
            node = await gateway.run(
                "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, as_=PERSONAS[viewer]
            )
            assert (node["data"]["node"] is None) == (not visible)
        if owner != viewer and "download" in owned[owner]:
            other = gateway.token(PERSONAS[viewer])
            response = await gateway.http.get(
                owned[owner]["download"], headers={"Authorization": f"Bearer {other}"}
            )
            assert response.status_code == 404 and not response.content.startswith(b"%PDF")
            tried += 1
    assert tried >= 50
    print(f"access matrix: {tried} foreign look-ups refused")


async def test_a_company_sees_its_affiliates_dossiers_but_not_another_company(
    gateway: Gateway,
) -> None:
    lefevre = to_global("Contract", "81000001")
    assert codes(await gateway.run("ContractDossiers", {"id": lefevre}, as_=PERSONAS["brico"])) == [
        "NOT_FOUND"
    ]
    affiliates = await gateway.run(
        "CompanyAffiliates", {"contractId": lefevre}, as_=PERSONAS["brico"]
    )
    assert affiliates["data"]["viewer"]["affiliates"] is None and codes(affiliates) == ["NOT_FOUND"]
    paul_dossier = await fetch(
        gateway, "dossier", to_global("Dossier", "185501146"), PERSONAS["brico"]
    )
    assert paul_dossier["data"]["dossier"] == {"id": to_global("Dossier", "185501146")}


async def test_an_affiliate_cannot_list_the_company_contract(gateway: Gateway) -> None:
    body = await gateway.run(
        "ContractDossiers", {"id": to_global("Contract", "80785436")}, as_=PERSONAS["paul"]
    )
    assert body["data"]["contract"] is None and codes(body) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    "garbage", ["", "xyz", to_global("Contract", ""), to_global("Nope", "1"), "Q29udHJhY3Q"]
)
async def test_malformed_ids_are_not_found(gateway: Gateway, garbage: str) -> None:
    body = await fetch(gateway, "contract", garbage, PERSONAS["chris"])
    assert body["data"]["contract"] is None and codes(body) == ["NOT_FOUND"]


async def test_staff_may_look_anyone_up_and_every_read_is_audited(gateway: Gateway) -> None:
    body = await gateway.run(
        '{ person(clientId: "C0001003") { displayName contracts { number } } }',
        as_="agent-042",
        role="staff",
    )
    assert body["data"]["person"] == {
        "displayName": "Paul BERTRAND",
        "contracts": [{"number": "ADH184068708"}],
    }
    dossier = await fetch(gateway, "dossier", to_global("Dossier", "185501146"), "agent-042")
    # the same subject with a customer token is no staff member, and no known customer either
    assert dossier["data"]["dossier"] is None and codes(dossier) == ["UNAUTHENTICATED"]
    staff = await gateway.run(
        "query($id: ID!) { dossier(id: $id) { number } }",
        {"id": to_global("Dossier", "185501146")},
        as_="agent-042",
        role="staff",
    )
    assert staff["data"]["dossier"] == {"number": "185501146"}
    assert [(e["staff"], e["action"], e["target"]) for e in gateway.audit] == [
        ("agent-042", "person", "C0001003"),
        ("agent-042", "node:Dossier", "185501146"),
    ]


async def test_staff_has_no_viewer_and_customers_only_themselves_by_client_id(
    gateway: Gateway,
) -> None:
    assert codes(await gateway.run("{ viewer { id } }", as_="agent-042", role="staff")) == [
        "FORBIDDEN"
    ]
    other = await gateway.run('{ person(clientId: "C0001002") { id } }', as_=PERSONAS["chris"])
    assert other["data"]["person"] is None and codes(other) == ["NOT_FOUND"]
    me = await gateway.run(
        '{ person(clientId: "C0001001") { displayName } }', as_=PERSONAS["chris"]
    )
    assert me["data"]["person"] == {"displayName": "Chris MARTIN"} and gateway.audit == []


async def test_downloads_without_a_session_still_need_a_valid_signed_link(gateway: Gateway) -> None:
    home = (await gateway.run("HomePage", as_=PERSONAS["chris"]))["data"]["viewer"]
    url = home["documents"]["edges"][0]["node"]["downloadUrl"]
    response = await gateway.http.get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="DOC')
    token = url.rsplit("/", 1)[1]
    altered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert (await gateway.http.get(f"/documents/{altered}")).status_code == 404
    assert (await gateway.http.get("/documents/not-a-token")).status_code == 404


async def test_an_expired_download_link_is_refused(gateway: Gateway) -> None:
    import time

    from gateway.identity.download_links import Grant

    links = gateway.app.state.services.links
    stale = links.sign(Grant("DOC20231020000311", "EDQ-1001", "C0001001"), now=time.time() - 301)
    response = await gateway.http.get(f"/documents/{stale}")
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"
    fresh = links.sign(Grant("DOC20231020000311", "EDQ-1001", "C0001001"))
    assert (await gateway.http.get(f"/documents/{fresh}")).status_code == 200
    forged = links.sign(
        Grant("DOC20231020000311", "EDQ-1002", "C0001002")
    )  # a link to a document not theirs
    assert (await gateway.http.get(f"/documents/{forged}")).status_code == 404


async def test_document_links_are_signed_per_purpose(gateway: Gateway) -> None:
    session = gateway.token(PERSONAS["chris"])
    response = await gateway.http.get(f"/documents/{session}")
    assert response.status_code == 404
