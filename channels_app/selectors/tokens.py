"""The workspace's API tokens, and the token a request presents."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from channels_app import tokens
from channels_app.errors import NotFound
from channels_app.models import ApiToken, Workspace


def token_list(*, workspace: Workspace) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(workspace=workspace).select_related("created_by").order_by("-created_at", "-id")


def token_get(*, workspace: Workspace, token_uuid: Any) -> ApiToken:
    """One token of the workspace (revoked and expired included); anything else is NotFound."""
    try:
        key = uuid.UUID(str(token_uuid))
    except ValueError as exc:
        raise NotFound("NOT_FOUND", "Token") from exc
    token = ApiToken.objects.filter(workspace=workspace, uuid=key).select_related("created_by").first()
    if token is None:
        raise NotFound("NOT_FOUND", "Token")
    return token


def token_by_secret(raw: str) -> ApiToken | None:
    """The active token for a presented secret, or None. A malformed one costs no query."""
    if not tokens.is_well_formed(raw):
        return None
    token = (
        ApiToken.objects.select_related("workspace")
        .filter(token_hash=tokens.hash_token(raw), revoked_at__isnull=True)
        .order_by()  # the hash is unique: no sort
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= timezone.now()):
        return None
    return token
