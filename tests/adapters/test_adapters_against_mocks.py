"""Adapters against the in-process mocks: quirks, faults and the legacy error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from gateway.adapters import Backends
from gateway.errors import BackendRejected, BackendUnavailable, NotFound, RateLimited
from gateway.settings import Settings
from mocks import MockSystem
from tests.conftest import admin


@pytest.fixture
async def backends(mocks: dict[str, MockSystem]) -> AsyncIterator[Backends]:
    built = Backends.build(Settings(), mocks)
    yield built
    await built.aclose()


async def faults(mock: MockSystem, **settings: object) -> None:
    async with admin(mock) as control:
        assert (await control.put("/_admin/faults", json=settings)).status_code == 200


async def test_batch_reads_are_chunked_by_fifty(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    numbers = [f"MX{i:06d}" for i in range(1, 31)] + [f"UNKNOWN{i}" for i in range(40)]
    found = await backends.policy_admin.contracts(numbers)
    assert len(found) == 30 and mocks["policy-admin"].log.counts == {
        "POST /api/v1/contrats/recherche": 2
    }


async def test_affiliates_are_walked_across_pages(backends: Backends) -> None:
    members = await backends.policy_admin.affiliates("80785436")
    assert len(members) == 27 and len({m.membership for m in members}) == 27


async def test_e999_in_a_200_is_a_transient_failure(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    await faults(mocks["policy-admin"], quirk_rate=1.0)
    with pytest.raises(BackendUnavailable) as raised:
        await backends.policy_admin.person_contracts("0004517823")
    assert raised.value.backend == "policy-admin" and raised.value.retryable


async def test_claims_429_carries_retry_after(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    await faults(mocks["claims"], error_rate=1.0, error_status=429)
    with pytest.raises(RateLimited) as raised:
        await backends.claims.dossier("185501146")
    assert raised.value.retry_after == 1


async def test_claims_pages_are_sliced_exactly(backends: Backends) -> None:
    whole = await backends.claims.reglements(offset=0, limit=50, contract="81000001")
    middle = await backends.claims.reglements(offset=45, limit=10, contract="81000001")
    assert [r.reference for r in middle.items] == [r.reference for r in whole.items[45:50]] + [
        r.reference
        for r in (await backends.claims.reglements(offset=50, limit=5, contract="81000001")).items
    ]
    assert middle.total == whole.total > 300


async def test_editique_faults_are_mapped(backends: Backends, mocks: dict[str, MockSystem]) -> None:
    assert await backends.editique.search("EDQ-9999") == ()
    with pytest.raises(NotFound):
        await backends.editique.fetch("EDQ-1002", "DOC20231020000311")
    await faults(mocks["editique"], error_rate=1.0, error_status=503)
    with pytest.raises(BackendUnavailable):
        await backends.editique.search("EDQ-1001")
    await faults(mocks["editique"], error_rate=1.0, error_status=502)
    with pytest.raises(BackendUnavailable):
        await backends.editique.search("EDQ-1001")


async def test_editique_searches_over_500_results_are_split(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    editique = mocks["editique"]
    template = next(d for d in editique.documents if d["idPersonne"] == "EDQ-1001")  # type: ignore[attr-defined]
    editique.documents += [  # type: ignore[attr-defined]
        {
            **template,
            "idDocument": f"DOC2022{1 + i // 28:02d}{1 + i % 28:02d}{900000 + i:06d}",
            "dateEmission": f"2022-{1 + i // 28:02d}-{1 + i % 28:02d}T06:00:00+01:00",
        }
        for i in range(330)
    ] * 1
    editique.documents += [  # type: ignore[attr-defined]
        {
            **template,
            "idDocument": f"DOC2021{1 + i // 28:02d}{1 + i % 28:02d}{950000 + i:06d}",
            "dateEmission": f"2021-{1 + i // 28:02d}-{1 + i % 28:02d}T06:00:00+01:00",
        }
        for i in range(330)
    ]
    found = await backends.editique.search(
        "EDQ-1001", since=date(2020, 1, 1), until=date(2026, 11, 24)
    )
    expected = [
        d
        for d in editique.documents
        if d["idPersonne"] == "EDQ-1001" and d["dateEmission"][:4] >= "2020"
    ]  # type: ignore[attr-defined]
    assert len(found) == len(expected) > 500 and len({d.id for d in found}) == len(found)


async def test_a_wrong_credential_is_a_rejection_not_an_outage(
    mocks: dict[str, MockSystem],
) -> None:
    built = Backends.build(Settings(CRM_TOKEN="wrong"), mocks)
    try:
        with pytest.raises(BackendRejected) as raised:
            await built.crm.customer("C0001001")
        assert "wrong" not in raised.value.message and raised.value.retryable is False
    finally:
        await built.aclose()
