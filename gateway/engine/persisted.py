"""Trusted documents and Automatic Persisted Queries (APQ), as Apollo Client's links speak them.

The manifest (`gateway/engine/trusted_documents.json`, generated, checked in) holds the frontends'
documents (`contracts/operations/**/*.graphql`) by the sha256 of their exact text. Rebuild it after
adding or changing a document (a test fails while it is out of date):

    .venv/bin/python -m gateway.engine.persisted          # writes gateway/engine/trusted_documents.json
    .venv/bin/python -m gateway.engine.persisted --check  # exit 1 when out of date

A request, by what it carries (`extensions.persistedQuery = {version: 1, sha256Hash}`):

    hash only        the manifest's document, else (APQ) the one registered in the shared store;
                     neither: PERSISTED_QUERY_NOT_FOUND (message `PersistedQueryNotFound`: the
                     client sends the query with its hash again)
    query + hash     the hash must be the query's (BAD_USER_INPUT otherwise); an APQ document
                     is registered once it ran without a parse or validation error, at most
                     GATEWAY_APQ_MAX_LENGTH long: a signed-in client's in the shared store
                     (`apq:<hash>`, memory or Redis, GATEWAY_APQ_TTL_S), at most
                     `APQ_PER_CLIENT` a day per client; an anonymous caller's in this process
                     only, in a bounded memory (`LOCAL_MAX`, oldest out first). Anonymous
                     callers reach only the account's entry points, whose documents are the
                     manifest's: what they register serves nobody else, and a flood of them
                     must not fill the store every process shares
    query only       as ever

With `GATEWAY_PERSISTED_ONLY=true` (production) only the manifest's documents run, by hash or
by text; anything else is PERSISTED_QUERY_NOT_IN_LIST and nothing is registered. GET runs
queries only (hash-only GETs included): strawberry refuses a mutation over GET.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import structlog

from gateway.errors import BadInput, GatewayError
from gateway.observability.operation_names import first_declared
from gateway.platform.rate_limiter import TooManyRequests
from gateway.platform.store import Store, StoreUnavailable

if TYPE_CHECKING:
    from gateway.context import Context

APQ_PER_CLIENT = "50/day"
LOCAL_MAX = 500

log = structlog.get_logger("gateway.persisted")
ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "contracts" / "operations"
MANIFEST = Path(__file__).resolve().parent / "trusted_documents.json"
SHA256 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryNotFound(GatewayError):
    code: ClassVar[str] = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")  # the text Apollo's link looks for


class PersistedQueryNotInList(GatewayError):
    code: ClassVar[str] = "PERSISTED_QUERY_NOT_IN_LIST"

    def __init__(self) -> None:
        super().__init__("Cette opération n'est pas une opération connue des applications.")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_manifest(operations: Path = OPERATIONS) -> dict[str, Any]:
    """Every `.graphql` under `operations` (sub-folders included), by the sha256 of its text."""
    documents = {}
    for path in sorted(operations.rglob("*.graphql")):
        body = path.read_text("utf-8")
        documents[sha256(body)] = {
            "name": first_declared(body) or path.stem,
            "path": path.relative_to(operations).as_posix(),
            "body": body,
        }
    return {"format": 1, "algorithm": "sha256", "documents": documents}


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def load_manifest(path: Path = MANIFEST) -> dict[str, str]:
    """hash → document text."""
    if not path.exists():
        return {}
    documents = json.loads(path.read_text("utf-8"))["documents"]
    return {digest: entry["body"] for digest, entry in documents.items()}


@dataclass
class TrustedDocuments:
    manifest: dict[str, str] = field(default_factory=load_manifest)
    persisted_only: bool = False
    ttl_s: float = 7 * 86_400
    max_length: int = 20_000
    local: OrderedDict[str, str] = field(default_factory=OrderedDict)  # anonymous registrations

    async def resolve(
        self, query: str | None, extensions: dict[str, Any] | None, store: Store
    ) -> tuple[str | None, str | None]:
        """(the document to run, the hash to register once it ran cleanly, if any)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.persisted_only and sha256(query or "") not in self.manifest:
                raise PersistedQueryNotInList()
            return query, None
        valid = isinstance(persisted, dict) and persisted.get("version") == 1
        digest = persisted.get("sha256Hash") if valid else None
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            raise BadInput("persistedQuery attend {version: 1, sha256Hash}.", "persistedQuery")
        if query is None:
            found = self.manifest.get(digest) or await self.registered(digest, store)
            if found is None:
                raise PersistedQueryNotInList() if self.persisted_only else PersistedQueryNotFound()
            return found, None
        if sha256(query) != digest:
            raise BadInput("provided sha does not match query", "persistedQuery.sha256Hash")
        if digest in self.manifest:
            return query, None
        if self.persisted_only:
            raise PersistedQueryNotInList()
        return query, digest if len(query) <= self.max_length else None

    async def registered(self, digest: str, store: Store) -> str | None:
        if self.persisted_only:
            return None
        if digest in self.local:
            return self.local[digest]
        try:
            record = await store.get("apq:" + digest)
        except StoreUnavailable:  # the client sends the query again: it still runs
            log.warning("apq_store_unavailable")
            return None
        query = (record or {}).get("query")
        return query if isinstance(query, str) else None

    async def register(self, digest: str, query: str, context: Context) -> None:
        if context.principal is None:  # this process only, bounded
            self.local[digest] = query
            self.local.move_to_end(digest)
            while len(self.local) > LOCAL_MAX:
                self.local.popitem(last=False)
            return
        services = context.services
        try:
            await services.rate_limits.hit(
                APQ_PER_CLIENT, "apq", context.principal.subject, fail_open=False
            )
            await services.store.put("apq:" + digest, {"query": query}, ttl=self.ttl_s)
        except TooManyRequests:  # it ran; the client sends the text again next time
            log.warning("apq_registrations_spent")
        except StoreUnavailable:
            log.warning("apq_store_unavailable")


def main(argv: list[str]) -> int:
    text = render(build_manifest())
    if "--check" in argv:
        current = MANIFEST.read_text("utf-8") if MANIFEST.exists() else ""
        if current != text:
            print(f"{MANIFEST} is out of date: run python -m gateway.engine.persisted")
            return 1
        return 0
    MANIFEST.write_text(text, encoding="utf-8")
    print(f"wrote {MANIFEST} ({len(json.loads(text)['documents'])} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
