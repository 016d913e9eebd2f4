"""Download links are signed without PyJWT's per-call key inspection: the tokens must stay the
ones PyJWT writes (any verifier of HS256 JWTs reads them), and PyJWT must accept them."""

from __future__ import annotations

import jwt
import pytest

from gateway.identity.download_links import AUDIENCE, DownloadLinks, Grant
from gateway.settings import Settings
from tests.support.gateway import TODAY

GRANTS = [
    Grant("DOC20231020000311", "EDQ-1001", "C0001001"),
    Grant("DOC202611240010980", "EDQ-1003", "C0009002"),
    Grant('DOC-é/"quoted" & <odd>', "EDQ-ü", "C\u00000"),  # escapes, non-ASCII, control char
    Grant("", "", ""),
]


@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("now", [0, 1_796_156_316.9, 4_102_444_800])
def test_a_link_is_the_token_pyjwt_writes(grant: Grant, now: float) -> None:
    links = DownloadLinks(Settings(today=TODAY, download_ttl_s=123))
    issued = int(now)
    claims = {
        "doc": grant.document_id,
        "own": grant.owner,
        "sub": grant.subject,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + 123,
    }
    assert links.sign(grant, now) == jwt.encode(claims, links.key, algorithm="HS256")


@pytest.mark.parametrize("grant", GRANTS)
def test_a_link_is_checked_back_to_its_grant(grant: Grant) -> None:
    links = DownloadLinks(Settings(today=TODAY))
    assert links.check(links.sign(grant)) == grant
    assert links.sign(grant, 1000.9) == links.sign(grant, 1000.0)  # whole seconds, as PyJWT
    other = DownloadLinks(Settings(today=TODAY, jwt_secret="another-secret-" + "x" * 40))
    assert other.sign(grant, 1000.0) != links.sign(grant, 1000.0)
