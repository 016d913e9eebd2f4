"""GraphiQL, served offline (outside production, like introspection): `GET /graphql` from a browser answers
`static/graphiql.html`, whose scripts and styles are the npm packages' own published files,
vendored in `static/graphiql/` by `scripts/vendor_graphiql.py` (versions, tarball integrity and
sha256 in its `manifest.json`). They are served from `/graphiql/<package>@<version>/<file>`: a
versioned URL never changes content, so it is cached for a year as `immutable`, and the page pins
each file with its SRI hash. Nothing is loaded from a CDN; the page's CSP allows only this origin.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from gateway.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"
PREFIX = "/graphiql/"
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    url: str
    body: bytes
    gzipped: bytes
    media_type: str
    integrity: str  # SRI, as the manifest records it

    @property
    def etag(self) -> str:
        return f'"{self.integrity.removeprefix("sha256-")}"'


class CorruptAsset(RuntimeError):
    """A vendored file whose bytes are not those the manifest recorded from npm."""


@cache
def assets() -> dict[str, Asset]:
    """The vendored files by URL, read and checked against the manifest once per process."""
    manifest = json.loads((ASSETS / "manifest.json").read_text("utf-8"))
    found: dict[str, Asset] = {}
    for entry in manifest["files"]:
        body = (ASSETS / entry["path"]).read_bytes()
        if hashlib.sha256(body).hexdigest() != entry["sha256"]:
            raise CorruptAsset(
                f"{entry['path']} differs from npm's: run scripts/vendor_graphiql.py"
            )
        url = PREFIX + entry["path"]
        media_type = MEDIA_TYPES[Path(entry["path"]).suffix]
        found[url] = Asset(
            url, body, gzip.compress(body, 6, mtime=0), media_type, entry["integrity"]
        )
    return found


async def asset(request: Request) -> Response:
    found = assets().get(request.url.path)
    if found is None:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": found.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


@cache
def page() -> tuple[str, str]:
    """GraphiQL's page and its Content-Security-Policy (the inline script allowed by its hash)."""
    html = (STATIC / "graphiql.html").read_text("utf-8")
    styles, scripts = [], []
    for found in assets().values():
        if found.url.endswith(".css"):
            styles.append(
                f'<link rel="stylesheet" href="{found.url}" integrity="{found.integrity}" />'
            )
        else:
            scripts.append(f'<script src="{found.url}" integrity="{found.integrity}"></script>')
    html = html.replace("<!--STYLES-->", "\n    ".join(styles))
    html = html.replace("<!--SCRIPTS-->", "\n    ".join(scripts))
    inline = html.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'sha256-{digest}'",
            "style-src 'self' 'unsafe-inline'",  # React sets style attributes
            "font-src 'self' data:",  # GraphiQL's fonts are inlined in its CSS
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return html, policy


def graphiql_page() -> HTMLResponse:
    html, policy = page()
    return HTMLResponse(
        html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"}
    )


def routes(settings: Settings) -> list[Route]:
    """The GraphiQL asset route where GraphiQL is on (not in production)."""
    if not settings.graphiql:
        return []
    assets()  # a corrupt vendored file fails at start-up, not in a browser
    return [Route(PREFIX + "{path:path}", asset, methods=["GET", "HEAD"])]
