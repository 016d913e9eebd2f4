"""The `/graphql` view: strawberry's ASGI GraphQL app, with what the gateway does around it.

Before a document runs: the request scope (deadline, call budget), the caller's token, the rate
limits and the trusted documents; a refused request is not even parsed. Around every answer: the
outcome for metrics and the access line, and the request id in each error's `extensions`.

Outcomes of a GraphQL request: `ok` (no error), `partial` (data and errors), `error` (no data:
a back-end or the gateway failed), `refused` (the client's request was turned down: a syntax or
validation error, no or a bad token, a staff-only field, a rate limit, a limit of the document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.context import Context, Services
from gateway.edge import rate_limits
from gateway.edge.graphiql import graphiql_page
from gateway.edge.incremental_parts import DeferSpecParts
from gateway.edge.middleware.uploads import (
    FORM_LIMITS,
    PART_TOO_LARGE,
    MalformedUpload,
    check_form,
    is_multipart,
    only_uploads,
)
from gateway.edge.refusals import NO_STORE, refusal_body
from gateway.edge.request_scope import begin_request
from gateway.edge.subscriptions import (
    EventStreamResponse,
    KeptTransportWs,
    OpenStreams,
    until_shutdown,
)
from gateway.engine.extensions.stale_answers import stale_extensions
from gateway.engine.incremental import is_incremental, later_parts
from gateway.engine.operation_limits import Limits, parse_within
from gateway.engine.persisted import TrustedDocuments
from gateway.engine.schema import typed
from gateway.errors import GatewayError, Unauthenticated
from gateway.identity.sessions import SessionEnded
from gateway.identity.tokens import Principal
from gateway.loading.loaders import Loaders
from gateway.observability.operation_names import first_declared
from gateway.observability.tracing import current
from gateway.platform.rate_limiter import TooManyRequests

# codes that mean "the client's request was turned down", not "something failed"
REFUSALS = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "QUERY_TOO_COMPLEX",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "OPERATION_NOT_ALLOWED",
        "BAD_REQUEST",
    }
)


def outcome_of(response: GraphQLHTTPResponse) -> tuple[str, list[str]]:
    errors: list[dict[str, Any]] = list(response.get("errors") or [])  # type: ignore[arg-type]
    if not errors:
        return "ok", []
    codes = [
        str((e.get("extensions") or {}).get("code", "GRAPHQL_VALIDATION_FAILED")) for e in errors
    ]
    data = response.get("data")
    has_data = isinstance(data, dict) and any(v is not None for v in data.values())
    if has_data:
        return "partial", codes
    if all(
        code in REFUSALS
        or (code == "RATE_LIMITED" and "backend" not in (e.get("extensions") or {}))
        for code, e in zip(codes, errors, strict=True)
    ):
        return "refused", codes
    return "error", codes


class ObservedGraphQL(GraphQL[Any, None]):
    """The view's part: the operation name of requests refused before the schema runs, the
    outcome of every answer, and the request id in each error's `extensions.requestId`."""

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        info = current.get()
        if info is not None and not isinstance(data, list):
            info.operation = data.operation_name or first_declared(data.query)
        return data

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        info = current.get()
        if info is None:
            return response
        info.outcome, codes = outcome_of(response)
        info.error_codes.extend(codes)
        errors: list[dict[str, Any]] = response.get("errors") or []  # type: ignore[assignment]
        for error in errors:
            error["extensions"] = {**(error.get("extensions") or {}), "requestId": info.request_id}
        return response


