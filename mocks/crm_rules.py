"""Validation rules of the CRM contract, kept apart from the routes that apply them.

Each check appends `{"champ", "message"}` details; the caller answers `400` with all of them, so
one invalid value never writes anything.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^\+33[67][0-9]{8}$")
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
REFERENCE_EXTERNE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
PIECE_ID = re.compile(r"^PJ-[0-9]{6}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")

Details = list[dict[str, str]]

CATALOGUE: list[dict[str, Any]] = [
    {
        "code": code,
        "libelle": label,
        "categorie": category,
        "champsRequis": required,
        "familles": families,
    }
    for code, label, category, required, families in [
        (
            "JUSTIF_REMB",
            "Envoi de justificatif de remboursement",
            "SANTE",
            ["numContrat", "beneficiaires", "piecesJointes"],
            ["SAN"],
        ),
        (
            "DEVIS",
            "Envoi de devis",
            "SANTE",
            ["numContrat", "beneficiaires", "piecesJointes"],
            ["SAN"],
        ),
        (
            "PEC_HOSPI",
            "Demande de prise en charge hospitalière",
            "SANTE",
            ["numContrat", "beneficiaires", "description"],
            ["SAN"],
        ),
        (
            "ATTEST_TP",
            "Attestation de tiers payant santé",
            "SANTE",
            ["numContrat", "beneficiaires"],
            ["SAN"],
        ),
        ("COORDONNEES", "Modification de vos coordonnées", "VIE_PERSONNELLE", ["description"], []),
        (
            "ETAT_CIVIL",
            "Modification - Rectification des données d'état civil",
            "VIE_PERSONNELLE",
            ["description", "piecesJointes"],
            [],
        ),
        (
            "RIB",
            "Gestion de vos coordonnées bancaires",
            "VIE_PERSONNELLE",
            ["numContrat", "piecesJointes"],
            ["SAN", "PRV", "EPA", "RET", "IAR"],
        ),
        (
            "BENEF_INFO",
            "Informations sur vos bénéficiaires",
            "VIE_PERSONNELLE",
            ["numContrat"],
            ["SAN", "PRV"],
        ),
        (
            "PROLONG_ENFANT",
            "Prolongation des droits d'un enfant majeur",
            "VIE_PERSONNELLE",
            ["numContrat", "beneficiaires", "piecesJointes"],
            ["SAN"],
        ),
        (
            "SITU_FAMILLE",
            "Changement de situation familiale",
            "VIE_PERSONNELLE",
            ["description", "piecesJointes"],
            [],
        ),
        (
            "AUTRE_INFO",
            "Transmission ou obtention d'autres informations",
            "VIE_PERSONNELLE",
            ["sujet", "description"],
            [],
        ),
        ("PROROGATION", "Prorogation / Prolongation", "CONTRAT", ["numContrat"], ["EPA", "RET"]),
        (
            "BENEF",
            "Désignation des bénéficiaires",
            "CONTRAT",
            ["numContrat", "description"],
            ["PRV", "EPA", "RET"],
        ),
        (
            "PROLONG_INVAL_ACT",
            "Prolongation rente invalidité complément à activité professionnelle",
            "CONTRAT",
            ["numContrat", "piecesJointes"],
            ["PRV"],
        ),
        (
            "PROLONG_INVAL_SANS",
            "Prolongation rente invalidité sans activité professionnelle",
            "CONTRAT",
            ["numContrat", "piecesJointes"],
            ["PRV"],
        ),
        ("CERT_MED", "Certificat médical", "CONTRAT", ["numContrat", "piecesJointes"], ["PRV"]),
        (
            "AVIS_IMPO",
            "Dépôt avis d'imposition",
            "CONTRAT",
            ["numContrat", "piecesJointes"],
            ["PRV"],
        ),
        (
            "CHG_SITU_PRO",
            "Changement de situation professionnelle",
            "CONTRAT",
            ["numContrat", "description"],
            ["PRV"],
        ),
        (
            "DECES",
            "Déclaration de décès",
            "CONTRAT",
            ["numContrat", "description"],
            ["PRV", "EPA", "RET"],
        ),
        ("RESIL", "Résiliation", "CONTRAT", ["numContrat"], ["SAN", "PRV", "IAR"]),
        (
            "DATE_PRLV",
            "Changement de date de prélèvement",
            "CONTRAT",
            ["numContrat", "description"],
            ["SAN", "PRV", "IAR"],
        ),
        (
            "SINISTRE_PJ",
            "Déclaration de sinistre protection juridique",
            "CONTRAT",
            ["description"],
            ["IAR"],
        ),
        ("MESSAGE", "Transmettre un message", "CONTACT", ["sujet", "description"], []),
        ("RECLAMATION", "Réclamation", "RECLAMATION", ["sujet", "description"], []),
    ]
]
TYPES = {t["code"]: t for t in CATALOGUE}


def detail(champ: str, message: str) -> dict[str, str]:
    return {"champ": champ, "message": message}


def unknown_fields(body: dict[str, Any], allowed: set[str], prefix: str = "") -> Details:
    return [detail(f"{prefix}{k}", "Propriété inconnue") for k in body if k not in allowed]


def string(
    body: dict[str, Any],
    name: str,
    details: Details,
    *,
    nullable: bool = False,
    max_length: int | None = None,
    min_length: int = 0,
    pattern: re.Pattern[str] | None = None,
    message: str = "Valeur invalide",
    required: bool = False,
) -> None:
    if name not in body:
        if required:
            details.append(detail(name, "Champ obligatoire"))
        return
    value = body[name]
    if value is None and nullable:
        return
    if not isinstance(value, str):
        details.append(detail(name, "Chaîne de caractères attendue"))
    elif len(value) < min_length or (max_length is not None and len(value) > max_length):
        details.append(
            detail(name, f"Longueur comprise entre {min_length} et {max_length} attendue")
        )
    elif pattern is not None and not pattern.match(value):
        details.append(detail(name, message))


def address(value: Any, details: Details) -> None:
    if not isinstance(value, dict):
        details.append(detail("adresse", "Adresse attendue"))
        return
    details.extend(unknown_fields(value, {"lignes", "codePostal", "ville", "pays"}, "adresse."))
    lines = value.get("lignes")
    if not isinstance(lines, list) or not 1 <= len(lines) <= 4:
        details.append(detail("adresse.lignes", "1 à 4 lignes attendues"))
    else:
        for i, line in enumerate(lines):
            if not isinstance(line, str) or not 1 <= len(line) <= 38:
                details.append(
                    detail(f"adresse.lignes[{i}]", "Ligne de 1 à 38 caractères attendue")
                )
    for name, high in (("codePostal", 10), ("ville", 38)):
        item = value.get(name)
        if not isinstance(item, str) or not 1 <= len(item) <= high:
            details.append(detail(f"adresse.{name}", f"Valeur de 1 à {high} caractères attendue"))
    country = value.get("pays")
    if not isinstance(country, str) or not COUNTRY.match(country):
        details.append(detail("adresse.pays", "Code pays ISO 3166-1 alpha-2 attendu"))
    elif country == "FR" and not re.fullmatch(r"[0-9]{5}", str(value.get("codePostal", ""))):
        details.append(detail("adresse.codePostal", "Code postal français à 5 chiffres attendu"))


def contact(body: dict[str, Any]) -> Details:
    details = unknown_fields(body, {"email", "mobile", "telephoneFixe", "adresse"})
    if not body:
        details.append(detail("", "Au moins une coordonnée est attendue"))
    string(
        body,
        "email",
        details,
        nullable=True,
        max_length=254,
        pattern=EMAIL,
        message="Adresse e-mail invalide",
    )
    string(
        body,
        "mobile",
        details,
        nullable=True,
        pattern=MOBILE,
        message="Le mobile doit être un numéro de mobile français au format +336XXXXXXXX ou "
        "+337XXXXXXXX",
    )
    string(
        body, "telephoneFixe", details, nullable=True, pattern=PHONE, message="Numéro E.164 attendu"
    )
    if "adresse" in body:
        address(body["adresse"], details)
    return details


def preferences(body: dict[str, Any]) -> Details:
    details = unknown_fields(body, {"dematerialisation", "consentements"})
    if not isinstance(body.get("dematerialisation"), bool):
        details.append(detail("dematerialisation", "Booléen attendu"))
    consents = body.get("consentements")
    names = ("offresGroupe", "communicationCiblee", "questionnaireSatisfaction")
    if not isinstance(consents, dict):
        details.append(detail("consentements", "Objet attendu"))
    else:
        details.extend(unknown_fields(consents, set(names), "consentements."))
        details.extend(
            detail(f"consentements.{n}", "Booléen attendu")
            for n in names
            if not isinstance(consents.get(n), bool)
        )
    return details


def new_demande(body: dict[str, Any]) -> Details:
    allowed = {
        "type",
        "numContrat",
        "beneficiaires",
        "sujet",
        "detail",
        "description",
        "piecesJointes",
        "reclamation",
        "referenceExterne",
    }
    details = unknown_fields(body, allowed)
    string(body, "type", details, required=True)
    string(body, "numContrat", details, nullable=True, max_length=20)
    string(body, "sujet", details, nullable=True, max_length=100)
    string(body, "detail", details, nullable=True, max_length=100)
    string(body, "description", details, nullable=True, max_length=4000)
    string(
        body,
        "referenceExterne",
        details,
        nullable=True,
        pattern=REFERENCE_EXTERNE,
        message="Référence externe invalide",
    )
    names = body.get("beneficiaires", [])
    if (
        not isinstance(names, list)
        or len(names) > 10
        or not all(isinstance(n, str) and 1 <= len(n) <= 80 for n in names)
    ):
        details.append(
            detail("beneficiaires", "Liste de 0 à 10 noms de 1 à 80 caractères attendue")
        )
    pieces = body.get("piecesJointes", [])
    if not isinstance(pieces, list) or len(pieces) > 5:
        details.append(detail("piecesJointes", "Liste de 0 à 5 pièces jointes attendue"))
    else:
        for i, piece in enumerate(pieces):
            if not isinstance(piece, str) or not PIECE_ID.match(piece) or pieces.index(piece) != i:
                details.append(
                    detail(f"piecesJointes[{i}]", "Identifiant de pièce jointe invalide ou répété")
                )
    if "reclamation" in body and not isinstance(body["reclamation"], bool):
        details.append(detail("reclamation", "Booléen attendu"))
    return details


def missing_required(body: dict[str, Any], kind: dict[str, Any]) -> Details:
    details = []
    for name in kind["champsRequis"]:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            details.append(detail(name, "Champ obligatoire pour ce type de demande"))
    return details


def password_rules(password: str, champ: str) -> Details:
    broken = []
    if not 12 <= len(password) <= 64:
        broken.append("Entre 12 et 64 caractères")
    if not any(c.islower() for c in password):
        broken.append("Au moins une lettre minuscule")
    if not any(c.isupper() for c in password):
        broken.append("Au moins une lettre majuscule")
    if not any(c in "0123456789" for c in password):
        broken.append("Au moins un chiffre")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        broken.append("Au moins un caractère spécial")
    if any(unicodedata.category(c) == "Cc" for c in password):
        broken.append("Aucun caractère de contrôle")
    return [detail(champ, message) for message in broken]


def fold(text: str) -> str:
    """Case-, accent- and hyphen/space-insensitive form of a name."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return re.sub(r"[\s\-]", "", stripped).casefold()


