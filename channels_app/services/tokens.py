"""API tokens: created (shown once), revoked, and their use recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.audit import Actor, acting_user, mark
from channels_app.errors import DomainError
from channels_app.models import ApiToken, TokenScope, Workspace
from channels_app.services.base import clean_fields, parse_uuid, raise_if, write_service
from channels_app.tokens import display_prefix, generate, hash_token


@write_service
def token_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    scope: str = TokenScope.READ_WRITE,
    expires_at: datetime | None = None,
    creation_nonce: str | None = None,
) -> tuple[ApiToken, str | None]:
    """Create a token; returns it with its plaintext, which is never stored nor shown again.

    `creation_nonce` is the one-time value of the form that asks (the self-serve page): a form
    posted again (a reload, a double click) creates nothing and returns the token it created first,
    with None for the plaintext that cannot be shown twice. The constraint
    `uniq_api_token_creation_nonce` settles two posts that arrive together.
    """
    if creation_nonce is not None:
        created = _created_by_form(workspace, creation_nonce)
        if created is not None:
            return created, None
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = [_("Give the token a name.")]
    if scope not in TokenScope.values:
        errors["scope"] = [_("Must be one of: %(choices)s.") % {"choices": ", ".join(TokenScope.values)}]
    if expires_at is not None:
        if not isinstance(expires_at, datetime) or timezone.is_naive(expires_at):
            errors["expires_at"] = [_("Must be a date and time with a time zone.")]
        elif expires_at <= timezone.now():
            errors["expires_at"] = [_("Must be in the future.")]
    raise_if(errors)
    plaintext = generate()
    token = ApiToken(
        workspace=workspace,
        name=name.strip(),
        scope=scope,
        prefix=display_prefix(plaintext),
        token_hash=hash_token(plaintext),
        created_by=acting_user(actor),
        expires_at=expires_at,
        creation_nonce=creation_nonce,
    )
    clean_fields(token, exclude=("workspace", "created_by", "token_hash"))
    mark(token, action="created")
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError:
        created = _created_by_form(workspace, creation_nonce) if creation_nonce is not None else None
        if created is None:
            raise
        return created, None  # the same form, posted at the same moment, won
    return token, plaintext


def _created_by_form(workspace: Workspace, creation_nonce: str) -> ApiToken | None:
    return ApiToken.objects.filter(workspace=workspace, creation_nonce=creation_nonce).first()


@write_service
def token_revoke(*, workspace: Workspace, actor: Actor, token_uuid: object) -> ApiToken:
    """Revoke a token of the workspace; revoking twice keeps the first time."""
    token = (
        ApiToken.objects.select_for_update().filter(workspace=workspace, uuid=parse_uuid(token_uuid, "token")).first()
    )
    if token is None:
        raise DomainError("NOT_FOUND", _("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        mark(token, action="revoked")
        token.save(update_fields=["revoked_at"])
    return token


TOKEN_TOUCH_INTERVAL_SECONDS = 60


def token_touch(token: ApiToken) -> None:
    """Record use at most once a minute: one UPDATE that matches nothing inside the minute."""
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < TOKEN_TOUCH_INTERVAL_SECONDS:
        return
    stale = now - timedelta(seconds=TOKEN_TOUCH_INTERVAL_SECONDS)
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
        last_used_at=now
    )
    token.last_used_at = now
