"""How the gateway reaches other systems over the network: one aiohttp session per system, with its
TLS (CA bundle, client certificate, minimum version), proxy and limits (`Egress`), and one exchange
read whole (`Client.request` → `Reply`).

The adapters need little of HTTP: a method, a path and its query, a few headers, a body (bytes, or
multipart for the CRM's attachments) and the whole answer. aiohttp speaks the protocol; this module
decides what it is allowed to do:

* **TLS**: `GATEWAY_BACKEND_{CA,CERT,KEY}_FILE` for every system, each overridable per system
  (`GATEWAY_CRM_CA_FILE`…); a CA file replaces the system's trust store; TLS 1.2 at least.
* **Proxy**: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, read once per system when its client is
  built (a proxy for an `https://` system is asked to `CONNECT`: TLS stays end to end). aiohttp's
  own `trust_env` is not used: it also looks a `.netrc` up, in a thread, on every request.
* **Limits**: connections per system, idle keep-alive, DNS cache, the size and number of an
  answer's header lines and the size of its body (past them: `ExchangeFailed`, nothing buffered).
* **Time**: none here. The caller's `attempt_timeout` cancels an exchange (aiohttp's own timers are
  off: no timer per request).
* **Retries**: none here, with one exception that aiohttp makes: a GET (or HEAD, OPTIONS) that finds
  its reused keep-alive connection closed by the server is sent once more on a new one. Writes
  never are (`_no_replay`), PUT and DELETE included: exactly once is the adapters' promise.

Every failure below HTTP is an `ExchangeFailed` with its `cause`, one of `CAUSES`, and a short
`detail` for the logs (never a URL: paths carry customer ids).
"""

from __future__ import annotations

import re
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
from yarl import URL

from gateway.settings import Settings

