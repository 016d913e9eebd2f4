"""Exactly once under lost answers, measured over real HTTP: gateway process(es) and mock processes.

    python -m bench.exactly_once [--calls 200] [--lost 0.3] [--gateways 1|2] [--certificates]

Each call is a `createDemande` (or a `generateCertificate`) with its own idempotency key; the CRM
(or the éditique) commits the write and then loses a share `--lost` of the answers (the mocks'
`timeout_rate` fault: processed at once, answered after `hang_ms`). Every call the client sees
fail (a GraphQL error, `IN_PROGRESS`, or no answer within `--client-timeout`: the gateway's own
answer lost) is retried with the same key, alternately on each gateway
(`--gateways 2`: two gateway processes behind one real `redis-server`). Then every key is checked
in the back-end itself: exactly one demande per `referenceExterne`, the total grown by `--calls`,
every client holding the demande the CRM has for its key (one attestation per key).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from gateway.identity.tokens import TokenVerifier
from gateway.resolvers.idempotency import external_reference
from gateway.settings import Settings
from mocks.processes import free_port, mock_servers, pointing_at, process

ROOT = Path(__file__).resolve().parents[1]
CREATE = (ROOT / "contracts/operations/demarches/CreateDemande.graphql").read_text("utf-8")
GENERATE = (ROOT / "contracts/operations/demarches/GenerateCertificate.graphql").read_text("utf-8")
CLIENTS = ["C0001001", "C0001002", "C0001003", "C0001004", "C0001006"]
POST_DEMANDE = "POST /crm/api/clients/{clientId}/demandes"
GENERER = "POST /editique/ws GenererAttestation"
PARIS = ZoneInfo("Europe/Paris")
ATTEMPTS = 200  # a client keeps retrying (IN_PROGRESS: one attestation at a time per contract)
# (client, contract, kind) pairs the éditique accepts
CERTIFICATES = [
    ("C0001002", "AA565656", "AFFILIATION"),
    ("C0001002", "AA565656", "THIRD_PARTY_PAYMENT"),
    ("C0001003", "ADH184068708", "AFFILIATION"),
    ("C0001004", "AA600001", "THIRD_PARTY_PAYMENT"),
    ("C0001004", "ADH200000004", "AFFILIATION"),
    ("C0001006", "MX000006", "AFFILIATION"),
]


@dataclass
class Outcome:
    calls: int
    attempts: Counter[str] = field(default_factory=Counter)  # why clients retried
    held: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (client, result id)
    seconds: float = 0.0

    @property
    def retries(self) -> int:
        return sum(self.attempts.values())


def gid(kind: str, value: str) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


async def call_until_done(
    http: httpx.AsyncClient,
    gateways: list[str],
    token: str,
    query: str,
    variables: dict[str, Any],
    field_name: str,
    outcome: Outcome,
    give_up_s: float = 10.0,
) -> str:
    """One client's call, retried with the same key (alternating gateways) until it succeeds."""
    for attempt in range(ATTEMPTS):
        url = gateways[attempt % len(gateways)]
        try:
            response = await http.post(
                f"{url}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
                timeout=give_up_s,
            )
            body = response.json()
        except httpx.TimeoutException:  # the client gave up: a lost answer of the gateway
            outcome.attempts["client timeout"] += 1
            continue
        except (httpx.HTTPError, json.JSONDecodeError):
            outcome.attempts["transport"] += 1
            continue
        result = (body.get("data") or {}).get(field_name) or {}
        found = result.get("demande") or result.get("document")
        if found:
            return str(found["id"])
        why = [e.get("extensions", {}).get("code") for e in body.get("errors", [])] or [
            e["code"] for e in result.get("userErrors", [])
        ]
        outcome.attempts[",".join(str(w) for w in why)] += 1
        if "IN_PROGRESS" in why:
            await asyncio.sleep(0.2 + random.random() * 0.6)
    raise RuntimeError(f"no success after {ATTEMPTS} attempts: {variables}")


