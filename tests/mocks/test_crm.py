"""CRM mock: clients, demandes (not idempotent), attachments and accounts of crm.openapi.yaml."""

from __future__ import annotations

import httpx
import pytest

from mocks import MockSystem
from tests.conftest import admin

API = "/crm/api"
PDF = b"%PDF-1.4\n% a small test file\n"


async def test_client_record_carries_the_cross_reference(crm: httpx.AsyncClient) -> None:
    client = (await crm.get(f"{API}/clients/C0001001")).json()
    assert client["identifiants"] == {
        "policyAdmin": "0004517823",
        "prestations": "A7781001",
        "editique": "EDQ-1001",
    }
    assert client["compte"] == {"statut": "ACTIF", "identifiant": "chris.martin@example.fr"}
    company = (await crm.get(f"{API}/clients/C0009001")).json()
    assert (company["type"], company["nom"], company["raisonSociale"], company["prenom"]) == (
        "PM",
        "SARL BRICO",
        "SARL BRICO",
        None,
    )


async def test_unknown_or_malformed_ids_are_introuvable(crm: httpx.AsyncClient) -> None:
    for path in (
        "/clients/C9999999",
        "/clients/xyz",
        "/interlocuteurs/I9999",
        "/demandes/D-2023-999999",
        "/demandes/abc",
        "/rien",
    ):
        response = await crm.get(API + path)
        assert (response.status_code, response.json()["erreur"]) == (404, "INTROUVABLE")


async def test_service_token_is_checked_first(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["crm"]) as client:
        response = await client.post(
            f"{API}/clients/C9999999/demandes", json={}, headers={"Authorization": "Bearer nope"}
        )
        assert (
            response.status_code == 401
            and response.headers["www-authenticate"] == 'Bearer realm="crm"'
        )
        assert response.json()["erreur"] == "NON_AUTHENTIFIE"


async def test_contact_change_is_all_or_nothing(crm: httpx.AsyncClient) -> None:
    response = await crm.patch(
        f"{API}/clients/C0001001/contact", json={"email": "pas-un-email", "mobile": "+33145678901"}
    )
    assert response.status_code == 400
    assert {d["champ"] for d in response.json()["details"]} == {"email", "mobile"}
    unchanged = (await crm.get(f"{API}/clients/C0001001")).json()
    assert (unchanged["email"], unchanged["mobile"]) == ("chris.martin@example.fr", "+33634876409")
    done = await crm.patch(
        f"{API}/clients/C0001001/contact", json={"mobile": None, "email": "chris@example.org"}
    )
    assert (done.json()["mobile"], done.json()["email"]) == (None, "chris@example.org")
    assert done.json()["compte"]["identifiant"] == "chris.martin@example.fr"


@pytest.mark.parametrize(
    ("body", "champ"),
    [
        ({}, ""),
        ({"fax": "1"}, "fax"),
        ({"adresse": None}, "adresse"),
        (
            {"adresse": {"lignes": [], "codePostal": "69003", "ville": "LYON", "pays": "FR"}},
            "adresse.lignes",
        ),
        (
            {
                "adresse": {
                    "lignes": ["x" * 39],
                    "codePostal": "69003",
                    "ville": "LYON",
                    "pays": "FR",
                }
            },
            "adresse.lignes[0]",
        ),
        (
            {"adresse": {"lignes": ["1 rue"], "codePostal": "6900", "ville": "LYON", "pays": "FR"}},
            "adresse.codePostal",
        ),
    ],
)
async def test_contact_refusals_name_the_field(
    crm: httpx.AsyncClient, body: dict[str, object], champ: str
) -> None:
    response = await crm.patch(f"{API}/clients/C0001001/contact", json=body)
    assert response.status_code == 400 and champ in [d["champ"] for d in response.json()["details"]]


async def test_json_operations_refuse_other_content_types(crm: httpx.AsyncClient) -> None:
    response = await crm.patch(
        f"{API}/clients/C0001001/contact",
        content=b"email=x",
        headers={"Content-Type": "text/plain"},
    )
    assert (response.status_code, response.json()["erreur"]) == (415, "TYPE_NON_SUPPORTE")