class AdmittedTransportWs(KeptTransportWs):
    """graphql-transport-ws: each `subscribe` admitted as a POST is (`GraphQLApp.admitted_stream`),
    refused with an `error` message carrying the typed error; pings, timeouts and shutdown as
    `edge/subscriptions.py` says."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        view = self.view
        payload = message.get("payload") or {}
        if self.connection_acknowledged and isinstance(view, GraphQLApp):
            try:
                query, _ = await view.admitted_stream(
                    self.context,
                    payload.get("query"),
                    payload.get("operationName"),
                    payload.get("extensions"),
                )
            except (GatewayError, GraphQLError) as exc:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [as_error(exc).formatted]}
                )
                return
            message = {**message, "payload": {**payload, "query": query or ""}}
        await super().handle_subscribe(message)


class GraphQLApp(ObservedGraphQL):
    """The `/graphql` view: rate limits and trusted documents before strawberry runs a document."""

    trusted: TrustedDocuments  # set by create_app
    streams: OpenStreams  # the open subscriptions: set by the lifespan
    limits: Limits  # set by create_app
    suggestions = True  # "Did you mean …?" in messages: set by create_app (development only)
    multipart_transport_class = DeferSpecParts  # @defer/@stream parts (incremental_parts.py)
    graphql_transport_ws_handler_class = AdmittedTransportWs
    read: Callable[[str, Limits], DocumentNode]  # how a document is parsed: set by create_app

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        begin_request(services)  # inherited by every task of the request
        principal, error = await self.verified(services, request.headers.get("authorization"))
        loaders = Loaders(services.backends, services.plans)
        return Context(request, services, loaders, principal, error)

    async def verified(
        self, services: Services, authorization: str | None
    ) -> tuple[Principal | None, GatewayError | None]:
        try:
            return await services.verifier.verify(authorization), None
        except GatewayError as exc:
            return None, exc

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: the token of `connection_init`'s payload (`{"Authorization":
        "Bearer …"}`) when the upgrade request had none. A token whose session ended closes the
        connection 4403, as when an open subscription finds it (`subscriptions.py`); a bad or
        missing one is refused by each subscription (`UNAUTHENTICATED`)."""
        params = context.connection_params or {}
        given = params.get("Authorization") or params.get("authorization")
        if context.principal is None and isinstance(given, str):
            context.principal, context.auth_error = await self.verified(context.services, given)
        if isinstance(context.auth_error, SessionEnded):
            raise ConnectionRejectionError  # strawberry closes it 4403 "Forbidden"
        acknowledged: UnsetType = UNSET  # a bare connection_ack
        return acknowledged

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """A multipart request is admitted (`admit_upload`) before strawberry reads its form."""
        if (
            isinstance(request, Request)
            and request.method == "POST"
            and is_multipart(request.scope)
        ):
            context = await self.get_context(request, Response())
            refused = await self.admit_upload(request, context)
            if refused is not None:
                return refused
        return await super().run(request, context, root_value)

    async def admit_upload(self, request: Request, context: Context) -> Response | None:
        """Rate limits, then a session, then the form by the multipart spec: the refusal, or
        None with the form read and checked (strawberry reads the same, cached, form)."""
        try:
            await rate_limits.spend(context)
        except TooManyRequests as exc:
            await drained(request)
            return refused(429, exc.code, exc.message, {"Retry-After": str(exc.retry_after)})
        request.state.limits_spent = True
        if context.principal is None:
            await drained(request)
            error = context.auth_error or Unauthenticated()
            return refused(401, str(error.extensions["code"]), error.message)
        try:
            form: FormData = await request.form(**FORM_LIMITS)
            check_form(form, context.services.settings.max_json_depth)
        except (MultiPartException, StarletteHTTPException) as exc:  # past FORM_LIMITS, unreadable
            detail = str(getattr(exc, "message", None) or getattr(exc, "detail", ""))
            if "maximum size" in detail:
                return refused(413, "PAYLOAD_TOO_LARGE", PART_TOO_LARGE)
            return refused(400, "BAD_REQUEST", f"Envoi multipart illisible : {detail}")
        except MalformedUpload as exc:
            return refused(400, "BAD_REQUEST", exc.message)
        return None

    async def admitted_stream(
        self,
        context: Context,
        query: str | None,
        operation_name: str | None,
        extensions: dict[str, Any] | None,
    ) -> tuple[str | None, bool]:
        """A streamed operation (graphql-transport-ws, graphql-sse) admitted as a POST is, in one
        place for both transports: the rate limits, the trusted documents, then the parser's
        limits (`QUERY_TOO_LARGE`, `GRAPHQL_PARSE_FAILED`: strawberry's stream would let the
        parsing hook's error escape). (The document to run, whether it subscribes); raises
        `GatewayError` or a typed `GraphQLError`. The limits measured by validation (depth,
        aliases, cost…: `engine/operation_limits.py`) are the schema's: a stream is validated
        as a POST is."""
        await rate_limits.spend(context)
        resolved, _ = await self.trusted.resolve(query, extensions, context.services.store)
        if resolved is None:
            return None, False  # strawberry answers the missing document
        document = parse_within(resolved, self.limits, self.read)
        operation = get_operation_ast(document, operation_name)
        subscribes = operation is not None and operation.operation is OperationType.SUBSCRIPTION
        return resolved, subscribes

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """A subscription over graphql-sse is admitted here (`admitted_stream`): `execute_single`
        never sees it. A query or mutation asking for events (urql's `Accept` names
        `text/event-stream` for every operation) is answered as any POST is: JSON, or multipart
        parts for `@defer`, its rate limits spent once. The subscription's stream is kept on the
        request: its response closes it when it ends."""
        streamed = False
        if not isinstance(request_data, list) and self._get_stream_transport(request_data.protocol):
            try:
                query, subscription = await self.admitted_stream(
                    context,
                    request_data.query,
                    request_data.operation_name,
                    request_data.extensions,
                )
            except (GatewayError, GraphQLError) as exc:
                return refusal(exc, sub_response)
            request.state.limits_spent = True
            if subscription:
                request_data = replace(request_data, query=query)
                streamed = True
            else:
                request_data = replace(request_data, protocol="http")
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        if streamed:
            request.state.live_stream = result  # closed by its response (`EventStreamResponse`)
        return result

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        """Rate limits and trusted documents first: a refused request is not even parsed."""
        store = context.services.store
        try:
            if not getattr(request.state, "limits_spent", False):  # multipart, events: spent
                await rate_limits.spend(context)
            query, register = await self.trusted.resolve(
                request_data.query, request_data.extensions, store
            )
        except GatewayError as exc:
            return refusal(exc, sub_response)
        try:
            not_an_upload = is_multipart(request.scope) and not only_uploads(
                query, request_data.operation_name, self.limits, self.read
            )
        except GraphQLError as past_a_limit:  # an upload's document is held to the limits too
            return ExecutionResult(data=None, errors=[past_a_limit])
        if not_an_upload:
            return ExecutionResult(  # multipart is enabled for uploadAttachment only
                data=None,
                errors=[
                    GraphQLError(
                        "Seul uploadAttachment accepte un envoi multipart.",
                        extensions={"code": "BAD_REQUEST"},
                    )
                ],
            )
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=replace(request_data, query=query),
        )
        ran = result.initial_result if is_incremental(result) else result
        if register and query and ran.data is not None:  # it ran: worth keeping
            await self.trusted.register(register, query, context)
        if is_incremental(result):  # parts follow: the loaders live until the last one
            return later_parts(result, self.later_errors, context.loaders.settle, stale_extensions)
        return result

    def later_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        """The errors of an incremental part, as the first part's: typed, with the request id;
        the request's outcome and error codes count them."""
        shaped = [typed(error, False, not self.suggestions) for error in errors]
        info = current.get()
        if info is None:
            return shaped
        for error in shaped:
            error.extensions = {**(error.extensions or {}), "requestId": info.request_id}
            info.error_codes.append(str(error.extensions.get("code")))
        if info.outcome == "ok":
            info.outcome = "partial"  # the first part had data
        return shaped

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """An event stream (graphql-sse) ends when the process drains (`until_shutdown`), and is
        closed when its response ends, however it ends (`EventStreamResponse`)."""
        if headers.get("Content-Type", "").startswith("text/event-stream"):
            return EventStreamResponse(
                until_shutdown(stream, self.streams)(),
                subscription=getattr(request.state, "live_stream", None),
                status_code=sub_response.status_code or 200,
                headers={**sub_response.headers, **headers},
            )
        return await super().create_streaming_response(request, stream, sub_response, headers)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET with `extensions` and no `query` is a persisted query, not a browser."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is the stdlib's: the view's 400 stands

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()  # its scripts served by the gateway itself (graphiql.py)


