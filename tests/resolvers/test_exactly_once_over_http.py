"""Exactly once over real HTTP: gateway process(es) and mock processes, answers lost after commit.

Smaller runs of `python -m bench.exactly_once` (docs/demarches-and-accounts.md gives the 200-call results)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.exactly_once import gateways, measure
from mocks.processes import mock_servers
from tests.support.redis import needs_redis, redis_server


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def test_30_demandes_with_30_percent_of_crm_answers_lost_are_30_demandes(
    served: dict[str, str],
) -> None:
    with gateways(served, 1, None) as urls:
        result = asyncio.run(measure(served, urls, 30, 0.3, 10, certificates=False))
    assert result["demandes_made"] == 30 and result["keys"] == 30 and result["wrong"] == 0
    # a lost answer is looked up before any new POST; a POST sent again while the first had not
    # reached the CRM yet (a loaded machine) is refused by referenceExterne
    assert result["writes_sent"] - result["posts_refused_409"] == 30


@needs_redis
def test_two_gateways_behind_one_redis_honour_the_same_keys(
    served: dict[str, str], tmp_path: Path
) -> None:
    with redis_server(tmp_path) as (redis_url, _), gateways(served, 2, redis_url) as urls:
        # the client gives up after 0.4 s (the gateway's own answer lost) and retries on the other
        result = asyncio.run(
            measure(served, urls, 30, 0.3, 10, certificates=False, client_timeout=0.4)
        )
    assert result["client_retries"] > 0, result  # retries really went through both gateways
    assert result["demandes_made"] == 30 and result["keys"] == 30 and result["wrong"] == 0
    assert result["writes_sent"] - result["posts_refused_409"] == 30


def test_certificates_under_lost_answers_are_one_document_per_key(
    served: dict[str, str],
) -> None:
    with gateways(served, 1, None) as urls:
        result = asyncio.run(measure(served, urls, 12, 0.3, 6, certificates=True))
    assert result["documents_made"] == 12 and result["distinct_documents_held"] == 12
