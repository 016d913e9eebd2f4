"""Sessions: what a login opens, a refresh keeps alive, a logout or a password change ends.

A session (`sid`) is a family of tokens:

* an **access token**: a JWT of 15 minutes, claims `sub`, `role`, `aud`, `iat`, `exp`, `sid`,
  signed with the gateway's key (`keys.py`);
* a **refresh token**: 32 random bytes, opaque, valid 30 days, kept only as its SHA-256 in the
  shared store. Each works once: a refresh claims it atomically (`SET NX`) and hands out its
  successor; a refresh token seen a second time ends the whole session (theft detection), except
  within `refresh_grace_s` of its first use: two tabs refreshing at once both get the one
  successor (kept that long, encrypted under a key derived from the spent token: only its
  holders can read it), not a revocation.

Store records (all with the refresh lifetime):

    session:<sid>       {sub, created,          deleted = the session has ended
                         device, method}
    seen:<sid>          {at}                    its last refresh or request (each process notes one
                                                at most every `session_check_s`); kept
                                                apart so that noting it never revives an ended one
    sessions:<sub>      {sids}                  the account's sessions, for « Appareils connectés »
    refresh:<sha256>    {sid, sub}              a refresh token of the session
    used:<sha256>       {at}                    claimed by the refresh that spent it
    successor:<sha256>  {sealed}                its successor, for `refresh_grace_s` only
    revoked:<sub>       {before, keep}          every session of `sub` opened before `before`
                                                has ended, except `keep` (a password change)
    grouped:<sub>       {}                      the CRM last said this account is joined to
                                                others: its group is read from the CRM (a year)
    proven:<sub>        {at}                    the account's own credentials opened a session
                                                or joined it to a group (a year; a password reset
                                                deletes it): only then do the other accounts of
                                                its group read it (« Réunir vos comptes »)

An access token carrying a `sid` is accepted only while its session lives: each process looks at
the store at most once every `session_check_s` seconds per session (it forgets at once the
sessions it ends itself), so an ended session's tokens stop within that delay, far inside their
15 minutes. Proofs and groups are looked at with the same delay. When the store cannot be
reached (`StoreUnavailable`), the process's last good answer about a session, a proof or a group
stands in for `GATEWAY_STORE_OUTAGE_MEMORY_S` (a bounded LRU memory, `LastGood`), so signed-in
pages keep being served; a session the process has not seen is not trusted, a proof or a group it
has not seen counts as missing (the group narrows, the page is still served), and what changes the
store (a login, a refresh, a logout) is refused.

The account's list of sessions is read-modify-written; two sign-ins of one account at the same
instant may drop one entry from the list (the session itself lives on and its tokens work): the
writer reads the list back and adds itself again when it was dropped.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import Unauthenticated
from gateway.identity.signing_key import SigningKey
from gateway.platform.store import LastGood, Store, StoreUnavailable
from gateway.settings import Settings

PROOF_TTL_S = 365 * 86_400


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


def sealed(issued: IssuedSession, spent: str) -> str:
    """`issued`, readable only with the refresh token `spent` (AES-GCM, a key derived from it)."""
    key = hashlib.sha256(b"successor-of:" + spent.encode()).digest()
    nonce = secrets.token_bytes(12)
    plain = orjson.dumps([issued.access_token, issued.refresh_token, issued.expires_at.isoformat()])
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plain, None)).decode()


def unsealed(value: str, spent: str, sid: str) -> IssuedSession | None:
    key = hashlib.sha256(b"successor-of:" + spent.encode()).digest()
    raw = base64.urlsafe_b64decode(value)
    try:
        access, refresh, expires = orjson.loads(AESGCM(key).decrypt(raw[:12], raw[12:], None))
    except (InvalidTag, ValueError, orjson.JSONDecodeError):
        return None
    return IssuedSession(access, refresh, datetime.fromisoformat(expires), sid)


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
        memory_s = settings.store_outage_memory_s
        self._seen: LastGood[bool] = LastGood(settings.session_check_s, memory_s)  # sid → alive
        self._proofs: LastGood[bool] = LastGood(settings.session_check_s, memory_s)  # sub → proven
        self._grouped: LastGood[bool] = LastGood(settings.session_check_s, memory_s)  # sub → joined

    @property
    def stood_in(self) -> int:
        """Checks, proofs and groups answered from memory while the store was unreachable."""
        return self._seen.stood_in + self._proofs.stood_in + self._grouped.stood_in

    # ---- opening and keeping -----------------------------------------------------------------
    async def open(
        self, subject: str, group: tuple[str, ...] = (), device: Device = UNKNOWN_DEVICE
    ) -> IssuedSession:
        """A new session of `subject`, whose own credentials were just checked (which proves them
        to the other accounts of its group); `group`: the CRM's `rattaches` in that answer."""
        sid = secrets.token_urlsafe(16)
        now = time.time()
        record = {"sub": subject, "created": now, "device": device.label, "method": device.method}
        await self.store.put(f"session:{sid}", record, self.ttl)
        await self._listed(subject, add=sid)
        await self.prove(subject)
        await self.note_group(subject, group)
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
        """The successor of `token`, or None: unknown, expired, ended, or reused after the grace
        window (which ends the session)."""
        key = digest(token)
        record = await self.store.get(f"refresh:{key}")
        if record is None:
            return None
        grace = self.settings.refresh_grace_s
        if not await self.store.put(
            f"used:{key}", {"at": time.time()}, self.ttl, only_if_absent=True
        ):
            again = await self._successor(token, grace, record["sid"])
            if again is None:
                await self.end(record["sid"])  # a second use: someone else holds a copy
                return None
            return again if await self._alive(record["sid"], record["sub"]) else None
        if not await self._alive(record["sid"], record["sub"]):
            return None
        await self._touch(record["sid"])
        issued = await self._issue(record["sid"], record["sub"])
        if grace > 0:
            await self.store.put(f"successor:{key}", {"sealed": sealed(issued, token)}, grace)
        return issued

    async def _successor(self, token: str, grace: float, sid: str) -> IssuedSession | None:
        """The successor handed out for `token` within the grace window (the first refresh may
        still be issuing it: waited for, a second at most), or None."""
        key = digest(token)
        used = await self.store.get(f"used:{key}")
        if used is None or time.time() - float(used.get("at", 0)) > grace:
            return None
        deadline = time.monotonic() + min(grace, 1.0)
        while True:
            found = await self.store.get(f"successor:{key}")
            if found is not None:
                return unsealed(found["sealed"], token, sid)
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.02)

    async def _touch(self, sid: str) -> None:
        """Note a request or refresh of the session."""
        await self.store.put(f"seen:{sid}", {"at": time.time()}, self.ttl)

    # ---- ending ------------------------------------------------------------------------------
    async def end(self, sid: str) -> None:
        await self.store.delete(f"session:{sid}")
        self._seen.remember(sid, False, forever=True)

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
        self._seen.keep_only(keep)
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
        if not await self._seen.ask(sid, lambda: self._alive(sid, subject, touch=True)):
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

    # ---- joined accounts: whose own credentials were proven ---------------------------------
    async def prove(self, subject: str) -> None:
        """`subject`'s own credentials were just checked (a sign-in, a join with its password)."""
        await self.store.put(f"proven:{subject}", {"at": time.time()}, PROOF_TTL_S)
        self._proofs.forget(subject)

    async def unprove(self, subject: str) -> None:
        """`subject`'s password was reset: the others of its group stop reading it until its own
        credentials are proven again."""
        await self.store.delete(f"proven:{subject}")
        self._proofs.remember(subject, False)

    async def note_group(self, subject: str, group: tuple[str, ...]) -> None:
        """What the CRM just said of `subject`'s group: whether to read it from the CRM. Holds no
        member: the group itself is always the CRM's answer of the moment."""
        if len(set(group) | {subject}) > 1:
            await self.store.put(f"grouped:{subject}", {}, PROOF_TTL_S)
        else:
            await self.store.delete(f"grouped:{subject}")
        self._grouped.forget(subject)

    async def grouped(self, subject: str) -> bool:
        """Whether `subject`'s group is worth asking the CRM for (a store that cannot be read:
        no, the viewer's own accounts only)."""
        return await self._remembered(self._grouped, f"grouped:{subject}", subject)

    async def _remembered(self, memo: LastGood[bool], key: str, subject: str) -> bool:
        async def load() -> bool:
            return await self.store.get(key) is not None

        try:
            return await memo.ask(subject, load)
        except StoreUnavailable:
            return False  # never seen: fail narrow, the page shows the viewer's own accounts only

    async def proven(self, subject: str) -> bool:
        return await self._remembered(self._proofs, f"proven:{subject}", subject)