async def test_preferences_are_replaced_whole(crm: httpx.AsyncClient) -> None:
    partial = await crm.put(
        f"{API}/clients/C0001001/preferences", json={"dematerialisation": False}
    )
    assert partial.status_code == 400
    body = {
        "dematerialisation": False,
        "consentements": {
            "offresGroupe": True,
            "communicationCiblee": True,
            "questionnaireSatisfaction": False,
        },
    }
    assert (await crm.put(f"{API}/clients/C0001001/preferences", json=body)).json()[
        "preferences"
    ] == body


async def test_demandes_are_filtered_with_depuis_and_sorted_newest_first(
    crm: httpx.AsyncClient,
) -> None:
    since = (
        await crm.get(f"{API}/clients/C0001001/demandes", params={"depuis": "2023-06-01"})
    ).json()["demandes"]
    assert [d["id"] for d in since if d["id"].startswith("D-2023")] == [
        "D-2023-000184",
        "D-2023-000171",
        "D-2023-000170",
    ]
    dates = [d["dateCreation"] for d in since]
    assert dates == sorted(dates, reverse=True)
    recent = (
        await crm.get(f"{API}/clients/C0001001/demandes", params={"depuis": "2024-01-01"})
    ).json()["demandes"]
    assert not any(d["id"].startswith("D-2023") for d in recent)
    bad = await crm.get(f"{API}/clients/C0001001/demandes", params={"depuis": "2023-02-30"})
    assert bad.status_code == 400


async def test_health_demande_is_untracked(crm: httpx.AsyncClient) -> None:
    demande = (await crm.get(f"{API}/demandes/D-2024-000052")).json()
    assert (demande["suivi"], demande["statut"], len(demande["historique"])) == (False, "RECU", 1)
    assert demande["rappel"]["piecesJointes"][0]["id"] == "PJ-000981"


async def upload(
    crm: httpx.AsyncClient,
    content: bytes = PDF,
    kind: str = "application/pdf",
    name: str = "facture.pdf",
) -> httpx.Response:
    return await crm.post(f"{API}/pieces-jointes", files={"fichier": (name, content, kind)})


async def test_demande_creation_with_attachment_and_lookup_by_reference(
    crm: httpx.AsyncClient,
) -> None:
    piece = (await upload(crm)).json()
    assert (piece["nom"], piece["type"], piece["taille"]) == (
        "facture.pdf",
        "application/pdf",
        len(PDF),
    )
    body = {
        "type": "JUSTIF_REMB",
        "numContrat": "AA565656",
        "beneficiaires": ["Ciri RIVIÈRE"],
        "piecesJointes": [piece["id"]],
        "referenceExterne": "gw-test-0001",
    }
    created = await crm.post(f"{API}/clients/C0001002/demandes", json=body)
    assert created.status_code == 201
    demande = created.json()
    assert created.headers["location"] == f"{API}/demandes/{demande['id']}"
    assert (
        demande["reference"].startswith(f"DEM-{demande['id'][2:6]}-") and demande["suivi"] is False
    )
    again = await crm.post(
        f"{API}/clients/C0001001/demandes",
        json={
            "type": "MESSAGE",
            "sujet": "a",
            "description": "b",
            "referenceExterne": "gw-test-0001",
        },
    )
    assert again.status_code == 409 and again.json()["details"][0]["champ"] == "referenceExterne"
    found = (await crm.get(f"{API}/demandes", params={"referenceExterne": "gw-test-0001"})).json()[
        "demandes"
    ]
    assert [d["id"] for d in found] == [demande["id"]]
    reused = await crm.post(
        f"{API}/clients/C0001002/demandes", json={**body, "referenceExterne": "gw-test-0002"}
    )
    assert reused.status_code == 400 and reused.json()["details"][0]["champ"] == "piecesJointes[0]"


