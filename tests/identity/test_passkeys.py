"""The relying party's ceremonies, run for real with the software authenticator: what py_webauthn
accepts and refuses, what a ceremony token is worth, and to whom."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gateway.domain.passkeys import PasskeyOwner
from gateway.identity.passkeys import CeremonyInvalid, CredentialRefused, RelyingParty
from gateway.identity.tokens import Principal
from gateway.platform.store import MemoryStore
from gateway.settings import Settings
from tests.support.authenticator import UP, SoftAuthenticator

GERALT = Principal("C0001002", "customer", "session-of-geralt")


def party(**settings: object) -> RelyingParty:
    return RelyingParty(MemoryStore(), Settings(**settings))  # type: ignore[arg-type]


async def registered(rp: RelyingParty, phone: SoftAuthenticator) -> PasskeyOwner:
    ceremony = await rp.begin_registration(GERALT, "geralt.riviere@example.fr", "Geralt", [])
    new = await rp.finish_registration(GERALT, ceremony.token, phone.create(ceremony.options_json))
    return PasskeyOwner(new.credential_id, GERALT.subject, False, False, new.public_key, 0)


async def test_creation_options_ask_for_a_discoverable_passkey_with_the_biometric_check() -> None:
    rp = party(webauthn_rp_id="espace-client.example.fr")
    ceremony = await rp.begin_registration(
        GERALT, "geralt.riviere@example.fr", "Geralt RIVIÈRE", ["EQpNWx1lSeXX3VW3VTqL7A"]
    )
    options = json.loads(ceremony.options_json)
    assert options["rp"] == {"id": "espace-client.example.fr", "name": "Espace Client"}
    assert options["user"]["name"] == "geralt.riviere@example.fr"
    assert "C0001002" not in ceremony.options_json  # the user handle names no customer number
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["excludeCredentials"] == [{"id": "EQpNWx1lSeXX3VW3VTqL7A", "type": "public-key"}]
    assert options["timeout"] == 300_000 and len(options["challenge"]) >= 43


async def test_a_registered_passkey_signs_in_and_its_counter_moves_up() -> None:
    rp, phone = party(), SoftAuthenticator()
    owner = await registered(rp, phone)
    assert list(phone.credentials) == [owner.credential_id]
    sign_in = await rp.begin_login()
    assert json.loads(sign_in.options_json)["userVerification"] == "required"
    challenge = await rp.claim_login(sign_in.token)
    assert rp.check_assertion(challenge, phone.get(sign_in.options_json), owner) == 1


async def test_a_page_of_another_origin_cannot_register_nor_sign_in() -> None:
    rp, phone = party(), SoftAuthenticator()
    ceremony = await rp.begin_registration(GERALT, "g", "G", [])
    phished = phone.create(ceremony.options_json, origin="https://espace-client.example.evil")
    with pytest.raises(CredentialRefused):
        await rp.finish_registration(GERALT, ceremony.token, phished)
    owner = await registered(rp, SoftAuthenticator())
    holder = SoftAuthenticator(credentials=phone.credentials)
    sign_in = await rp.begin_login()
    challenge = await rp.claim_login(sign_in.token)
    with pytest.raises(CredentialRefused):
        rp.check_assertion(
            challenge, holder.get(sign_in.options_json, origin="https://evil.example"), owner
        )


async def test_a_ceremony_token_works_once_and_for_its_own_session_only() -> None:
    rp, phone = party(), SoftAuthenticator()
    ceremony = await rp.begin_registration(GERALT, "g", "G", [])
    answer = phone.create(ceremony.options_json)
    other_session = Principal("C0001002", "customer", "another-session")
    other_customer = Principal("C0001001", "customer", "session-of-geralt")
    for thief in (other_session, other_customer):
        with pytest.raises(CeremonyInvalid):
            await rp.finish_registration(thief, ceremony.token, answer)
    await rp.finish_registration(GERALT, ceremony.token, answer)  # not spent by the thieves
    with pytest.raises(CeremonyInvalid):
        await rp.finish_registration(GERALT, ceremony.token, answer)
    sign_in = await rp.begin_login()
    with pytest.raises(CeremonyInvalid):  # a sign-in ceremony registers nothing
        await rp.finish_registration(GERALT, sign_in.token, answer)
    await rp.claim_login(sign_in.token)
    with pytest.raises(CeremonyInvalid):  # the replayed challenge
        await rp.claim_login(sign_in.token)


async def test_without_the_biometric_check_no_passkey_is_added_nor_used() -> None:
    rp = party()
    presence_only = SoftAuthenticator(flags=UP)
    ceremony = await rp.begin_registration(GERALT, "g", "G", [])
    with pytest.raises(CredentialRefused):
        await rp.finish_registration(
            GERALT, ceremony.token, presence_only.create(ceremony.options_json)
        )
    phone = SoftAuthenticator()
    owner = await registered(rp, phone)
    phone.flags = UP
    sign_in = await rp.begin_login()
    with pytest.raises(CredentialRefused):
        rp.check_assertion(
            await rp.claim_login(sign_in.token), phone.get(sign_in.options_json), owner
        )


async def test_a_cloned_authenticator_whose_counter_went_backwards_is_refused() -> None:
    rp, phone = party(), SoftAuthenticator()
    owner = await registered(rp, phone)
    clone = phone.clone()
    sign_in = await rp.begin_login()
    count = rp.check_assertion(
        await rp.claim_login(sign_in.token), phone.get(sign_in.options_json), owner
    )
    owner = replace(owner, sign_count=count)  # as the CRM stored it
    again = await rp.begin_login()
    with pytest.raises(CredentialRefused):
        rp.check_assertion(await rp.claim_login(again.token), clone.get(again.options_json), owner)


async def test_a_passkey_made_for_one_account_cannot_open_another() -> None:
    rp, phone = party(), SoftAuthenticator()
    owner = await registered(rp, phone)
    elsewhere = PasskeyOwner(owner.credential_id, "C0001001", False, False, owner.public_key, 0)
    sign_in = await rp.begin_login()
    with pytest.raises(CredentialRefused):  # its user handle is Geralt's
        rp.check_assertion(
            await rp.claim_login(sign_in.token), phone.get(sign_in.options_json), elsewhere
        )


def test_origins_are_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "GATEWAY_WEBAUTHN_ORIGINS",
        "https://espace-client.example.fr, android:apk-key-hash:Z3jL8kU2-qW_x",
    )
    assert Settings().webauthn_origins == (
        "https://espace-client.example.fr",
        "android:apk-key-hash:Z3jL8kU2-qW_x",
    )
    assert Settings(_env_file=None).webauthn_rp_id == "localhost"  # type: ignore[call-arg]
    monkeypatch.setenv("GATEWAY_WEBAUTHN_ORIGINS", "https://*.example.fr")
    with pytest.raises(ValueError, match="GATEWAY_WEBAUTHN_ORIGINS"):
        Settings()


async def test_a_step_up_proof_is_asked_of_the_sessions_own_passkeys_and_spent_once() -> None:
    rp, phone = party(), SoftAuthenticator()
    owner = await registered(rp, phone)
    ceremony = await rp.begin_step_up(GERALT, [owner.credential_id])
    options = json.loads(ceremony.options_json)
    assert options["allowCredentials"] == [{"id": owner.credential_id, "type": "public-key"}]
    assert options["userVerification"] == "required"
    with pytest.raises(CeremonyInvalid):  # not a sign-in, nor another session's proof
        await rp.claim_login(ceremony.token)
    with pytest.raises(CeremonyInvalid):
        await rp.claim_step_up(ceremony.token, Principal("C0001002", "customer", "stolen"))
    challenge = await rp.claim_step_up(ceremony.token, GERALT)
    assert rp.check_assertion(challenge, phone.get(ceremony.options_json), owner) == 1
    with pytest.raises(CeremonyInvalid):
        await rp.claim_step_up(ceremony.token, GERALT)
    sign_in = await rp.begin_login()
    with pytest.raises(CeremonyInvalid):  # a sign-in ceremony proves no session
        await rp.claim_step_up(sign_in.token, GERALT)
