"""Who may call a field, set on the field itself (`permission_classes=[…]`), whatever the gate
in front: `Anyone` (the account fields a request without a token reaches), `Customer` (a signed-in
customer, not a staff member). A refusal raises the gateway's own typed errors, so the answer
keeps its `extensions.code` (`UNAUTHENTICATED`, `FORBIDDEN`)."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from gateway.errors import Forbidden


class Anyone(BasePermission):
    """No token needed (login, registration, password recovery…)."""

    message = "Accessible sans authentification."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


class Customer(BasePermission):
    """A signed-in customer acting on their own account."""

    message = "Authentification requise."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = (
            info.context.require_principal()
        )  # raises UNAUTHENTICATED (or why the token failed)
        if principal.is_staff:
            raise Forbidden("Seul le client peut gérer son compte.")
        return True