async def test_demande_refusals_create_nothing(crm: httpx.AsyncClient) -> None:
    cases = [
        ({"type": "INCONNU"}, "type"),
        ({"type": "MESSAGE", "sujet": "Bonjour"}, "description"),
        ({"type": "MESSAGE", "sujet": "  ", "description": "x"}, "sujet"),
        (
            {
                "type": "JUSTIF_REMB",
                "numContrat": "AA565656",
                "beneficiaires": ["Ciri"],
                "piecesJointes": ["PJ-999999"],
            },
            "piecesJointes[0]",
        ),
        ({"type": "MESSAGE", "sujet": "x", "description": "y", "champ": 1}, "champ"),
    ]
    before = len((await crm.get(f"{API}/clients/C0001002/demandes")).json()["demandes"])
    for body, champ in cases:
        response = await crm.post(f"{API}/clients/C0001002/demandes", json=body)
        assert response.status_code == 400 and champ in [
            d["champ"] for d in response.json()["details"]
        ], body
    assert len((await crm.get(f"{API}/clients/C0001002/demandes")).json()["demandes"]) == before


async def test_reclamation_type_is_always_a_complaint(crm: httpx.AsyncClient) -> None:
    created = await crm.post(
        f"{API}/clients/C0001001/demandes",
        json={
            "type": "RECLAMATION",
            "sujet": "Retard",
            "description": "Trop long",
            "reclamation": False,
        },
    )
    assert created.json()["reclamation"] is True and created.json()["suivi"] is True


async def test_attachment_rules(crm: httpx.AsyncClient) -> None:
    assert (await upload(crm, b"GIF89a...", "image/gif", "x.gif")).status_code == 415
    assert (await upload(crm, b"not a pdf", "application/pdf")).status_code == 415
    assert (await upload(crm, b"", "application/pdf")).status_code == 400
    assert (
        await upload(crm, b"%PDF" + b"x" * (10 * 1024 * 1024), "application/pdf")
    ).status_code == 413
    assert (await crm.post(f"{API}/pieces-jointes", json={"fichier": "x"})).status_code == 415
    png = await upload(crm, b"\x89PNG\r\n\x1a\n....", "image/png", "C:\\photos\\scan.png")
    assert png.json()["nom"] == "scan.png"
    download = await crm.get(f"{API}/pieces-jointes/{png.json()['id']}")
    assert (
        download.content == b"\x89PNG\r\n\x1a\n...."
        and download.headers["content-disposition"] == 'attachment; filename="scan.png"'
    )


async def test_unused_attachment_expires_after_24_hours(
    mocks: dict[str, MockSystem], crm: httpx.AsyncClient
) -> None:
    piece = (await upload(crm)).json()
    async with admin(mocks["crm"]) as control:
        await control.put("/_admin/clock", json={"offset_s": 86401})
    assert (await crm.get(f"{API}/pieces-jointes/{piece['id']}")).status_code == 404


async def test_statistics_count_by_type_and_status(crm: httpx.AsyncClient) -> None:
    stats = (
        await crm.get(
            f"{API}/demandes/statistiques", params={"depuis": "2023-11-01", "jusqua": "2023-11-30"}
        )
    ).json()
    assert stats["parType"] == {
        "PROROGATION": {"RECU": 1},
        "SINISTRE_PJ": {"RECU": 1},
        "ETAT_CIVIL": {"RECU": 1},
    }
    assert stats["total"] == 3
    too_long = await crm.get(
        f"{API}/demandes/statistiques", params={"depuis": "2023-01-01", "jusqua": "2024-01-03"}
    )
    assert too_long.status_code == 400


async def test_catalogue_has_every_type_in_order(crm: httpx.AsyncClient) -> None:
    types = (await crm.get(f"{API}/types-demandes")).json()["types"]
    assert (
        len(types) == 24
        and types[0]["code"] == "JUSTIF_REMB"
        and types[-1]["code"] == "RECLAMATION"
    )


