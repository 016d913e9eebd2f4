"""The gateway's errors, one `extensions.code` each.

* GatewayError                      anything the gateway may show a client
  x BackendError                    a legacy system failed us (carries `backend`)
    + BackendUnavailable            down, 5xx, connection refused, circuit open  BACKEND_UNAVAILABLE
    + BackendTimeout                no answer within the attempt or request budget BACKEND_TIMEOUT
    + RateLimited                   429 (claims) beyond what a retry could wait    RATE_LIMITED
    + BackendRejected               a 4xx or fault the gateway did not expect     BACKEND_UNAVAILABLE
  x NotFound                        absent, or not the viewer's to see           NOT_FOUND
  x Unauthenticated                 no token, bad token                           UNAUTHENTICATED
  x Forbidden                       a staff-only entry point                      FORBIDDEN
  x BadInput                        an argument the gateway refuses               BAD_USER_INPUT
  x TooManyBackendCalls             the request spent its back-end call budget    TOO_MANY_BACKEND_CALLS
  x OutcomeUnknown                  a write sent, its result unknown even after
                                    reading the record back                       OUTCOME_UNKNOWN

Messages are written for the client: never a URL, a stack trace, a credential or a legacy body.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class BackendError(GatewayError):
    code: ClassVar[str] = "BACKEND_UNAVAILABLE"
    retryable: ClassVar[bool] = True

    def __init__(
        self, backend: str, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message or f"Le service {backend} est momentanément indisponible.")
        self.backend = backend
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "backend": self.backend}


class BackendUnavailable(BackendError):
    pass


class BackendTimeout(BackendError):
    code: ClassVar[str] = "BACKEND_TIMEOUT"

    def __init__(self, backend: str) -> None:
        super().__init__(backend, f"Le service {backend} n'a pas répondu à temps.")


class RateLimited(BackendError):
    code: ClassVar[str] = "RATE_LIMITED"

    def __init__(self, backend: str, retry_after: float | None = None) -> None:
        super().__init__(
            backend,
            f"Le service {backend} est saturé, réessayez dans un instant.",
            retry_after=retry_after,
        )


class BackendRejected(BackendError):
    """The back-end refused a request the gateway built: a gateway bug or a contract change."""

    retryable: ClassVar[bool] = False


class NotFound(GatewayError):
    code: ClassVar[str] = "NOT_FOUND"

    def __init__(self, what: str = "Cet élément") -> None:
        super().__init__(f"{what} est introuvable.")


class Unauthenticated(GatewayError):
    code: ClassVar[str] = "UNAUTHENTICATED"

    def __init__(self, message: str = "Authentification requise.") -> None:
        super().__init__(message)


class Forbidden(GatewayError):
    code: ClassVar[str] = "FORBIDDEN"

    def __init__(self, message: str = "Accès réservé aux conseillers.") -> None:
        super().__init__(message)


class BadInput(GatewayError):
    code: ClassVar[str] = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **({"field": self.field} if self.field else {})}


class TooManyBackendCalls(GatewayError):
    """The request needs more back-end calls than one request may make (`GATEWAY_MAX_BACKEND_CALLS`)."""

    code: ClassVar[str] = "TOO_MANY_BACKEND_CALLS"

    def __init__(self) -> None:
        super().__init__("Cette requête demande trop de données à la fois : découpez-la.")


class OutcomeUnknown(GatewayError):
    """A change was sent, the system did not confirm it, and reading the record back failed too:
    it may or may not have been made (the client should reload before trying again)."""

    code: ClassVar[str] = "OUTCOME_UNKNOWN"

    def __init__(self, backend: str) -> None:
        super().__init__(
            "Nous n'avons pas pu confirmer l'enregistrement de votre modification : "
            "rechargez la page avant de réessayer."
        )
        self.backend = backend

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "backend": self.backend}
