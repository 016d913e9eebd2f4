"""Configuration from the environment (pydantic-settings).

Back-end URLs and credentials use the legacy systems' documented variable names; the gateway's
own knobs are prefixed `GATEWAY_`. An unset back-end URL means "serve that mock in process".
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-in-production-0123456789"


def legacy(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        None, description="Base URL used in download links; default: the request's"
    )

    jwt_secret: SecretStr = SecretStr(DEV_SECRET)
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

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if (
            self.env == "production"
            and self.jwks_url is None
            and self.jwt_secret.get_secret_value() == DEV_SECRET
        ):
            raise ValueError("GATEWAY_JWT_SECRET (or GATEWAY_JWKS_URL) must be set in production")
        urls = {
            "POLICY_ADMIN_URL": self.policy_admin_url,
            "CLAIMS_URL": self.claims_url,
            "EDITIQUE_URL": self.editique_url,
            "CRM_URL": self.crm_url,
        }
        missing = [name for name, url in urls.items() if not url]
        if self.env == "production" and missing:  # never serve the in-process mocks in production
            raise ValueError(f"{', '.join(missing)} must be set in production")
        return self

    @property
    def graphiql(self) -> bool:
        return self.env != "production"