async def create_demandes(
    gateways: list[str], calls: int, concurrency: int, give_up_s: float
) -> Outcome:
    verifier = TokenVerifier(Settings())
    tokens = {c: verifier.issue(c, "customer") for c in CLIENTS}
    outcome = Outcome(calls)
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int, http: httpx.AsyncClient) -> None:
        client = CLIENTS[i % len(CLIENTS)]
        key = uuid.uuid4().hex
        variables = {
            "input": {
                "idempotencyKey": key,
                "type": "MESSAGE",
                "subject": "Mesure exactement une fois",
                "description": f"Message n° {i}",
            }
        }
        async with limit:
            found = await call_until_done(
                http,
                gateways,
                tokens[client],
                CREATE,
                variables,
                "createDemande",
                outcome,
                give_up_s,
            )
        outcome.held[key] = (client, found)

    started = time.perf_counter()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency * 2)) as http:
        await asyncio.gather(*(one(i, http) for i in range(calls)))
    outcome.seconds = time.perf_counter() - started
    return outcome


async def generate_certificates(
    gateways: list[str], calls: int, concurrency: int, give_up_s: float
) -> Outcome:
    verifier = TokenVerifier(Settings())
    outcome = Outcome(calls)
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int, http: httpx.AsyncClient) -> None:
        client, contract, kind = CERTIFICATES[i % len(CERTIFICATES)]
        key = uuid.uuid4().hex
        variables = {
            "input": {"idempotencyKey": key, "contractId": gid("Contract", contract), "kind": kind}
        }
        async with limit:
            found = await call_until_done(
                http,
                gateways,
                verifier.issue(client, "customer"),
                GENERATE,
                variables,
                "generateCertificate",
                outcome,
                give_up_s,
            )
        outcome.held[key] = (client, found)

    started = time.perf_counter()
    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(one(i, http) for i in range(calls)))
    outcome.seconds = time.perf_counter() - started
    return outcome


CRM_HEADERS = {"Authorization": "Bearer dev-crm-token"}


async def crm_total(crm: str) -> int:
    today = datetime.now(PARIS).date().isoformat()
    async with httpx.AsyncClient(headers=CRM_HEADERS) as http:
        response = await http.get(
            f"{crm}/crm/api/demandes/statistiques", params={"depuis": today, "jusqua": today}
        )
        return int(response.json()["total"])


async def check_demandes(crm: str, outcome: Outcome) -> dict[str, int]:
    """In the CRM itself: one demande per key, the one the client holds."""
    wrong = 0
    async with httpx.AsyncClient(headers=CRM_HEADERS) as http:
        for key, (client, held) in outcome.held.items():
            reference = external_reference("createDemande", client, key)
            response = await http.get(
                f"{crm}/crm/api/demandes", params={"referenceExterne": reference}
            )
            found = response.json()["demandes"]
            held_id = gid_key(held)
            if len(found) != 1 or found[0]["id"] != held_id:
                wrong += 1
    return {"keys": len(outcome.held), "wrong": wrong}


def gid_key(global_id: str) -> str:
    import base64

    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.urlsafe_b64decode(padded).decode().partition(":")[2]


async def attestations(editique: str) -> int:
    """Attestations emitted today, counted through the éditique's own search."""
    today = datetime.now(PARIS).date().isoformat()
    persons = {
        "C0001002": "EDQ-1002",
        "C0001003": "EDQ-1003",
        "C0001004": "EDQ-1004",
        "C0001006": "EDQ-1006",
    }
    total = 0
    async with httpx.AsyncClient() as http:
        for person in persons.values():
            for kind in ("ATTA", "CTPY"):
                envelope = (
                    '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
                    'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ed="urn:assureur:editique:v1">'
                    '<soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
                    'oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>gateway'
                    "</wsse:Username><wsse:Password>dev-editique-password</wsse:Password></wsse:UsernameToken>"
                    "</wsse:Security></soap:Header><soap:Body><ed:RechercherDocuments>"
                    f"<ed:idPersonne>{person}</ed:idPersonne><ed:dateDebut>{today}</ed:dateDebut>"
                    f"<ed:typeDocument>{kind}</ed:typeDocument></ed:RechercherDocuments></soap:Body></soap:Envelope>"
                )
                response = await http.post(
                    f"{editique}/editique/ws",
                    content=envelope.encode(),
                    headers={"Content-Type": "text/xml; charset=utf-8"},
                )
                total += response.text.count("<ed:idDocument>")
    return total


