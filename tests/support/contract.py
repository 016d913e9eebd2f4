"""Contract checks used by the tests: every mock answer is validated against its legacy document.

REST answers go through openapi-core (path, operation, status, headers, body); a status the
document does not list for that path must still carry the system's documented error body. SOAP
answers are validated against the XSD embedded in the WSDL.
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import xmlschema
from defusedxml import ElementTree as SafeET
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from mocks.contracts import openapi, schema_validator, wsdl_text

ERROR_SCHEMA = {"policy-admin": "Erreur", "claims": "Erreur", "crm": "Erreur"}
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
ED = "urn:assureur:editique:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


class ContractViolation(AssertionError):
    pass


@cache
def spec(system: str) -> OpenAPI:
    return OpenAPI.from_dict(openapi(system))


class _Request:
    def __init__(self, system: str, request: httpx.Request) -> None:
        server = openapi(system)["servers"][0]
        base = server["url"].replace("{baseUrl}", server["variables"]["baseUrl"]["default"])
        self._base = urlparse(base)
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict({}),
        )

    @property
    def host_url(self) -> str:
        return f"{self._base.scheme}://{self._base.netloc}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        try:
            return self._request.content or None
        except httpx.RequestNotRead:  # a streamed (multipart) upload: only the answer is checked
            return None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "")


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "")

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))


def check_rest(system: str, response: httpx.Response) -> None:
    """Raise ContractViolation unless `response` is what the document allows."""
    media = response.headers.get("content-type", "")
    if media.startswith("text/plain"):  # a front proxy's answer to an injected fault
        if response.text != HTTPStatus(response.status_code).phrase:
            raise ContractViolation(f"proxy body {response.text!r}")
        return
    try:
        spec(system).validate_response(_Request(system, response.request), _Response(response))
    except (PathNotFound, OperationNotFound, ResponseNotFound):
        if response.status_code < 400:
            raise ContractViolation(
                f"undocumented success {response.status_code} {response.request.url}"
            ) from None
        errors = list(schema_validator(system, ERROR_SCHEMA[system]).iter_errors(response.json()))
        if errors:
            raise ContractViolation(f"error body {response.text}: {errors[0].message}") from None
    except Exception as exc:
        raise ContractViolation(
            f"{response.request.method} {response.request.url} → {response.status_code} "
            f"{response.text[:300]}: {exc!r} {getattr(exc, '__cause__', '')!r}"
        ) from exc


@cache
def xsd() -> xmlschema.XMLSchema:
    text = wsdl_text()
    start, end = text.index("<xs:schema"), text.index("</xs:schema>") + len("</xs:schema>")
    return xmlschema.XMLSchema(text[start:end])  # self-contained: it declares its own prefixes


def check_soap(response: httpx.Response) -> Any:
    """Validate a SOAP answer against the WSDL's XSD; returns the payload element."""
    if response.headers.get("content-type", "").startswith("text/plain"):
        return None
    if not response.content:
        return None
    root = SafeET.fromstring(response.content)
    assert root.tag == f"{{{SOAP11}}}Envelope", root.tag
    body = root.find(f"{{{SOAP11}}}Body")
    assert body is not None and len(body) == 1
    payload = body[0]
    if payload.tag == f"{{{SOAP11}}}Fault":
        assert response.status_code in (500, 503), response.status_code
        detail = payload.find("detail")
        if detail is not None:
            xsd().validate(detail[0])
        return payload
    assert response.status_code == 200
    xsd().validate(payload)
    return payload


def validating_client(
    system: str, app: Any = None, base_url: str = "http://127.0.0.1", **kwargs: Any
) -> httpx.AsyncClient:
    """An httpx client that checks every answer against the system's contract."""

    async def hook(response: httpx.Response) -> None:
        await response.aread()
        if system == "editique":
            if "wsdl" not in response.request.url.params:
                check_soap(response)
        else:
            check_rest(system, response)

    transport = httpx.ASGITransport(app=app) if app is not None else None
    return httpx.AsyncClient(
        transport=transport, base_url=base_url, event_hooks={"response": [hook]}, **kwargs
    )


def soap_envelope(
    operation: str,
    fields: dict[str, str] | list[tuple[str, str]],
    *,
    user: str = "gateway",
    password: str = "dev-editique-password",
    header: bool = True,
) -> str:
    items = fields.items() if isinstance(fields, dict) else fields
    payload = "".join(f"<ed:{k}>{v}</ed:{k}>" for k, v in items)
    security = (
        f'<soap:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security></soap:Header>"
        if header
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP11}" xmlns:ed="{ED}">{security}'
        f"<soap:Body><ed:{operation}>{payload}</ed:{operation}></soap:Body></soap:Envelope>"
    )


def fault_code(payload: Any) -> str:
    code = payload.find(f"detail/{{{ED}}}erreur/{{{ED}}}codeErreur")
    return code.text if code is not None else payload.find("faultcode").text
