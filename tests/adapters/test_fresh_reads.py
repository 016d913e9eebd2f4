"""The reads a look for notification events makes (`resolvers/events.py`) ask the back-ends
themselves, never the answer cache: a règlement paid or a document issued a moment ago is found at
the next look. And a notification posted twice under one key is recorded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from gateway.adapters import Backends
from gateway.adapters.crm.alerts import CrmAlerts
from gateway.domain.events import Notice
from gateway.settings import Settings
from mocks import MockSystem
from tests.conftest import admin
from tests.support.live import claims_client, issue_card, pay_now

SINCE = date(2026, 10, 24)


@pytest.fixture
async def backends(mocks: dict[str, MockSystem]) -> AsyncIterator[Backends]:
    built = Backends.build(Settings(), mocks)
    yield built
    await built.aclose()


async def test_a_reglement_paid_a_moment_ago_is_found_at_the_next_read(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    before = await backends.claims.paid_since(SINCE, affiliate="A7781003")
    async with admin(mocks["claims"]) as control, claims_client("http://x", mocks["claims"]) as api:
        reference = await pay_now(control, api)
    after = await backends.claims.paid_since(SINCE, affiliate="A7781003")
    assert [r.reference for r in after if r not in before] == [reference]
    assert mocks["claims"].log.counts["GET /prestations/v2/reglements"] == 2  # both asked claims
    assert all(r.paid_on >= SINCE for r in after)


async def test_a_document_issued_a_moment_ago_is_found_at_the_next_read(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    before = await backends.editique.issued_since("EDQ-1002", SINCE)
    async with admin(mocks["editique"]) as editique:
        issued = await issue_card(editique, "EDQ-1002", "AA565656")
    after = await backends.editique.issued_since("EDQ-1002", SINCE)
    assert [d.id for d in after if d not in before] == [issued]


async def test_a_notification_posted_twice_under_one_key_is_recorded_once(
    backends: Backends, mocks: dict[str, MockSystem]
) -> None:
    alerts = CrmAlerts(backends.crm.transport)
    notice = Notice(
        "Nouveau document disponible", "Votre document est disponible.", "/mes-documents"
    )
    first = await alerts.post("C0001002", "DOCUMENT_DISPONIBLE", notice, "gw-evt-test-1")
    again = await alerts.post("C0001002", "DOCUMENT_DISPONIBLE", notice, "gw-evt-test-1")
    assert (first, again) == (True, False)
    feed = await alerts.feed("C0001002", SINCE)
    assert feed is not None
    assert [n.key for n in feed.notifications] == ["gw-evt-test-1"]
