"""Live connections: many open subscriptions on one gateway process, one event per customer a minute.

    python -m bench.live [--sse 2000] [--ws 200] [--duration 120] [--interval 15]
                         [--events-per-minute 1] [--open-concurrency 50] [--no-bell]

Starts the four mocks over a world of the bench's own (the fixtures, plus one CRM customer per
connection cloned in turn from the personas C0001001, C0001002 and C0001003: their claims, éditique
and policy admin identifiers, so each watcher reads what a real customer's does, and one demande
each, RECU) and one gateway process (uvicorn, one worker) with `GATEWAY_LIVE_INTERVAL_S` =
--interval, `GATEWAY_LIVE_MAX_SUBSCRIPTIONS` raised to what the bench opens (--max-subscriptions
to hold another bound) and the rate limits lifted (one IP opens everything).

From this process (asyncio, the open-file limit raised to its hard limit), each connection for a
customer of its own:

* --sse graphql-sse streams (distinct connections mode, httpx): `live/DemandeUpdated`;
* --ws graphql-transport-ws sockets (`websockets`): `live/DemandeUpdated` and, as the mobile app
  does on the same socket, `live/NotificationsChanged` (the bell; --no-bell: DemandeUpdated only).

Once all are open, one interval and a few seconds more so that every watcher has read once, then
the steady period (--duration seconds): every customer's demande moves (the CRM mock's
`PUT /_admin/demandes/{id}/statut`, EN_COURS → TRAITE → CLOTURE → RECU → …) --events-per-minute
times a minute, the customers spread evenly over the minute; then 1.5 intervals more for the last
moves to arrive, and every connection is closed.

Printed: connections and subscriptions open (the gateway's own gauge too), refused, dropped; the
gateway's RSS before opening, after and at the end (memory per connection = the opening's delta /
connections), and once every connection is closed; the gateway's CPU seconds per minute of the
steady period (and the mocks' and this client's: they share the machine); back-end calls per
minute of the steady period, per system and per route (the mocks' call logs); moves made against
`demandeUpdated` events received and the delay from the move (its PUT sent) to the event read
here: median, p95, max; the same for the bell (the unread count that takes the move's
notification into account, WebSockets); errors in payloads.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.__main__ import OPERATIONS, cpu_seconds
from mocks.processes import free_port, mock_servers, pointing_at, process

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
PARIS = ZoneInfo("Europe/Paris")
PERSONAS = ("C0001001", "C0001002", "C0001003")  # individuals: 5 back-end reads a watcher tick
TEMPLATE_DEMANDE = "D-2026-000303"  # Chris's, RECU: the shape of every bench customer's demande
FIRST_CUSTOMER = 5_000_000  # C5000000, C5000001, …
FIRST_DEMANDE = 500_000  # D-<year>-500000, …
CYCLE = ("EN_COURS", "TRAITE", "CLOTURE", "RECU")  # each move differs from the one before
DEMANDE_UPDATED = (OPERATIONS / "live" / "DemandeUpdated.graphql").read_text("utf-8")
NOTIFICATIONS_CHANGED = (OPERATIONS / "live" / "NotificationsChanged.graphql").read_text("utf-8")
WS_PROTOCOL = Subprotocol("graphql-transport-ws")
PAGE = os.sysconf("SC_PAGE_SIZE")

Transport = Literal["sse", "ws"]


@dataclass(frozen=True, slots=True)
class Customer:
    client_id: str
    demande_id: str
    transport: Transport


# ---- the world: one CRM customer per connection -------------------------------------------------


def customers_for(sse: int, ws: int, year: int) -> list[Customer]:
    """One customer per connection, the WebSockets spread evenly among the event streams (so that
    both transports' moves are spread over the minute)."""
    total = sse + ws
    sockets = {total * j // ws for j in range(ws)} if ws else set()
    return [
        Customer(
            f"C{FIRST_CUSTOMER + i:07d}",
            f"D-{year}-{FIRST_DEMANDE + i:06d}",
            "ws" if i in sockets else "sse",
        )
        for i in range(total)
    ]


def world_anchor() -> date:
    return date.fromisoformat(json.loads((FIXTURES / "crm.json").read_text("utf-8"))["anchor"])


def build_world(directory: Path, customers: list[Customer]) -> None:
    """The fixtures with the bench's customers added to the CRM, into `directory` (`MOCK_FIXTURES`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("policy_admin", "claims", "editique"):
        shutil.copyfile(FIXTURES / f"{name}.json", directory / f"{name}.json")
    crm = json.loads((FIXTURES / "crm.json").read_text("utf-8"))
    anchor = date.fromisoformat(crm["anchor"])
    personas = [c for c in crm["clients"] if c["clientId"] in PERSONAS]
    template = next(d for d in crm["demandes"] if d["id"] == TEMPLATE_DEMANDE)
    created = datetime.combine(anchor - timedelta(days=3), datetime.min.time().replace(hour=9))
    created_at = created.replace(tzinfo=PARIS).isoformat()
    for i, customer in enumerate(customers):
        client = copy.deepcopy(personas[i % len(personas)])
        number = customer.client_id[1:]
        client |= {
            "clientId": customer.client_id,
            "nom": "BANC",
            "prenom": f"Client{number}",
            "email": f"banc.{number}@example.fr",
            "numeroAdherent": f"9{number}",
        }
        crm["clients"].append(client)
        demande = copy.deepcopy(template)
        sequence = customer.demande_id.rsplit("-", 1)[1]
        demande |= {
            "id": customer.demande_id,
            "reference": f"DEM-{created.year}-{created.month:02d}-{sequence}",
            "clientId": customer.client_id,
            "dateCreation": created_at,
            "statut": "RECU",
            "beneficiaires": [f"Client{number} BANC"],
            "historique": [{"statut": "RECU", "date": created_at}],
            "referenceExterne": None,
        }
        demande["rappel"] = {**demande["rappel"], "piecesJointes": []}
        crm["demandes"].append(demande)
    (directory / "crm.json").write_text(json.dumps(crm, ensure_ascii=False), encoding="utf-8")


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """`os.environ` with these values for the block (the mock processes inherit it)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ---- the moves and what arrived -----------------------------------------------------------------


def schedule(customers: int, per_minute: float, duration_s: float) -> list[tuple[float, int]]:
    """(seconds from the start, customer index) of every move: each customer `per_minute` times a
    minute, the customers' first moves spread evenly over the first period."""
    period = 60.0 / per_minute
    plan = []
    for index in range(customers):
        at = period * index / customers
        while at < duration_s:
            plan.append((at, index))
            at += period
    plan.sort()
    return plan


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """(median, p95, max); nearest rank, no interpolation."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]
    return statistics.median(ordered), p95, ordered[-1]


@dataclass
class Ledger:
    """The moves made (when each PUT was sent) and what each subscription received of them.

    The k-th move of a customer's demande gives it k + 1 history entries: a `demandeUpdated` event
    names its move by its history's length. The bell names it by the unread count: the k-th move's
    notification makes it the first count + k."""

    moves: dict[str, list[float]] = field(default_factory=dict)
    failed_moves: int = 0
    late_moves: int = 0  # sent more than a second after their time (the client fell behind)
    delays: dict[str, list[float]] = field(default_factory=dict)  # "demandeUpdated sse", …
    received: set[tuple[str, str, int]] = field(default_factory=set)
    duplicates: Counter[str] = field(default_factory=Counter)
    unmatched: Counter[str] = field(default_factory=Counter)
    first_unread: dict[str, int] = field(default_factory=dict)
    bell_seen: dict[str, int] = field(default_factory=dict)  # moves the bell took in so far

    def moved(self, client_id: str, at: float) -> int:
        """Record a move about to be sent; its number (1 for the first)."""
        made = self.moves.setdefault(client_id, [])
        made.append(at)
        return len(made)

    def demande_event(self, client_id: str, transport: str, history: int, at: float) -> None:
        kind = f"demandeUpdated {transport}"
        number = history - 1
        made = self.moves.get(client_id, [])
        if not 1 <= number <= len(made):
            self.unmatched[kind] += 1
            return
        if (client_id, kind, number) in self.received:
            self.duplicates[kind] += 1
            return
        self.received.add((client_id, kind, number))
        self.delays.setdefault(kind, []).append(at - made[number - 1])

    def bell(self, client_id: str, unread: int, at: float) -> None:
        """A `notificationsChanged` message: the first gives the count before any move; a later
        one takes in every move up to the count's (each with its own delay)."""
        if client_id not in self.first_unread:
            self.first_unread[client_id] = unread
            return
        kind = "notificationsChanged ws"
        taken = unread - self.first_unread[client_id]
        made = self.moves.get(client_id, [])
        if taken > len(made):
            self.unmatched[kind] += 1
            return
        seen = self.bell_seen.get(client_id, 0)
        for number in range(seen + 1, taken + 1):
            self.received.add((client_id, kind, number))
            self.delays.setdefault(kind, []).append(at - made[number - 1])
        self.bell_seen[client_id] = max(seen, taken)

    def made(self, transport: str | None, customers: list[Customer]) -> int:
        wanted = {c.client_id for c in customers if transport in (None, c.transport)}
        return sum(len(t) for c, t in self.moves.items() if c in wanted)


# ---- the client's connections -------------------------------------------------------------------


def error_code(body: Any) -> str:
    """The first error's code of a GraphQL answer (or the HTTP body's), else what it is."""
    try:
        errors = body.get("errors") or body.get("payload") or []
        if isinstance(errors, dict):
            errors = [errors]
        first = errors[0]
        return str((first.get("extensions") or {}).get("code") or first.get("message"))[:60]
    except (AttributeError, IndexError, KeyError, TypeError):
        return str(body)[:60]


@dataclass
class Connections:
    """Every connection of the bench, as tasks of this process; what they saw."""

    base: str
    tokens: dict[str, str]
    ledger: Ledger
    bell: bool
    http: httpx.AsyncClient
    open: Counter[str] = field(default_factory=Counter)  # transport -> connections open now
    subscribed: Counter[str] = field(default_factory=Counter)  # subscriptions sent on open ones
    refused: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    open_s: list[float] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopping: bool = False

    def next(self, customer: Customer, operation: str, payload: Any, at: float) -> None:
        if not isinstance(payload, dict) or payload.get("errors") or not payload.get("data"):
            self.errors[f"{customer.transport} {operation} {error_code(payload)}"] += 1
            return
        data = payload["data"]
        if operation == "d":
            event = data["demandeUpdated"]
            history = len(event["demande"]["history"])
            self.ledger.demande_event(customer.client_id, customer.transport, history, at)
        else:
            self.ledger.bell(customer.client_id, data["notificationsChanged"]["unreadCount"], at)

    async def sse(self, customer: Customer, ready: asyncio.Event) -> None:
        headers = {
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {self.tokens[customer.client_id]}",
        }
        body = {"query": DEMANDE_UPDATED, "variables": {"id": None}}
        opened = False
        try:
            async with self.http.stream("POST", "/graphql", json=body, headers=headers) as answer:
                kind = answer.headers.get("content-type", "")
                if answer.status_code != 200 or not kind.startswith("text/event-stream"):
                    raw = await answer.aread()
                    try:
                        reason = error_code(json.loads(raw))
                    except ValueError:
                        reason = raw[:60].decode(errors="replace")
                    self.refused[f"sse {answer.status_code} {reason}"] += 1
                    return
                opened = True
                self.open["sse"] += 1
                self.subscribed["sse"] += 1
                ready.set()
                event = None
                async for line in answer.aiter_lines():
                    if line.startswith("event:"):
                        event = line.partition(":")[2].strip()
                    elif line.startswith("data:") and event == "next":
                        data = json.loads(line.partition(":")[2])
                        self.next(customer, "d", data, time.monotonic())
                    elif line.startswith("data:") and event == "complete":
                        if not self.stopping:
                            self.dropped["sse complete"] += 1
                        return
            if not self.stopping:
                self.dropped["sse ended without complete"] += 1
        except httpx.HTTPError as exc:
            if not self.stopping:
                where = self.dropped if opened else self.refused
                where[f"sse {type(exc).__name__}"] += 1
        finally:
            if opened:
                self.open["sse"] -= 1
            ready.set()

    async def ws(self, customer: Customer, ready: asyncio.Event) -> None:
        url = self.base.replace("http://", "ws://") + "/graphql"
        operations = {"d": DEMANDE_UPDATED} | ({"n": NOTIFICATIONS_CHANGED} if self.bell else {})
        opened = False
        try:
            async with connect(
                url,
                subprotocols=[WS_PROTOCOL],
                ping_interval=None,  # as a browser: the gateway's protocol pings keep it alive
                open_timeout=60,
                max_queue=64,
            ) as socket:
                bearer = f"Bearer {self.tokens[customer.client_id]}"
                init = {"type": "connection_init", "payload": {"Authorization": bearer}}
                await socket.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if ack.get("type") != "connection_ack":
                    self.refused[f"ws {ack.get('type')}"] += 1
                    return
                for key, query in operations.items():
                    message = {"id": key, "type": "subscribe", "payload": {"query": query}}
                    await socket.send(json.dumps(message))
                opened = True
                self.open["ws"] += 1
                self.subscribed["ws"] += len(operations)
                ready.set()
                async for raw in socket:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        await socket.send('{"type":"pong"}')
                    elif kind == "next":
                        self.next(customer, message["id"], message["payload"], time.monotonic())
                    elif kind == "error":  # the subscription refused (TOO_MANY_SUBSCRIPTIONS…)
                        self.refused[f"ws subscribe {error_code(message)}"] += 1
                        self.subscribed["ws"] -= 1
                    elif kind == "complete" and not self.stopping:
                        self.dropped["ws complete"] += 1
        except websockets.ConnectionClosed as closed:
            if not self.stopping:
                received = closed.rcvd
                code = f"{received.code} {received.reason}" if received else "no close frame"
                (self.dropped if opened else self.refused)[f"ws closed {code}"] += 1
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            if not self.stopping:
                (self.dropped if opened else self.refused)[f"ws {type(exc).__name__}"] += 1
        finally:
            if opened:
                self.open["ws"] -= 1
            ready.set()

    async def open_all(self, customers: list[Customer], concurrency: int) -> None:
        """Open every connection, `concurrency` openings at a time; each stays open as a task."""
        gate = asyncio.Semaphore(concurrency)

        async def one(customer: Customer) -> None:
            async with gate:
                ready = asyncio.Event()
                started = time.monotonic()
                connection = self.sse if customer.transport == "sse" else self.ws
                self.tasks.append(asyncio.create_task(connection(customer, ready)))
                await ready.wait()
                self.open_s.append(time.monotonic() - started)

        await asyncio.gather(*(one(c) for c in customers))

    async def close_all(self) -> None:
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def make_moves(
    admin: httpx.AsyncClient,
    crm: str,
    customers: list[Customer],
    plan: list[tuple[float, int]],
    ledger: Ledger,
    started: float,
) -> None:
    """The back office moves each customer's demande at its times of `plan`."""
    gate = asyncio.Semaphore(32)
    pending: set[asyncio.Task[None]] = set()

    async def move(customer: Customer) -> None:
        async with gate:
            number = ledger.moved(customer.client_id, time.monotonic())
            status = CYCLE[(number - 1) % len(CYCLE)]
            url = f"{crm}/_admin/demandes/{customer.demande_id}/statut"
            try:
                answer = await admin.put(url, json={"statut": status, "commentaire": "Banc"})
                answer.raise_for_status()
            except httpx.HTTPError:
                ledger.failed_moves += 1

    for at, index in plan:
        wait_s = started + at - time.monotonic()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        elif wait_s < -1:
            ledger.late_moves += 1
        task = asyncio.create_task(move(customers[index]))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def probe_lag(base: str, until: float, gateway: list[float], own: list[float]) -> None:
    """Until `until`, twice a second: how long the gateway takes to answer `/livez` (its event
    loop's lag, nearly all of it) and how late this process's own loop wakes up."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as probe:
        while time.monotonic() < until:
            asked = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                (await probe.get("/livez")).raise_for_status()
                gateway.append(time.monotonic() - asked)
            slept = time.monotonic()
            await asyncio.sleep(0.5)
            own.append(time.monotonic() - slept - 0.5)


# ---- what the processes use ---------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    fields = Path(f"/proc/{pid}/statm").read_text().split()
    return int(fields[1]) * PAGE / 1e6


def children() -> dict[int, str]:
    """This process's child processes: pid -> the argument after `-m` (gateway, mocks)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid():
            words = [w.decode(errors="replace") for w in argv if w]
            after = words[words.index("-m") + 1 :] if "-m" in words else words
            found[int(entry.name)] = " ".join(after[:2])
    return found


def waited_for_cpu_s(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (`schedstat`): what
    the other processes on the machine took from it."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def backend_counts(admin: httpx.AsyncClient, urls: dict[str, str]) -> Counter[str]:
    """Calls per `system route` since the mocks started (their call logs' counts)."""
    counts: Counter[str] = Counter()
    for system, url in urls.items():
        log = (await admin.get(url + "/_admin/calls", params={"since": 10**9})).json()
        for route, n in log["counts"].items():
            counts[f"{system} {route}"] += n
    return counts


METRIC_LINE = re.compile(
    r"^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$"
)  # labels may hold braces


async def answer_times(
    admin: httpx.AsyncClient, urls: dict[str, str], since: Counter[str]
) -> dict[str, tuple[float, float]]:
    """Per system, (median, p95) of the mock's answer times (ms, its own log: the last 10 000
    calls at most) of the calls after the counts `since`."""
    times = {}
    for system, url in urls.items():
        seq = sum(n for route, n in since.items() if route.split(" ", 1)[0] == system)
        log = (await admin.get(url + "/_admin/calls", params={"since": seq})).json()
        durations = [c["duration_ms"] for c in log["calls"] if c["duration_ms"] is not None]
        if durations:
            median, p95, _ = quantiles(durations)
            times[system] = (median, p95)
    return times


WATCHED = ("gateway_live_", "gateway_backend_calls", "gateway_breaker_transitions")


async def live_metrics(http: httpx.AsyncClient) -> dict[str, float]:
    """The gateway's live, back-end call and breaker samples: 'name{labels}' -> value."""
    text = (await http.get("/metrics")).text
    samples = {}
    for line in text.splitlines():
        found = METRIC_LINE.match(line)
        if found and found["name"].startswith(WATCHED):
            key = found["name"] + (f"{{{found['labels']}}}" if found["labels"] else "")
            samples[key] = float(found["value"])
    return samples


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    return sum(
        value
        for key, value in samples.items()
        if key.split("{")[0] == name and all(f'{k}="{v}"' in key for k, v in labels.items())
    )


def raise_open_files(wanted: int) -> tuple[int, int]:
    """The soft limit raised to the hard one (children inherit it); (soft, hard) now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---- the run ------------------------------------------------------------------------------------


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, what: str, value: str) -> None:
        self.rows.append((what, value))
        print(f"  {what}: {value}", flush=True)

    def table(self) -> str:
        lines = ["| measure | value |", "|---|---|"]
        lines += [f"| {what} | {value} |" for what, value in self.rows]
        return "\n".join(lines)


def delays_row(delays: list[float], ms: bool = False) -> str:
    if not delays:
        return "none received"
    median, p95, most = quantiles(delays)
    if ms:
        return f"median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {most * 1000:.0f} ms"
    return f"median {median:.2f} s, p95 {p95:.2f} s, max {most:.2f} s"


def share(received: int, made: int) -> str:
    return f"{received} / {made}" + (f" ({100 * received / made:.1f} %)" if made else "")


async def warm_up(base: str, tokens: dict[str, str]) -> None:
    """One stream and one socket on the personas, until the bell's first state: the code paths
    imported and warm before the baseline RSS."""
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, read=None)) as http:
        ledger = Ledger()
        connections = Connections(base, tokens, ledger, True, http)
        persona = Customer(PERSONAS[0], TEMPLATE_DEMANDE, "ws")
        await connections.open_all([persona, Customer(PERSONAS[1], "", "sse")], 2)
        for _ in range(300):
            if persona.client_id in ledger.first_unread:
                break
            await asyncio.sleep(0.1)
        await connections.close_all()
        await asyncio.sleep(1)


async def run(args: argparse.Namespace) -> None:
    soft, hard = raise_open_files(2 * (args.sse + args.ws) + 256)
    total = args.sse + args.ws
    subscriptions = args.sse + args.ws * (2 if args.bell else 1)
    bound = args.max_subscriptions or max(subscriptions, 2000)
    anchor = world_anchor()
    customers = customers_for(args.sse, args.ws, anchor.year)
    print(
        f"{args.sse} SSE + {args.ws} WebSockets ({subscriptions} subscriptions, {total} distinct "
        f"customers), interval {args.interval:g} s, {args.events_per_minute:g} move per customer "
        f"a minute, steady {args.duration:g} s; open files {soft} (hard {hard}); "
        f"GATEWAY_LIVE_MAX_SUBSCRIPTIONS={bound}",
        flush=True,
    )
    if soft < total + 256:
        print(f"  the open-file limit ({soft}) is below {total} connections: expect refusals")
    with tempfile.TemporaryDirectory(prefix="bench-live-") as world:
        built = time.monotonic()
        build_world(Path(world), customers)
        with environment(MOCK_FIXTURES=world), mock_servers() as urls:
            print(f"world and mocks ready in {time.monotonic() - built:.1f} s", flush=True)
            env = {
                **pointing_at(urls),
                "GATEWAY_TODAY": anchor.isoformat(),
                "GATEWAY_LIVE_INTERVAL_S": str(args.interval),
                "GATEWAY_LIVE_MAX_SUBSCRIPTIONS": str(bound),
                "GATEWAY_RATE_LIMIT_CLIENT": "1000000/second",
                "GATEWAY_RATE_LIMIT_IP": "1000000/second",
            }
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with process(
                ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
                [base + "/healthz"],
                env=env,
            ) as gateway:
                await measure(args, base, urls, customers, gateway.pid)


async def measure(
    args: argparse.Namespace,
    base: str,
    urls: dict[str, str],
    customers: list[Customer],
    gateway_pid: int,
) -> None:
    from gateway.identity.tokens import TokenVerifier  # the dev secret of this environment
    from gateway.settings import Settings

    issuer = TokenVerifier(Settings())
    ttl_s = int(args.duration + 3600)
    tokens = {
        c: issuer.issue(c, ttl_s=ttl_s) for c in (*PERSONAS, *(c.client_id for c in customers))
    }
    mocks = {pid: name for pid, name in children().items() if pid != gateway_pid}
    figures = Figures()
    ledger = Ledger()
    limits = httpx.Limits(max_connections=len(customers) + 16, max_keepalive_connections=32)
    timeout = httpx.Timeout(60, read=None)  # a stream waits as long as it must for its events
    async with (
        httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http,
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=40)) as admin,
    ):
        await warm_up(base, tokens)
        rss_before = rss_mb(gateway_pid)
        cpu_before_open = cpu_seconds(gateway_pid)
        connections = Connections(base, tokens, ledger, args.bell, http)
        opening = time.monotonic()
        await connections.open_all(customers, args.open_concurrency)
        opened_in = time.monotonic() - opening
        cpu_open = cpu_seconds(gateway_pid) - cpu_before_open
        print(f"opened in {opened_in:.1f} s; settling one interval", flush=True)
        await asyncio.sleep(args.interval + 5)
        rss_open = rss_mb(gateway_pid)
        open_now = connections.open["sse"] + connections.open["ws"]
        gauges = await live_metrics(http)

        # the steady period
        calls_before = await backend_counts(admin, urls)
        steady_before = await live_metrics(http)
        cpu_before = cpu_seconds(gateway_pid)
        waited_before = waited_for_cpu_s(gateway_pid)
        mocks_before = sum(cpu_seconds(pid) for pid in mocks)
        own_before = own_cpu_seconds()
        plan = schedule(len(customers), args.events_per_minute, args.duration)
        started = time.monotonic()
        print(f"steady period: {len(plan)} moves over {args.duration:g} s", flush=True)
        mover = asyncio.create_task(
            make_moves(admin, urls["crm"], customers, plan, ledger, started)
        )
        gateway_lag: list[float] = []
        own_lag: list[float] = []
        prober = asyncio.create_task(probe_lag(base, started + args.duration, gateway_lag, own_lag))
        await asyncio.sleep(max(0.0, started + args.duration - time.monotonic()))
        elapsed = time.monotonic() - started
        cpu_steady = cpu_seconds(gateway_pid) - cpu_before
        waited_steady = waited_for_cpu_s(gateway_pid) - waited_before
        mocks_steady = sum(cpu_seconds(pid) for pid in mocks) - mocks_before
        own_steady = own_cpu_seconds() - own_before
        calls = await backend_counts(admin, urls) - calls_before
        steady_after = await live_metrics(http)
        mock_times = await answer_times(admin, urls, calls_before)
        await asyncio.gather(mover, prober)
        rss_end = rss_mb(gateway_pid)
        print(f"waiting {1.5 * args.interval + 3:g} s for the last moves to arrive", flush=True)
        await asyncio.sleep(1.5 * args.interval + 3)
        open_end = connections.open["sse"] + connections.open["ws"]
        await connections.close_all()
        all_closed = time.monotonic()
        calls_open = await backend_counts(admin, urls)
        while True:  # the watchers stop with their customers' last subscriptions
            closed = await live_metrics(http)
            stopped_in = time.monotonic() - all_closed
            if metric(closed, "gateway_live_watchers") == 0 or stopped_in > 60:
                break
            await asyncio.sleep(0.5)
        calls_after_close = sum((await backend_counts(admin, urls) - calls_open).values())
        rss_closed = rss_mb(gateway_pid)

    minutes = elapsed / 60
    asked = len(customers)
    print("\nfigures")
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    figures.add("machine load average (1, 5, 15 min) at the end", load)
    figures.add(
        "connections open / asked", f"{open_now} / {asked} after opening, {open_end} at the end"
    )
    figures.add(
        "subscriptions open (gateway gauge)",
        f"{metric(gauges, 'gateway_live_subscriptions'):.0f} "
        f"(SSE {metric(gauges, 'gateway_live_subscriptions', transport='graphql-sse'):.0f}, "
        f"WS {metric(gauges, 'gateway_live_subscriptions', transport='graphql-transport-ws'):.0f}); "
        f"watchers {metric(gauges, 'gateway_live_watchers'):.0f}",
    )
    figures.add(
        "opening",
        f"{opened_in:.1f} s for {asked} connections ({len(customers) / opened_in:.0f}/s, "
        f"median {statistics.median(connections.open_s) * 1000:.0f} ms each); gateway CPU "
        f"{1000 * cpu_open / asked:.1f} ms per connection (the watchers reading meanwhile)",
    )
    figures.add(
        "refused / dropped",
        f"{sum(connections.refused.values())} / {sum(connections.dropped.values())}"
        + _detail(connections.refused + connections.dropped),
    )
    figures.add(
        "gateway RSS before opening → after",
        f"{rss_before:.0f} MB → {rss_open:.0f} MB",
    )
    per_connection = (rss_open - rss_before) * 1e6 / max(open_now, 1) / 1024
    figures.add("memory per connection", f"{per_connection:.0f} KiB (delta / open connections)")
    figures.add(
        "gateway RSS end of steady period; all closed",
        f"{rss_end:.0f} MB ({rss_end - rss_open:+.0f} MB over the period); {rss_closed:.0f} MB",
    )
    figures.add(
        "once every connection closed",
        f"subscriptions {metric(closed, 'gateway_live_subscriptions'):.0f}, watchers "
        f"{metric(closed, 'gateway_live_watchers'):.0f} after {stopped_in:.1f} s; "
        f"{calls_after_close} back-end calls meanwhile",
    )
    figures.add(
        "gateway CPU",
        f"{cpu_steady / minutes:.1f} s per minute ({100 * cpu_steady / elapsed:.0f} % of a core)",
    )
    figures.add(
        "gateway waiting for a CPU (runnable, another process on it)",
        f"{waited_steady / minutes:.1f} s per minute",
    )
    figures.add("gateway /livez answer time (its loop's lag)", delays_row(gateway_lag, ms=True))
    figures.add("this client's loop lag", delays_row(own_lag, ms=True))
    figures.add(
        "mocks CPU; this client's CPU",
        f"{mocks_steady / minutes:.1f} s per minute; {own_steady / minutes:.1f} s per minute",
    )
    per_system: Counter[str] = Counter()
    for route, n in calls.items():
        per_system[route.split(" ", 1)[0]] += n
    figures.add(
        "back-end calls per minute",
        f"{sum(calls.values()) / minutes:.0f} ("
        + ", ".join(f"{s} {n / minutes:.0f}" for s, n in per_system.most_common())
        + f"); {sum(calls.values()) / minutes / max(open_now, 1):.1f} per connection",
    )
    snapshots = "gateway_live_snapshots_total"
    reads = metric(steady_after, snapshots, outcome="read") - metric(
        steady_before, snapshots, outcome="read"
    )
    failed = metric(steady_after, snapshots, outcome="failed") - metric(
        steady_before, snapshots, outcome="failed"
    )
    ideal = metric(gauges, "gateway_live_watchers") * 60 / args.interval
    figures.add(
        "watcher reads per minute",
        f"{reads / minutes:.0f} (one an interval per watcher: {ideal:.0f}); failed "
        f"{failed / minutes:.0f}",
    )
    made = sum(len(t) for t in ledger.moves.values())
    figures.add(
        "moves made",
        f"{made} ({made / minutes:.0f} per minute); PUT failed {ledger.failed_moves}, "
        f"sent over 1 s late {ledger.late_moves}",
    )
    for transport in ("sse", "ws"):
        kind = f"demandeUpdated {transport}"
        delays = ledger.delays.get(kind, [])
        figures.add(
            f"demandeUpdated over {transport.upper()}: received / made",
            share(len(delays), ledger.made(transport, customers)),
        )
        figures.add(f"demandeUpdated over {transport.upper()}: delay", delays_row(delays))
    if args.bell and args.ws:
        delays = ledger.delays.get("notificationsChanged ws", [])
        figures.add(
            "notificationsChanged (WS): moves counted / made",
            share(len(delays), ledger.made("ws", customers)),
        )
        figures.add("notificationsChanged (WS): delay", delays_row(delays))
    everything = [d for values in ledger.delays.values() for d in values]
    figures.add("every delivery: delay", delays_row(everything))
    figures.add(
        "errors in payloads; duplicates; unmatched",
        f"{sum(connections.errors.values())}{_detail(connections.errors)}; "
        f"{sum(ledger.duplicates.values())}; {sum(ledger.unmatched.values())}",
    )
    outcomes: Counter[str] = Counter()
    for key, value in steady_after.items():
        found = re.search(r'backend="([^"]+)".*outcome="([^"]+)"', key)
        if key.startswith("gateway_backend_calls_total") and found:
            before = steady_before.get(key, 0.0)
            outcomes[f"{found[1]} {found[2]}"] += round(value - before)
    opened: Counter[str] = Counter()
    for key, value in steady_after.items():
        found = re.search(r'backend="([^"]+)"', key)
        if key.startswith("gateway_breaker_transitions_total") and 'state="open"' in key and found:
            opened[found[1]] += round(value - steady_before.get(key, 0.0))
    figures.add(
        "the gateway's back-end attempts (steady period)",
        ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()) if n) or "none",
    )
    figures.add(
        "breakers opened (steady period)",
        ", ".join(f"{k} {n}" for k, n in sorted(opened.items()) if n) or "none",
    )
    figures.add(
        "mocks' answer times (median / p95)",
        ", ".join(f"{s} {m:.0f} / {p:.0f} ms" for s, (m, p) in mock_times.items()),
    )
    print("\nback-end calls per minute, by route")
    for route, n in calls.most_common():
        print(f"  {n / minutes:8.0f}  {route}")
    print("\n" + figures.table())


def _detail(counts: Counter[str]) -> str:
    return (" (" + ", ".join(f"{k}: {n}" for k, n in counts.most_common(4)) + ")") if counts else ""


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sse", type=int, default=2000, help="event streams (default 2000)")
    parser.add_argument("--ws", type=int, default=200, help="WebSockets (default 200)")
    parser.add_argument(
        "--duration", type=float, default=120, help="seconds of the steady period (default 120)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=15,
        help="GATEWAY_LIVE_INTERVAL_S, the watchers' read interval (default 15, the shipped one)",
    )
    parser.add_argument(
        "--events-per-minute",
        type=float,
        default=1,
        help="moves of each customer's demande a minute (default 1)",
    )
    parser.add_argument(
        "--open-concurrency",
        type=int,
        default=50,
        help="connections being opened at once (default 50)",
    )
    parser.add_argument(
        "--max-subscriptions",
        type=int,
        default=0,
        help="GATEWAY_LIVE_MAX_SUBSCRIPTIONS (default: what the bench opens, at least 2000)",
    )
    parser.add_argument(
        "--no-bell",
        dest="bell",
        action="store_false",
        help="WebSockets carry DemandeUpdated only, not NotificationsChanged beside it",
    )
    args = parser.parse_args()
    if args.sse < 0 or args.ws < 0 or args.sse + args.ws == 0:
        parser.error("--sse and --ws: at least one connection")
    if args.events_per_minute <= 0 or args.interval <= 0 or args.duration <= 0:
        parser.error("--events-per-minute, --interval and --duration must be positive")
    return args


def main() -> None:
    args = parse()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
