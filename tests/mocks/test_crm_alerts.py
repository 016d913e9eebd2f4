"""CRM mock, tag `alertes` and the 3.2 additions around accounts: alert settings, idempotent
notifications delivered to the outbox, read markers; detaching a joined account; the admin's
move of a demande's status."""

from __future__ import annotations

from typing import Any

import httpx

from mocks import MockSystem
from tests.conftest import admin

API = "/crm/api"
DEFAULTS = [
    {"evenement": e, "canaux": ["EMAIL", "PUSH"]}
    for e in (
        "REGLEMENT_EFFECTUE",
        "DOCUMENT_DISPONIBLE",
        "DEMANDE_MISE_A_JOUR",
        "CONNEXION_NOUVEL_APPAREIL",
        "SECURITE_COMPTE",
    )
]
NOTIFICATION = {
    "evenement": "REGLEMENT_EFFECTUE",
    "titre": "Nouveau remboursement",
    "message": "Un remboursement de 140,00 € a été effectué.",
    "lien": "/mes-remboursements",
    "cleIdempotence": "gw-notif-1",
}


async def sent(mock: MockSystem) -> dict[str, list[dict[str, Any]]]:
    async with admin(mock) as control:
        box: dict[str, list[dict[str, Any]]] = (await control.get("/_admin/outbox")).json()
        return box


async def test_settings_start_at_the_defaults_and_are_replaced_whole(
    crm: httpx.AsyncClient,
) -> None:
    start = (await crm.get(f"{API}/clients/C0001004/alertes")).json()  # a client with no account
    assert start == {"clientId": "C0001004", "modifieLe": None, "alertes": DEFAULTS}
    wanted = [{**a, "canaux": ["PUSH", "SMS", "EMAIL"]} for a in DEFAULTS]
    wanted[4] = {"evenement": "SECURITE_COMPTE", "canaux": ["PUSH"]}
    refused = await crm.put(f"{API}/clients/C0001001/alertes", json={"alertes": wanted})
    assert refused.status_code == 400
    assert refused.json()["details"] == [
        {
            "champ": "alertes[4].canaux",
            "message": "Les alertes de sécurité du compte sont toujours envoyées par e-mail",
        }
    ]
    assert (await crm.get(f"{API}/clients/C0001001/alertes")).json()["modifieLe"] is None
    wanted[4] = {"evenement": "SECURITE_COMPTE", "canaux": ["EMAIL"]}
    wanted[0] = {"evenement": "REGLEMENT_EFFECTUE", "canaux": []}
    stored = (
        await crm.put(f"{API}/clients/C0001001/alertes", json={"alertes": wanted[::-1]})
    ).json()
    assert stored["modifieLe"] is not None
    assert [a["canaux"] for a in stored["alertes"]] == [
        [],
        ["EMAIL", "SMS", "PUSH"],
        ["EMAIL", "SMS", "PUSH"],
        ["EMAIL", "SMS", "PUSH"],
        ["EMAIL"],
    ]
    twice = await crm.put(f"{API}/clients/C0001001/alertes", json={"alertes": [DEFAULTS[0]] * 5})
    assert twice.status_code == 400


