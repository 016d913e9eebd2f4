"""Mock of the CRM (`contracts/legacy/crm.openapi.yaml`): clients, demandes, attachments, accounts.

Bearer service token first; French camelCase; demande creation NOT idempotent (exactly-once is
the caller's job through `referenceExterne`); account tokens, lockouts, TOTP steps and one-time
codes follow the mock clock; the strong authentication (`crm_security`) and the alerts
(`crm_alerts`) are mixed in. What the CRM "sends" (e-mails, SMS, push) lands in `/_admin/outbox`;
`PUT /_admin/demandes/{id}/statut` moves a demande as the back office would. Its quirk: a GET is
refused with 503, a write is committed and THEN answered 503 (the "outcome unknown" case).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from . import crm_rules as rules
from .base import PARIS, AdminError, Match, MockSystem, Route, admin_json, json_body
from .contracts import FixtureError, check, load_fixture, openapi_bytes, require
from .crm_alerts import AlertRoutes
from .crm_errors import Refused, invalid, locked, not_found, refusal, wrong_credentials
from .crm_secrets import Security
from .crm_security import SecurityRoutes

BASE = "/crm/api"
CLIENT_ID = re.compile(r"^C[0-9]{7}$")
DEMANDE_ID = re.compile(r"^D-[0-9]{4}-[0-9]{6}$")
MAX_UPLOAD = 10 * 1024 * 1024
SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG"}
TOKEN_LIFE = {"ACTIVATION": timedelta(hours=24), "REINITIALISATION": timedelta(minutes=30)}
LOCK_AFTER = 5
STATUSES = ("RECU", "EN_COURS", "TRAITE", "REJETE", "CLOTURE")


def attachment_bytes(kind: str, size: int, seed: str) -> bytes:
    """Deterministic stand-in content with the right signature and size."""
    head = rules_signature(kind)
    filler = (seed.encode() * (size // max(len(seed), 1) + 1))[: max(size - len(head), 0)]
    return (head + filler)[:size]


def rules_signature(kind: str) -> bytes:
    return {
        "application/pdf": b"%PDF-1.4\n",
        "image/jpeg": b"\xff\xd8\xff\xe0",
        "image/png": b"\x89PNG\r\n\x1a\n",
    }[kind]


class Crm(SecurityRoutes, AlertRoutes, MockSystem):
    name = "crm"
    base_path = BASE
    routes: ClassVar[list[Route]] = [
        Route("GET", f"{BASE}/clients/{{clientId}}", "get_client"),
        Route("PATCH", f"{BASE}/clients/{{clientId}}/contact", "patch_contact"),
        Route("PUT", f"{BASE}/clients/{{clientId}}/preferences", "put_preferences"),
        Route("GET", f"{BASE}/interlocuteurs/{{interlocuteurId}}", "get_interlocuteur"),
        Route("GET", f"{BASE}/clients/{{clientId}}/demandes", "list_demandes"),
        Route("POST", f"{BASE}/clients/{{clientId}}/demandes", "create_demande"),
        Route("GET", f"{BASE}/demandes", "find_demande"),
        Route("GET", f"{BASE}/demandes/statistiques", "statistics"),
        Route("GET", f"{BASE}/demandes/{{demandeId}}", "get_demande"),
        Route("GET", f"{BASE}/types-demandes", "catalogue"),
        Route("POST", f"{BASE}/pieces-jointes", "upload"),
        Route("GET", f"{BASE}/pieces-jointes/{{pieceJointeId}}", "download"),
        Route("POST", f"{BASE}/comptes", "register"),
        Route("POST", f"{BASE}/comptes/activation", "activate"),
        Route("POST", f"{BASE}/authentification", "login"),
        Route("POST", f"{BASE}/comptes/mot-de-passe-oublie", "forgot_password"),
        Route("POST", f"{BASE}/comptes/reinitialisation", "reset_password"),
        Route("PUT", f"{BASE}/comptes/{{clientId}}/mot-de-passe", "change_password"),
        Route("GET", f"{BASE}/comptes/{{clientId}}/rattachements", "get_group"),
        Route("POST", f"{BASE}/comptes/{{clientId}}/rattachements", "join"),
        Route("DELETE", f"{BASE}/comptes/{{clientId}}/rattachements/{{autreClientId}}", "leave"),
        Route("GET", f"{BASE}/clients/{{clientId}}/alertes", "get_alerts"),
        Route("PUT", f"{BASE}/clients/{{clientId}}/alertes", "put_alerts"),
        Route("GET", f"{BASE}/clients/{{clientId}}/notifications", "list_notifications"),
        Route("POST", f"{BASE}/clients/{{clientId}}/notifications", "post_notification"),
        Route("POST", f"{BASE}/clients/{{clientId}}/notifications/lues", "mark_read"),
        Route("GET", f"{BASE}/comptes/{{clientId}}/securite", "get_security"),
        Route("POST", f"{BASE}/comptes/{{clientId}}/securite/enrolement", "start_enrolment"),
        Route(
            "POST",
            f"{BASE}/comptes/{{clientId}}/securite/enrolement/confirmation",
            "confirm_enrolment",
        ),
        Route(
            "POST", f"{BASE}/comptes/{{clientId}}/securite/desactivation", "disable_second_factor"
        ),
        Route(
            "POST", f"{BASE}/comptes/{{clientId}}/securite/codes-secours", "renew_recovery_codes"
        ),
        Route("POST", f"{BASE}/comptes/{{clientId}}/securite/codes", "send_one_time_code"),
        Route("POST", f"{BASE}/comptes/{{clientId}}/securite/verification", "verify_second_factor"),
        Route("GET", f"{BASE}/comptes/{{clientId}}/cles-acces", "list_passkeys"),
        Route("POST", f"{BASE}/comptes/{{clientId}}/cles-acces", "register_passkey"),
        Route(
            "PATCH", f"{BASE}/comptes/{{clientId}}/cles-acces/{{credentialId}}", "rename_passkey"
        ),
        Route(
            "DELETE", f"{BASE}/comptes/{{clientId}}/cles-acces/{{credentialId}}", "delete_passkey"
        ),
        Route("GET", f"{BASE}/cles-acces/{{credentialId}}", "find_passkey_route"),
        Route("POST", f"{BASE}/cles-acces/{{credentialId}}/assertion", "record_assertion"),
    ]

    def __init__(self, fixtures: Path | None = None) -> None:
        self.fixtures = fixtures
        super().__init__()

    # ---- state -------------------------------------------------------------------------------
    def load(self) -> None:
        data = load_fixture("crm", self.fixtures, self.validate)
        self.accounts: dict[str, dict[str, Any]] = {a["clientId"]: a for a in data["comptes"]}
        self.clients: dict[str, dict[str, Any]] = {c["clientId"]: c for c in data["clients"]}
        self.interlocuteurs = {i["id"]: i for i in data["interlocuteurs"]}
        self.pieces: dict[str, dict[str, Any]] = {p["id"]: p for p in data["piecesJointes"]}
        self.demandes: dict[str, dict[str, Any]] = {d["id"]: d for d in data["demandes"]}
        for item in self.demandes.values():
            for piece in item["rappel"]["piecesJointes"]:
                self.pieces[piece]["demande"] = item["id"]
        self.tokens: list[dict[str, Any]] = data["jetons"]
        self.groups: list[set[str]] = [set(g) for g in data["rattachements"]]
        self.outbox: list[dict[str, Any]] = []  # the e-mails
        self.sent: dict[str, list[dict[str, Any]]] = {"emails": self.outbox, "sms": [], "push": []}
        # the fixtures' accounts start with no second factor, no passkey, default alerts
        self.security: dict[str, Security] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self.piece_seq = max(int(p[3:]) for p in self.pieces) if self.pieces else 0

    @classmethod
    def validate(cls, data: dict[str, Any]) -> None:
        path = "crm.json"
        require(
            path,
            data,
            "clients",
            "comptes",
            "jetons",
            "interlocuteurs",
            "piecesJointes",
            "demandes",
            "rattachements",
        )
        accounts = {a["clientId"]: a for a in data["comptes"]}
        views = [
            {
                **c,
                "compte": {
                    k: accounts.get(c["clientId"], {"statut": "AUCUN", "identifiant": None})[k]
                    for k in ("statut", "identifiant")
                },
            }
            for c in data["clients"]
        ]
        check(f"{path} clients", views, cls.name, "Client", "clientId")
        check(f"{path} interlocuteurs", data["interlocuteurs"], cls.name, "Interlocuteur", "id")
        check(
            f"{path} piecesJointes",
            [
                {k: p[k] for k in ("id", "nom", "type", "taille") if k in p}
                for p in data["piecesJointes"]
            ],
            cls.name,
            "PieceJointe",
            "id",
        )
        clients, pieces = (
            {c["clientId"] for c in data["clients"]},
            {p["id"] for p in data["piecesJointes"]},
        )
        for item in data["demandes"]:
            where = f"{path} demandes[{item.get('id')}]"
            if item.get("clientId") not in clients:
                raise FixtureError(f"{where} field clientId: unknown client")
            if item.get("type") not in rules.TYPES:
                raise FixtureError(f"{where} field type: not in the catalogue")
            missing = [p for p in item["rappel"]["piecesJointes"] if p not in pieces]
            if missing:
                raise FixtureError(f"{where} field rappel/piecesJointes: unknown {missing[0]}")
            view = {**item, "libelleType": rules.TYPES[item["type"]]["libelle"]}
            view.pop("clientId")
            view["rappel"] = {**item["rappel"], "piecesJointes": []}
            check(where, [view], cls.name, "Demande")

    def client_view(self, client_id: str) -> dict[str, Any]:
        client = self.clients[client_id]
        account = self.accounts.get(client_id, {"statut": "AUCUN", "identifiant": None})
        return {
            **client,
            "compte": {"statut": account["statut"], "identifiant": account["identifiant"]},
        }

    def demande_view(self, item: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in item.items() if k != "clientId"}
        view["libelleType"] = rules.TYPES[item["type"]]["libelle"]
        view["rappel"] = {
            **item["rappel"],
            "piecesJointes": [self.piece_view(p) for p in item["rappel"]["piecesJointes"]],
        }
        order = [
            "id",
            "reference",
            "type",
            "libelleType",
            "categorie",
            "dateCreation",
            "statut",
            "suivi",
            "beneficiaires",
            "numContrat",
            "reclamation",
            "historique",
            "rappel",
            "referenceExterne",
        ]
        return {k: view[k] for k in order}

    def piece_view(self, piece_id: str) -> dict[str, Any]:
        piece = self.pieces[piece_id]
        return {k: piece[k] for k in ("id", "nom", "type", "taille")}

    def now(self) -> datetime:
        return self.clock.now().astimezone(PARIS).replace(microsecond=0)

    # ---- framing -----------------------------------------------------------------------------
    async def contract_document(self, request: Request) -> Response | None:
        if request.method == "GET" and request.url.path == "/openapi.json":
            return Response(openapi_bytes(self.name), media_type="application/json")
        return None

    def send(self, channel: str, message: dict[str, Any]) -> None:
        """Hand a message to the e-mail, SMS or push provider: the outbox."""
        self.sent[channel].append(message)

    def extra_admin(self, request: Request, name: str) -> Awaitable[Response] | None:
        if name == "outbox":
            return self.admin_outbox(request)
        found = re.fullmatch(r"demandes/([^/]+)/statut", name)
        if found:
            return self.admin_demande_status(request, found.group(1))
        return None

    async def admin_outbox(self, request: Request) -> Response:
        if request.method != "GET":
            return admin_json({"error": "method not allowed"}, 405)
        wanted = (request.query_params.get("destinataire") or "").lower()
        return admin_json(
            {
                box: [m for m in sent if not wanted or m["destinataire"].lower() == wanted]
                for box, sent in self.sent.items()
            }
        )

    async def admin_demande_status(self, request: Request, demande_id: str) -> Response:
        if request.method != "PUT":
            return admin_json({"error": "method not allowed"}, 405)
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise AdminError("body must be a JSON object") from None
        if not isinstance(body, dict):
            raise AdminError("body must be a JSON object")
        unknown = sorted(set(body) - {"statut", "commentaire"})
        if unknown:
            raise AdminError(f"unknown key: {unknown[0]}")
        if body.get("statut") not in STATUSES:
            raise AdminError(f"statut must be one of {', '.join(STATUSES)}")
        if not isinstance(body.get("commentaire", ""), str):
            raise AdminError("commentaire must be a string")
        item = self.demandes.get(demande_id)
        if item is None:
            return admin_json({"error": "not found"}, 404)
        item["statut"] = body["statut"]
        item["historique"].append({"statut": body["statut"], "date": self.now().isoformat()})
        return admin_json(self.demande_view(item))

    def injected_error(self, status: int) -> Response:
        if status == 500:
            return refusal(500, "ERREUR_TECHNIQUE", "Erreur technique")
        if status == 503:
            return refusal(503, "INDISPONIBLE", "Service momentanément indisponible")
        return super().injected_error(status)

    async def quirk(self, request: Request, match: Match) -> Response:
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            await self.process(request, match)
        return refusal(503, "INDISPONIBLE", "Service momentanément indisponible")

    async def process(self, request: Request, match: Match) -> Response:
        expected = os.environ.get("CRM_TOKEN", "dev-crm-token")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != expected:
            return refusal(
                401,
                "NON_AUTHENTIFIE",
                "Jeton de service absent ou invalide",
                headers={"WWW-Authenticate": 'Bearer realm="crm"'},
            )
        if match.route is None:
            if match.path_known:
                return refusal(
                    405,
                    "METHODE_NON_AUTORISEE",
                    "Méthode non autorisée",
                    headers={"Allow": ", ".join(sorted(set(match.allowed)))},
                )
            return refusal(404, "INTROUVABLE", "Ressource inconnue")
        try:
            response: Response = await getattr(self, match.route.handler)(request, match.params)
        except Refused as exc:
            return refusal(exc.status, exc.code, exc.message, exc.details, exc.headers)
        return response

    async def body(self, request: Request) -> dict[str, Any]:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Refused(415, "TYPE_NON_SUPPORTE", "Content-Type attendu : application/json")
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise invalid("Corps JSON invalide", []) from None
        if not isinstance(body, dict):
            raise invalid("Un objet JSON est attendu", [])
        return body

    def client(self, client_id: str) -> dict[str, Any]:
        if not CLIENT_ID.match(client_id) or client_id not in self.clients:
            raise not_found("Client inconnu")
        return self.clients[client_id]

    # ---- clients -----------------------------------------------------------------------------
    async def get_client(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        return json_body(self.client_view(p["clientId"]))

    async def patch_contact(self, request: Request, p: dict[str, str]) -> Response:
        client = self.client(p["clientId"])
        body = await self.body(request)
        details = rules.contact(body)
        if details:
            raise invalid("Les coordonnées transmises sont invalides", details)
        client.update(body)
        return json_body(self.client_view(p["clientId"]))

    async def put_preferences(self, request: Request, p: dict[str, str]) -> Response:
        client = self.client(p["clientId"])
        body = await self.body(request)
        details = rules.preferences(body)
        if details:
            raise invalid("Préférences invalides", details)
        client["preferences"] = body
        return json_body(self.client_view(p["clientId"]))

    async def get_interlocuteur(self, request: Request, p: dict[str, str]) -> Response:
        found = self.interlocuteurs.get(p["interlocuteurId"])
        if found is None:
            raise not_found("Interlocuteur inconnu")
        return json_body(found)

    # ---- demandes ----------------------------------------------------------------------------
    def day_param(self, request: Request, name: str, required: bool = False) -> date | None:
        value = request.query_params.get(name, "")
        if value == "":
            if required:
                raise invalid("Requête invalide", [rules.detail(name, "Paramètre obligatoire")])
            return None
        if not rules.is_date(value):
            raise invalid(
                "Requête invalide", [rules.detail(name, "Date attendue au format AAAA-MM-JJ")]
            )
        return date.fromisoformat(value)

    @staticmethod
    def created_day(item: dict[str, Any]) -> date:
        return datetime.fromisoformat(item["dateCreation"]).astimezone(PARIS).date()

    async def list_demandes(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        since = self.day_param(request, "depuis")
        found = [
            d
            for d in self.demandes.values()
            if d["clientId"] == p["clientId"] and (since is None or self.created_day(d) >= since)
        ]
        found.sort(key=lambda d: (datetime.fromisoformat(d["dateCreation"]), d["id"]), reverse=True)
        return json_body({"demandes": [self.demande_view(d) for d in found]})

    async def create_demande(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        body = await self.body(request)
        details = rules.new_demande(body)
        if details:
            raise invalid("La demande est invalide", details)
        kind = rules.TYPES.get(body["type"])
        if kind is None:
            raise invalid(
                "La demande est invalide", [rules.detail("type", "Type de demande inconnu")]
            )
        details = rules.missing_required(body, kind)
        if details:
            raise invalid("La demande est incomplète", details)
        now = self.now()
        for i, piece_id in enumerate(body.get("piecesJointes", [])):
            piece = self.pieces.get(piece_id)
            if piece is None or piece.get("demande") or self.expired(piece, now):
                raise invalid(
                    "La demande est invalide",
                    [
                        rules.detail(
                            f"piecesJointes[{i}]", "Pièce jointe inconnue, expirée ou déjà utilisée"
                        )
                    ],
                )
        reference = body.get("referenceExterne")
        if reference is not None and any(
            d["referenceExterne"] == reference for d in self.demandes.values()
        ):
            raise Refused(
                409,
                "CONFLIT",
                "Une demande existe déjà avec cette référence externe",
                [rules.detail("referenceExterne", "Référence externe déjà utilisée")],
            )
        seq = 1 + max(
            (int(d["id"][-6:]) for d in self.demandes.values() if d["id"][2:6] == str(now.year)),
            default=0,
        )
        created = now.isoformat()
        item = {
            "id": f"D-{now.year}-{seq:06d}",
            "reference": f"DEM-{now.year}-{now.month:02d}-{seq:06d}",
            "clientId": p["clientId"],
            "type": kind["code"],
            "categorie": kind["categorie"],
            "dateCreation": created,
            "statut": "RECU",
            "suivi": kind["categorie"] != "SANTE",
            "beneficiaires": body.get("beneficiaires", []),
            "numContrat": body.get("numContrat"),
            "reclamation": True
            if kind["code"] == "RECLAMATION"
            else body.get("reclamation", False),
            "historique": [{"statut": "RECU", "date": created}],
            "rappel": {
                "sujet": body.get("sujet"),
                "detail": body.get("detail"),
                "description": body.get("description"),
                "piecesJointes": body.get("piecesJointes", []),
            },
            "referenceExterne": reference,
        }
        for piece_id in item["rappel"]["piecesJointes"]:
            self.pieces[piece_id]["demande"] = item["id"]
        self.demandes[item["id"]] = item
        return json_body(
            self.demande_view(item), 201, {"Location": f"{BASE}/demandes/{item['id']}"}
        )

    def expired(self, piece: dict[str, Any], now: datetime) -> bool:
        return not piece.get("demande") and now - datetime.fromisoformat(
            piece["deposeLe"]
        ) > timedelta(hours=24)

    async def find_demande(self, request: Request, p: dict[str, str]) -> Response:
        reference = request.query_params.get("referenceExterne", "")
        if not reference or not rules.REFERENCE_EXTERNE.match(reference):
            raise invalid(
                "Requête invalide",
                [rules.detail("referenceExterne", "Paramètre obligatoire ou invalide")],
            )
        found = [
            self.demande_view(d)
            for d in self.demandes.values()
            if d["referenceExterne"] == reference
        ]
        return json_body({"demandes": found})

    async def statistics(self, request: Request, p: dict[str, str]) -> Response:
        low = self.day_param(request, "depuis", required=True)
        high = self.day_param(request, "jusqua", required=True)
        assert low is not None and high is not None
        if high < low or (high - low).days > 366:
            raise invalid(
                "Requête invalide",
                [rules.detail("jusqua", "Période de 366 jours au plus, jusqua après depuis")],
            )
        counts: dict[str, dict[str, int]] = {}
        for item in self.demandes.values():
            if low <= self.created_day(item) <= high:
                per_status = counts.setdefault(item["type"], {})
                per_status[item["statut"]] = per_status.get(item["statut"], 0) + 1
        total = sum(sum(v.values()) for v in counts.values())
        return json_body(
            {
                "depuis": low.isoformat(),
                "jusqua": high.isoformat(),
                "parType": counts,
                "total": total,
            }
        )

    async def get_demande(self, request: Request, p: dict[str, str]) -> Response:
        found = self.demandes.get(p["demandeId"]) if DEMANDE_ID.match(p["demandeId"]) else None
        if found is None:
            raise not_found("Demande inconnue")
        return json_body(self.demande_view(found))

    async def catalogue(self, request: Request, p: dict[str, str]) -> Response:
        return json_body({"types": rules.CATALOGUE})

    # ---- attachments -------------------------------------------------------------------------
    async def upload(self, request: Request, p: dict[str, str]) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "multipart/form-data":
            raise Refused(415, "TYPE_NON_SUPPORTE", "Content-Type attendu : multipart/form-data")
        missing = invalid(
            "Fichier manquant",
            [rules.detail("fichier", "Un fichier nommé « fichier » est attendu")],
        )
        try:
            async with request.form(max_files=10, max_fields=50) as form:
                parts = form.getlist("fichier")
                if len(parts) != 1 or not isinstance(parts[0], UploadFile) or not parts[0].filename:
                    raise missing
                part = parts[0]
                content = await part.read(MAX_UPLOAD + 1)
                declared = (part.content_type or "").split(";")[0].strip().lower()
                filename = re.split(r"[\\/]", part.filename or "")[-1]
        except Refused:
            raise
        except Exception:
            raise missing from None
        if not content:
            raise invalid("Fichier vide", [rules.detail("fichier", "Le fichier est vide")])
        if len(content) > MAX_UPLOAD:
            raise Refused(
                413,
                "TROP_VOLUMINEUX",
                "Le fichier dépasse 10 Mo",
                [rules.detail("fichier", f"Taille maximale : {MAX_UPLOAD} octets")],
            )
        if declared not in SIGNATURES or not content.startswith(SIGNATURES[declared]):
            raise Refused(
                415,
                "TYPE_NON_SUPPORTE",
                "Format de fichier non accepté",
                [rules.detail("fichier", "Formats acceptés : PDF, JPEG, PNG")],
            )
        if not filename or len(filename) > 255:
            raise invalid(
                "Nom de fichier invalide",
                [rules.detail("fichier", "Nom de fichier de 1 à 255 caractères attendu")],
            )
        self.piece_seq += 1
        piece = {
            "id": f"PJ-{self.piece_seq:06d}",
            "nom": filename,
            "type": declared,
            "taille": len(content),
            "deposeLe": self.now().isoformat(),
            "contenu": content,
        }
        self.pieces[piece["id"]] = piece
        return json_body(self.piece_view(piece["id"]), 201)

    async def download(self, request: Request, p: dict[str, str]) -> Response:
        piece = self.pieces.get(p["pieceJointeId"])
        if piece is None or self.expired(piece, self.now()):
            raise not_found("Pièce jointe inconnue")
        content = piece.get("contenu") or attachment_bytes(
            piece["type"], piece["taille"], piece["id"]
        )
        return Response(
            content,
            media_type=piece["type"],
            headers={"Content-Disposition": f'attachment; filename="{piece["nom"]}"'},
        )

    # ---- accounts ----------------------------------------------------------------------------
    def account_by_login(self, login: str) -> dict[str, Any] | None:
        wanted = login.lower()
        return next(
            (a for a in self.accounts.values() if (a["identifiant"] or "").lower() == wanted), None
        )

    def issue_token(self, account: dict[str, Any], kind: str) -> None:
        for token in self.tokens:
            if token["clientId"] == account["clientId"] and token["type"] == kind:
                token["remplace"] = True
        now = self.now()
        token = {
            "jeton": secrets.token_urlsafe(32),
            "type": kind,
            "clientId": account["clientId"],
            "emisLe": now.isoformat(),
        }
        self.tokens.append(token)
        self.send(
            "emails",
            {
                "type": kind,
                "destinataire": account["identifiant"],
                "clientId": account["clientId"],
                "jeton": token["jeton"],
                "envoyeLe": now.isoformat(),
            },
        )

    def use_token(self, value: str, kind: str) -> dict[str, Any]:
        now = self.now()
        for token in self.tokens:
            if (
                token["jeton"] == value
                and token["type"] == kind
                and not token.get("utilise")
                and not token.get("remplace")
            ) and now - datetime.fromisoformat(token["emisLe"]) <= TOKEN_LIFE[kind]:
                return token
        raise Refused(
            400,
            "JETON_INVALIDE",
            "Ce lien n'est plus valable",
            [rules.detail("jeton", "Jeton inconnu, déjà utilisé ou expiré")],
        )

    @staticmethod
    def strong(password: str, champ: str) -> None:
        broken = rules.password_rules(password, champ)
        if broken:
            raise Refused(
                400,
                "MOT_DE_PASSE_FAIBLE",
                "Le mot de passe ne respecte pas les règles de sécurité",
                broken,
            )

    def check_password(self, account: dict[str, Any], password: str) -> None:
        """One password check of an ACTIF or VERROUILLE account, counted when it fails."""
        if account["statut"] == "VERROUILLE":
            raise locked()
        if account["motDePasse"] != password:
            account["echecs"] += 1
            if account["echecs"] >= LOCK_AFTER:
                account["statut"] = "VERROUILLE"
                raise locked()
            raise wrong_credentials()
        account["echecs"] = 0

    def group(self, client_id: str) -> list[str]:
        for members in self.groups:
            if client_id in members:
                return sorted(members)
        return [client_id]

    async def register(self, request: Request, p: dict[str, str]) -> Response:
        body = await self.body(request)
        details = rules.registration(body)
        if details:
            raise invalid("Les informations saisies sont invalides", details)
        match = next((cid for cid, c in self.clients.items() if self.same_identity(c, body)), None)
        if match is None:
            raise Refused(
                400,
                "IDENTITE_NON_RECONNUE",
                "Les informations saisies ne correspondent à aucun adhérent",
            )
        account = self.accounts.setdefault(
            match,
            {
                "clientId": match,
                "statut": "AUCUN",
                "identifiant": None,
                "motDePasse": None,
                "echecs": 0,
            },
        )
        if account["statut"] in ("ACTIF", "VERROUILLE"):
            raise Refused(
                409,
                "CONFLIT",
                "Un compte existe déjà pour cet adhérent",
                [rules.detail("numeroAdherent", "Compte déjà créé")],
            )
        login = body["email"].lower()
        other = self.account_by_login(login)
        if other is not None and other["clientId"] != match:
            raise Refused(
                409,
                "CONFLIT",
                "Cette adresse e-mail est déjà utilisée",
                [rules.detail("email", "Adresse déjà utilisée")],
            )
        account.update(statut="EN_ATTENTE_ACTIVATION", identifiant=login)
        self.issue_token(account, "ACTIVATION")
        return json_body({"clientId": match, "statut": "EN_ATTENTE_ACTIVATION"}, 201)

    def same_identity(self, client: dict[str, Any], body: dict[str, Any]) -> bool:
        if client["type"] != body["type"] or client["numeroAdherent"] != body["numeroAdherent"]:
            return False
        if body["type"] == "PP":
            return (
                rules.fold(client["nom"]) == rules.fold(body["nom"])
                and rules.fold(client["prenom"] or "") == rules.fold(body["prenom"])
                and client["dateNaissance"] == body["dateNaissance"]
            )
        account = self.accounts.get(client["clientId"], {})
        return (
            client["siret"] == body["siret"]
            and account.get("numeroSite") == body["numeroSite"]
            and account.get("codeConfidentiel") == body["codeConfidentiel"]
        )

    async def activate(self, request: Request, p: dict[str, str]) -> Response:
        body = await self.body(request)
        details = rules.token_and_password(body)
        if details:
            raise invalid("Requête invalide", details)
        token = self.use_token(body["jeton"], "ACTIVATION")
        self.strong(body["motDePasse"], "motDePasse")
        token["utilise"] = True
        account = self.accounts[token["clientId"]]
        account.update(statut="ACTIF", motDePasse=body["motDePasse"], echecs=0)
        return json_body({"clientId": account["clientId"], "statut": "ACTIF"})

    async def login(self, request: Request, p: dict[str, str]) -> Response:
        body = await self.body(request)
        details = rules.credentials(body, ("identifiant", "motDePasse"), (254, 256))
        if details:
            raise invalid("Requête invalide", details)
        account = self.account_by_login(body["identifiant"])
        if account is None or account["statut"] not in ("ACTIF", "VERROUILLE"):
            raise wrong_credentials()
        self.check_password(account, body["motDePasse"])
        client_id = account["clientId"]
        return json_body(
            {
                "clientId": client_id,
                "typeCompte": self.clients[client_id]["type"],
                "rattaches": self.group(client_id),
                "secondFacteur": self.security_of(client_id).methode,
            }
        )

    async def forgot_password(self, request: Request, p: dict[str, str]) -> Response:
        body = await self.body(request)
        details = rules.unknown_fields(body, {"email"})
        if not isinstance(body.get("email"), str) or len(body["email"]) > 254:
            details.append(rules.detail("email", "Adresse e-mail attendue"))
        if details:
            raise invalid("Requête invalide", details)
        account = self.account_by_login(body["email"])
        if account is not None and account["statut"] in ("ACTIF", "VERROUILLE"):
            self.issue_token(account, "REINITIALISATION")
        return Response(status_code=202)

    async def reset_password(self, request: Request, p: dict[str, str]) -> Response:
        body = await self.body(request)
        details = rules.token_and_password(body)
        if details:
            raise invalid("Requête invalide", details)
        token = self.use_token(body["jeton"], "REINITIALISATION")
        self.strong(body["motDePasse"], "motDePasse")
        token["utilise"] = True
        account = self.accounts[token["clientId"]]
        account.update(statut="ACTIF", motDePasse=body["motDePasse"], echecs=0)
        self.security_of(account["clientId"]).failures = 0
        return json_body({"clientId": account["clientId"], "statut": "ACTIF"})

    def own_account(self, client_id: str, statuses: tuple[str, ...]) -> dict[str, Any]:
        self.client(client_id)
        account = self.accounts.get(client_id)
        if account is None or account["statut"] not in statuses:
            raise not_found("Compte inconnu")
        return account

    async def change_password(self, request: Request, p: dict[str, str]) -> Response:
        account = self.own_account(p["clientId"], ("ACTIF", "VERROUILLE"))
        body = await self.body(request)
        details = rules.credentials(body, ("ancien", "nouveau"), (256, 256))
        if details:
            raise invalid("Requête invalide", details)
        self.check_password(account, body["ancien"])
        self.strong(body["nouveau"], "nouveau")
        if body["nouveau"] == body["ancien"]:
            raise invalid(
                "Requête invalide",
                [rules.detail("nouveau", "Le nouveau mot de passe doit différer de l'ancien")],
            )
        account["motDePasse"] = body["nouveau"]
        return Response(status_code=204)

    async def get_group(self, request: Request, p: dict[str, str]) -> Response:
        self.own_account(p["clientId"], ("ACTIF", "VERROUILLE", "EN_ATTENTE_ACTIVATION"))
        return json_body({"clientId": p["clientId"], "rattaches": self.group(p["clientId"])})

    async def join(self, request: Request, p: dict[str, str]) -> Response:
        mine = self.own_account(p["clientId"], ("ACTIF",))
        body = await self.body(request)
        details = rules.credentials(body, ("identifiant", "motDePasse"), (254, 256))
        if details:
            raise invalid("Requête invalide", details)
        other = self.account_by_login(body["identifiant"])
        if other is None or other["statut"] not in ("ACTIF", "VERROUILLE"):
            raise wrong_credentials()
        self.check_password(other, body["motDePasse"])
        kinds = {self.clients[mine["clientId"]]["type"], self.clients[other["clientId"]]["type"]}
        if other["clientId"] == mine["clientId"] or kinds != {"PP"}:
            raise invalid(
                "Rattachement impossible",
                [rules.detail("identifiant", "Compte de personne physique distinct attendu")],
            )
        merged = set(self.group(mine["clientId"])) | set(self.group(other["clientId"]))
        self.groups = [g for g in self.groups if not g & merged] + [merged]
        return json_body({"clientId": p["clientId"], "rattaches": sorted(merged)})

    async def leave(self, request: Request, p: dict[str, str]) -> Response:
        client_id, other = p["clientId"], p["autreClientId"]
        self.own_account(client_id, ("ACTIF", "VERROUILLE", "EN_ATTENTE_ACTIVATION"))
        members = set(self.group(client_id))
        if other not in members:
            raise not_found("Compte non rattaché")
        if len(members) == 1:
            raise invalid(
                "Détachement impossible",
                [rules.detail("autreClientId", "Aucun compte rattaché")],
            )
        rest = members - {other}
        self.groups = [g for g in self.groups if not g & members]
        if len(rest) > 1:
            self.groups.append(rest)
        return json_body({"clientId": client_id, "rattaches": self.group(client_id)})
