"""What the customer can fix, as every mutation payload's `userErrors { field code message }`.

`field` is the camelCase input path (`beneficiaries.2.share`), null for the whole input; `code`
is one `UserErrorCode` for every mutation; `message` is French, for the customer. A resolver
reports them as `resolvers.problems.Problem`s; `user_errors` maps them, one mapping for all.
"""

from __future__ import annotations

import enum

import strawberry

from gateway.resolvers.problems import Problem


@strawberry.enum(description="Why an input value was refused.")
class UserErrorCode(enum.Enum):
    REQUIRED = strawberry.enum_value("REQUIRED", description="Une valeur est attendue.")
    INVALID = strawberry.enum_value("INVALID", description="La valeur n'a pas le bon format.")
    MISMATCH = strawberry.enum_value("MISMATCH", description="La confirmation ne correspond pas.")
    REFUSED = strawberry.enum_value(
        "REFUSED", description="Le système de gestion a refusé la valeur."
    )
    # ---- accounts and sessions (schema/accounts/) ----
    IDENTITY_NOT_RECOGNISED = strawberry.enum_value(
        "IDENTITY_NOT_RECOGNISED",
        description="Les informations d'identité ne correspondent à aucun adhérent.",
    )
    TERMS_NOT_ACCEPTED = strawberry.enum_value(
        "TERMS_NOT_ACCEPTED", description="Les conditions d'utilisation ne sont pas acceptées."
    )
    ALREADY_REGISTERED = strawberry.enum_value(
        "ALREADY_REGISTERED", description="Un compte existe déjà pour cet adhérent."
    )
    EMAIL_TAKEN = strawberry.enum_value(
        "EMAIL_TAKEN", description="L'adresse e-mail est déjà l'identifiant d'un autre compte."
    )
    WEAK_PASSWORD = strawberry.enum_value(
        "WEAK_PASSWORD", description="Le mot de passe enfreint une règle de sécurité."
    )
    INVALID_TOKEN = strawberry.enum_value(
        "INVALID_TOKEN", description="Le lien est expiré, déjà utilisé ou remplacé."
    )
    INVALID_CREDENTIALS = strawberry.enum_value(
        "INVALID_CREDENTIALS", description="Identifiant ou mot de passe incorrect."
    )
    LOCKED = strawberry.enum_value(
        "LOCKED", description="Compte verrouillé : réinitialiser le mot de passe le débloque."
    )
    SESSION_ENDED = strawberry.enum_value(
        "SESSION_ENDED", description="La session a pris fin : se reconnecter."
    )
    LINK_REFUSED = strawberry.enum_value(
        "LINK_REFUSED", description="Ce compte ne peut pas être rattaché."
    )
    NOT_LINKED = strawberry.enum_value(
        "NOT_LINKED", description="Ce compte ne fait pas partie des comptes réunis."
    )
    # ---- second factor and step-up (schema/security/) ----
    SECOND_FACTOR_REQUIRED = strawberry.enum_value(
        "SECOND_FACTOR_REQUIRED",
        description="Saisissez le code de votre double authentification.",
    )
    INVALID_CODE = strawberry.enum_value("INVALID_CODE", description="Code incorrect ou expiré.")
    TOO_MANY_CODES = strawberry.enum_value(
        "TOO_MANY_CODES", description="Trop de codes demandés : réessayez plus tard."
    )
    STEP_UP_REQUIRED = strawberry.enum_value(
        "STEP_UP_REQUIRED", description="Confirmez votre identité pour cette opération."
    )
    SECOND_FACTOR_ACTIVE = strawberry.enum_value(
        "SECOND_FACTOR_ACTIVE",
        description="La double authentification est déjà activée : désactivez-la d'abord.",
    )
    SECOND_FACTOR_INACTIVE = strawberry.enum_value(
        "SECOND_FACTOR_INACTIVE", description="La double authentification n'est pas activée."
    )
    NO_PENDING_ENROLMENT = strawberry.enum_value(
        "NO_PENDING_ENROLMENT", description="Aucune activation en cours : recommencez."
    )
    NO_MOBILE = strawberry.enum_value("NO_MOBILE", description="Aucun numéro de mobile enregistré.")
    # ---- passkeys (schema/security/) ----
    PASSKEY_INVALID = strawberry.enum_value(
        "PASSKEY_INVALID", description="La clé d'accès n'a pas pu être vérifiée."
    )
    PASSKEY_LIMIT = strawberry.enum_value(
        "PASSKEY_LIMIT", description="Nombre maximal de clés d'accès atteint (10)."
    )
    # ---- devices and alerts (schema/security/) ----
    ALWAYS_ON = strawberry.enum_value(
        "ALWAYS_ON", description="Les alertes de sécurité sont toujours envoyées par e-mail."
    )
    CURRENT_SESSION = strawberry.enum_value(
        "CURRENT_SESSION", description="Pour cet appareil, utilisez « Se déconnecter »."
    )
    # ---- démarches: demandes, contract acts, certificates ----
    IDEMPOTENCY_CONFLICT = strawberry.enum_value(
        "IDEMPOTENCY_CONFLICT", description="La clé d'idempotence a servi pour une autre saisie."
    )
    IN_PROGRESS = strawberry.enum_value(
        "IN_PROGRESS", description="La même demande est en cours de traitement."
    )
    UNKNOWN = strawberry.enum_value("UNKNOWN", description="Introuvable (ou pas au client).")
    NOT_OFFERED = strawberry.enum_value(
        "NOT_OFFERED", description="Cette démarche n'est pas proposée pour ce contrat."
    )
    NOT_ALLOWED = strawberry.enum_value(
        "NOT_ALLOWED", description="Les règles du contrat ne le permettent pas."
    )
    TERMINATED = strawberry.enum_value("TERMINATED", description="Le contrat n'est plus en cours.")
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="Le texte est trop long.")
    TOO_MANY = strawberry.enum_value("TOO_MANY", description="La liste est trop longue.")
    ALREADY_USED = strawberry.enum_value(
        "ALREADY_USED", description="La pièce jointe a déjà été envoyée."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="La pièce jointe a plus de 24 heures.")
    TOO_LARGE = strawberry.enum_value("TOO_LARGE", description="Le fichier dépasse 10 Mo.")
    UNSUPPORTED_TYPE = strawberry.enum_value(
        "UNSUPPORTED_TYPE",
        description="Le fichier, ou l'extension de son nom, n'est ni PDF, ni JPEG, ni PNG.",
    )
    TYPE_MISMATCH = strawberry.enum_value(
        "TYPE_MISMATCH", description="Le contenu du fichier n'est pas du type que son nom annonce."
    )
    UNREADABLE = strawberry.enum_value(
        "UNREADABLE", description="Le fichier ne se lit pas comme son type (incomplet, protégé)."
    )
    ACTIVE_CONTENT = strawberry.enum_value(
        "ACTIVE_CONTENT",
        description="Le fichier contient du code : JavaScript, actions, fichiers joints, HTML.",
    )
    INFECTED = strawberry.enum_value("INFECTED", description="L'antivirus a trouvé un virus.")
    SHARES = strawberry.enum_value("SHARES", description="Les parts ne totalisent pas 100 %.")
    UNCHANGED = strawberry.enum_value("UNCHANGED", description="C'est déjà la valeur en vigueur.")


@strawberry.type(description="A problem with one input field, to show next to it.")
class UserError:
    field: str | None = strawberry.field(
        description="Input field at fault (camelCase); null: the whole input."
    )
    code: UserErrorCode = strawberry.field(description="Kind of problem.")
    message: str = strawberry.field(description="French message for the customer.")


def user_errors(problems: list[Problem]) -> list[UserError]:
    """The payload's `userErrors` for what a resolver refused (every mutation's, one mapping)."""
    return [
        UserError(field=p.field, code=UserErrorCode[p.code], message=p.message) for p in problems
    ]