def as_error(refused: GatewayError | GraphQLError) -> GraphQLError:
    """A refusal before the document runs, as the answer's one GraphQL error."""
    if isinstance(refused, GraphQLError):
        return refused  # typed already (`parse_within`)
    return GraphQLError(refused.message, extensions=refused.extensions)


def refusal(refused: GatewayError | GraphQLError, sub_response: Any) -> ExecutionResult:
    """The answer of a request refused before its document runs; 429 and `Retry-After` past a
    rate limit."""
    if isinstance(refused, TooManyRequests):
        sub_response.status_code = 429
        sub_response.headers["Retry-After"] = str(refused.retry_after)
    return ExecutionResult(data=None, errors=[as_error(refused)])


def refused(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The edge's GraphQL-shaped refusal (`refusals.py`), its outcome recorded as any answer's."""
    info = current.get()
    if info is not None:
        info.outcome = "refused"
        info.error_codes.append(code)
    return Response(
        refusal_body(code, message),
        status,
        headers={
            NO_STORE[0].decode(): NO_STORE[1].decode(),
            **(headers or {}),
        },
        media_type="application/json",
    )


async def drained(request: Request) -> None:
    """The body read to its end, unparsed (`UploadGuard` bounds it): a client still sending it
    reads the refusal instead of a reset connection."""
    async for _ in request.stream():
        pass
