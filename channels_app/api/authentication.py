"""Bearer authentication on the workspace API tokens (docs/api.md, "Tokens").

A token that is not of our format (prefix, body, checksum) is refused before any database query.
A well-formed one is looked up by its hash; `last_used_at` is written at most once a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from channels_app import selectors, services
from channels_app.models import ApiToken, Workspace

MISSING_MESSAGE = "Authentication required"
MISSING_DETAILS = "No authorization header provided"
INVALID_MESSAGE = "Invalid authentication token"
INVALID_DETAILS = "The provided token is invalid or has been revoked"


class MissingToken(exceptions.NotAuthenticated):
    default_code = "MISSING_AUTH_TOKEN"


class InvalidToken(exceptions.AuthenticationFailed):
    default_code = "INVALID_AUTH_TOKEN"


@dataclass(frozen=True)
class TokenPrincipal:
    """`request.user` for a token request: the workspace acting through one token."""

    token: ApiToken

    is_authenticated = True
    is_anonymous = False

    @property
    def workspace(self) -> Workspace:
        return self.token.workspace

    @property
    def pk(self):  # DRF's throttles and logging look for a pk
        return self.token.uuid

    def __str__(self) -> str:
        return f"token {self.token.prefix}…"


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tka_…`. No header means "not authenticated" (MISSING_AUTH_TOKEN)."""

    keyword = "bearer"

    def authenticate(self, request):
        header = get_authorization_header(request)
        if not header.strip():
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.encode():
            raise InvalidToken()
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidToken() from exc
        token = selectors.token_by_secret(raw)  # malformed: refused here without a query
        if token is None:
            raise InvalidToken()
        services.token_touch(token)
        return TokenPrincipal(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tka_ + 43 characters + 6-character checksum",
            "description": "A workspace API token, created on the self-serve Tokens page.",
        }
