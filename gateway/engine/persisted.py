"""Trusted documents and Automatic Persisted Queries (APQ), as Apollo Client, urql and
graphql-codegen's persisted documents speak them.

The shipped manifest (`gateway/engine/trusted_documents.json`, generated, checked in, inside the
package) holds the frontends' documents (`contracts/operations/**/*.graphql`) in Apollo's
persisted-query manifest format, once per form a client sends (`engine/documents.py`: the file,
graphql-js `print`, `print` with the `__typename` Apollo Client and urql add, graphql-codegen's
sorted print). Rebuild it after adding or changing a document (a test fails while it is stale):

    .venv/bin/python -m gateway documents build contracts/operations --output gateway/engine/trusted_documents.json

`GATEWAY_TRUSTED_DOCUMENTS` adds a frontend's own manifests (Apollo's, or codegen's
`persisted-documents.json`).

A request, by what it carries (`extensions.persistedQuery = {version: 1, sha256Hash}`; the hash
as hex or `sha256:<hex>`):

    hash only        the manifest's document, else (APQ) the one registered in the shared store;
                     neither: PERSISTED_QUERY_NOT_FOUND (message `PersistedQueryNotFound`: the
                     client sends the query with its hash again)
    query + hash     the hash is the query's sha256, or a manifest's hash of the same document
                     (BAD_USER_INPUT otherwise); the query runs as sent. An APQ document is
                     registered once it ran without a parse or validation error, at most
                     GATEWAY_APQ_MAX_LENGTH long: a signed-in client's in the shared store
                     (`apq:<hash>`, memory or Redis, GATEWAY_APQ_TTL_S), at most
                     `APQ_PER_CLIENT` a day per client; an anonymous caller's in this process
                     only, in a bounded memory (`LOCAL_MAX`, oldest out first). Anonymous
                     callers reach only the account's entry points, whose documents are the
                     manifest's: what they register serves nobody else, and a flood of them
                     must not fill the store every process shares
    query only       as ever

With `GATEWAY_PERSISTED_ONLY=true` (production) only trusted documents run: a manifest's hash, or
a text that is the same document as a manifest's (`documents.canonical`: layout, comments, the
`__typename` clients add and the order of fields aside); anything else is
PERSISTED_QUERY_NOT_IN_LIST and nothing is registered. GET runs queries only (hash-only GETs
included): strawberry refuses a mutation over GET.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from graphql import GraphQLError, parse

from gateway.engine import documents
from gateway.engine.documents import Entry, canonical, digest_of, sha256
from gateway.engine.operation_limits import Limits
from gateway.errors import BadInput, GatewayError
from gateway.platform.rate_limiter import TooManyRequests
from gateway.platform.store import Store, StoreUnavailable

if TYPE_CHECKING:
    from gateway.context import Context

APQ_PER_CLIENT = "50/day"
LOCAL_MAX = 500

log = structlog.get_logger("gateway.persisted")
ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "contracts" / "operations"  # in a checkout: what the shipped manifest holds
MANIFEST = Path(__file__).resolve().parent / "trusted_documents.json"
VERDICTS = 4096  # texts whose verdict is remembered


class PersistedQueryNotFound(GatewayError):
    code: ClassVar[str] = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")  # the text Apollo's link looks for


class PersistedQueryNotInList(GatewayError):
    code: ClassVar[str] = "PERSISTED_QUERY_NOT_IN_LIST"

    def __init__(self) -> None:
        super().__init__("Cette opération n'est pas une opération connue des applications.")


def build_manifest(operations: Path = OPERATIONS) -> dict[str, Any]:
    """The shipped manifest: every `.graphql` under `operations`, once per form."""
    return documents.apollo_manifest(documents.entries_of(operations))


@dataclass(frozen=True)
class Manifest:
    """Trusted documents: by hash (what a hash-only request runs), and by canonical text."""

    by_digest: dict[str, str] = field(default_factory=dict)
    # recent texts' verdicts by their sha256: a page's next request is not parsed again (keys
    # only: a client's 100 kB texts are not kept)
    verdicts: OrderedDict[str, bool] = field(default_factory=OrderedDict, compare=False)

    @classmethod
    def of(cls, entries: Iterable[Entry]) -> Manifest:
        return cls({entry.digest: entry.body for entry in entries})

    @cached_property
    def canonical(self) -> frozenset[str]:
        """The trusted documents' canonical texts: computed when a text is first judged (a
        gateway that is not persisted-only may never need them)."""
        known = set()
        for body in self.by_digest.values():
            try:
                known.add(canonical(body))
            except GraphQLError:  # not a document: its hash still names its text
                continue
        return frozenset(known)

    @classmethod
    def load(cls, *paths: Path) -> Manifest:
        """The shipped manifest (when present) and `paths`; `ManifestError` for an unreadable one."""
        shipped = documents.load(MANIFEST) if MANIFEST.exists() else []
        return cls.of([*shipped, *(entry for path in paths for entry in documents.load(path))])

    def trusts(self, query: str, limits: Limits) -> bool:
        """`query` is the same document as a trusted one (its text, or an equivalent form)."""
        digest = sha256(query)
        if digest in self.by_digest:
            return True
        verdict = self.verdicts.get(digest)
        if verdict is None:
            verdict = canonical_within(query, limits) in self.canonical
            self.verdicts[digest] = verdict
            if len(self.verdicts) > VERDICTS:
                self.verdicts.popitem(last=False)
        return verdict


def canonical_within(query: str, limits: Limits) -> str | None:
    """`documents.canonical`, parsed within the operation limits; None for a text past them or
    unreadable (never a trusted document: the run that follows says what is wrong with it)."""
    if len(query) > limits.max_query_length:
        return None
    try:
        return canonical(parse(query, no_location=True, **limits.parse_options()))
    except GraphQLError:
        return None


@dataclass(frozen=True)
class TrustedDocuments:
    manifest: Manifest = field(default_factory=Manifest.load)
    persisted_only: bool = False
    ttl_s: float = 7 * 86_400
    max_length: int = 20_000
    local: OrderedDict[str, str] = field(default_factory=OrderedDict)  # anonymous registrations
    limits: Limits = field(default_factory=Limits)

    def same_document(self, query: str, trusted: str) -> bool:
        found = canonical_within(query, self.limits)
        return found is not None and found == canonical_within(trusted, self.limits)

    async def resolve(
        self, query: str | None, extensions: dict[str, Any] | None, store: Store
    ) -> tuple[str | None, str | None]:
        """(the document to run, the hash to register once it ran cleanly, if any)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.persisted_only and not self.manifest.trusts(query or "", self.limits):
                raise PersistedQueryNotInList()
            return query, None
        valid = isinstance(persisted, dict) and persisted.get("version") == 1
        named = persisted.get("sha256Hash") if valid else None
        digest = digest_of(named) if isinstance(named, str) else None
        if digest is None:
            raise BadInput("persistedQuery attend {version: 1, sha256Hash}.", "persistedQuery")
        trusted = self.manifest.by_digest.get(digest)
        if query is None:
            found = trusted or await self.registered(digest, store)
            if found is None:
                raise PersistedQueryNotInList() if self.persisted_only else PersistedQueryNotFound()
            return found, None
        if trusted is not None and (sha256(query) == digest or self.same_document(query, trusted)):
            return query, None
        if sha256(query) != digest:
            raise BadInput("provided sha does not match query", "persistedQuery.sha256Hash")
        if self.persisted_only:
            if self.manifest.trusts(query, self.limits):
                return query, None
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
