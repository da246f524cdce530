"""Create an API token for a workspace and print only the token on stdout."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from channels_app import services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import TokenScope, Workspace


class Command(BaseCommand):
    help = "Create an API token for WORKSPACE_SLUG; prints only the token (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("workspace_slug")
        parser.add_argument("--name", default="command-line token")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ_WRITE)
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, workspace_slug: str, name: str, scope: str, expires_in_days: int | None, **options):
        workspace = Workspace.objects.filter(slug=workspace_slug).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {workspace_slug!r}.")
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            _, plaintext = services.token_create(
                workspace=workspace,
                actor=Actor.command("create_api_token"),
                name=name,
                scope=scope,
                expires_at=expires_at,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.fields or ''}".strip()) from exc
        self.stdout.write(plaintext)
