"""« Réunir vos comptes »: one person's accounts only. After a join the viewer covers every member
of the group, and nobody else sees more than before; a join that cannot be (another person, a
company, wrong credentials) is a typed userError that changes nothing; the group is the CRM's now,
narrowed to the same person and to accounts whose own credentials were proven since their last
password reset or lock; an account can be taken out again."""

from __future__ import annotations

from typing import Any

from gateway.schema.ids import to_global
from tests.conftest import admin
from tests.support.accounts import (
    NEW_PASSWORD,
    errors_of,
    login,
    outbox,
    session,
    settings_of,
)
from tests.support.gateway import PERSONAS, Gateway, codes

CHRIS, GERALT, PAUL = (
    "chris.martin@example.fr",
    "geralt.riviere@example.fr",
    "paul.bertrand@example.fr",
)
LISTS = """{ viewer { contracts { number }
  demandes(first: 50) { totalCount edges { node { id } } }
  documents(first: 50, period: LAST_24_MONTHS) { totalCount }
  reglements(first: 50) { totalCount edges { node { id } } } } }"""


async def link(gateway: Gateway, token: str, login: str, password: str) -> dict[str, Any]:
    body = await gateway.run(
        "accounts/LinkAccount", {"input": {"login": login, "password": password}}, token=token
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["linkAccount"]
    return payload


def groups(gateway: Gateway) -> list[set[str]]:
    found: list[set[str]] = gateway.mocks["crm"].groups  # type: ignore[attr-defined]
    return found


def second_account_of_geralt(gateway: Gateway) -> None:
    """C0001003 (login paul.bertrand@…) becomes Geralt Rivière's prévoyance account: another CRM
    client of the same person, his name typed as the CRM accepts it at registration."""
    client = gateway.mocks["crm"].clients["C0001003"]  # type: ignore[attr-defined]
    client.update(nom="Riviere", prenom="GERALT", dateNaissance="1978-09-21")


async def contract_numbers(gateway: Gateway, token: str) -> set[str]:
    body = await gateway.run("{ viewer { contracts { number } } }", token=token)
    assert "errors" not in body, body
    return {c["number"] for c in body["data"]["viewer"]["contracts"]}


async def own_contracts(gateway: Gateway, who: str) -> set[str]:
    body = await gateway.run("{ viewer { contracts { number } } }", as_=PERSONAS[who])
    return {c["number"] for c in body["data"]["viewer"]["contracts"]}


async def test_joined_accounts_show_everything_of_both_and_nothing_to_others(
    gateway: Gateway,
) -> None:
    second_account_of_geralt(gateway)
    alone = {
        who: (await gateway.run(LISTS, as_=PERSONAS[who]))["data"]["viewer"]
        for who in ("geralt", "paul")
    }
    geralt = await session(gateway, GERALT)
    payload = await link(gateway, geralt["accessToken"], PAUL, "Brico-Prevoyance-18!")
    assert payload == {
        "account": {
            "login": GERALT,
            "linkedAccounts": [{"customerNumber": "48213379", "displayName": "GERALT Riviere"}],
        },
        "userErrors": [],
    }
    both = (await gateway.run(LISTS, token=geralt["accessToken"]))["data"]["viewer"]
    assert (
        {c["number"] for c in both["contracts"]}
        == {c["number"] for who in alone.values() for c in who["contracts"]}
        >= {"AA565656", "ADH184068708"}
    )
    for field in ("demandes", "documents", "reglements"):
        assert both[field]["totalCount"] == sum(alone[w][field]["totalCount"] for w in alone)
    dossier = {"id": to_global("Dossier", "185501146")}
    seen = await gateway.run("DossierDetail", dossier, token=geralt["accessToken"])
    assert "errors" not in seen and seen["data"]["dossier"]["contract"]["number"] == "ADH184068708"
    assert codes(await gateway.run("DossierDetail", dossier, as_=PERSONAS["chris"])) == [
        "NOT_FOUND"
    ]
    paul = await session(gateway, PAUL)  # the join is symmetric: Paul sees Geralt's too
    body = await settings_of(gateway, paul["accessToken"])
    linked = body["data"]["viewer"]["account"]["linkedAccounts"]
    assert linked == [{"customerNumber": "48213378", "displayName": "Geralt RIVIÈRE"}]
    contract = {"id": to_global("Contract", "AA565656")}
    assert "errors" not in await gateway.run("ContractPage", contract, token=paul["accessToken"])
    assert codes(await gateway.run("ContractPage", contract, as_=PERSONAS["chris"])) == [
        "NOT_FOUND"
    ]


async def test_a_join_that_cannot_be_is_refused_and_changes_nothing(gateway: Gateway) -> None:
    geralt = (await session(gateway, GERALT))["accessToken"]
    before = [set(g) for g in groups(gateway)]
    cases = [
        ("contact@sarl-brico.example.fr", "Brico-Entreprise-73!", [("login", "LINK_REFUSED")]),
        (GERALT, "Atoll-Sante-2024!", [("login", "LINK_REFUSED")]),
        (PAUL, "Brico-Prevoyance-18!", [("login", "LINK_REFUSED")]),  # another person
        ("mfg.delatour@example.fr", "Chateau-Tour-1949!", [("login", "LOCKED")]),
        (PAUL, "Mauvais-Mot2Passe!", [(None, "INVALID_CREDENTIALS")]),
    ]
    for who, password, expected in cases:
        payload = await link(gateway, geralt, who, password)
        assert (payload["account"], errors_of(payload)) == (None, expected), who
    assert groups(gateway) == before
    body = await settings_of(gateway, geralt)
    assert body["data"]["viewer"]["account"]["linkedAccounts"] == []


async def test_a_company_cannot_join_accounts(gateway: Gateway) -> None:
    brico = (await session(gateway, "contact@sarl-brico.example.fr"))["accessToken"]
    payload = await link(gateway, brico, PAUL, "Brico-Prevoyance-18!")
    assert errors_of(payload) == [("login", "LINK_REFUSED")]


async def test_staff_read_the_account_in_the_customer_lookup(gateway: Gateway) -> None:
    for client_id, status, label in [
        ("C0001005", "LOCKED", "Verrouillé"),
        ("C0001008", "PENDING_ACTIVATION", "En attente d'activation"),
        ("C0001004", "NONE", "Pas de compte"),
        ("C0001001", "ACTIVE", "Actif"),
    ]:
        body = await gateway.run(
            "dashboards/CustomerLookup", {"clientId": client_id}, as_="S0001", role="staff"
        )
        assert "errors" not in body, body
        found = body["data"]["person"]
        assert found["account"] == {"status": status, "statusLabel": label}
        assert found["customerNumber"] and found["displayName"]
    assert [e["target"] for e in gateway.audit][-1] == "C0001001"


# ---- one person only, the CRM's group now, proofs -----------------------------------------------
async def test_a_chain_of_joins_through_other_people_reads_nobody_else(gateway: Gateway) -> None:
    """Chris joins Geralt, Geralt joins Paul: neither join is made (three different people), and
    Chris never reads Paul's contracts."""
    paul_contracts = await own_contracts(gateway, "paul") - await own_contracts(gateway, "chris")
    chris = (await session(gateway, CHRIS))["accessToken"]
    geralt = (await session(gateway, GERALT))["accessToken"]
    first = await link(gateway, chris, GERALT, "Atoll-Sante-2024!")
    second = await link(gateway, geralt, PAUL, "Brico-Prevoyance-18!")
    for payload in (first, second):
        assert payload["account"] is None
        assert errors_of(payload) == [("login", "LINK_REFUSED")]
        assert "autre personne" in payload["userErrors"][0]["message"]
    assert all(len(g) == 1 for g in groups(gateway))
    chris = (await session(gateway, CHRIS))["accessToken"]  # a new login changes nothing
    assert not (await contract_numbers(gateway, chris)) & paul_contracts
    contract = {"id": to_global("Contract", sorted(paul_contracts)[0])}
    assert codes(await gateway.run("ContractPage", contract, token=chris)) == ["NOT_FOUND"]


async def test_a_group_the_crm_holds_across_people_shows_only_the_viewers_own(
    gateway: Gateway,
) -> None:
    """A group joined before the gateway checked identities (or elsewhere): the CRM says Chris,
    Geralt and Paul are one group; each still reads only their own contracts, and sees the others
    listed, not visible, to take them out."""
    mine = await own_contracts(gateway, "chris")
    gateway.mocks["crm"].groups = [{"C0001001", "C0001002", "C0001003"}]  # type: ignore[attr-defined]
    await gateway.app.state.services.backends.crm.transport.forget(
        "GET /crm/api/comptes/C0001001/rattachements"
    )
    for who in (GERALT, PAUL):
        await session(gateway, who)  # their own credentials proven
    chris = (await session(gateway, CHRIS))["accessToken"]
    assert await contract_numbers(gateway, chris) == mine
    body = await gateway.run(
        "{ viewer { account { linkedAccounts { customerNumber visible } } } }", token=chris
    )
    assert body["data"]["viewer"]["account"]["linkedAccounts"] == [
        {"customerNumber": "48213378", "visible": False},
        {"customerNumber": "48213379", "visible": False},
    ]


async def test_the_group_is_the_crms_now_not_a_union_remembered_at_login(
    gateway: Gateway,
) -> None:
    second_account_of_geralt(gateway)
    theirs = await own_contracts(gateway, "paul") - await own_contracts(gateway, "geralt")
    assert theirs
    geralt = (await session(gateway, GERALT))["accessToken"]
    await link(gateway, geralt, PAUL, "Brico-Prevoyance-18!")
    assert theirs <= await contract_numbers(gateway, geralt)
    async with admin(gateway.mocks["crm"]) as control:  # the back office splits the group
        left = await control.delete(
            "/crm/api/comptes/C0001002/rattachements/C0001003",
            headers={"Authorization": f"Bearer {gateway.settings.crm_token.get_secret_value()}"},
        )
        assert left.status_code == 200
    await gateway.app.state.services.backends.crm.transport.forget(
        "GET /crm/api/comptes/C0001002/rattachements"
    )
    assert not (await contract_numbers(gateway, geralt)) & theirs


async def reset(gateway: Gateway, who: str, password: str = NEW_PASSWORD) -> None:
    from gateway.resolvers.accounts import reset_requests_settled

    await gateway.run("accounts/RequestPasswordReset", {"email": who})
    await reset_requests_settled()
    token = outbox(gateway, "REINITIALISATION", who)[-1]
    body = await gateway.run(
        "accounts/ResetPassword",
        {"input": {"token": token, "password": password, "passwordConfirmation": password}},
    )
    assert body["data"]["resetPassword"] == {"accepted": True, "userErrors": []}


async def test_after_a_members_password_reset_the_others_stop_reading_it_until_it_signs_in(
    gateway: Gateway,
) -> None:
    second_account_of_geralt(gateway)
    theirs = await own_contracts(gateway, "paul") - await own_contracts(gateway, "geralt")
    assert theirs
    old = (await session(gateway, GERALT))["accessToken"]
    await link(gateway, old, PAUL, "Brico-Prevoyance-18!")
    assert theirs <= await contract_numbers(gateway, old)
    await reset(gateway, PAUL)
    assert not (await contract_numbers(gateway, old)) & theirs  # the old session
    new = (await session(gateway, GERALT))["accessToken"]
    assert not (await contract_numbers(gateway, new)) & theirs  # a new login
    body = await settings_of(gateway, new)
    (member,) = body["data"]["viewer"]["account"]["linkedAccounts"]
    assert member["customerNumber"] == "48213379"  # still joined in the CRM, to take it out
    wrong = await login(gateway, PAUL, "Brico-Prevoyance-18!")  # the old password proves nothing
    assert wrong["session"] is None
    assert not (await contract_numbers(gateway, new)) & theirs
    await session(gateway, PAUL, NEW_PASSWORD)  # its own credentials, proven again
    assert theirs <= await contract_numbers(gateway, new)


async def test_an_account_taken_out_of_the_group_is_no_longer_read(gateway: Gateway) -> None:
    second_account_of_geralt(gateway)
    theirs = await own_contracts(gateway, "paul") - await own_contracts(gateway, "geralt")
    assert theirs
    geralt = (await session(gateway, GERALT))["accessToken"]
    await link(gateway, geralt, PAUL, "Brico-Prevoyance-18!")
    unlink = """mutation($input: UnlinkAccountInput!) { unlinkAccount(input: $input) {
      account { linkedAccounts { customerNumber } } userErrors { field code } } }"""
    body = await gateway.run(unlink, {"input": {"customerNumber": "48213377"}}, token=geralt)
    assert body["data"]["unlinkAccount"] == {
        "account": None,
        "userErrors": [{"field": "customerNumber", "code": "NOT_LINKED"}],
    }
    assert len(max(groups(gateway), key=len)) == 2  # a refused one changes nothing
    body = await gateway.run(unlink, {"input": {"customerNumber": "48213379"}}, token=geralt)
    assert body["data"]["unlinkAccount"] == {
        "account": {"linkedAccounts": []},
        "userErrors": [],
    }
    assert all(len(g) == 1 for g in groups(gateway))
    assert not (await contract_numbers(gateway, geralt)) & theirs
    paul = (await session(gateway, PAUL))["accessToken"]
    geralts = await own_contracts(gateway, "geralt") - await own_contracts(gateway, "paul")
    assert geralts and not (await contract_numbers(gateway, paul)) & geralts


async def test_a_locked_member_is_no_longer_read_until_its_own_password_is_proven(
    gateway: Gateway,
) -> None:
    second_account_of_geralt(gateway)
    theirs = await own_contracts(gateway, "paul") - await own_contracts(gateway, "geralt")
    geralt = (await session(gateway, GERALT))["accessToken"]
    await link(gateway, geralt, PAUL, "Brico-Prevoyance-18!")
    await session(gateway, PAUL, device="telephone")
    assert theirs <= await contract_numbers(gateway, geralt)
    for n in range(5):  # its owner's own wrong passwords: the CRM locks it
        await login(gateway, PAUL, f"Faux-Mot2Passe{n}!", "telephone")
    assert gateway.mocks["crm"].accounts["C0001003"]["statut"] == "VERROUILLE"  # type: ignore[attr-defined]
    assert not (await contract_numbers(gateway, geralt)) & theirs
    await reset(gateway, PAUL)
    assert not (await contract_numbers(gateway, geralt)) & theirs
    await session(gateway, PAUL, NEW_PASSWORD)
    assert theirs <= await contract_numbers(gateway, geralt)