CAUSES: Final = (
    "certificate",  # the server's certificate was refused, or ours was (mTLS)
    "tls",  # any other TLS failure: protocol version, handshake
    "dns",  # the host name did not resolve
    "refused",  # nothing listens there
    "reset",  # the connection was closed or reset before the end of the answer
    "timeout",  # no answer within the attempt's budget
    "proxy",  # the proxy could not be reached, or refused to connect us
    "malformed",  # not HTTP, or header lines past the limits
    "too_large",  # a body past GATEWAY_BACKEND_MAX_BODY_BYTES
    "other",
)
Cause = Literal[
    "certificate",
    "tls",
    "dns",
    "refused",
    "reset",
    "timeout",
    "proxy",
    "malformed",
    "too_large",
    "other",
]
REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS"})
UNSAFE = frozenset("\r\n\0 ")
PLAIN = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # unreserved characters only: nothing to encode
NO_TIMERS = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None)
SYSTEM_SETTINGS = {
    "policy-admin": "policy_admin",
    "claims": "claims",
    "editique": "editique",
    "crm": "crm",
}
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class ExchangeFailed(Exception):
    """No usable answer. `cause`: one of `CAUSES`; `detail`: what the logs say of it."""

    def __init__(self, cause: Cause, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause: Cause = cause
        self.detail = detail


class EgressMisconfigured(ValueError):
    """A TLS file setting names a file that cannot be used (missing, unreadable, not PEM)."""


@dataclass(frozen=True, slots=True)
class Egress:
    """What one system's client may do: its TLS files, limits and keep-alive."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_min_version: Literal["1.2", "1.3"] = "1.2"
    max_connections: int = 256
    keepalive_s: float = 15.0
    dns_ttl_s: int = 10
    max_header_line_bytes: int = 8190
    max_header_field_bytes: int = 8190
    max_headers: int = 128
    max_body_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings, system: str | None = None) -> Egress:
        """The egress of `system` (`crm`, `policy-admin`…): the `GATEWAY_BACKEND_*` files unless
        its own are set; None: the shared ones alone (the identity provider's JWKS)."""
        prefix = SYSTEM_SETTINGS[system] if system else None

        def file(kind: str) -> Path | None:
            own = getattr(settings, f"{prefix}_{kind}_file") if prefix else None
            found: Path | None = own or getattr(settings, f"backend_{kind}_file")
            return found

        return cls(
            ca_file=file("ca"),
            cert_file=file("cert"),
            key_file=file("key"),
            tls_min_version=settings.backend_tls_min_version,
            max_connections=settings.backend_max_connections,
            keepalive_s=settings.backend_keepalive_s,
            dns_ttl_s=settings.backend_dns_ttl_s,
            max_header_line_bytes=settings.backend_max_header_line_bytes,
            max_header_field_bytes=settings.backend_max_header_field_bytes,
            max_headers=settings.backend_max_headers,
            max_body_bytes=settings.backend_max_body_bytes,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """Verification on, host names checked; the CA file (else the system's trust store), the
        client certificate when set, and the minimum version."""
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file:
                context.load_cert_chain(
                    str(self.cert_file), str(self.key_file) if self.key_file else None
                )
        except (OSError, ssl.SSLError) as error:
            raise EgressMisconfigured(
                f"back-end TLS files ({self.ca_file}, {self.cert_file}, {self.key_file}): {error}"
            ) from None
        context.minimum_version = TLS_VERSIONS[self.tls_min_version]
        return context


def proxy_for(url: str) -> str | None:
    """The proxy `HTTPS_PROXY`/`HTTP_PROXY` name for `url`, unless `NO_PROXY` covers its host."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy or not parts.hostname:
        return None
    if urllib.request.proxy_bypass(parts.netloc):  # NO_PROXY (and the system's list on macOS)
        return None
    return proxy


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer read whole (`headers`: case-insensitive names)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


def _checked(text: str, what: str) -> str:
    if not UNSAFE.isdisjoint(text):
        raise ValueError(f"{what} contains a space, a line break or NUL")
    return text


def _quoted(text: str) -> str:
    """A multipart `name`/`filename` value, escaped as browsers do (WHATWG)."""
    return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def multipart(files: Mapping[str, tuple[str, bytes, str]]) -> aiohttp.FormData:
    """A `multipart/form-data` body of `field -> (file name, bytes, media type)`; names in UTF-8,
    as browsers send them (aiohttp's default would percent-encode them into the stored name)."""
    form = aiohttp.FormData(quote_fields=False)
    for field, (file_name, data, media_type) in files.items():
        if "\r" in media_type or "\n" in media_type:
            raise ValueError("a media type contains a line break")
        form.add_field(_quoted(field), data, filename=_quoted(file_name), content_type=media_type)
    return form


def query_string(params: Mapping[str, Any]) -> str:
    """`a=1&b=x%40y` (True → "true", None → ""), as the adapters' legacy systems read it."""
    return "&".join(f"{_encoded(key)}={_encoded(_text(value))}" for key, value in params.items())


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _encoded(text: str) -> str:
    """Percent-encoded (RFC 3986); ids, dates and numbers need none and are passed as they are."""
    return text if PLAIN.match(text) else quote(text, safe="")


Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]


async def _no_replay(request: aiohttp.ClientRequest, handler: Handler) -> aiohttp.ClientResponse:
    """A write whose connection drops is not sent again: aiohttp would replay a PUT or a DELETE
    on a fresh connection, and the first one may have been applied."""
    try:
        return await handler(request)
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
        raise ExchangeFailed(*_diagnosis(error)) from error


class Client:
    """Exchanges with one system (`base_url`: scheme, host, port and an optional path prefix;
    None: every request names its absolute URL), with `headers` on every request."""

    def __init__(
        self,
        base_url: str | None,
        headers: Mapping[str, str] | None = None,
        *,
        egress: Egress | None = None,
    ) -> None:
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) base URL: {base_url!r}")
            _checked(base_url, "a base URL")
        self.base = (base_url or "").rstrip("/")
        self.headers = dict(headers or {})
        self.egress = egress or Egress()
        self.proxy = proxy_for(base_url) if base_url else None
        self.ssl = (
            self.egress.ssl_context() if self.base.startswith("https:") or not base_url else None
        )
        self.session: aiohttp.ClientSession | None = None  # opened on first use, in the event loop

    def _open(self) -> aiohttp.ClientSession:
        egress = self.egress
        connector = aiohttp.TCPConnector(
            limit=egress.max_connections,
            keepalive_timeout=egress.keepalive_s,
            ttl_dns_cache=egress.dns_ttl_s,
            ssl=self.ssl if self.ssl is not None else True,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            headers=self.headers,
            proxy=self.proxy,
            timeout=NO_TIMERS,
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
            cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=egress.max_header_line_bytes,
            max_field_size=egress.max_header_field_bytes,
            max_headers=egress.max_headers,
        )
        return self.session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        """One exchange, its answer read whole; `ExchangeFailed` for anything below HTTP,
        ValueError for a path or header that would change the request's meaning."""
        session = self.session or self._open()
        target = self.base + _checked(path, "a path")
        if params:
            target += "?" + query_string(params)
        data: Any = content
        if json is not None:
            data = orjson.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        elif files:
            data = multipart(files)
        try:
            async with session.request(
                method,
                URL(target, encoded=True),  # encoded above: not parsed and quoted again
                data=data,
                headers=headers,
                allow_redirects=False,
                proxy=None if self.base else proxy_for(target),  # None: the session's
                middlewares=None if method in REPLAYABLE else (_no_replay,),
            ) as response:
                length = response.content_length
                if length is not None and length > self.egress.max_body_bytes:
                    raise ExchangeFailed("too_large", f"Content-Length {length}")
                body = await (response.read() if length is not None else self._bounded(response))
                return Reply(response.status, response.headers, body)
        except aiohttp.ClientError as error:
            raise ExchangeFailed(*_diagnosis(error)) from error

    async def _bounded(self, response: aiohttp.ClientResponse) -> bytes:
        """A body without Content-Length (chunked, or until the connection ends), within the limit."""
        chunks, size = [], 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > self.egress.max_body_bytes:
                raise ExchangeFailed("too_large", f"more than {self.egress.max_body_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def _diagnosis(error: BaseException) -> tuple[Cause, str]:
    """The cause of a failed exchange and a line for the logs, from aiohttp's error and its chain."""
    chain = _chain(error)
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if isinstance(error, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        status = getattr(error, "status", None)
        return "proxy", f"{type(error).__name__}" + (
            f" (proxy answered {status})" if status else ""
        )
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "dns", _os_detail(error.os_error)
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        refused = error.certificate_error
        return "certificate", str(getattr(refused, "verify_message", None) or refused)
    if tls is not None:
        detail = _tls_detail(tls)
        return ("certificate" if "CERTIFICATE" in detail.upper() else "tls"), detail
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        message = getattr(error, "message", "") or type(error).__name__
        return "malformed", str(message).split("\n", 1)[0][:200]
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", "connection refused"
    if any(isinstance(e, TimeoutError) for e in chain) or isinstance(
        error, aiohttp.ServerTimeoutError
    ):
        return "timeout", type(error).__name__
    if isinstance(error, aiohttp.ServerDisconnectedError) or any(
        isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain
    ):
        return "reset", type(error).__name__
    if isinstance(error, aiohttp.ClientConnectorError):
        return "refused", _os_detail(error.os_error)
    return "other", type(error).__name__


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found and len(found) < 8:
        found.append(current)
        current = current.__cause__ or current.__context__
    os_error = getattr(error, "os_error", None)
    if isinstance(os_error, BaseException):
        found.append(os_error)
    return found


def _tls_detail(error: ssl.SSLError) -> str:
    verify = getattr(error, "verify_message", None)
    return str(verify or error.reason or type(error).__name__)


def _os_detail(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"[:200]
