"""Token scopes: `read` tokens may only read; writes need `read_write` (INSUFFICIENT_SCOPE)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from channels_app.errors import DomainError


class TokenScope(BasePermission):
    """Authenticated by a token, and the token's scope allows the method. A view with
    `reads_only = True` changes nothing on any method (the routing explainer's POST)."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            return False  # DRF turns this into NotAuthenticated: MISSING_AUTH_TOKEN
        if request.method in SAFE_METHODS or getattr(view, "reads_only", False) or token.can_write:
            return True
        raise DomainError(
            "INSUFFICIENT_SCOPE",
            "This token cannot make changes",
            details="The token's scope is read; this request needs a read_write token.",
        )
