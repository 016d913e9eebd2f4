"""Drive the frontends' operations through a real gateway (uvicorn) over real mock processes.

    python -m bench [--latency-ms 50] [--concurrency 1,20,50] [--duration 5] [--no-cache]
                    [--error-rate 0.2 --timeout-rate 0.05 --hang-ms 5000] [--down editique]
                    [--operations HomePage,Profile]

Each operation runs as its own phase per concurrency (`--duration` seconds, `--concurrency`
workers cycling over the personas it fits; by default 1, 20 and 50), so that back-end calls, cache
hit ratio and gateway CPU can be attributed to it. Printed per operation and concurrency:
requests/s, p50/p95/p99 latency, share of responses with an error (a 503 of admission control
included), back-end calls per request, cache hit ratio, gateway CPU ms per request; then, per
operation, how CPU per request grows from the lowest concurrency to the highest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mocks.processes import free_port, mock_servers, pointing_at, process

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "contracts" / "operations"
ANCHOR = "2026-11-24"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def gid(kind: str, key: str) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


# (operation, client id, variables): each persona where the page makes sense
WORKLOAD: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "HomePage": [("C0001001", {}), ("C0001002", {}), ("C0001003", {}), ("C0001006", {})],
    # a company's règlements need its contract numbers first: CRM, then policy admin, then claims
    "HomePage:company": [("C0009001", {}), ("C0009002", {})],
    "Profile": [("C0001001", {}), ("C0001004", {}), ("C0009001", {})],
    "Demandes": [("C0001001", {}), ("C0001002", {}), ("C0001003", {})],
    "Documents": [("C0001001", {}), ("C0001003", {}), ("C0009002", {})],
    "ContractPage": [
        ("C0001002", {"id": gid("Contract", "AA565656")}),
        ("C0001001", {"id": gid("Contract", "596054210")}),
        ("C0001003", {"id": gid("Contract", "ADH184068708")}),
    ],
    "ContractDossiers": [
        ("C0009002", {"id": gid("Contract", "81000001")}),
        ("C0001003", {"id": gid("Contract", "ADH184068708")}),
    ],
    "ContractReglements": [
        ("C0009001", {"id": gid("Contract", "80785436")}),
        ("C0009002", {"id": gid("Contract", "81000002")}),
    ],
    "DossierDetail": [("C0001003", {"id": gid("Dossier", "185501146")})],
    "CompanyAffiliates": [
        ("C0009001", {"contractId": gid("Contract", "80785436")}),
        ("C0009002", {"contractId": gid("Contract", "81000001")}),
    ],
    # a write: each request gets its own idempotency key ("*" below)
    "demarches/CreateDemande": [
        (
            c,
            {
                "input": {
                    "idempotencyKey": "*",
                    "type": "MESSAGE",
                    "subject": "Mesure",
                    "description": "Bench",
                }
            },
        )
        for c in ("C0001001", "C0001002", "C0001003")
    ],
    "ReglementDetail": [],  # ids taken from a HomePage at start
    "DemandeDetail": [],
}


@dataclass
class Phase:
    operation: str
    concurrency: int = 1
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    calls: int = 0
    hits: int = 0
    misses: int = 0
    cpu_s: float = 0.0
    elapsed_s: float = 0.0

    def row(self) -> str:
        n = len(self.latencies)
        if n == 0:
            return f"{self.operation:<20} {self.concurrency:>4} no request"
        q = (
            statistics.quantiles(self.latencies, n=100, method="inclusive")
            if n > 1
            else self.latencies * 99
        )
        lookups = self.hits + self.misses
        return (
            f"{self.operation:<20} {self.concurrency:>4} {n / self.elapsed_s:8.1f} "
            f"{q[49] * 1000:8.1f} {q[94] * 1000:8.1f} {q[98] * 1000:8.1f} "
            f"{100 * self.errors / n:7.2f}% {self.calls / n:8.2f} "
            f"{(self.hits / lookups if lookups else 0):8.2f} {1000 * self.cpu_s / n:8.2f}"
        )


HEADER = (
    f"{'operation':<20} {'c':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>8} "
    f"{'calls/rq':>8} {'cache':>8} {'cpu ms':>8}"
)


async def backend_calls(client: httpx.AsyncClient, urls: dict[str, str]) -> int:
    return sum([(await client.get(url + "/_admin/calls")).json()["total"] for url in urls.values()])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def token(client_id: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "token", client_id],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.strip()


async def run_phase(
    client: httpx.AsyncClient,
    operation: str,
    jobs: list[tuple[str, dict[str, Any]]],
    tokens: dict[str, str],
    concurrency: int,
    duration: float,
    gateway_pid: int,
    mock_urls: dict[str, str],
) -> Phase:
    query = (OPERATIONS / f"{operation.split(':')[0]}.graphql").read_text()
    phase = Phase(operation, concurrency)
    before_calls = await backend_calls(client, mock_urls)
    before_cache = (await client.get("/healthz")).json()["cache"]
    before_cpu = cpu_seconds(gateway_pid)
    started = time.perf_counter()
    stop_at = started + duration

    async def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < stop_at:
            client_id, variables = jobs[i % len(jobs)]
            i += 1
            if variables.get("input", {}).get("idempotencyKey") == "*":
                variables = {"input": {**variables["input"], "idempotencyKey": uuid.uuid4().hex}}
            t0 = time.perf_counter()
            try:
                response = await client.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {tokens[client_id]}"},
                )
                failed = response.status_code != 200 or bool(response.json().get("errors"))
            except httpx.HTTPError:
                failed = True
            phase.latencies.append(time.perf_counter() - t0)
            phase.errors += failed

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    phase.elapsed_s = time.perf_counter() - started
    phase.cpu_s = cpu_seconds(gateway_pid) - before_cpu
    after_cache = (await client.get("/healthz")).json()["cache"]
    phase.hits = after_cache["hits"] - before_cache["hits"]
    phase.misses = after_cache["misses"] - before_cache["misses"]
    phase.calls = await backend_calls(client, mock_urls) - before_calls
    return phase


async def discover(client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    """Ids that only exist at run time: a recent règlement and demande of the personas."""
    query = "{ viewer { reglements(first: 2) { edges { node { id } } } demandes(first: 2) { edges { node { id } } } } }"
    for client_id in ("C0001002", "C0001003", "C0001001"):
        body = (
            await client.post(
                "/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {tokens[client_id]}"},
            )
        ).json()
        viewer = (body.get("data") or {}).get("viewer") or {}
        for edge in (viewer.get("reglements") or {}).get("edges") or []:
            WORKLOAD["ReglementDetail"].append((client_id, {"id": edge["node"]["id"]}))
        for edge in (viewer.get("demandes") or {}).get("edges") or []:
            WORKLOAD["DemandeDetail"].append((client_id, {"id": edge["node"]["id"]}))


async def main(args: argparse.Namespace) -> None:
    operations = args.operations.split(",") if args.operations else list(WORKLOAD)
    with mock_servers() as urls:
        env = {
            **pointing_at(urls),
            "GATEWAY_TODAY": ANCHOR,
            "GATEWAY_CACHE": "false" if args.no_cache else "true",
            "GATEWAY_RATE_LIMIT_CLIENT": "1000000/second",  # the load generator is one client
            "GATEWAY_RATE_LIMIT_IP": "1000000/second",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with process(
            ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
            [base + "/healthz"],
            env=env,
        ) as gateway:
            tokens = {c: token(c, env) for jobs in WORKLOAD.values() for c, _ in jobs} | {
                c: token(c, env) for c in ("C0001001", "C0001002", "C0001003")
            }
            limits = httpx.Limits(max_connections=max(args.concurrency) + 10)
            async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
                await discover(client, tokens)
                faults = {
                    "latency_ms": args.latency_ms,
                    "jitter_ms": args.jitter_ms,
                    "error_rate": args.error_rate,
                    "error_status": 503,
                    "timeout_rate": args.timeout_rate,
                    "hang_ms": args.hang_ms,
                    "seed": args.seed,
                }
                for name, url in urls.items():
                    down = (
                        {"error_rate": 1.0, "error_status": 503, "latency_ms": args.latency_ms}
                        if name in args.down
                        else faults
                    )
                    (await client.put(url + "/_admin/faults", json=down)).raise_for_status()
                print(
                    f"mocks: {faults}, down: {args.down or 'none'}; cache: {'off' if args.no_cache else 'on'}; "
                    f"concurrency {', '.join(map(str, args.concurrency))}, "
                    f"{args.duration:g} s per operation and concurrency"
                )
                print(HEADER)
                growth = []
                for operation in operations:
                    if args.warmup:
                        await run_phase(
                            client,
                            operation,
                            WORKLOAD[operation],
                            tokens,
                            1,
                            args.warmup,
                            gateway.pid,
                            urls,
                        )
                    cpu = []
                    for concurrency in args.concurrency:
                        phase = await run_phase(
                            client,
                            operation,
                            WORKLOAD[operation],
                            tokens,
                            concurrency,
                            args.duration,
                            gateway.pid,
                            urls,
                        )
                        print(phase.row(), flush=True)
                        if phase.latencies:
                            cpu.append(phase.cpu_s / len(phase.latencies))
                    if len(cpu) > 1 and cpu[0] > 0:
                        growth.append(f"{operation} {cpu[-1] / cpu[0]:.2f}x")
                if growth:
                    lowest, highest = args.concurrency[0], args.concurrency[-1]
                    print(f"CPU per request at c={highest} / at c={lowest}: " + ", ".join(growth))
                print("breakers:", (await client.get("/healthz")).json()["backends"])


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--jitter-ms", type=float, default=0)
    parser.add_argument("--error-rate", type=float, default=0)
    parser.add_argument("--timeout-rate", type=float, default=0)
    parser.add_argument("--hang-ms", type=float, default=5000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--down", default="", help="comma-separated systems answering 503 to everything"
    )
    parser.add_argument(
        "--concurrency",
        default="1,20,50",
        help="comma-separated concurrencies, each its own phase (default: 1,20,50)",
    )
    parser.add_argument(
        "--duration", type=float, default=5, help="seconds per operation (bounded run)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1, help="seconds of warm-up per operation (0: none)"
    )
    parser.add_argument("--operations", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--no-cache", action="store_true", help="measure the uncached path")
    args = parser.parse_args()
    args.down = [d for d in args.down.split(",") if d]
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c]
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
