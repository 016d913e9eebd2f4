"""Configuration from the environment (pydantic-settings).

Back-end URLs and credentials use the legacy systems' documented variable names; the gateway's
own knobs are prefixed `GATEWAY_`. An unset back-end URL means "serve that mock in process".
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-in-production-0123456789"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
WEBAUTHN_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|android:apk-key-hash:[A-Za-z0-9_-]+"
)
MIN_SECRET_BYTES = 32  # HS256: at least the hash's output size (RFC 7518 §3.2)


def fast_paths_of_environment() -> bool:
    """GATEWAY_FAST_PATHS alone (default true), for what is built at import without settings."""
    return TypeAdapter(bool).validate_python(os.environ.get("GATEWAY_FAST_PATHS", "true"))


def legacy(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        extra="ignore",
        populate_by_name=True,
        use_attribute_docstrings=True,  # each field's docstring is its description (docs site)
    )

    env: Literal["development", "production"] = "development"
    """`production` disables GraphiQL, introspection and "Did you mean" suggestions, and refuses to
    start without the four back-end URLs, `GATEWAY_JWT_PRIVATE_KEY`, a real `GATEWAY_JWT_SECRET`
    and `GATEWAY_PUBLIC_URL`."""
    access_log: bool = True
    """One `request` log line per request; false (or `serve --no-access-log`): none, errors are
    still logged."""
    loads_ahead: bool = True
    """A query seen before for the same customer and variables starts its back-end reads alongside
    the customer record (one round trip instead of two)."""
    fast_paths: bool = True
    """Speed shortcuts that rely on libraries' private names (`gateway/engine/fastpath/`); false
    runs stock strawberry, graphql-core, uvicorn and `limits`, with the same answers."""
    host: str = "127.0.0.1"
    """Address `python -m gateway serve` listens on."""
    port: int = 8000
    """Port `python -m gateway serve` listens on."""
    public_url: str | None = None
    """Base URL of `downloadUrl` links (unset: the request's own; required in production)."""

    jwt_secret: SecretStr = SecretStr(DEV_SECRET)
    """HS256 key of development tokens; keys download links and pagination cursors everywhere
    (production: at least 32 bytes, even with a private key or a JWKS)."""
    jwt_private_key: SecretStr | None = None
    """PEM text, or its path, of the key signing sessions: EC P-256 signs ES256, RSA (2048 bits or
    more) RS256; its public half is served at `/.well-known/jwks.json`. Required in production."""
    access_ttl_s: int = 900
    """Lifetime of a session's access token (15 minutes)."""
    refresh_ttl_s: int = 30 * 86_400
    """Lifetime of a session's refresh token (30 days)."""
    refresh_grace_s: float = Field(5.0, ge=0)
    """How long after its first use a refresh token used again gets the same successor (two tabs
    refreshing at once) instead of ending the session (0: never)."""
    session_check_s: float = 5.0
    """How long a process trusts its last look at a session in the store: an ended session's
    tokens stop within it."""
    jwks_url: str | None = None
    """An identity provider's JWKS: its RS256/ES256 tokens are accepted beside the gateway's own."""
    jwt_audience: str = "espace-client"
    """Required `aud` of every token."""
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256")
    """Algorithms accepted for the identity provider's tokens (`GATEWAY_JWKS_URL`)."""
    download_ttl_s: int = 300
    """Lifetime of a signed download link (`Document.downloadUrl`)."""

    today: date | None = None
    """Pins the business calendar the 3-year and 6-month windows count from (unset: today in
    Europe/Paris, or the fixtures' day when every back-end is an in-process mock)."""
    request_deadline_s: float = 3.0
    """Deadline of one GraphQL request: no back-end attempt outlives it, no retry starts that
    could not finish before it."""
    redis_url: str | None = None
    """Redis shared by every gateway process: answer cache, shared store (sessions, idempotency,
    APQ) and rate limits (unset: in memory, per process). `redis://` or `rediss://` (TLS), an ACL
    user and password in it (`rediss://gateway:secret@redis:6380/0`); behind Sentinel, only its
    scheme, user, password and database are used."""

    policy_admin_url: str | None = Field(None, validation_alias=legacy("POLICY_ADMIN_URL"))
    """Base URL of policy admin (unset: its mock, in process)."""
    policy_admin_api_key: SecretStr = Field(
        SecretStr("dev-policy-admin-key"), validation_alias=legacy("POLICY_ADMIN_API_KEY")
    )
    """Policy admin's `X-Api-Key`."""
    claims_url: str | None = Field(None, validation_alias=legacy("CLAIMS_URL"))
    """Base URL of claims (unset: its mock, in process)."""
    claims_user: str = Field("gateway", validation_alias=legacy("CLAIMS_USER"))
    """Claims' HTTP Basic user."""
    claims_password: SecretStr = Field(
        SecretStr("dev-claims-password"), validation_alias=legacy("CLAIMS_PASSWORD")
    )
    """Claims' HTTP Basic password."""
    editique_url: str | None = Field(None, validation_alias=legacy("EDITIQUE_URL"))
    """Base URL of éditique (unset: its mock, in process)."""
    editique_user: str = Field("gateway", validation_alias=legacy("EDITIQUE_USER"))
    """Éditique's WS-Security UsernameToken user."""
    editique_password: SecretStr = Field(
        SecretStr("dev-editique-password"), validation_alias=legacy("EDITIQUE_PASSWORD")
    )
    """Éditique's WS-Security UsernameToken password."""
    crm_url: str | None = Field(None, validation_alias=legacy("CRM_URL"))
    """Base URL of the CRM (unset: its mock, in process)."""
    crm_token: SecretStr = Field(SecretStr("dev-crm-token"), validation_alias=legacy("CRM_TOKEN"))
    """The CRM's service bearer token."""

    # egress: how the back-ends (and the JWKS) are reached (gateway/adapters/transport/egress.py);
    # proxies come from the standard HTTPS_PROXY, HTTP_PROXY and NO_PROXY
    backend_ca_file: Path | None = None
    """PEM bundle of the CAs trusted for every back-end's certificate (unset: the system's trust
    store); it replaces the system's store, for the identity provider's JWKS too."""
    backend_cert_file: Path | None = None
    """PEM client certificate (mTLS) presented to every back-end (and the JWKS), with its chain."""
    backend_key_file: Path | None = None
    """PEM private key of `GATEWAY_BACKEND_CERT_FILE` (unset: in the certificate's file)."""
    policy_admin_ca_file: Path | None = None
    """Policy admin's own CA bundle (unset: `GATEWAY_BACKEND_CA_FILE`)."""
    policy_admin_cert_file: Path | None = None
    """Policy admin's own client certificate (unset: `GATEWAY_BACKEND_CERT_FILE`)."""
    policy_admin_key_file: Path | None = None
    """Policy admin's own client key (unset: `GATEWAY_BACKEND_KEY_FILE`)."""
    claims_ca_file: Path | None = None
    """Claims' own CA bundle (unset: `GATEWAY_BACKEND_CA_FILE`)."""
    claims_cert_file: Path | None = None
    """Claims' own client certificate (unset: `GATEWAY_BACKEND_CERT_FILE`)."""
    claims_key_file: Path | None = None
    """Claims' own client key (unset: `GATEWAY_BACKEND_KEY_FILE`)."""
    editique_ca_file: Path | None = None
    """Éditique's own CA bundle (unset: `GATEWAY_BACKEND_CA_FILE`)."""
    editique_cert_file: Path | None = None
    """Éditique's own client certificate (unset: `GATEWAY_BACKEND_CERT_FILE`)."""
    editique_key_file: Path | None = None
    """Éditique's own client key (unset: `GATEWAY_BACKEND_KEY_FILE`)."""
    crm_ca_file: Path | None = None
    """The CRM's own CA bundle (unset: `GATEWAY_BACKEND_CA_FILE`)."""
    crm_cert_file: Path | None = None
    """The CRM's own client certificate (unset: `GATEWAY_BACKEND_CERT_FILE`)."""
    crm_key_file: Path | None = None
    """The CRM's own client key (unset: `GATEWAY_BACKEND_KEY_FILE`)."""
    backend_tls_min_version: Literal["1.2", "1.3"] = "1.2"
    """Oldest TLS version accepted from a back-end."""
    backend_max_connections: int = Field(256, ge=1)
    """Connections per back-end and process (above what admission control lets in flight, so an
    attempt never times out waiting for one)."""
    backend_keepalive_s: float = Field(15.0, ge=0)
    """How long an idle connection to a back-end is kept for the next exchange."""
    backend_dns_ttl_s: int = Field(10, ge=0)
    """How long a back-end's resolved addresses are reused before asking DNS again."""
    backend_max_header_line_bytes: int = Field(8190, ge=256)
    """Longest status line of a back-end's answer (past it: `BACKEND_UNAVAILABLE`)."""
    backend_max_header_field_bytes: int = Field(8190, ge=256)
    """Longest header line of a back-end's answer (past it: `BACKEND_UNAVAILABLE`)."""
    backend_max_headers: int = Field(128, ge=1)
    """Most header lines in a back-end's answer (past it: `BACKEND_UNAVAILABLE`)."""
    backend_max_body_bytes: int = Field(64 * 1024 * 1024, ge=1)
    """Largest body of a back-end's answer, read no further (a document is ~100 KB)."""

    # per attempt; a hang costs one of these, so they stay well under the request deadline
    timeout_policy_admin_s: float = 0.5
    """Timeout of one attempt at policy admin."""
    timeout_claims_s: float = 0.5
    """Timeout of one attempt at claims."""
    timeout_editique_s: float = 1.0  # searches: p50 ≈ 350 ms in production (a PDF fetch gets 2 s)
    """Timeout of one attempt at éditique (a PDF fetch gets 2 s)."""
    timeout_crm_s: float = 0.5
    """Timeout of one attempt at the CRM."""
    retry_attempts: int = 5
    """Attempts of an idempotent read at most, within the request deadline."""
    breaker_failure_rate: float = Field(0.5, gt=0, le=1)
    """Share of a back-end's attempts in the window that must have failed, because of the back-end,
    to open its breaker."""
    breaker_min_volume: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices("GATEWAY_BREAKER_MIN_VOLUME", "GATEWAY_BREAKER_THRESHOLD"),
    )
    """Attempts a back-end needs in the window before its failure rate is judged."""
    breaker_window_s: int = Field(10, ge=1)
    """Sliding window of a breaker's failure rate."""
    breaker_ttl_s: float = 5.0
    """How long an open breaker fails fast before it lets one probe through."""
    # admission control per process: requests in flight, then a short queue, then a fast 503
    max_in_flight: int = Field(64, ge=1)
    """Requests one process works on at once (admission control)."""
    admission_queue: int = Field(256, ge=0)
    """Requests that may wait for a place; beyond, `503 OVERLOADED` at once."""
    admission_wait_s: float = Field(1.5, ge=0)
    """How long a request may wait for a place before `503 OVERLOADED`."""
    cache: bool = True
    """Cross-request cache of back-end answers (false: measure the uncached path)."""
    # what one request may spend, and a cache that cannot hurt
    max_backend_calls: int = Field(60, ge=1)
    """Back-end call attempts one request may make (`TOO_MANY_BACKEND_CALLS` past it)."""
    cache_timeout_s: float = Field(0.05, gt=0)
    """Bound of every Redis cache call (past it: a miss, counted in the cache's errors)."""
    cache_max_bytes: int = Field(64_000_000, ge=1)
    """Size of the in-memory cache in bytes (a segmented LRU)."""
    cache_max_adds_per_request: int = Field(200, ge=0)
    """Cache entries one request may add."""
    stale_if_error_s: float = Field(600.0, ge=0)
    """How long past its freshness a cached answer may stand in for a failing back-end."""

    # Redis (gateway/platform/redis.py): one client per process, TLS, ACL, Sentinel, bounds
    redis_ca_file: str | None = None
    """PEM file of the CA that signed Redis' certificate, for `rediss://` (unset: the system's)."""
    redis_cert_file: str | None = None
    """PEM file of the gateway's client certificate, when Redis asks for one (`rediss://`)."""
    redis_key_file: str | None = None
    """PEM file of the key of `GATEWAY_REDIS_CERT_FILE`."""
    redis_sentinels: Annotated[tuple[str, ...], NoDecode] = ()
    """Sentinels to ask for the current primary, comma-separated `host:port` (unset: Redis is the
    URL's host)."""
    redis_sentinel_service: str = "mymaster"
    """Name of the primary the sentinels watch (`sentinel monitor <name> …`)."""
    redis_pool_size: int = Field(256, ge=1)
    """Redis connections per process (a command waits for one, never refused; behind Sentinel it
    is refused past the size)."""
    redis_timeout_s: float = Field(0.25, gt=0)
    """Bound of one Redis command of the shared store and the rate limits (and of each socket
    read or write): a Redis that hangs costs a request this, once per circuit opening."""
    redis_connect_timeout_s: float = Field(0.25, gt=0)
    """Bound of opening one connection to Redis (or to a sentinel)."""
    redis_circuit_s: float = Field(2.0, gt=0)
    """After a Redis command fails, how long the store and the rate limits answer without asking
    it (each limit failing open or closed as its policy says); then one command probes it."""
    store_outage_memory_s: float = Field(900.0, ge=0)
    """When the store cannot be reached, how old a process's last good answer about a session
    (alive, and its joined accounts) may be and still be used (at most an access token's life)."""

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _sentinels(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for address in value if isinstance(value, tuple | list) else ():
            host, _, port = str(address).rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"GATEWAY_REDIS_SENTINELS: {address!r} is not host:port")
        return value

    @property
    def redis_sentinel_addresses(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (host, int(port))
            for host, _, port in (address.rpartition(":") for address in self.redis_sentinels)
        )

    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Web origins allowed to call the gateway from a browser, comma-separated (unset: same origin
    only)."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for origin in value if isinstance(value, tuple | list) else ():
            if not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"GATEWAY_CORS_ORIGINS: {origin!r} is not an origin like https://app.example.fr"
                    " (scheme, host, optional port; no path, no '*')"
                )
        return value

    # operation limits (gateway/engine/operation_limits.py), checked before anything runs
    max_tokens: int = 1_000
    """Tokens in a document (`QUERY_TOO_LARGE` beyond)."""
    max_comments: int = 200
    """Comments in a document (`QUERY_TOO_LARGE` beyond)."""
    max_query_length: int = 100_000
    """Characters in a document (`QUERY_TOO_LARGE` beyond)."""
    max_depth: int = 12
    """Depth of an operation, through fragments (`QUERY_TOO_DEEP` beyond)."""
    max_aliases: int = 20
    """Aliases in an operation (`QUERY_TOO_COMPLEX` beyond)."""
    max_root_fields: int = 10
    """Root fields in an operation (`QUERY_TOO_COMPLEX` beyond)."""
    max_fields: int = 400
    """Fields in an operation, fragments expanded (`QUERY_TOO_COMPLEX` beyond)."""
    max_directives: int = 20
    """Directives in an operation (`QUERY_TOO_COMPLEX` beyond)."""
    max_cost: int = 5_000
    """Cost of an operation: 1 a field, 10 a field taking arguments, times `first` below a page
    (`QUERY_TOO_COMPLEX` beyond)."""
    max_page_size: int = 50
    """Largest literal `first` (`QUERY_TOO_COMPLEX` beyond); a variable counts as this size in the
    cost."""

    # HTTP limits (gateway/edge/middleware/body_limits.py)
    max_body_bytes: int = 1_000_000
    """Largest HTTP body, multipart uploads apart (413 `PAYLOAD_TOO_LARGE` beyond)."""
    max_json_depth: int = 16
    """Deepest nesting of a JSON body, its variables and extensions (400 `BAD_USER_INPUT` beyond)."""
    max_header_bytes: int = 16_384
    """Largest request headers (431 and the connection closed beyond; uvicorn protocol)."""
    header_timeout_s: float = 10.0
    """Time for a request's headers to arrive after connect or request start (then the connection
    is closed)."""
    keep_alive_s: int = 5
    """How long an idle keep-alive connection stays open."""

    # trusted documents and APQ (gateway/engine/persisted.py)
    persisted_only: bool = False
    """Run only the trusted documents (the frontends' manifest shipped in the package,
    `gateway/engine/trusted_documents.json`, and `GATEWAY_TRUSTED_DOCUMENTS`); set it in
    production."""
    trusted_documents: Annotated[tuple[Path, ...], NoDecode] = ()
    """More trusted-document manifests, comma-separated paths: Apollo's persisted-query manifest
    or graphql-codegen's `persisted-documents.json` (`python -m gateway documents check` reads
    them as the gateway does)."""

    @field_validator("trusted_documents", mode="before")
    @classmethod
    def _manifests(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(Path(part.strip()) for part in value.split(",") if part.strip())
        return value

    apq_ttl_s: float = 7 * 86_400
    """How long a document registered by automatic persisted queries (APQ) is kept."""
    apq_max_length: int = 20_000
    """Longest document APQ registers (a longer one runs, unregistered)."""

    # rate limits of /graphql (gateway/edge/rate_limits.py), in the `limits` notation
    rate_limit_client: str = "300/minute"
    """Requests per signed-in client id."""
    rate_limit_ip: str = "1200/minute"
    """Requests per client IP."""
    rate_limit_anonymous: str = "60/minute"
    """Requests without a token per client IP."""

    # passkeys: the gateway is the WebAuthn relying party (gateway/identity/passkeys.py)
    webauthn_rp_id: str = "localhost"
    """Relying-party id of the passkeys: the site's domain (`espace-client.example.fr`), which the
    apps' associated domains name too; a passkey works only under the id it was created for."""
    webauthn_rp_name: str = "Espace Client"
    """Relying-party name the authenticator may show while creating a passkey."""
    webauthn_origins: Annotated[tuple[str, ...], NoDecode] = (
        "http://localhost",
        "http://localhost:8000",
    )
    """Origins the client data of a passkey ceremony may carry, comma-separated: the web origins
    (`https://espace-client.example.fr`) and the Android apps' `android:apk-key-hash:…`."""

    @field_validator("webauthn_origins", mode="before")
    @classmethod
    def _webauthn_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for origin in value if isinstance(value, tuple | list) else ():
            if not isinstance(origin, str) or not WEBAUTHN_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"GATEWAY_WEBAUTHN_ORIGINS: {origin!r} is neither an origin like "
                    "https://espace-client.example.fr nor android:apk-key-hash:<base64url>"
                )
        if not value:
            raise ValueError("GATEWAY_WEBAUTHN_ORIGINS: at least one origin")
        return value

    # sign-in abuse (gateway/identity/brute_force.py, gateway/resolvers/accounts.py)
    login_refusal_floor_s: float = Field(0.25, ge=0)
    """A refused sign-in is answered no sooner than this after it began, however it was decided
    (an existing and an unknown login take the same time)."""

    # uploads' antivirus (gateway/adapters/antivirus.py)
    clamd_address: str | None = None
    """clamd's socket, `unix:///run/clamav/clamd.ctl` or `tcp://clamav:3310`: every upload is
    scanned by it (INSTREAM) and refused if it cannot answer. Unset: the built-in check, which
    knows the EICAR test file only (it is not an antivirus)."""
    clamd_timeout_s: float = 10.0
    """How long clamd may take to scan one file."""

    # subscriptions (gateway/platform/watchers.py, gateway/resolvers/live.py)
    live_interval_s: float = Field(15.0, gt=0)
    """How often a customer's watcher reads their demandes and unread notifications while one of
    their subscriptions is open; a change reaches them within this interval."""
    live_per_customer: int = Field(5, ge=1)
    """Open subscriptions one customer may hold in one process; past it a new one is refused."""
    live_max_subscriptions: int = Field(2000, ge=1)
    """Open subscriptions one process holds at most; past it a new one is refused."""
    live_max_reads: int = Field(16, ge=1)
    """Watcher reads one process runs at once; past it a read waits for a place (the interval
    stretches for everyone rather than the back-end calls timing out)."""
    live_init_timeout_s: float = Field(10.0, gt=0)
    """graphql-transport-ws: a WebSocket that sends no `connection_init` within this is closed
    (4408)."""
    live_ping_interval_s: float = Field(20.0, gt=0)
    """graphql-transport-ws: how often the gateway sends a `ping` on each WebSocket."""
    live_ping_timeout_s: float = Field(10.0, gt=0)
    """graphql-transport-ws: a WebSocket whose `pong` does not come within this of a `ping` is
    closed (4408 "Ping timeout"): its client is gone."""
    live_idle_timeout_s: float = Field(300.0, gt=0)
    """graphql-transport-ws: a WebSocket that carries no operation for this long is closed (1000
    "Idle"); checked at each ping."""

    shutdown_grace_s: int = 10
    """On SIGTERM, how long in-flight requests may take to finish (`python -m gateway serve`)."""

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env == "production" and self.jwt_secret.get_secret_value() == DEV_SECRET:
            raise ValueError(
                "GATEWAY_JWT_SECRET (it keys download links and cursors) must be set in production"
            )
        if self.env == "production" and self.jwt_private_key is None:
            # sessions are signed with an asymmetric key there, published at /.well-known/jwks.json
            raise ValueError("GATEWAY_JWT_PRIVATE_KEY (ES256 or RS256) must be set in production")
        urls = {
            "POLICY_ADMIN_URL": self.policy_admin_url,
            "CLAIMS_URL": self.claims_url,
            "EDITIQUE_URL": self.editique_url,
            "CRM_URL": self.crm_url,
        }
        missing = [name for name, url in urls.items() if not url]
        if self.env == "production" and missing:  # never serve the in-process mocks in production
            raise ValueError(f"{', '.join(missing)} must be set in production")
        if (
            self.env == "production"
            and len(self.jwt_secret.get_secret_value().encode()) < MIN_SECRET_BYTES
        ):  # HS256 with a short secret can be brute-forced offline from any token or link
            raise ValueError(f"GATEWAY_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if self.env == "production" and not self.public_url:  # never links from the Host header
            raise ValueError("GATEWAY_PUBLIC_URL must be set in production")
        return self

    @property
    def graphiql(self) -> bool:
        return self.env != "production"


# several processes: what they must share
def shared_store_problem(settings: Settings, workers: int) -> str | None:
    """Why the gateway must not start as configured, or None. Sessions, refresh tokens, sign-in
    allowances, known devices and idempotency records live in the shared store: in memory, each
    process would keep its own (a session ended in one still accepted by another, every process
    counting wrong passwords from zero)."""
    if settings.redis_url:
        return None
    if workers > 1:
        return (
            f"{workers} worker processes need a shared store: set GATEWAY_REDIS_URL "
            "(or serve with --workers 1)"
        )
    if settings.env == "production":
        return (
            "production needs a shared store: set GATEWAY_REDIS_URL (sessions, sign-in "
            "allowances and idempotency records must be seen by every process and survive one)"
        )
    return None
