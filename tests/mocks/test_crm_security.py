"""CRM mock, tag `securite`: second factor (TOTP, e-mail, SMS), one-time and recovery codes,
failure lock, code rate, passkeys; as crm.openapi.yaml 3.2 and README.md describe them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from mocks import MockSystem
from mocks.crm_secrets import totp, totp_step
from tests.conftest import admin

API = "/crm/api"
CHRIS = {"identifiant": "chris.martin@example.fr", "motDePasse": "Lilas-Lyon-2023!"}
KEY = {
    "credentialId": "EQpNWx1lSeXX3VW3VTqL7A",
    "clePublique": "pQECAyYgASFYIMevteRbjk3lBJHBHtQeRd44IzvZHUOtHmGay9qd7lmtIlgg"
    "Rl47zuywN8ASkcqsm7rCEs1X7tI0ybBr1iapj3DaGRU",
    "signCount": 0,
    "transports": ["internal", "hybrid"],
    "aaguid": "fbfc3007-154e-4ecc-8c0b-6e020557d7bd",
    "nom": "  iPhone de Geralt ",
}


async def clock(mock: MockSystem, offset_s: float) -> datetime:
    async with admin(mock) as control:
        now = (await control.put("/_admin/clock", json={"offset_s": offset_s})).json()["now"]
    return datetime.fromisoformat(now)


async def outbox(mock: MockSystem, box: str = "emails") -> list[dict[str, Any]]:
    async with admin(mock) as control:
        sent: list[dict[str, Any]] = (await control.get("/_admin/outbox")).json()[box]
        return sent


async def enrol_totp(
    crm: httpx.AsyncClient, mock: MockSystem, client_id: str
) -> tuple[str, list[str]]:
    started = await crm.post(
        f"{API}/comptes/{client_id}/securite/enrolement", json={"methode": "TOTP"}
    )
    assert started.status_code == 201
    secret = started.json()["secret"]
    now = await clock(mock, 0)
    confirmed = await crm.post(
        f"{API}/comptes/{client_id}/securite/enrolement/confirmation",
        json={"code": totp(secret, totp_step(now))},
    )
    assert confirmed.status_code == 200
    return secret, confirmed.json()["codesSecours"]


def test_totp_is_rfc_6238() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → the last 6
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp(secret, 59 // 30) == "287082"
    assert totp(secret, 1111111109 // 30) == "081804"


async def test_totp_enrolment_then_login_with_totp_and_recovery_codes(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    mock = mocks["crm"]
    started = (
        await crm.post(f"{API}/comptes/C0001001/securite/enrolement", json={"methode": "TOTP"})
    ).json()
    assert started["uriOtpauth"] == (
        "otpauth://totp/Espace%20Client:chris.martin%40example.fr?secret="
        f"{started['secret']}&issuer=Espace%20Client&algorithm=SHA1&digits=6&period=30"
    )
    state = (await crm.get(f"{API}/comptes/C0001001/securite")).json()
    assert state["enrolementEnCours"]["methode"] == "TOTP"
    assert state["secondFacteur"]["methode"] == "NONE"
    wrong = await crm.post(
        f"{API}/comptes/C0001001/securite/enrolement/confirmation", json={"code": "000000"}
    )
    assert (wrong.status_code, wrong.json()["erreur"]) == (401, "CODE_INVALIDE")
    now = await clock(mock, 0)
    code = totp(started["secret"], totp_step(now))
    confirmed = await crm.post(
        f"{API}/comptes/C0001001/securite/enrolement/confirmation", json={"code": code}
    )
    assert confirmed.status_code == 200 and len(set(confirmed.json()["codesSecours"])) == 10
    recovery = confirmed.json()["codesSecours"]

    login = (await crm.post(f"{API}/authentification", json=CHRIS)).json()
    assert login["secondFacteur"] == "TOTP"
    replay = await crm.post(
        f"{API}/comptes/C0001001/securite/verification", json={"code": code, "motif": "CONNEXION"}
    )
    assert replay.status_code == 401  # the step of the confirmation counts as used
    later = await clock(mock, 30)
    fresh = totp(started["secret"], totp_step(later))
    verified = await crm.post(
        f"{API}/comptes/C0001001/securite/verification", json={"code": fresh, "motif": "CONNEXION"}
    )
    assert verified.status_code == 200
    assert (verified.json()["type"], verified.json()["codesSecoursRestants"]) == ("TOTP", 10)
    typed = " " + recovery[0].lower().replace("-", " ") + " "
    rescued = await crm.post(
        f"{API}/comptes/C0001001/securite/verification",
        json={"code": typed, "motif": "ACTE_SENSIBLE"},
    )
    assert rescued.json()["type"] == "CODE_SECOURS"
    assert rescued.json()["codesSecoursRestants"] == 9
    again = await crm.post(
        f"{API}/comptes/C0001001/securite/verification",
        json={"code": recovery[0], "motif": "CONNEXION"},
    )
    assert again.status_code == 401
    no_codes = await crm.post(
        f"{API}/comptes/C0001001/securite/codes", json={"canal": "EMAIL", "motif": "CONNEXION"}
    )
    assert (no_codes.status_code, no_codes.json()["details"][0]["champ"]) == (409, "canal")
    twice = await crm.post(f"{API}/comptes/C0001001/securite/enrolement", json={"methode": "EMAIL"})
    assert twice.status_code == 409


async def test_five_wrong_codes_lock_until_a_password_reset_which_keeps_the_factor(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    mock = mocks["crm"]
    await enrol_totp(crm, mock, "C0001001")
    for attempt in range(5):
        wrong = await crm.post(
            f"{API}/comptes/C0001001/securite/verification",
            json={"code": "ZZZZZ-ZZZZZ", "motif": "CONNEXION"},
        )
        assert wrong.status_code == (423 if attempt == 4 else 401)
    assert (await crm.post(f"{API}/authentification", json=CHRIS)).status_code == 423
    state = (await crm.get(f"{API}/comptes/C0001001/securite")).json()
    assert state["statutCompte"] == "VERROUILLE"
    renewal = await crm.post(f"{API}/comptes/C0001001/securite/codes-secours", json={"code": "1"})
    assert renewal.status_code == 423
    await crm.post(f"{API}/comptes/mot-de-passe-oublie", json={"email": CHRIS["identifiant"]})
    token = (await outbox(mock))[-1]["jeton"]
    reset = await crm.post(
        f"{API}/comptes/reinitialisation", json={"jeton": token, "motDePasse": "Nouveau-Mot-2026!"}
    )
    assert reset.status_code == 200
    login = await crm.post(
        f"{API}/authentification", json={**CHRIS, "motDePasse": "Nouveau-Mot-2026!"}
    )
    assert login.json()["secondFacteur"] == "TOTP"


async def test_email_method_codes_their_motif_rate_and_deactivation(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    mock = mocks["crm"]
    started = await crm.post(
        f"{API}/comptes/C0009001/securite/enrolement", json={"methode": "EMAIL"}
    )
    assert started.json()["destinataire"] == "contact@sarl-brico.example.fr"
    sent = (await outbox(mock))[-1]
    assert (sent["type"], sent["motif"], sent["clientId"]) == ("CODE", "ENROLEMENT", "C0009001")
    confirmed = await crm.post(
        f"{API}/comptes/C0009001/securite/enrolement/confirmation", json={"code": sent["code"]}
    )
    assert confirmed.json()["methode"] == "EMAIL"
    await clock(mock, 61)
    asked = await crm.post(
        f"{API}/comptes/C0009001/securite/codes", json={"canal": "EMAIL", "motif": "ACTE_SENSIBLE"}
    )
    assert asked.status_code == 202 and asked.json()["destinataire"] == sent["destinataire"]
    acte = (await outbox(mock))[-1]["code"]
    too_soon = await crm.post(
        f"{API}/comptes/C0009001/securite/codes", json={"canal": "EMAIL", "motif": "CONNEXION"}
    )
    assert too_soon.status_code == 429 and 1 <= int(too_soon.headers["retry-after"]) <= 60
    assert (await outbox(mock))[-1]["code"] == acte  # nothing sent
    other_motif = await crm.post(
        f"{API}/comptes/C0009001/securite/verification", json={"code": acte, "motif": "CONNEXION"}
    )
    assert other_motif.status_code == 401
    sms = await crm.post(
        f"{API}/comptes/C0009001/securite/codes", json={"canal": "SMS", "motif": "CONNEXION"}
    )
    assert sms.status_code == 409
    off = await crm.post(f"{API}/comptes/C0009001/securite/desactivation", json={"code": acte})
    assert off.status_code == 200 and off.json()["secondFacteur"] == {
        "methode": "NONE",
        "depuis": None,
        "codesSecoursRestants": 0,
    }


async def test_the_code_rate_allows_five_an_hour(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    mock = mocks["crm"]
    body = {"canal": "SMS", "motif": "ACTE_SENSIBLE"}
    for minute in range(5):
        await clock(mock, minute * 61)
        assert (
            await crm.post(f"{API}/comptes/C0001001/securite/codes", json=body)
        ).status_code == 202
    await clock(mock, 6 * 61)
    refused = await crm.post(f"{API}/comptes/C0001001/securite/codes", json=body)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 60
    sms = await outbox(mock, "sms")
    assert len(sms) == 5 and sms[-1]["destinataire"] == "+33634876409"
    verified = await crm.post(
        f"{API}/comptes/C0001001/securite/verification",
        json={"code": sms[-1]["code"], "motif": "ACTE_SENSIBLE"},
    )
    assert verified.json()["type"] == "CODE_UNIQUE"


async def test_states_that_allow_nothing(crm: httpx.AsyncClient) -> None:
    no_mobile = await crm.post(
        f"{API}/comptes/C0001003/securite/enrolement", json={"methode": "SMS"}
    )
    assert (no_mobile.status_code, no_mobile.json()["details"][0]["champ"]) == (409, "methode")
    nothing = await crm.post(
        f"{API}/comptes/C0001001/securite/verification",
        json={"code": "123456", "motif": "CONNEXION"},
    )
    assert (nothing.status_code, nothing.json()["details"][0]["champ"]) == (409, "motif")
    pending = await crm.post(
        f"{API}/comptes/C0001001/securite/enrolement/confirmation", json={"code": "123456"}
    )
    assert pending.status_code == 409
    none = await crm.post(f"{API}/comptes/C0001001/securite/desactivation", json={"code": "123456"})
    assert none.status_code == 409
    for client_id in ("C0001004", "C0001008", "C9999999"):  # no account, not activated, unknown
        assert (await crm.get(f"{API}/comptes/{client_id}/securite")).status_code == 404
    bad = await crm.post(f"{API}/comptes/C0001001/securite/enrolement", json={"methode": "NONE"})
    assert bad.status_code == 400
    locked = await crm.post(f"{API}/comptes/C0001005/securite/enrolement", json={"methode": "TOTP"})
    assert locked.status_code == 423
    assert (await crm.get(f"{API}/comptes/C0001005/securite")).status_code == 200


async def test_passkeys_register_once_log_in_with_increasing_counters(
    crm: httpx.AsyncClient,
) -> None:
    created = await crm.post(f"{API}/comptes/C0001002/cles-acces", json=KEY)
    assert created.status_code == 201
    assert created.headers["location"] == f"{API}/comptes/C0001002/cles-acces/{KEY['credentialId']}"
    assert created.json()["nom"] == "iPhone de Geralt"
    assert created.json()["derniereUtilisation"] is None
    taken = await crm.post(f"{API}/comptes/C0001001/cles-acces", json=KEY)
    assert (taken.status_code, taken.json()["details"][0]["champ"]) == (409, "credentialId")
    found = (await crm.get(f"{API}/cles-acces/{KEY['credentialId']}")).json()
    assert (found["clientId"], found["clePublique"], found["statutCompte"]) == (
        "C0001002",
        KEY["clePublique"],
        "ACTIF",
    )
    assert (await crm.get(f"{API}/cles-acces/{KEY['credentialId'].lower()}")).status_code == 404
    zero = await crm.post(
        f"{API}/cles-acces/{KEY['credentialId']}/assertion", json={"signCount": 0}
    )
    assert zero.status_code == 200 and zero.json()["rattaches"] == ["C0001002"]
    up = await crm.post(f"{API}/cles-acces/{KEY['credentialId']}/assertion", json={"signCount": 5})
    assert up.status_code == 200
    down = await crm.post(
        f"{API}/cles-acces/{KEY['credentialId']}/assertion", json={"signCount": 5}
    )
    assert (down.status_code, down.json()["details"][0]["champ"]) == (409, "signCount")
    renamed = await crm.patch(
        f"{API}/comptes/C0001002/cles-acces/{KEY['credentialId']}", json={"nom": "Téléphone"}
    )
    assert renamed.json()["nom"] == "Téléphone" and renamed.json()["signCount"] == 5
    listed = (await crm.get(f"{API}/comptes/C0001002/cles-acces")).json()["clesAcces"]
    assert [k["credentialId"] for k in listed] == [KEY["credentialId"]]
    assert "clePublique" not in listed[0]
    other = await crm.delete(f"{API}/comptes/C0001001/cles-acces/{KEY['credentialId']}")
    assert other.status_code == 404
    deleted = await crm.delete(f"{API}/comptes/C0001002/cles-acces/{KEY['credentialId']}")
    assert deleted.status_code == 204
    assert (await crm.post(f"{API}/comptes/C0001001/cles-acces", json=KEY)).status_code == 201


async def test_ten_passkeys_at_most_and_none_for_a_locked_account(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    for i in range(10):
        key = {**KEY, "credentialId": f"{i:02d}" + KEY["credentialId"][2:]}
        assert (await crm.post(f"{API}/comptes/C0001002/cles-acces", json=key)).status_code == 201
    eleventh = await crm.post(f"{API}/comptes/C0001002/cles-acces", json=KEY)
    assert (eleventh.status_code, eleventh.json()["details"]) == (409, [])
    mocks["crm"].accounts["C0001002"]["statut"] = "VERROUILLE"  # type: ignore[attr-defined]
    first = "00" + KEY["credentialId"][2:]
    assert (await crm.get(f"{API}/cles-acces/{first}")).json()["statutCompte"] == "VERROUILLE"
    refused = await crm.post(f"{API}/cles-acces/{first}/assertion", json={"signCount": 1})
    assert refused.status_code == 423


@pytest.mark.parametrize(
    "broken",
    [
        {"credentialId": "court"},
        {"transports": ["internal", "internal"]},
        {"transports": ["bluetooth"]},
        {"aaguid": "FBFC3007-154E-4ECC-8C0B-6E020557D7BD"},
        {"nom": "   "},
        {"signCount": -1},
        {"signCount": True},
    ],
)
async def test_a_broken_passkey_is_refused(crm: httpx.AsyncClient, broken: dict[str, Any]) -> None:
    response = await crm.post(f"{API}/comptes/C0001002/cles-acces", json={**KEY, **broken})
    assert (response.status_code, response.json()["erreur"]) == (400, "REQUETE_INVALIDE")


async def test_a_lost_answer_of_a_write_is_committed(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    async with admin(mocks["crm"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
        lost = await crm.post(f"{API}/comptes/C0001002/cles-acces", json=KEY)
        assert lost.status_code == 503
        await control.put("/_admin/faults", json={})
    assert (await crm.get(f"{API}/cles-acces/{KEY['credentialId']}")).status_code == 200


async def test_any_typed_code_gets_a_typed_answer(
    crm: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    await enrol_totp(crm, mocks["crm"], "C0001001")
    for typed in ("é" * 12, "１２３４５６", "ABCDE-FGHIJ-K", "12345"):
        response = await crm.post(
            f"{API}/comptes/C0001001/securite/verification",
            json={"code": typed, "motif": "CONNEXION"},
        )
        assert (response.status_code, response.json()["erreur"]) == (401, "CODE_INVALIDE")
