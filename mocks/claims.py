"""Mock of the claims system, "prestations" (`contracts/legacy/claims.openapi.yaml`).

HTTP Basic first; French dates and decimal-comma amounts as strings; every list paginated
(`taille` 1–50, never capped); 429 with `Retry-After` as its quirk; no 3-year window applied.
`POST /_admin/reglements` pays a règlement now, as the back office would.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import secrets
from collections.abc import Awaitable
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from .base import PARIS, AdminError, Match, MockSystem, Route, admin_json, json_body
from .contracts import (
    FixtureError,
    check,
    load_fixture,
    openapi_bytes,
    require,
    schema_validator,
)

BASE = "/prestations/v2"
IDENT = re.compile(r"^[A-Za-z0-9]{1,20}$")
FR_DATE = re.compile(r"^(0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/[0-9]{4}$")
GUARANTEES = ("INC", "INV", "DC", "RENTE_EDUC")
STATUSES = ("EC", "CL")
RESUME_FIELDS = (
    "refReglement",
    "numDossier",
    "numContrat",
    "numAffilie",
    "nomAffilie",
    "codeGarantie",
    "dateReglement",
    "periodeDebut",
    "periodeFin",
    "montantBrut",
    "montantNet",
    "destinataire",
    "modePaiement",
)
DEFAULT_MESSAGES = {
    401: ("AUTHENTIFICATION", "Authentification requise"),
    404: ("RESSOURCE_INCONNUE", "Ressource inconnue"),
    405: ("METHODE_NON_AUTORISEE", "Méthode non autorisée"),
    429: ("TROP_DE_REQUETES", "Trop de requêtes, réessayez plus tard"),
    503: ("SERVICE_INDISPONIBLE", "Service momentanément indisponible"),
}


class Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_fr(value: str) -> date:
    return datetime.strptime(value, "%d/%m/%Y").date()


def sort_key_desc_date(field: str, ref: str) -> Any:
    return lambda e: (-parse_fr(e[field]).toordinal(), e[ref])


class Claims(MockSystem):
    name = "claims"
    base_path = BASE
    routes: ClassVar[list[Route]] = [
        Route("GET", f"{BASE}/dossiers", "dossiers"),
        Route("GET", f"{BASE}/dossiers/{{numDossier}}", "dossier"),
        Route("GET", f"{BASE}/reglements", "reglements"),
        Route("GET", f"{BASE}/reglements/{{refReglement}}", "reglement"),
        Route("GET", f"{BASE}/remboursements", "remboursements"),
    ]

    def __init__(self, fixtures: Path | None = None) -> None:
        self.fixtures = fixtures
        super().__init__()

    def load(self) -> None:
        data = load_fixture("claims", self.fixtures, self.validate)
        self.dossiers_list = sorted(
            data["dossiers"],
            key=lambda d: (-parse_fr(d["dateSurvenance"]).toordinal(), d["numDossier"]),
        )
        self.dossiers_by_id = {d["numDossier"]: d for d in data["dossiers"]}
        self.reglements_list = sorted(
            data["reglements"], key=sort_key_desc_date("dateReglement", "refReglement")
        )
        self.reglements_by_id = {r["refReglement"]: r for r in data["reglements"]}
        self.remboursements_list = sorted(
            data["remboursements"], key=sort_key_desc_date("dateReglement", "refRemboursement")
        )
        self.health_holders = self._holders(data)

    @classmethod
    def validate(cls, data: dict[str, Any]) -> None:
        require("claims.json", data, "assures", "dossiers", "reglements", "remboursements")
        check("claims.json dossiers", data["dossiers"], cls.name, "DossierDetail", "numDossier")
        check(
            "claims.json reglements",
            data["reglements"],
            cls.name,
            "ReglementDetail",
            "refReglement",
        )
        check(
            "claims.json remboursements",
            data["remboursements"],
            cls.name,
            "Remboursement",
            "refRemboursement",
        )
        dossiers = {d["numDossier"] for d in data["dossiers"]}
        for r in data["reglements"]:
            if r["numDossier"] not in dossiers:
                raise FixtureError(
                    f"claims.json reglements[{r['refReglement']}] field numDossier: unknown dossier"
                )

    def extra_admin(self, request: Request, name: str) -> Awaitable[Response] | None:
        return self.admin_payment(request) if name == "reglements" else None

    async def admin_payment(self, request: Request) -> Response:
        """A règlement paid now (`dateReglement` defaults to the clock's day), on its dossier."""
        if request.method != "POST":
            return admin_json({"error": "method not allowed"}, 405)
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise AdminError("body must be a JSON object") from None
        if not isinstance(body, dict):
            raise AdminError("body must be a JSON object")
        today = self.clock.now().astimezone(PARIS).strftime("%d/%m/%Y")
        payment = {"dateReglement": today, **body}
        if "refReglement" not in payment:
            letters = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
            payment["refReglement"] = letters + "".join(
                secrets.choice("0123456789") for _ in range(13)
            )
        error = next(
            iter(schema_validator(self.name, "ReglementDetail").iter_errors(payment)), None
        )
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "body"
            raise AdminError(f"{where}: {error.message}")
        if payment["refReglement"] in self.reglements_by_id:
            raise AdminError("refReglement already used")
        dossier = self.dossiers_by_id.get(payment["numDossier"])
        if dossier is None:
            return admin_json({"error": "not found"}, 404)
        self.reglements_by_id[payment["refReglement"]] = payment
        self.reglements_list = sorted(
            [*self.reglements_list, payment],
            key=sort_key_desc_date("dateReglement", "refReglement"),
        )
        last = dossier["dateDernierReglement"]
        if last is None or parse_fr(last) < parse_fr(payment["dateReglement"]):
            dossier["dateDernierReglement"] = payment["dateReglement"]
        return admin_json(payment, 201)

    def _holders(self, data: dict[str, Any]) -> dict[str, set[str]]:
        """numAssure → the santé contracts of which he is the main insured person (`assures`)."""
        holders: dict[str, set[str]] = {}
        for claims_id, contracts in data.get("assures", {}).items():
            holders[claims_id] = set(contracts)
        return holders

    async def contract_document(self, request: Request) -> Response | None:
        if request.method == "GET" and request.url.path == "/openapi.json":
            return Response(openapi_bytes(self.name), media_type="application/json")
        return None

    def error(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        default_code, default_message = DEFAULT_MESSAGES.get(
            status, ("ERREUR_TECHNIQUE", "Erreur technique")
        )
        body = {
            "code": code or default_code,
            "message": message or default_message,
            "horodatage": self.clock.now().astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S"),
        }
        return json_body(body, status, headers)

    def injected_error(self, status: int) -> Response:
        if status == 429:
            return self.error(429, headers={"Retry-After": "1"})
        if status in (500, 503):
            return self.error(status)
        return super().injected_error(status)

    async def quirk(self, request: Request, match: Match) -> Response:
        return self.error(429, headers={"Retry-After": "1"})

    async def identify(self, request: Request) -> tuple[str, str | None, Match]:
        method = "GET" if request.method == "HEAD" else request.method
        match = self.router.match(method, request.url.path)
        key = (
            f"{request.method} {match.route.template}"
            if match.route
            else f"{request.method} (unmatched)"
        )
        return key, None, match

    def authenticated(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = (
            os.environ.get("CLAIMS_USER", "gateway"),
            os.environ.get("CLAIMS_PASSWORD", "dev-claims-password"),
        )
        return bool(sep) and (user, password) == expected

    async def process(self, request: Request, match: Match) -> Response:
        if not self.authenticated(request):
            return self.error(401, headers={"WWW-Authenticate": 'Basic realm="prestations"'})
        if match.route is None:
            return self.error(405) if match.path_known else self.error(404)
        try:
            response: Response = getattr(self, match.route.handler)(request, match.params)
        except Invalid as exc:
            return self.error(400, exc.code, exc.message)
        if request.method == "HEAD":
            return Response(status_code=response.status_code, headers=dict(response.headers))
        return response

    # ---- query parameters --------------------------------------------------------------------
    @staticmethod
    def param(request: Request, name: str) -> str | None:
        """First occurrence; an empty value counts as absent."""
        values = request.query_params.getlist(name)
        return values[0] if values and values[0] != "" else None

    def ident(self, request: Request, name: str) -> str | None:
        value = self.param(request, name)
        if value is not None and not IDENT.match(value):
            raise Invalid(
                "PARAMETRE_INVALIDE", f"Paramètre {name} invalide : lettres et chiffres attendus"
            )
        return value

    def choice(self, request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.param(request, name)
        if value is not None and value not in allowed:
            raise Invalid(
                "PARAMETRE_INVALIDE",
                f"Paramètre {name} invalide : valeurs admises {', '.join(allowed)}",
            )
        return value

    def date_range(self, request: Request) -> tuple[date | None, date | None]:
        bounds: list[date | None] = []
        for name in ("dateMin", "dateMax"):
            value = self.param(request, name)
            if value is None:
                bounds.append(None)
                continue
            try:
                if not FR_DATE.match(value):
                    raise ValueError(value)
                bounds.append(parse_fr(value))
            except ValueError:
                raise Invalid(
                    "PARAMETRE_INVALIDE", f"Paramètre {name} invalide : format jj/mm/aaaa attendu"
                ) from None
        low, high = bounds
        if low and high and low > high:
            raise Invalid(
                "PARAMETRE_INVALIDE", "Paramètre dateMin invalide : postérieure à dateMax"
            )
        return low, high

    def page(
        self, request: Request, items: list[dict[str, Any]], fields: tuple[str, ...] | None = None
    ) -> Response:
        page = self.integer(
            request, "page", 1, None, "valeur entière supérieure ou égale à 1 attendue"
        )
        size = self.integer(request, "taille", 20, 50, "valeur comprise entre 1 et 50 attendue")
        chunk = items[(page - 1) * size : page * size]
        if fields:
            chunk = [{f: item[f] for f in fields} for item in chunk]
        return json_body(
            {
                "elements": chunk,
                "page": page,
                "taille": size,
                "nbPages": math.ceil(len(items) / size),
                "total": len(items),
            }
        )

    def integer(
        self, request: Request, name: str, default: int, high: int | None, hint: str
    ) -> int:
        raw = self.param(request, name)
        if raw is None:
            return default
        if (
            not re.fullmatch(r"-?[0-9]+", raw)
            or int(raw) < 1
            or (high is not None and int(raw) > high)
        ):
            raise Invalid("PARAMETRE_INVALIDE", f"Paramètre {name} invalide : {hint}")
        return int(raw)

    # ---- operations --------------------------------------------------------------------------
    def dossiers(self, request: Request, params: dict[str, str]) -> Response:
        contract, affiliate = self.ident(request, "numContrat"), self.ident(request, "numAffilie")
        status = self.choice(request, "statut", STATUSES)
        self.integer(request, "page", 1, None, "valeur entière supérieure ou égale à 1 attendue")
        self.integer(request, "taille", 20, 50, "valeur comprise entre 1 et 50 attendue")
        if contract is None and affiliate is None:
            raise Invalid(
                "PARAMETRE_OBLIGATOIRE",
                "Au moins un critère parmi numContrat et numAffilie est obligatoire",
            )
        found = [
            d
            for d in self.dossiers_list
            if (contract is None or d["numContrat"] == contract)
            and (affiliate is None or d["numAffilie"] == affiliate)
            and (status is None or d["statut"] == status)
        ]
        return self.page(
            request,
            found,
            fields=tuple(k for k in found[0] if k != "prestationBase") if found else None,
        )

    def dossier(self, request: Request, params: dict[str, str]) -> Response:
        found = self.dossiers_by_id.get(params["numDossier"])
        if found is None:
            return self.error(404, "DOSSIER_INCONNU", f"Dossier {params['numDossier']} inconnu")
        return json_body(found)

    def reglements(self, request: Request, params: dict[str, str]) -> Response:
        dossier = self.ident(request, "numDossier")
        contract, affiliate = self.ident(request, "numContrat"), self.ident(request, "numAffilie")
        low, high = self.date_range(request)
        guarantee = self.choice(request, "codeGarantie", GUARANTEES)
        self.integer(request, "page", 1, None, "valeur entière supérieure ou égale à 1 attendue")
        self.integer(request, "taille", 20, 50, "valeur comprise entre 1 et 50 attendue")
        if dossier is None and contract is None and affiliate is None:
            raise Invalid(
                "PARAMETRE_OBLIGATOIRE",
                "Au moins un critère parmi numDossier, numContrat et numAffilie est obligatoire",
            )
        found = [
            r
            for r in self.reglements_list
            if (dossier is None or r["numDossier"] == dossier)
            and (contract is None or r["numContrat"] == contract)
            and (affiliate is None or r["numAffilie"] == affiliate)
            and (guarantee is None or r["codeGarantie"] == guarantee)
            and within(parse_fr(r["dateReglement"]), low, high)
        ]
        return self.page(request, found, fields=RESUME_FIELDS)

    def reglement(self, request: Request, params: dict[str, str]) -> Response:
        found = self.reglements_by_id.get(params["refReglement"])
        if found is None:
            return self.error(
                404, "REGLEMENT_INCONNU", f"Règlement {params['refReglement']} inconnu"
            )
        return json_body(found)

    def remboursements(self, request: Request, params: dict[str, str]) -> Response:
        insured = self.ident(request, "numAssure")
        low, high = self.date_range(request)
        self.integer(request, "page", 1, None, "valeur entière supérieure ou égale à 1 attendue")
        self.integer(request, "taille", 20, 50, "valeur comprise entre 1 et 50 attendue")
        if insured is None:
            raise Invalid("PARAMETRE_OBLIGATOIRE", "Le paramètre numAssure est obligatoire")
        contracts = self.health_holders.get(insured, set())
        found = [
            r
            for r in self.remboursements_list
            if r["numContrat"] in contracts and within(parse_fr(r["dateReglement"]), low, high)
        ]
        return self.page(request, found)


def within(day: date, low: date | None, high: date | None) -> bool:
    return (low is None or day >= low) and (high is None or day <= high)
