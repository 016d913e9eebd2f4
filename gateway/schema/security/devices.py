"""Devices in the graph (« Appareils connectés »): `Account.sessions`' `DeviceSession` and the
payload of `endOtherSessions` (`device_mutations.py`). The rules live in `resolvers/devices.py`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain.security import SignInMethod
from gateway.errors import NotFound
from gateway.resolvers import devices
from gateway.resolvers.devices import ListedSession
from gateway.schema.common import Info
from gateway.schema.enums import expose
from gateway.schema.ids import from_global, to_global
from gateway.schema.node import Node
from gateway.schema.user_errors import UserError

expose(SignInMethod, "How a session was opened.")


@strawberry.type(description="An open session of the account on a device.")
class DeviceSession(Node):
    listed: strawberry.Private[ListedSession]

    @strawberry.field(description="Opaque global id (for `endSession`).")
    def id(self) -> strawberry.ID:
        return to_global("DeviceSession", self.listed.key)

    @strawberry.field(
        description="Device and browser or app, from the user agent (« Safari sur iPhone »)."
    )
    def device_label(self) -> str:
        return self.listed.open.label

    @strawberry.field(description="How the session was opened.")
    def sign_in_method(self) -> SignInMethod:
        return SignInMethod(self.listed.open.method)

    @strawberry.field(description="French label of `signInMethod`.")
    def sign_in_method_label(self) -> str:
        return SignInMethod(self.listed.open.method).label

    @strawberry.field(description="Sign-in.")
    def first_seen_at(self) -> datetime:
        return self.listed.open.first_seen

    @strawberry.field(description="Last request or refresh.")
    def last_seen_at(self) -> datetime:
        return self.listed.open.last_seen

    @strawberry.field(description="True for the session making this request.")
    def current(self) -> bool:
        return self.listed.current


@strawberry.type(description="Result of ending the other sessions.")
class EndOtherSessionsPayload:
    ended_count: int | None = strawberry.field(description="Sessions ended; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


async def sessions_of(info: Info, client_id: str) -> list[DeviceSession]:
    return [DeviceSession(listed=s) for s in await devices.sessions_of(info.context, client_id)]


def session_key_of(global_id: str) -> str:
    """The key of a session's global id ("" for an id of anything else: then it is unknown)."""
    try:
        return from_global(global_id, "DeviceSession")[1]
    except NotFound:
        return ""
