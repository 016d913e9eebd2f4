"""Configuration from the environment (pydantic-settings).

Back-end URLs and credentials use the legacy systems' documented variable names; the gateway's
own knobs are prefixed `GATEWAY_`. An unset back-end URL means "serve that mock in process".
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-in-production-0123456789"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
MIN_SECRET_BYTES = 32  # HS256: at least the hash's output size (RFC 7518 §3.2)


def legacy(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "development"
    access_log: bool = True  # one `request` line per request (`serve --no-access-log`: none)
    loads_ahead: bool = True  # a query's known loads start alongside its customer record
    fast_paths: bool = Field(
        True,
        description="Speed shortcuts on libraries' private names (gateway/engine/fastpath/); "
        "false runs stock strawberry, graphql-core, uvicorn and limits",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        None, description="Base URL used in download links; default: the request's"
    )

    jwt_secret: SecretStr = SecretStr(DEV_SECRET)
    jwt_private_key: SecretStr | None = Field(
        None, description="PEM (or its path) of the ES256/RS256 key signing sessions in production"
    )
    access_ttl_s: int = 900  # a session's access token: 15 minutes
    refresh_ttl_s: int = 30 * 86_400  # its refresh token: 30 days
    session_check_s: float = 5.0  # how long a process trusts its last look at a session
    jwks_url: str | None = None
    jwt_audience: str = "espace-client"
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256")
    download_ttl_s: int = 300

    today: date | None = Field(None, description="Pin the business calendar (tests, demos)")
    request_deadline_s: float = 3.0
    redis_url: str | None = None

    policy_admin_url: str | None = Field(None, validation_alias=legacy("POLICY_ADMIN_URL"))
    policy_admin_api_key: SecretStr = Field(
        SecretStr("dev-policy-admin-key"), validation_alias=legacy("POLICY_ADMIN_API_KEY")
    )
    claims_url: str | None = Field(None, validation_alias=legacy("CLAIMS_URL"))
    claims_user: str = Field("gateway", validation_alias=legacy("CLAIMS_USER"))
    claims_password: SecretStr = Field(
        SecretStr("dev-claims-password"), validation_alias=legacy("CLAIMS_PASSWORD")
    )
    editique_url: str | None = Field(None, validation_alias=legacy("EDITIQUE_URL"))
    editique_user: str = Field("gateway", validation_alias=legacy("EDITIQUE_USER"))
    editique_password: SecretStr = Field(
        SecretStr("dev-editique-password"), validation_alias=legacy("EDITIQUE_PASSWORD")
    )
    crm_url: str | None = Field(None, validation_alias=legacy("CRM_URL"))
    crm_token: SecretStr = Field(SecretStr("dev-crm-token"), validation_alias=legacy("CRM_TOKEN"))

    # per attempt; a hang costs one of these, so they stay well under the request deadline
    timeout_policy_admin_s: float = 0.5
    timeout_claims_s: float = 0.5
    timeout_editique_s: float = 1.0  # searches: p50 ≈ 350 ms in production (a PDF fetch gets 2 s)
    timeout_crm_s: float = 0.5
    retry_attempts: int = 5
    # a back-end's breaker opens when, within the window, at least `min_volume` attempts were made
    # and at least `failure_rate` of them failed because of the back-end (GATEWAY_BREAKER_THRESHOLD
    # is the former name of the minimum volume, still read)
    breaker_failure_rate: float = Field(0.5, gt=0, le=1)
    breaker_min_volume: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices("GATEWAY_BREAKER_MIN_VOLUME", "GATEWAY_BREAKER_THRESHOLD"),
    )
    breaker_window_s: int = Field(10, ge=1)
    breaker_ttl_s: float = 5.0
    # admission control per process: requests in flight, then a short queue, then a fast 503
    max_in_flight: int = Field(64, ge=1)
    admission_queue: int = Field(256, ge=0)
    admission_wait_s: float = Field(1.5, ge=0)
    cache: bool = True
    # hardening: what one request may spend, and a cache that cannot hurt
    max_backend_calls: int = Field(60, ge=1, description="Back-end call attempts per request")
    cache_timeout_s: float = Field(0.05, gt=0, description="Bound of every shared-cache call")
    cache_max_bytes: int = Field(64_000_000, ge=1, description="In-memory cache size")
    cache_max_adds_per_request: int = Field(200, ge=0, description="Entries one request may add")
    redis_pool_size: int = Field(
        256, ge=1, description="Redis connections (waited for, not refused)"
    )
    stale_if_error_s: float = Field(
        600.0, ge=0, description="How long past freshness a last value may stand in for a failure"
    )

    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Web origins allowed by CORS, comma-separated (none: same origin only)"
    )

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
    max_comments: int = 200
    max_query_length: int = 100_000
    max_depth: int = 12
    max_aliases: int = 20
    max_root_fields: int = 10
    max_fields: int = 400
    max_directives: int = 20
    max_cost: int = 5_000
    max_page_size: int = 50

    # HTTP limits (gateway/edge/middleware/body_limits.py)
    max_body_bytes: int = 1_000_000
    max_json_depth: int = 16
    max_header_bytes: int = 16_384
    header_timeout_s: float = 10.0
    keep_alive_s: int = 5

    # trusted documents and APQ (gateway/engine/persisted.py)
    persisted_only: bool = False
    apq_ttl_s: float = 7 * 86_400
    apq_max_length: int = 20_000

    # rate limits of /graphql (gateway/edge/rate_limits.py), in the `limits` notation
    rate_limit_client: str = "300/minute"
    rate_limit_ip: str = "1200/minute"
    rate_limit_anonymous: str = "60/minute"

    shutdown_grace_s: int = 10  # SIGTERM: in-flight requests get this long to finish

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