async def test_login_lockout_after_five_failures_and_reset_unlocks(
    mocks: dict[str, MockSystem], crm: httpx.AsyncClient
) -> None:
    wrong = {"identifiant": "Chris.Martin@example.fr", "motDePasse": "nope"}
    statuses = [
        (await crm.post(f"{API}/authentification", json=wrong)).status_code for _ in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 423, 423]
    right = {"identifiant": "chris.martin@example.fr", "motDePasse": "Lilas-Lyon-2023!"}
    assert (await crm.post(f"{API}/authentification", json=right)).status_code == 423
    assert (
        await crm.post(
            f"{API}/comptes/mot-de-passe-oublie", json={"email": "chris.martin@example.fr"}
        )
    ).status_code == 202
    assert (
        await crm.post(f"{API}/comptes/mot-de-passe-oublie", json={"email": "inconnu@example.fr"})
    ).status_code == 202
    async with admin(mocks["crm"]) as control:
        emails = (
            await control.get("/_admin/outbox", params={"destinataire": "CHRIS.MARTIN@example.fr"})
        ).json()["emails"]
    assert [e["type"] for e in emails] == ["REINITIALISATION"]
    weak = await crm.post(
        f"{API}/comptes/reinitialisation", json={"jeton": emails[0]["jeton"], "motDePasse": "court"}
    )
    assert weak.json()["erreur"] == "MOT_DE_PASSE_FAIBLE" and len(weak.json()["details"]) >= 2
    done = await crm.post(
        f"{API}/comptes/reinitialisation",
        json={"jeton": emails[0]["jeton"], "motDePasse": "Nouveau-Mot-2026!"},
    )
    assert done.json() == {"clientId": "C0001001", "statut": "ACTIF"}
    reused = await crm.post(
        f"{API}/comptes/reinitialisation",
        json={"jeton": emails[0]["jeton"], "motDePasse": "Nouveau-Mot-2027!"},
    )
    assert reused.json()["erreur"] == "JETON_INVALIDE"
    login = await crm.post(
        f"{API}/authentification", json={**right, "motDePasse": "Nouveau-Mot-2026!"}
    )
    assert login.json() == {
        "clientId": "C0001001",
        "typeCompte": "PP",
        "rattaches": ["C0001001"],
        "secondFacteur": "NONE",
    }


async def test_reset_token_expires_after_30_minutes(
    mocks: dict[str, MockSystem], crm: httpx.AsyncClient
) -> None:
    await crm.post(
        f"{API}/comptes/mot-de-passe-oublie", json={"email": "geralt.riviere@example.fr"}
    )
    async with admin(mocks["crm"]) as control:
        token = (await control.get("/_admin/outbox")).json()["emails"][0]["jeton"]
        await control.put("/_admin/clock", json={"offset_s": 1801})
    expired = await crm.post(
        f"{API}/comptes/reinitialisation", json={"jeton": token, "motDePasse": "Nouveau-Mot-2026!"}
    )
    assert expired.json()["erreur"] == "JETON_INVALIDE"


async def test_registration_then_activation(
    mocks: dict[str, MockSystem], crm: httpx.AsyncClient
) -> None:
    body = {
        "type": "PP",
        "numeroAdherent": "48213380",
        "nom": "d'arcy lefevre",
        "prenom": "ELODIE",
        "dateNaissance": "1990-05-17",
        "email": "Elodie@Example.fr",
    }
    created = await crm.post(f"{API}/comptes", json=body)
    assert created.status_code == 201 and created.json() == {
        "clientId": "C0001004",
        "statut": "EN_ATTENTE_ACTIVATION",
    }
    assert (await crm.get(f"{API}/clients/C0001004")).json()["compte"] == {
        "statut": "EN_ATTENTE_ACTIVATION",
        "identifiant": "elodie@example.fr",
    }
    async with admin(mocks["crm"]) as control:
        token = (await control.get("/_admin/outbox")).json()["emails"][-1]["jeton"]
    activated = await crm.post(
        f"{API}/comptes/activation", json={"jeton": token, "motDePasse": "Érables-Aix-2026!"}
    )
    assert activated.json() == {"clientId": "C0001004", "statut": "ACTIF"}
    again = await crm.post(f"{API}/comptes", json=body)
    assert again.status_code == 409 and again.json()["details"][0]["champ"] == "numeroAdherent"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {
                "type": "PP",
                "numeroAdherent": "48213379",
                "nom": "BERTRAND",
                "prenom": "Paul",
                "dateNaissance": "1968-02-11",
                "email": "p@example.fr",
            },
            409,
            "CONFLIT",
        ),
        (
            {
                "type": "PP",
                "numeroAdherent": "48213379",
                "nom": "BERTRAND",
                "prenom": "Pierre",
                "dateNaissance": "1968-02-11",
                "email": "p@example.fr",
            },
            400,
            "IDENTITE_NON_RECONNUE",
        ),
        (
            {
                "type": "PP",
                "numeroAdherent": "48213379",
                "siret": "73282932000074",
                "email": "p@example.fr",
            },
            400,
            "REQUETE_INVALIDE",
        ),
        (
            {
                "type": "PM",
                "numeroAdherent": "90000001",
                "numeroSite": "0001",
                "siret": "73282932000074",
                "codeConfidentiel": "BRC7Q2X9",
                "email": "x@example.fr",
            },
            409,
            "CONFLIT",
        ),
        (
            {
                "type": "PP",
                "numeroAdherent": "48213380",
                "nom": "D'Arcy-Lefèvre",
                "prenom": "Élodie",
                "dateNaissance": "1990-05-17",
                "email": "chris.martin@example.fr",
            },
            409,
            "CONFLIT",
        ),
    ],
)
async def test_registration_refusals(
    crm: httpx.AsyncClient, body: dict[str, str], status: int, code: str
) -> None:
    response = await crm.post(f"{API}/comptes", json=body)
    assert (response.status_code, response.json()["erreur"]) == (status, code)