async def set_faults(url: str, settings: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(f"{url}/_admin/faults", json=settings)
        response.raise_for_status()


async def route_count(url: str, route: str) -> int:
    async with httpx.AsyncClient() as http:
        counts = (await http.get(f"{url}/_admin/calls")).json()["counts"]
    return int(counts.get(route, 0))


async def last_seq(url: str) -> int:
    async with httpx.AsyncClient() as http:
        calls = (await http.get(f"{url}/_admin/calls")).json()["calls"]
    return int(calls[-1]["seq"]) if calls else 0


async def conflicts(url: str, route: str, since: int) -> int:
    """POSTs the CRM refused with 409: a second POST of a key, stopped by `referenceExterne`."""
    async with httpx.AsyncClient() as http:
        calls = (await http.get(f"{url}/_admin/calls", params={"since": since})).json()["calls"]
    return sum(1 for c in calls if c["route"] == route and c["status"] == 409)


@contextmanager
def redis_server() -> Iterator[str]:
    from tests.support.redis import redis_server as start

    with tempfile.TemporaryDirectory() as directory, start(Path(directory)) as url:
        yield url


@contextmanager
def gateways(mocks: dict[str, str], count: int, redis_url: str | None) -> Iterator[list[str]]:
    env = {
        **pointing_at(mocks),
        **({"GATEWAY_REDIS_URL": redis_url} if redis_url else {}),
    }
    urls = []
    with ExitStack() as stack:
        for _ in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            stack.enter_context(
                process(
                    ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
                    [f"{url}/healthz"],
                    env=env,
                )
            )
            urls.append(url)
        yield urls


async def measure(
    mocks: dict[str, str],
    urls: list[str],
    calls: int,
    lost: float,
    concurrency: int,
    certificates: bool,
    client_timeout: float = 10.0,
    seed: int = 7,
) -> dict[str, Any]:
    if certificates:
        system, route = mocks["editique"], GENERER
        sent = await route_count(system, route)
        before = await attestations(system)
        await set_faults(
            system, {"timeout_rate": lost, "hang_ms": 4000, "seed": seed, "routes": [route]}
        )
        outcome = await generate_certificates(urls, calls, concurrency, client_timeout)
        await set_faults(system, {})
        made = await attestations(system) - before
        distinct = len({held for _, held in outcome.held.values()})
        report = {"documents_made": made, "distinct_documents_held": distinct}
    else:
        system, route = mocks["crm"], POST_DEMANDE
        sent = await route_count(system, route)
        since = await last_seq(system)
        before = await crm_total(system)
        await set_faults(
            system, {"timeout_rate": lost, "hang_ms": 1500, "seed": seed, "routes": [route]}
        )
        outcome = await create_demandes(urls, calls, concurrency, client_timeout)
        await set_faults(system, {})
        await asyncio.sleep(1.6)  # held answers (hang 1.5 s) come back, with their status
        report = {
            "posts_refused_409": await conflicts(system, route, since),
            "demandes_made": await crm_total(system) - before,
            **await check_demandes(system, outcome),
        }
    return {
        "calls": calls,
        "gateways": len(urls),
        "lost_share": lost,
        "client_timeout_s": client_timeout,
        "writes_sent": await route_count(system, route) - sent,
        "client_retries": outcome.retries,
        "retry_reasons": dict(outcome.attempts),
        "seconds": round(outcome.seconds, 2),
        **report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exactly_once")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--lost", type=float, default=0.3)
    parser.add_argument("--gateways", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--certificates", action="store_true")
    parser.add_argument(
        "--client-timeout",
        type=float,
        default=10.0,
        help="the client gives up after this and retries (the gateway's answer is lost too)",
    )
    args = parser.parse_args()
    os.environ.setdefault("GATEWAY_REQUEST_DEADLINE_S", "3")
    with ExitStack() as stack:
        mocks = stack.enter_context(mock_servers())
        redis_url = stack.enter_context(redis_server()) if args.gateways > 1 else None
        urls = stack.enter_context(gateways(mocks, args.gateways, redis_url))
        result = asyncio.run(
            measure(
                mocks,
                urls,
                args.calls,
                args.lost,
                args.concurrency,
                args.certificates,
                args.client_timeout,
            )
        )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