async def test_a_notification_is_delivered_as_the_settings_allow_and_once_per_key(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    first = await crm.post(f"{API}/clients/C0001002/notifications", json=NOTIFICATION)
    assert first.status_code == 202
    body = first.json()
    assert body["envois"] == [
        {
            "canal": "EMAIL",
            "statut": "ENVOYE",
            "motif": None,
            "destinataire": "geralt.riviere@example.fr",
        },
        {"canal": "SMS", "statut": "NON_ENVOYE", "motif": "CANAL_DESACTIVE", "destinataire": None},
        {"canal": "PUSH", "statut": "ENVOYE", "motif": None, "destinataire": "C0001002"},
    ]
    assert body["id"].startswith("N-") and (body["lue"], body["lueLe"]) == (False, None)
    repeat = await crm.post(
        f"{API}/clients/C0001002/notifications", json={**NOTIFICATION, "titre": "Autre"}
    )
    assert repeat.status_code == 200 and repeat.json() == body
    box = await sent(mocks["crm"])
    assert [m["notificationId"] for m in box["emails"] + box["push"]] == [body["id"]] * 2
    assert box["push"][0]["destinataire"] == "C0001002" and box["sms"] == []
    assert box["emails"][0]["lien"] == "/mes-remboursements"


async def test_missing_contact_data_or_account_is_not_an_error(crm: httpx.AsyncClient) -> None:
    everything = [{**a, "canaux": ["EMAIL", "SMS", "PUSH"]} for a in DEFAULTS]
    await crm.put(f"{API}/clients/C0001003/alertes", json={"alertes": everything})
    paul = (await crm.post(f"{API}/clients/C0001003/notifications", json=NOTIFICATION)).json()
    assert [(e["statut"], e["motif"]) for e in paul["envois"]] == [
        ("ENVOYE", None),
        ("NON_ENVOYE", "AUCUN_MOBILE"),
        ("ENVOYE", None),
    ]
    nobody = await crm.post(f"{API}/clients/C0001004/notifications", json=NOTIFICATION)
    assert nobody.status_code == 202
    assert [e["motif"] for e in nobody.json()["envois"]] == [
        "AUCUN_EMAIL",
        "CANAL_DESACTIVE",
        "AUCUN_COMPTE",
    ]
    listed = (await crm.get(f"{API}/clients/C0001004/notifications")).json()
    assert listed["nonLues"] == 1 and len(listed["notifications"]) == 1


async def test_a_lost_answer_is_repeated_with_the_same_key(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    async with admin(mocks["crm"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
        assert (
            await crm.post(f"{API}/clients/C0001002/notifications", json=NOTIFICATION)
        ).status_code == 503
        await control.put("/_admin/faults", json={})
    repeat = await crm.post(f"{API}/clients/C0001002/notifications", json=NOTIFICATION)
    assert repeat.status_code == 200
    assert len((await sent(mocks["crm"]))["emails"]) == 1


async def test_history_read_markers_and_period(crm: httpx.AsyncClient) -> None:
    ids = []
    for key in ("a", "b", "c"):
        posted = await crm.post(
            f"{API}/clients/C0001002/notifications", json={**NOTIFICATION, "cleIdempotence": key}
        )
        ids.append(posted.json()["id"])
    listed = (await crm.get(f"{API}/clients/C0001002/notifications")).json()
    assert [n["id"] for n in listed["notifications"]] == ids[::-1]
    assert listed["nonLues"] == 3
    marked = await crm.post(f"{API}/clients/C0001002/notifications/lues", json={"ids": [ids[0]]})
    assert marked.json() == {"clientId": "C0001002", "nonLues": 2}
    read = (await crm.get(f"{API}/clients/C0001002/notifications")).json()["notifications"][-1]
    assert read["lue"] and read["lueLe"]
    other = await crm.post(f"{API}/clients/C0001001/notifications/lues", json={"ids": [ids[1]]})
    assert (other.status_code, other.json()["details"][0]["champ"]) == (400, "ids[0]")
    both = await crm.post(
        f"{API}/clients/C0001002/notifications/lues", json={"ids": [ids[1]], "toutes": True}
    )
    assert both.status_code == 400
    everything = await crm.post(f"{API}/clients/C0001002/notifications/lues", json={"toutes": True})
    assert everything.json()["nonLues"] == 0
    future = await crm.get(f"{API}/clients/C0001002/notifications", params={"depuis": "2999-01-01"})
    assert future.json() == {"clientId": "C0001002", "nonLues": 0, "notifications": []}
    wrong = await crm.get(f"{API}/clients/C0001002/notifications", params={"depuis": "2024-02-30"})
    assert wrong.status_code == 400


async def test_a_broken_notification_records_nothing(crm: httpx.AsyncClient) -> None:
    for broken in (
        {"lien": "https://ailleurs.example.fr"},
        {"lien": "//double"},
        {"titre": ""},
        {"cleIdempotence": "espace interdit"},
        {"evenement": "AUTRE"},
        {"couleur": "rouge"},
    ):
        response = await crm.post(
            f"{API}/clients/C0001002/notifications", json={**NOTIFICATION, **broken}
        )
        assert response.status_code == 400, broken
    assert (await crm.get(f"{API}/clients/C0001002/notifications")).json()["notifications"] == []
    assert (await crm.get(f"{API}/clients/C9999999/notifications")).status_code == 404


async def test_a_joined_account_can_leave_its_group(crm: httpx.AsyncClient) -> None:
    alone = await crm.delete(f"{API}/comptes/C0001001/rattachements/C0001001")
    assert (alone.status_code, alone.json()["details"][0]["champ"]) == (400, "autreClientId")
    joined = await crm.post(
        f"{API}/comptes/C0001001/rattachements",
        json={"identifiant": "geralt.riviere@example.fr", "motDePasse": "Atoll-Sante-2024!"},
    )
    assert joined.json()["rattaches"] == ["C0001001", "C0001002"]
    stranger = await crm.delete(f"{API}/comptes/C0001001/rattachements/C0001003")
    assert stranger.status_code == 404
    left = await crm.delete(f"{API}/comptes/C0001001/rattachements/C0001002")
    assert left.json() == {"clientId": "C0001001", "rattaches": ["C0001001"]}
    group = (await crm.get(f"{API}/comptes/C0001002/rattachements")).json()
    assert group["rattaches"] == ["C0001002"]


async def test_the_admin_moves_a_demande_as_the_back_office_would(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    async with admin(mocks["crm"]) as control:
        moved = await control.put(
            "/_admin/demandes/D-2024-000052/statut",
            json={"statut": "EN_COURS", "commentaire": "Pris en charge"},
        )
        assert moved.status_code == 200 and moved.json()["statut"] == "EN_COURS"
        assert (
            await control.put("/_admin/demandes/D-2024-000052/statut", json={"statut": "FINI"})
        ).status_code == 400
        assert (
            await control.put("/_admin/demandes/D-2024-999999/statut", json={"statut": "TRAITE"})
        ).status_code == 404
        assert (await control.get("/_admin/calls")).json()["total"] == 0
    demande = (await crm.get(f"{API}/demandes/D-2024-000052")).json()
    assert demande["statut"] == "EN_COURS"
    assert [h["statut"] for h in demande["historique"]][-1] == "EN_COURS"
