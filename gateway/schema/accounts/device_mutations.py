"""« Appareils connectés » mutations: end another session, end all the others. The rules live in
`resolvers/devices.py`."""

from __future__ import annotations

import strawberry

from gateway.resolvers import devices
from gateway.resolvers.problems import Refused
from gateway.schema.accounts.mutations import AccountRequestPayload, accepted
from gateway.schema.common import Info
from gateway.schema.permissions import Customer
from gateway.schema.security.devices import EndOtherSessionsPayload, session_key_of
from gateway.schema.user_errors import user_errors


@strawberry.type(description="Devices signed in to the account.")
class DevicesMutation:
    @strawberry.mutation(
        description="End another session of the account.", permission_classes=[Customer]
    )
    async def end_session(self, info: Info, id: strawberry.ID) -> AccountRequestPayload:
        try:
            await devices.end_session(info.context, session_key_of(id))
        except Refused as refused:
            return accepted(refused.problems)
        return accepted([])

    @strawberry.mutation(
        description="End every session of the account but the current one.",
        permission_classes=[Customer],
    )
    async def end_other_sessions(self, info: Info) -> EndOtherSessionsPayload:
        try:
            ended = await devices.end_other_sessions(info.context)
        except Refused as refused:
            return EndOtherSessionsPayload(
                ended_count=None, user_errors=user_errors(refused.problems)
            )
        return EndOtherSessionsPayload(ended_count=ended, user_errors=[])
