"""Sessions: what a login opens, a refresh keeps alive, a logout or a password change ends.

A session (`sid`) is a family of tokens:

* an **access token**: a JWT of 15 minutes, claims `sub`, `role`, `aud`, `iat`, `exp`, `sid`,
  signed with the gateway's key (`keys.py`);
* a **refresh token**: 32 random bytes, opaque, valid 30 days, kept only as its SHA-256 in the
  shared store. Each works once: a refresh claims it atomically (`SET NX`) and hands out its
  successor; a refresh token seen a second time ends the whole session (theft detection, no
  grace window).

Store records (all with the refresh lifetime):

    session:<sid>       {sub, created}          deleted = the session has ended
    refresh:<sha256>    {sid, sub}              a refresh token of the session
    used:<sha256>       {}                      claimed by the refresh that spent it
    revoked:<sub>       {before, keep}          every session of `sub` opened before `before`
                                                has ended, except `keep` (a password change)
    group:<sub>         {members}               the joined accounts, as the CRM last said

An access token carrying a `sid` is accepted only while its session lives: each process looks at
the store at most once every `session_check_s` seconds per session (it forgets at once the
sessions it ends itself), so an ended session's tokens stop within that delay, far inside their
15 minutes. When the store cannot be reached (`StoreUnavailable`), the process's last good answer
about a session and its joined accounts stands in for `GATEWAY_STORE_OUTAGE_MEMORY_S` (a bounded
LRU memory, `LastGood`), so signed-in pages keep being served; a session the process has not seen
is not trusted, and what changes the store (a login, a refresh, a logout) is refused.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.errors import Unauthenticated
from gateway.identity.signing_key import SigningKey
from gateway.platform.store import LastGood, Store
from gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class IssuedSession:
    access_token: str
    refresh_token: str
    expires_at: datetime  # of the access token
    sid: str = ""  # the session it belongs to


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionEnded(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Session terminée, veuillez vous reconnecter.")


class Sessions:
    def __init__(self, store: Store, key: SigningKey, settings: Settings) -> None:
        self.store = store
        self.key = key
        self.settings = settings
        self.ttl = settings.refresh_ttl_s
        memory_s = settings.store_outage_memory_s
        self._seen: LastGood[bool] = LastGood(settings.session_check_s, memory_s)  # sid → alive
        self._groups: LastGood[tuple[str, ...]] = LastGood(settings.session_check_s, memory_s)

    @property
    def stood_in(self) -> int:
        """Checks and groups answered from memory while the store was unreachable."""
        return self._seen.stood_in + self._groups.stood_in

    # ---- opening and keeping -----------------------------------------------------------------
    async def open(self, subject: str, group: tuple[str, ...]) -> IssuedSession:
        sid = secrets.token_urlsafe(16)
        await self.store.put(f"session:{sid}", {"sub": subject, "created": time.time()}, self.ttl)
        await self.remember_group(group)
        return await self._issue(sid, subject)

    async def _issue(self, sid: str, subject: str) -> IssuedSession:
        refresh = secrets.token_urlsafe(32)
        await self.store.put(f"refresh:{digest(refresh)}", {"sid": sid, "sub": subject}, self.ttl)
        now = int(time.time())
        expires = now + self.settings.access_ttl_s
        access = self.key.sign(
            {
                "sub": subject,
                "role": "customer",
                "aud": self.settings.jwt_audience,
                "iat": now,
                "exp": expires,
                "sid": sid,
                "jti": secrets.token_urlsafe(8),
            }
        )
        return IssuedSession(access, refresh, datetime.fromtimestamp(expires, UTC), sid)

    async def refresh(self, token: str) -> IssuedSession | None:
        """The successor of `token`, or None: unknown, expired, ended, or reused (which ends it)."""
        record = await self.store.get(f"refresh:{digest(token)}")
        if record is None:
            return None
        if not await self.store.put(f"used:{digest(token)}", {}, self.ttl, only_if_absent=True):
            await self.end(record["sid"])  # a second use: someone else holds a copy
            return None
        if not await self._alive(record["sid"], record["sub"]):
            return None
        return await self._issue(record["sid"], record["sub"])

    # ---- ending ------------------------------------------------------------------------------
    async def end(self, sid: str) -> None:
        await self.store.delete(f"session:{sid}")
        self._seen.remember(sid, False, forever=True)

    async def logout(self, token: str) -> None:
        record = await self.store.get(f"refresh:{digest(token)}")
        if record is not None:
            await self.end(record["sid"])

    async def end_others(self, subject: str, keep: str | None) -> None:
        """Every session of `subject` ends, except `keep` (the one changing its password)."""
        await self.store.put(
            f"revoked:{subject}", {"before": time.time(), "keep": keep}, self.ttl + 60
        )
        self._seen.keep_only(keep)

    # ---- checking ----------------------------------------------------------------------------
    async def check(self, sid: str, subject: str) -> None:
        """Raise `SessionEnded` unless the session of an access token still lives."""
        if not await self._seen.ask(sid, lambda: self._alive(sid, subject)):
            raise SessionEnded()

    async def _alive(self, sid: str, subject: str) -> bool:
        session = await self.store.get(f"session:{sid}")
        if session is None or session["sub"] != subject:
            return False
        revoked: dict[str, Any] | None = await self.store.get(f"revoked:{subject}")
        return revoked is None or session["created"] > revoked["before"] or revoked["keep"] == sid

    # ---- joined accounts ---------------------------------------------------------------------
    async def remember_group(self, group: tuple[str, ...]) -> None:
        for member in group:
            await self.store.put(f"group:{member}", {"members": list(group)}, self.ttl)
            self._groups.forget(member)

    async def group(self, subject: str) -> tuple[str, ...]:
        """The accounts joined with `subject`'s, own included (just itself when none)."""
        return await self._groups.ask(subject, lambda: self._group_in_store(subject))

    async def _group_in_store(self, subject: str) -> tuple[str, ...]:
        found = await self.store.get(f"group:{subject}")
        return tuple(found["members"]) if found else (subject,)
