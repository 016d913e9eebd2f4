"""The live bench's own logic (`bench/live.py`): its world loads in the CRM mock, its moves are
spread evenly, and what arrives is matched to the move it tells of."""

from __future__ import annotations

from pathlib import Path

from bench.live import Ledger, build_world, customers_for, quantiles, schedule
from mocks.crm import Crm


def test_the_bench_world_loads_in_the_crm_mock_with_a_demande_per_customer(
    tmp_path: Path,
) -> None:
    customers = customers_for(sse=8, ws=2, year=2026)
    assert [c.transport for c in customers].count("ws") == 2
    assert len({c.client_id for c in customers}) == 10
    build_world(tmp_path, customers)
    crm = Crm(tmp_path)  # validated against the CRM's contract as it loads
    for customer in customers:
        assert customer.client_id in crm.clients
        demande = crm.demandes[customer.demande_id]
        assert demande["clientId"] == customer.client_id and demande["statut"] == "RECU"


def test_moves_are_spread_evenly_over_the_minute_each_customer_once_a_period() -> None:
    plan = schedule(customers=4, per_minute=1, duration_s=120)
    assert plan == [
        (0.0, 0),
        (15.0, 1),
        (30.0, 2),
        (45.0, 3),
        (60.0, 0),
        (75.0, 1),
        (90.0, 2),
        (105.0, 3),
    ]


def test_an_event_is_matched_to_its_move_and_the_bell_to_every_move_it_counts() -> None:
    ledger = Ledger()
    ledger.moved("C1", 10.0)
    ledger.moved("C1", 70.0)
    ledger.demande_event("C1", "sse", history=2, at=14.0)  # the first move: 2 history entries
    ledger.demande_event("C1", "sse", history=2, at=15.0)  # sent twice
    ledger.demande_event("C1", "sse", history=9, at=16.0)  # no such move
    assert ledger.delays["demandeUpdated sse"] == [4.0]
    assert sum(ledger.duplicates.values()) == 1 and sum(ledger.unmatched.values()) == 1
    ledger.bell("C1", unread=3, at=1.0)  # the count before any move
    ledger.bell("C1", unread=5, at=80.0)  # both moves' notifications at once
    assert ledger.delays["notificationsChanged ws"] == [70.0, 10.0]
    assert quantiles([1.0, 2.0, 3.0, 4.0]) == (2.5, 4.0, 4.0)