async def test_pending_and_locked_accounts(crm: httpx.AsyncClient) -> None:
    pending = await crm.post(
        f"{API}/authentification",
        json={"identifiant": "lucas.moreau@example.fr", "motDePasse": "Whatever-2026!"},
    )
    assert pending.json()["erreur"] == "IDENTIFIANTS_INVALIDES"
    locked = await crm.post(
        f"{API}/authentification",
        json={"identifiant": "mfg.delatour@example.fr", "motDePasse": "Chateau-Tour-1949!"},
    )
    assert locked.status_code == 423


async def test_password_change_and_joining_accounts(crm: httpx.AsyncClient) -> None:
    path = f"{API}/comptes/C0001001/mot-de-passe"
    assert (
        await crm.put(path, json={"ancien": "faux", "nouveau": "Lilas-Lyon-2026!"})
    ).status_code == 401
    same = await crm.put(path, json={"ancien": "Lilas-Lyon-2023!", "nouveau": "Lilas-Lyon-2023!"})
    assert same.json()["erreur"] == "REQUETE_INVALIDE"
    assert (
        await crm.put(path, json={"ancien": "Lilas-Lyon-2023!", "nouveau": "Lilas-Lyon-2026!"})
    ).status_code == 204
    joined = await crm.post(
        f"{API}/comptes/C0001001/rattachements",
        json={"identifiant": "geralt.riviere@example.fr", "motDePasse": "Atoll-Sante-2024!"},
    )
    assert joined.json() == {"clientId": "C0001001", "rattaches": ["C0001001", "C0001002"]}
    assert (await crm.get(f"{API}/comptes/C0001002/rattachements")).json()["rattaches"] == [
        "C0001001",
        "C0001002",
    ]
    company = await crm.post(
        f"{API}/comptes/C0001001/rattachements",
        json={"identifiant": "contact@sarl-brico.example.fr", "motDePasse": "Brico-Entreprise-73!"},
    )
    assert company.status_code == 400
    assert (await crm.get(f"{API}/comptes/C0001004/rattachements")).status_code == 404


async def test_quirk_commits_writes_then_answers_503(
    mocks: dict[str, MockSystem], crm: httpx.AsyncClient
) -> None:
    async with admin(mocks["crm"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
        response = await crm.post(
            f"{API}/clients/C0001001/demandes",
            json={
                "type": "MESSAGE",
                "sujet": "a",
                "description": "b",
                "referenceExterne": "gw-quirk-1",
            },
        )
        assert (response.status_code, response.json()["erreur"]) == (503, "INDISPONIBLE")
        assert (
            await crm.get(f"{API}/demandes", params={"referenceExterne": "gw-quirk-1"})
        ).status_code == 503
        await control.put("/_admin/faults", json={})
    found = (await crm.get(f"{API}/demandes", params={"referenceExterne": "gw-quirk-1"})).json()[
        "demandes"
    ]
    assert len(found) == 1
