"""The CRM's error answers: `{"erreur", "message", "details"}`, raised from deep in a handler."""

from __future__ import annotations

from starlette.responses import Response

from .base import json_body


class Refused(Exception):
    """An answer other than success, raised from deep inside a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details or [], headers


def refusal(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return json_body(
        {"erreur": code, "message": message, "details": details or []}, status, headers
    )


def invalid(message: str, details: list[dict[str, str]]) -> Refused:
    return Refused(400, "REQUETE_INVALIDE", message, details)


def not_found(message: str) -> Refused:
    return Refused(404, "INTROUVABLE", message)


def locked() -> Refused:
    return Refused(
        423, "COMPTE_VERROUILLE", "Votre compte est verrouillé : réinitialisez votre mot de passe"
    )


def wrong_credentials() -> Refused:
    return Refused(401, "IDENTIFIANTS_INVALIDES", "Identifiant ou mot de passe incorrect")
