"""`python -m gateway serve [--workers N] | token CLIENT_ID [--role staff] | export-schema [PATH]
| documents build|check PATH` (`engine/documents_command.py`).

`serve` runs uvicorn on `app_factory`, the app each worker process builds for itself from the
environment (`uvicorn gateway.__main__:app_factory --factory --workers N` is the same thing).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.engine import documents_command
from gateway.settings import Settings, shared_store_problem

if TYPE_CHECKING:
    from starlette.applications import Starlette

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def demo_calendar(settings: Settings) -> Settings:
    """With only in-process mocks, "today" is the day their fixtures were built for (unless
    GATEWAY_TODAY says otherwise): the demo shows the same data whenever it runs."""
    urls = (settings.policy_admin_url, settings.claims_url, settings.editique_url, settings.crm_url)
    if settings.today is None and not any(urls):
        from gateway.adapters.in_process import fixtures_anchor

        return settings.model_copy(update={"today": fixtures_anchor()})
    return settings


def workers_of_environment() -> int:
    """uvicorn's default number of workers: `WEB_CONCURRENCY`, else 1."""
    try:
        return max(1, int(os.environ.get("WEB_CONCURRENCY") or 1))
    except ValueError:
        return 1


def app_factory() -> Starlette:
    """The served app, built in each worker from the environment (and the demo calendar); it
    refuses to be built where several processes would not share a store."""
    from gateway.app import create_app

    settings = demo_calendar(Settings())
    problem = shared_store_problem(settings, workers_of_environment())
    if problem:
        raise SystemExit(f"python -m gateway: {problem}")
    return create_app(settings)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve the gateway (in-process mocks for unset back-end URLs)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: $WEB_CONCURRENCY or 1); share a cache with GATEWAY_REDIS_URL",
    )
    serve.add_argument(
        "--no-access-log",
        action="store_true",
        help="do not log each request (GATEWAY_ACCESS_LOG=false; benchmarks)",
    )
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("client_id")
    token.add_argument("--role", choices=["customer", "staff"], default="customer")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default=str(SCHEMA_FILE))
    documents = commands.add_parser(
        "documents", help="build or check a trusted-documents manifest (persisted-only mode)"
    )
    documents_command.add_arguments(documents)
    args = parser.parse_args()

    if args.command == "serve":
        if args.no_access_log:  # read by every worker's settings
            os.environ["GATEWAY_ACCESS_LOG"] = "false"
        if args.workers is not None and args.workers < 1:
            parser.error("--workers must be at least 1")
        problem = shared_store_problem(Settings(), args.workers or workers_of_environment())
        if problem:  # before anything is imported or started
            parser.exit(2, f"python -m gateway serve: {problem}\n")
        import uvicorn

        from gateway.adapters import in_process

        try:
            settings = demo_calendar(Settings())
            in_process.require(in_process.unset(settings))  # once, here, rather than in each worker
        except in_process.MocksUnavailable as exc:
            parser.exit(2, f"python -m gateway serve: {exc}\n")
        if settings.today is not None:
            print(f"business calendar pinned to {settings.today}")
        from gateway.observability.metrics import prepare_multiprocess_directory

        prepare_multiprocess_directory()  # one scrape sees every worker, none of a previous run
        uvicorn.run(
            "gateway.__main__:app_factory",
            factory=True,
            workers=args.workers,
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_level="info",
            log_config=None,  # create_app routed uvicorn's loggers to the gateway's handler
            access_log=False,  # the gateway's own `request` line is the access log (logs.py)
            http="gateway.edge.server_protocol:SettingsProtocol",  # header size and timeout (each worker)
            timeout_keep_alive=settings.keep_alive_s,
            timeout_graceful_shutdown=settings.shutdown_grace_s,
        )
    elif args.command == "documents":
        sys.exit(documents_command.run(args))
    elif args.command == "token":
        from gateway.identity.tokens import TokenVerifier

        print(TokenVerifier(Settings()).issue(args.client_id, args.role, args.ttl))
    else:
        from gateway.engine.schema import default_schema

        Path(args.path).write_text(default_schema().as_str() + "\n", encoding="utf-8")
        print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
