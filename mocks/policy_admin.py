"""Mock of the policy admin system (`contracts/legacy/policy-admin.openapi.yaml`).

A mainframe facade: `X-Api-Key` first, UPPERCASE fields, `CODE_RETOUR` in every body, E999
technical errors in 200 bodies as its quirk, affiliés 20 per page, batch reads of 1 to 50. The
services of a contract come from the catalogue of the contract that offers them (an adhésion
reads its collective contract's), filtered by audience and by the mock clock's Paris date.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from .base import PARIS, Match, MockSystem, Route, json_body
from .contracts import FixtureError, check, load_fixture, openapi_bytes, require

BASE = "/api/v1"
NUM_PERS = re.compile(r"^[0-9]{10}$")
NUM_CTR = re.compile(r"^[A-Z0-9]{1,20}$")
ROLE_ORDER = ("SOUS", "AFF", "ASS", "BEN")
PAGE_SIZE = 20
SERVICE_FAMILIES = {  # the table of `CodeService`
    "TELECONSULTATION": ("SAN", "PRV"),
    "TIERS_PAYANT": ("SAN",),
    "RESEAU_SOINS": ("SAN",),
    "ANALYSE_DEVIS": ("SAN",),
    "PRISE_RDV": ("SAN",),
    "ASSISTANCE": ("SAN", "PRV", "RET", "IAR"),
    "BIBLIOTHEQUE_LETTRES": ("SAN", "PRV", "EPA", "RET", "IAR"),
    "PREVENTION": ("SAN", "PRV"),
}
NO_DATE = ("", "00000000")

ERRORS = {
    400: ("E400", "REQUETE INVALIDE"),
    401: ("E401", "CLE API INVALIDE"),
    405: ("E405", "METHODE NON AUTORISEE"),
    422: ("E422", "CONTRAT NON COLLECTIF"),
    500: ("E500", "ERREUR INTERNE"),
    503: ("E503", "SERVICE INDISPONIBLE"),
}


def error(status: int, label: str | None = None) -> Response:
    code, default = ERRORS.get(status, (f"E{status}", ""))
    return json_body({"CODE_RETOUR": code, "LIB_RETOUR": label or default}, status)


def not_found(label: str) -> Response:
    return json_body({"CODE_RETOUR": "E404", "LIB_RETOUR": label}, 404)


def ok(body: dict[str, Any]) -> Response:
    return json_body({"CODE_RETOUR": "0000", "LIB_RETOUR": "OK", **body})


SUMMARY_FIELDS = (
    "NUM_CTR",
    "TYPE_NUM",
    "CD_FAM",
    "LIB_PRODUIT",
    "CD_STATUT",
    "DT_EFFET",
    "DT_ECHEANCE",
    "DT_RESIL",
    "COLL",
    "NUM_CTR_ENT",
    "RAISON_SOC_ENT",
    "NUM_PERS_SOUS",
)


class PolicyAdmin(MockSystem):
    name = "policy-admin"
    base_path = BASE
    routes: ClassVar[list[Route]] = [
        Route("GET", f"{BASE}/personnes/{{NUM_PERS}}/contrats", "person_contracts"),
        Route("GET", f"{BASE}/contrats/{{NUM_CTR}}", "contract"),
        Route("POST", f"{BASE}/contrats/recherche", "search"),
        Route("GET", f"{BASE}/contrats/{{NUM_CTR}}/affilies", "affiliates"),
        Route("GET", f"{BASE}/contrats/{{NUM_CTR}}/services", "services"),
    ]

    def __init__(self, fixtures: Path | None = None) -> None:
        self.fixtures = fixtures
        super().__init__()

    def load(self) -> None:
        data = load_fixture("policy_admin", self.fixtures, self.validate)
        self.contracts: dict[str, dict[str, Any]] = {c["NUM_CTR"]: c for c in data["contrats"]}
        self.persons: dict[str, list[dict[str, str]]] = {
            p["NUM_PERS"]: p["CONTRATS"] for p in data["personnes"]
        }
        self.members: dict[str, list[dict[str, Any]]] = {
            number: sorted(
                members, key=lambda a: (a["NOM"].rstrip(), a["PRENOM"].rstrip(), a["NUM_ADH"])
            )
            for number, members in data["affilies"].items()
        }
        self.catalogues: dict[str, list[dict[str, str]]] = data["services"]

    @classmethod
    def validate(cls, data: dict[str, Any]) -> None:
        path = "policy_admin.json"
        require(path, data, "personnes", "contrats", "affilies", "services")
        check(f"{path} contrats", data["contrats"], cls.name, "ContratDetail", "NUM_CTR")
        known = {c["NUM_CTR"] for c in data["contrats"]}
        for person in data["personnes"]:
            if not NUM_PERS.match(str(person.get("NUM_PERS"))):
                raise FixtureError(
                    f"{path} personnes[{person.get('NUM_PERS')}] field NUM_PERS: 10 digits expected"
                )
            for held in person["CONTRATS"]:
                if held["NUM_CTR"] not in known:
                    raise FixtureError(
                        f"{path} personnes[{person['NUM_PERS']}] field CONTRATS: "
                        f"unknown contract {held['NUM_CTR']}"
                    )
                if held["ROLE"] not in ROLE_ORDER:
                    raise FixtureError(
                        f"{path} personnes[{person['NUM_PERS']}] field ROLE: "
                        f"{held['ROLE']} not in {ROLE_ORDER}"
                    )
        for number, members in data["affilies"].items():
            check(f"{path} affilies[{number}]", members, cls.name, "Affilie", "NUM_ADH")
        families = {c["NUM_CTR"]: c["CD_FAM"] for c in data["contrats"]}
        for number, catalogue in data["services"].items():
            where = f"{path} services[{number}]"
            if number not in families:
                raise FixtureError(f"{where}: unknown contract")
            check(where, catalogue, cls.name, "Service", "CD_SERVICE")
            for audience in (("A", "T"), ("E",)):
                codes = [s["CD_SERVICE"] for s in catalogue if s["CD_BENEF"] in audience]
                for code in codes:
                    if families[number] not in SERVICE_FAMILIES[code]:
                        raise FixtureError(f"{where} field CD_SERVICE: {code} not for its family")
                    if codes.count(code) > 1:
                        raise FixtureError(f"{where} field CD_SERVICE: {code} listed twice")

    async def contract_document(self, request: Request) -> Response | None:
        if request.method == "GET" and request.url.path == "/openapi.json":
            return Response(openapi_bytes(self.name), media_type="application/json")
        return None

    def injected_error(self, status: int) -> Response:
        return error(status) if status in (500, 503) else super().injected_error(status)

    async def quirk(self, request: Request, match: Match) -> Response:
        return json_body({"CODE_RETOUR": "E999", "LIB_RETOUR": "ERREUR TECHNIQUE"})

    async def process(self, request: Request, match: Match) -> Response:
        expected = os.environ.get("POLICY_ADMIN_API_KEY", "dev-policy-admin-key")
        if request.headers.get("x-api-key") != expected:
            return error(401)
        if match.route is None:
            return error(405) if match.path_known else not_found("RESSOURCE INCONNUE")
        handler = getattr(self, match.route.handler)
        response: Response = await handler(request, match.params)
        return response

    # ---- operations ----------------------------------------------------------------------------
    async def person_contracts(self, request: Request, params: dict[str, str]) -> Response:
        number = params["NUM_PERS"]
        if not NUM_PERS.match(number):
            return error(400)
        held = self.persons.get(number)
        if held is None:
            return not_found("PERSONNE INCONNUE")
        roles: dict[str, str] = {}
        for entry in held:
            current = roles.get(entry["NUM_CTR"])
            if current is None or ROLE_ORDER.index(entry["ROLE"]) < ROLE_ORDER.index(current):
                roles[entry["NUM_CTR"]] = entry["ROLE"]
        summaries = [
            {**{f: self.contracts[n][f] for f in SUMMARY_FIELDS}, "ROLE": role}
            for n, role in sorted(roles.items())
        ]
        return ok({"NUM_PERS": number, "CONTRATS": summaries})

    async def contract(self, request: Request, params: dict[str, str]) -> Response:
        number = params["NUM_CTR"]
        if not NUM_CTR.match(number):
            return error(400)
        detail = self.contracts.get(number)
        if detail is None:
            return not_found("CONTRAT INCONNU")
        return ok({"CONTRAT": detail})

    async def search(self, request: Request, params: dict[str, str]) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400)
        numbers = body.get("NUM_CTRS") if isinstance(body, dict) else None
        if (
            not isinstance(numbers, list)
            or not 1 <= len(numbers) <= 50
            or not all(isinstance(n, str) and NUM_CTR.match(n) for n in numbers)
        ):
            return error(400)
        unique = list(dict.fromkeys(numbers))
        return ok(
            {
                "CONTRATS": [self.contracts[n] for n in unique if n in self.contracts],
                "INCONNUS": [n for n in unique if n not in self.contracts],
            }
        )

    async def affiliates(self, request: Request, params: dict[str, str]) -> Response:
        number = params["NUM_CTR"]
        if not NUM_CTR.match(number):
            return error(400)
        raw_page = request.query_params.get("PAGE", "1")
        if not re.fullmatch(r"[0-9]+", raw_page) or int(raw_page) < 1:
            return error(400)
        page = int(raw_page)
        detail = self.contracts.get(number)
        if detail is None:
            return not_found("CONTRAT INCONNU")
        if detail["COLL"] != "O" or detail["TYPE_NUM"] != "CTR":
            return error(422)
        members = self.members.get(number, [])
        start = (page - 1) * PAGE_SIZE
        return ok(
            {
                "NUM_CTR": number,
                "PAGE": page,
                "NB_PAGES": math.ceil(len(members) / PAGE_SIZE),
                "TOTAL": len(members),
                "AFFILIES": members[start : start + PAGE_SIZE],
            }
        )

    async def services(self, request: Request, params: dict[str, str]) -> Response:
        number = params["NUM_CTR"]
        if not NUM_CTR.match(number):
            return error(400)
        detail = self.contracts.get(number)
        if detail is None:
            return not_found("CONTRAT INCONNU")
        offered_by, audience = number, ("A", "T")
        if detail["NUM_CTR_ENT"].strip():
            offered_by = detail["NUM_CTR_ENT"].strip()
        elif detail["COLL"] == "O":
            audience = ("E",)
        today = self.clock.now().astimezone(PARIS).strftime("%Y%m%d")
        listed = [
            s
            for s in self.catalogues.get(offered_by, [])
            if s["CD_BENEF"] in audience and (s["DT_FIN"] in NO_DATE or s["DT_FIN"] >= today)
        ]
        if detail["CD_STATUT"] == "R":
            listed = []
        return ok({"NUM_CTR": number, "SERVICES": listed})
