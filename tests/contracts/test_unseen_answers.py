"""Answers that held on the documented personas and went wrong on data the gateway never saw,
run on every fixture world (`tests/support/world.py`): the contract page loads the CRM's
catalogue once, and `requestTermination` refuses exactly what the preview refuses, sending the
date the preview gives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.schema.ids import to_global
from mocks import MockSystem
from tests.support.gateway import Gateway
from tests.support.security import verify_step_up
from tests.support.world import World

TERMINABLE = ("SAN", "PRV", "IAR")


@pytest.fixture
async def uncached(mocks: dict[str, MockSystem], world: World) -> AsyncIterator[Gateway]:
    """The gateway with its answer cache off: every load reaches the back-end."""
    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings(today=world.today, cache=False)
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, settings, mocks, app)


def held_contracts(world: World, families: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(client id, contract number) of what individuals hold, the terminated ones apart."""
    return [
        (persona.client_id, contract["NUM_CTR"])
        for persona in world.individuals()
        for contract, _role in world.held(persona)
        if contract["CD_STATUT"] != "R" and (families is None or contract["CD_FAM"] in families)
    ]


def catalogue_loads(gateway: Gateway) -> int:
    return sum(1 for c in gateway.mocks["crm"].log.calls if c.path.endswith("/types-demandes"))


async def test_a_contract_page_loads_the_demande_catalogue_once(
    uncached: Gateway, world: World
) -> None:
    cases = held_contracts(world)[:25]
    assert cases
    for client_id, number in cases:
        before = catalogue_loads(uncached)
        body = await uncached.run(
            "ContractPage", {"id": to_global("Contract", number)}, as_=client_id
        )
        assert "errors" not in body, (number, body["errors"])
        assert catalogue_loads(uncached) - before == 1, number


async def stepped_up_if_possible(gateway: Gateway, client_id: str) -> bool:
    """A real e-mailed step-up when the client has an online account to send the code to (the
    unseen worlds' customers do not all have one, some are locked: then no proof can be given)."""
    token = gateway.token(client_id)
    asked = await gateway.run(
        "securite/RequestStepUp",
        {"input": {"idempotencyKey": uuid.uuid4().hex, "method": "EMAIL_CODE"}},
        token=token,
    )
    if asked.get("data") is None or asked["data"]["requestStepUp"]["userErrors"]:
        return False  # NOT_FOUND: no online account; LOCKED: a locked one
    await verify_step_up(gateway, token, client_id, asked["data"]["requestStepUp"])
    gateway.strong[client_id] = token
    return True


async def test_request_termination_refuses_what_the_preview_refuses_with_the_same_date(
    uncached: Gateway, world: World
) -> None:
    cases = held_contracts(world, TERMINABLE)
    assert any(world.contracts[n]["CD_FAM"] == "PRV" for _, n in cases)
    for client_id, number in cases[:30]:
        contract_id = to_global("Contract", number)
        preview = await uncached.run(
            "demarches/TerminationPreview", {"id": contract_id}, as_=client_id
        )
        said = preview["data"]["contract"]["termination"]
        needs_proof = said["allowed"] and client_id not in uncached.strong  # a sensitive act
        if needs_proof and not await stepped_up_if_possible(uncached, client_id):
            continue  # no online account, or a locked one: no proof can be given
        body = await uncached.run(
            "demarches/RequestTermination",
            {"input": {"idempotencyKey": uuid.uuid4().hex, "contractId": contract_id}},
            as_=client_id,
        )
        done = body["data"]["requestTermination"]
        if said["allowed"]:
            assert done["userErrors"] == [], (number, said, done)
            assert done["effectiveDate"] == said["effectiveDate"], number
        else:
            assert [e["message"] for e in done["userErrors"]] == [said["refusal"]], (number, done)
            assert done["demande"] is None


async def test_an_individual_prevoyance_contract_without_online_termination_says_so_in_the_preview(
    uncached: Gateway, world: World
) -> None:
    """Policy admin lists the acts allowed online; a prévoyance contract whose acts hold no RESIL
    is not terminated online, and its page offers no termination either."""
    cases = [
        (client_id, number)
        for client_id, number in held_contracts(world, ("PRV",))
        if "RESIL" not in (world.contracts[number].get("ACTES") or [])
        and world.contracts[number]["COLL"] == "N"  # a membership is refused for another reason
    ]
    if not cases:
        pytest.skip(f"{world.name}: every prévoyance contract is terminated online")
    client_id, number = cases[0]
    page = await uncached.run("ContractPage", {"id": to_global("Contract", number)}, as_=client_id)
    preview = await uncached.run(
        "demarches/TerminationPreview", {"id": to_global("Contract", number)}, as_=client_id
    )

    said = preview["data"]["contract"]["termination"]
    assert not said["allowed"] and said["effectiveDate"] is None and said["refusal"]
    actions = [a["code"] for a in page["data"]["contract"]["availableActions"]]
    assert "RESIL" not in actions
