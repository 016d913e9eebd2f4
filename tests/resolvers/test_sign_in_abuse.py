"""What a stranger can no longer do to a customer's account: lock it out with wrong passwords
(from any number of devices, or through `linkAccount` inside a session), learn whether a login
exists (the 5th answer, the time taken, registration), or spend the owner's reset e-mails."""

from __future__ import annotations

import statistics
import time

from tests.resolvers.test_accounts import REGISTER, registration, settled
from tests.support.accounts import (
    PASSWORDS,
    account,
    crm_calls,
    errors_of,
    login,
    outbox,
    session,
)
from tests.support.gateway import Gateway, codes

AUTH = "POST /crm/api/authentification"
CHRIS, PAUL = "chris.martin@example.fr", "paul.bertrand@example.fr"
OWNER_PHONE = "iphone-de-chris-5f1c"


async def test_five_wrong_passwords_from_five_unknown_devices_do_not_lock_the_owner_out(
    gateway: Gateway,
) -> None:
    await session(gateway, CHRIS, device=OWNER_PHONE)  # the owner's phone is known
    before = crm_calls(gateway, AUTH)
    answers = [
        errors_of(await login(gateway, CHRIS, f"Devine-Mot2Passe{n}!", f"attaquant-{n}"))
        for n in range(5)
    ]
    reached = crm_calls(gateway, AUTH) - before
    print(f"5 wrong passwords from 5 unknown devices: {reached} reached the CRM")
    assert reached == 2  # short of the CRM's lock (5): the gateway refused the others itself
    assert answers == [[(None, "INVALID_CREDENTIALS")]] * 2 + [[(None, "LOCKED")]] * 3
    assert account(gateway, "C0001001")["statut"] == "ACTIF"
    owner = await login(gateway, CHRIS, device=OWNER_PHONE)
    assert owner["userErrors"] == [] and owner["session"] is not None
    for n in range(5):  # and again right after: the owner's success gave strangers 2 more, no lock
        await login(gateway, CHRIS, f"Encore-Mot2Passe{n}!", f"attaquant-{n}")
    assert account(gateway, "C0001001")["statut"] == "ACTIF"
    assert (await login(gateway, CHRIS, device=OWNER_PHONE))["session"] is not None


async def test_the_header_names_the_device_as_well_as_the_input(gateway: Gateway) -> None:
    await session(gateway, CHRIS, device=OWNER_PHONE)
    for n in range(3):
        await login(gateway, CHRIS, f"Devine-Mot2Passe{n}!", f"attaquant-{n}")
    body = await gateway.run(
        "accounts/Login",
        {"input": {"login": CHRIS, "password": PASSWORDS[CHRIS]}},
        headers={"X-Device-Id": OWNER_PHONE},
    )
    assert body["data"]["login"]["session"] is not None


async def test_an_existing_and_an_unknown_login_answer_alike_at_every_attempt(
    gateway: Gateway,
) -> None:
    answers: dict[str, list[object]] = {CHRIS: [], "personne.inconnue@example.fr": []}
    timings: dict[str, list[float]] = {who: [] for who in answers}
    for n in range(7):
        for who in answers:
            started = time.perf_counter()
            answers[who].append(await login(gateway, who, f"Devine-Mot2Passe{n}!"))
            timings[who].append(time.perf_counter() - started)
    existing, unknown = answers.values()
    assert existing == unknown  # the 5th included: no LOCKED for one and INVALID for the other
    assert [errors_of(a)[0][1] for a in existing] == ["INVALID_CREDENTIALS"] * 2 + ["LOCKED"] * 5  # type: ignore[arg-type]
    floor = gateway.settings.login_refusal_floor_s
    assert min(min(t) for t in timings.values()) >= floor
    medians = [statistics.median(t) for t in timings.values()]
    print(
        f"median refusal: existing {medians[0] * 1000:.0f} ms, unknown {medians[1] * 1000:.0f} ms"
    )
    assert abs(medians[0] - medians[1]) < 0.05
    assert account(gateway, "C0001001")["statut"] == "ACTIF"


async def test_link_account_attempts_spend_the_same_allowance(gateway: Gateway) -> None:
    """From inside a session, wrong passwords for someone else's login stop short of its lock."""
    await session(gateway, PAUL, device="telephone-de-paul")
    chris = (await session(gateway, CHRIS))["accessToken"]
    before = crm_calls(gateway, AUTH)
    for n in range(5):
        body = await gateway.run(
            "accounts/LinkAccount",
            {"input": {"login": PAUL, "password": f"Devine-Mot2Passe{n}!"}},
            token=chris,
            headers={"X-Device-Id": f"attaquant-{n}"},
        )
        assert body["data"]["linkAccount"]["account"] is None
    assert crm_calls(gateway, AUTH) - before == 2
    assert account(gateway, "C0001003")["statut"] == "ACTIF"
    assert (await login(gateway, PAUL, device="telephone-de-paul"))["session"] is not None


async def test_registration_never_says_an_address_is_another_accounts_login(
    gateway: Gateway,
) -> None:
    taken = await gateway.run(REGISTER, registration(email=CHRIS, emailConfirmation=CHRIS))
    free = "elodie.nouvelle@example.fr"
    made = await gateway.run(REGISTER, registration(email=free, emailConfirmation=free))
    assert (
        taken["data"] == made["data"] == {"registerAccount": {"accepted": True, "userErrors": []}}
    )
    assert outbox(gateway, "ACTIVATION", CHRIS) == []  # nothing sent for the taken address
    assert len(outbox(gateway, "ACTIVATION", free)) == 1


async def test_strangers_cannot_spend_the_owners_reset_emails(gateway: Gateway) -> None:
    await session(gateway, CHRIS, device=OWNER_PHONE)
    refused = 0
    for n in range(12):  # strangers, each from its own device
        body = await gateway.run(
            "accounts/RequestPasswordReset",
            {"email": CHRIS},
            headers={"X-Device-Id": f"attaquant-{n % 4}"},
        )
        refused += codes(body) == ["RATE_LIMITED"]
    assert refused == 12 - 5  # the login's shared allowance for strangers
    for _ in range(3):  # the owner's known device has its own
        body = await gateway.run(
            "accounts/RequestPasswordReset", {"email": CHRIS}, headers={"X-Device-Id": OWNER_PHONE}
        )
        assert body == {"data": {"requestPasswordReset": {"accepted": True}}}
    await settled()
    assert len(outbox(gateway, "REINITIALISATION", CHRIS)) == 5 + 3


async def test_limit_and_store_keys_hold_no_email_nor_an_unsalted_hash_of_one(
    gateway: Gateway,
) -> None:
    import hashlib

    await session(gateway, CHRIS, device=OWNER_PHONE)
    await login(gateway, CHRIS, "Devine-Mot2Passe!", "attaquant")
    await gateway.run("accounts/RequestPasswordReset", {"email": CHRIS})
    await settled()
    services = gateway.app.state.services
    keys = " ".join([*services.rate_limits.storage.events, *services.store.records])
    assert "login-strangers" in keys and "reset-email" in keys and "device:" in keys
    for secret in (CHRIS, OWNER_PHONE):
        plain = hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in keys and plain[:32] not in keys
    assert services.brute_force.keyed(CHRIS) in keys  # an HMAC under the deployment's key
