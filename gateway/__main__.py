"""`python -m gateway serve | token CLIENT_ID [--role staff] | export-schema [PATH]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def demo_calendar(settings: Settings) -> Settings:
    """With only in-process mocks, "today" is the day their fixtures were built for (unless
    GATEWAY_TODAY says otherwise): the demo shows the same data whenever it runs."""
    urls = (settings.policy_admin_url, settings.claims_url, settings.editique_url, settings.crm_url)
    if settings.today is None and not any(urls):
        from mocks.contracts import fixtures_anchor

        return settings.model_copy(update={"today": fixtures_anchor()})
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve the gateway (in-process mocks for unset back-end URLs)"
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--no-access-log", action="store_true", help="do not log each request (benchmarks)"
    )
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("client_id")
    token.add_argument("--role", choices=["customer", "staff"], default="customer")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default=str(SCHEMA_FILE))
    args = parser.parse_args()

    if args.command == "serve":
        import uvicorn

        from .app import create_app

        settings = demo_calendar(Settings())
        if settings.today is not None:
            print(f"business calendar pinned to {settings.today}")
        uvicorn.run(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_level="info",
            log_config=None,  # create_app routed uvicorn's loggers to the gateway's handler
            access_log=not args.no_access_log,
            timeout_graceful_shutdown=settings.shutdown_grace_s,
        )
    elif args.command == "token":
        from .auth import TokenVerifier

        print(TokenVerifier(Settings()).issue(args.client_id, args.role, args.ttl))
    else:
        from .schema import schema

        Path(args.path).write_text(schema.as_str() + "\n", encoding="utf-8")
        print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