def registration(body: dict[str, Any]) -> Details:
    common = {"type", "numeroAdherent", "email"}
    person = {"nom", "prenom", "dateNaissance"}
    company = {"numeroSite", "siret", "codeConfidentiel"}
    details = unknown_fields(body, common | person | company)
    kind = body.get("type")
    if kind not in ("PP", "PM"):
        details.append(detail("type", "PP ou PM attendu"))
        return details
    own, other = (person, company) if kind == "PP" else (company, person)
    details.extend(
        detail(k, "Propriété réservée à l'autre type de client") for k in body if k in other
    )
    string(body, "numeroAdherent", details, required=True, pattern=re.compile(r"^[0-9]{8}$"))
    string(
        body,
        "email",
        details,
        required=True,
        max_length=254,
        pattern=EMAIL,
        message="Adresse e-mail invalide",
    )
    patterns = {
        "numeroSite": r"^[0-9]{4}$",
        "siret": r"^[0-9]{14}$",
        "codeConfidentiel": r"^[A-Z0-9]{8}$",
    }
    for name in sorted(own):
        if name in patterns:
            string(body, name, details, required=True, pattern=re.compile(patterns[name]))
        elif name == "dateNaissance":
            string(body, name, details, required=True)
            if isinstance(body.get(name), str) and not is_date(body[name]):
                details.append(detail(name, "Date attendue au format AAAA-MM-JJ"))
        else:
            string(
                body,
                name,
                details,
                required=True,
                min_length=1,
                max_length=80 if name == "nom" else 60,
            )
    return details


def credentials(body: dict[str, Any], fields: tuple[str, str], highs: tuple[int, int]) -> Details:
    details = unknown_fields(body, set(fields))
    for name, high in zip(fields, highs, strict=True):
        string(body, name, details, required=True, min_length=1, max_length=high)
    return details


def token_and_password(body: dict[str, Any]) -> Details:
    details = unknown_fields(body, {"jeton", "motDePasse"})
    string(body, "jeton", details, required=True, pattern=TOKEN, message="Jeton invalide")
    string(body, "motDePasse", details, required=True, min_length=1, max_length=256)
    return details


def is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value))
