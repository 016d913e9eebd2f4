"""Sessions: what a login opens, a refresh keeps alive, a logout or a password change ends.

A session (`sid`) is a family of tokens:

* an **access token**: a JWT of 15 minutes, claims `sub`, `role`, `aud`, `iat`, `exp`, `sid`,
  signed with the gateway's key (`keys.py`);
* a **refresh token**: 32 random bytes, opaque, valid 30 days, kept only as its SHA-256 in the
  shared store. Each works once: a refresh claims it atomically (`SET NX`) and hands out its
  successor; a refresh token seen a second time ends the whole session (theft detection, no
  grace window).

Store records (all with the refresh lifetime):

    session:<sid>       {sub, created,          deleted = the session has ended
                         device, method}
    seen:<sid>          {at}                    its last refresh or request (each process notes one
                                                at most every `session_check_s`); kept
                                                apart so that noting it never revives an ended one
    sessions:<sub>      {sids}                  the account's sessions, for « Appareils connectés »
    refresh:<sha256>    {sid, sub}              a refresh token of the session
    used:<sha256>       {}                      claimed by the refresh that spent it
    revoked:<sub>       {before, keep}          every session of `sub` opened before `before`
                                                has ended, except `keep` (a password change)
    group:<sub>         {members}               the joined accounts, as the CRM last said

An access token carrying a `sid` is accepted only while its session lives: each process looks at
the store at most once every `session_check_s` seconds per session (it forgets at once the
sessions it ends itself), so an ended session's tokens stop within that delay, far inside their
15 minutes. A store that cannot be reached trusts no session (`StoreUnavailable`).

The account's list of sessions is read-modify-written; two sign-ins of one account at the same
instant may drop one entry from the list (the session itself lives on and its tokens work): the
writer reads the list back and adds itself again when it was dropped.
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
from gateway.platform.store import Store
from gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class Device:
    """How a session was opened, for « Appareils connectés »."""

    label: str  # « Safari sur iPhone »
    method: str  # SignInMethod's value


@dataclass(frozen=True, slots=True)
class OpenSession:
    sid: str
    label: str
    method: str
    first_seen: datetime
    last_seen: datetime


UNKNOWN_DEVICE = Device("Appareil inconnu", "PASSWORD")


@dataclass(frozen=True, slots=True)
class IssuedSession:
    access_token: str
    refresh_token: str
    expires_at: datetime  # of the access token
    sid: str = ""  # the session it belongs to


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def live(session: dict[str, Any], sid: str, revoked: dict[str, Any] | None) -> bool:
    """Not ended by a password change or « déconnecter les autres appareils »."""
    return revoked is None or session["created"] > revoked["before"] or revoked["keep"] == sid


class SessionEnded(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Session terminée, veuillez vous reconnecter.")


class Sessions:
    def __init__(self, store: Store, key: SigningKey, settings: Settings) -> None:
        self.store = store
        self.key = key
        self.settings = settings
        self.ttl = settings.refresh_ttl_s
        self._seen: dict[str, tuple[float, bool]] = {}  # sid → (until, alive)
        self._groups: dict[str, tuple[float, tuple[str, ...]]] = {}

    # ---- opening and keeping -----------------------------------------------------------------
    async def open(
        self, subject: str, group: tuple[str, ...], device: Device = UNKNOWN_DEVICE
    ) -> IssuedSession:
        sid = secrets.token_urlsafe(16)
        now = time.time()
        record = {"sub": subject, "created": now, "device": device.label, "method": device.method}
        await self.store.put(f"session:{sid}", record, self.ttl)
        await self._listed(subject, add=sid)
        await self.remember_group(group)
        return await self._issue(sid, subject)

    async def _listed(self, subject: str, add: str | None = None) -> list[str]:
        """The sids listed for `subject`, `add` added (and added again if a racing writer
        dropped it)."""
        key = f"sessions:{subject}"
        found = await self.store.get(key)
        sids: list[str] = list(found["sids"]) if found else []
        if add is None:
            return sids
        for _ in range(3):
            if add not in sids:
                sids = [*sids[-99:], add]
                await self.store.put(key, {"sids": sids}, self.ttl)
            again = await self.store.get(key)
            sids = list(again["sids"]) if again else []
            if add in sids:
                break
        return sids

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
        await self._touch(record["sid"])
        return await self._issue(record["sid"], record["sub"])

    async def _touch(self, sid: str) -> None:
        """Note a request or refresh of the session."""
        await self.store.put(f"seen:{sid}", {"at": time.time()}, self.ttl)

    # ---- ending ------------------------------------------------------------------------------
    async def end(self, sid: str) -> None:
        await self.store.delete(f"session:{sid}")
        self._seen[sid] = (float("inf"), False)

    async def logout(self, token: str) -> None:
        record = await self.store.get(f"refresh:{digest(token)}")
        if record is not None:
            await self.end(record["sid"])

    async def end_others(self, subject: str, keep: str | None) -> int:
        """Every session of `subject` ends, except `keep` (the current one): how many were open."""
        ended = [s.sid for s in await self.open_sessions(subject) if s.sid != keep]
        await self.store.put(
            f"revoked:{subject}", {"before": time.time(), "keep": keep}, self.ttl + 60
        )
        for sid in ended:
            await self.store.delete(f"session:{sid}")
        self._seen = {sid: seen for sid, seen in self._seen.items() if sid == keep}
        return len(ended)

    # ---- listing -----------------------------------------------------------------------------
    async def open_sessions(self, subject: str) -> list[OpenSession]:
        """The account's live sessions, last seen first (the ended ones leave the list)."""
        sids = await self._listed(subject)
        revoked = await self.store.get(f"revoked:{subject}")
        found: list[OpenSession] = []
        for sid in sids:
            record = await self.store.get(f"session:{sid}")
            if record is None or record["sub"] != subject or not live(record, sid, revoked):
                continue
            seen = await self.store.get(f"seen:{sid}")
            created = float(record["created"])
            found.append(
                OpenSession(
                    sid,
                    str(record.get("device", UNKNOWN_DEVICE.label)),
                    str(record.get("method", UNKNOWN_DEVICE.method)),
                    datetime.fromtimestamp(created, UTC),
                    datetime.fromtimestamp(max(created, float(seen["at"]) if seen else 0), UTC),
                )
            )
        if len(found) < len(sids):
            kept = {s.sid for s in found}
            current = await self._listed(subject)  # a sign-in may have added one meanwhile
            await self.store.put(
                f"sessions:{subject}",
                {"sids": [sid for sid in current if sid in kept or sid not in sids]},
                self.ttl,
            )
        return sorted(found, key=lambda s: s.last_seen, reverse=True)

    # ---- checking ----------------------------------------------------------------------------
    async def check(self, sid: str, subject: str) -> None:
        """Raise `SessionEnded` unless the session of an access token still lives."""
        until, alive = self._seen.get(sid, (0.0, False))
        if until < time.monotonic():
            alive = await self._alive(sid, subject, touch=True)
            self._seen[sid] = (time.monotonic() + self.settings.session_check_s, alive)
            if len(self._seen) > 100_000:
                self._seen.clear()
        if not alive:
            raise SessionEnded()

    async def _alive(self, sid: str, subject: str, touch: bool = False) -> bool:
        session = await self.store.get(f"session:{sid}")
        if session is None or session["sub"] != subject:
            return False
        revoked: dict[str, Any] | None = await self.store.get(f"revoked:{subject}")
        alive = live(session, sid, revoked)
        if alive and touch:
            await self._touch(sid)
        return alive

    # ---- joined accounts ---------------------------------------------------------------------
    async def remember_group(self, group: tuple[str, ...]) -> None:
        for member in group:
            await self.store.put(f"group:{member}", {"members": list(group)}, self.ttl)
            self._groups.pop(member, None)

    async def group(self, subject: str) -> tuple[str, ...]:
        """The accounts joined with `subject`'s, own included (just itself when none)."""
        until, members = self._groups.get(subject, (0.0, ()))
        if until < time.monotonic():
            found = await self.store.get(f"group:{subject}")
            members = tuple(found["members"]) if found else (subject,)
            self._groups[subject] = (time.monotonic() + self.settings.session_check_s, members)
            if len(self._groups) > 100_000:
                self._groups.clear()
        return members
