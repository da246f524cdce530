"""Seed the demo data (README, "Run it"). Idempotent: running it again changes nothing but the demo
token, which is re-issued (its plaintext is never stored, so this is the only way to show one)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from channels_app import services
from channels_app.audit import Actor, acting_as
from channels_app.models import Agent, ApiToken, Membership, PhoneNumber, Role, Workspace

DEMO_WORKSPACES = {
    "acme": {
        "name": "Acme Telecom",
        "agents": ["Reception", "Support line", "Sales desk", "After hours"],
        "numbers": [
            ("+12025550101", {"voice": True, "sms": True, "mms": True}),
            ("+12025550102", {"voice": True, "sms": True}),
            ("+12025550103", {"voice": True, "sms": False}),
            ("+18005550104", {"voice": True, "sms": False}),
        ],
    },
    "globex": {
        "name": "Globex Corporation",
        "agents": ["Front desk", "Billing", "Dispatch"],
        "numbers": [
            ("+14155550111", {"voice": True, "sms": True}),
            ("+14155550112", {"voice": True, "sms": False}),
            ("+442071838750", {"voice": True, "sms": True}),
        ],
    },
}
DEMO_TOKEN_NAME = "demo token"  # noqa: S105 - a label, not a secret


class Command(BaseCommand):
    help = "Create the demo workspaces, users, agents and purchased numbers; print logins and a token."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo-password-123", help="Password for every demo login.")
        parser.add_argument("--no-token", action="store_true", help="Do not (re-)issue the demo API token.")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the product is served, for the printed links."
        )

    def handle(self, *args, password: str, no_token: bool, base_url: str, **options):
        actor = Actor.command("seed_demo")
        with transaction.atomic(), acting_as(actor):
            self._user("staff", password, is_staff=True, is_superuser=True)
            for slug, spec in DEMO_WORKSPACES.items():
                workspace, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": spec["name"]})
                for username, role in ((f"{slug}-admin", Role.ADMIN), (f"{slug}-viewer", Role.VIEWER)):
                    user = self._user(username, password)
                    Membership.objects.update_or_create(user=user, workspace=workspace, defaults={"role": role})
                for name in spec["agents"]:
                    Agent.objects.get_or_create(workspace=workspace, name=name)
                for number, capabilities in spec["numbers"]:
                    if not PhoneNumber.objects.filter(number=number).exists():
                        services.number_add_purchased(
                            workspace=workspace, actor=actor, number=number, capabilities=capabilities
                        )
            token_text = None
            if not no_token:
                acme = Workspace.objects.get(slug="acme")
                for old in ApiToken.objects.filter(workspace=acme, name=DEMO_TOKEN_NAME, revoked_at__isnull=True):
                    services.token_revoke(workspace=acme, actor=actor, token_uuid=old.uuid)
                _, token_text = services.token_create(workspace=acme, actor=actor, name=DEMO_TOKEN_NAME)

        out = self.stdout
        base_url = base_url.rstrip("/")
        out.write(self.style.SUCCESS("Demo data ready."))
        out.write(f"  Staff admin:   {base_url}/admin/   staff / {password}")
        out.write(f"  Self-serve:    {base_url}/app/     acme-admin / {password}")
        out.write(f"                 (also acme-viewer, globex-admin, globex-viewer / {password})")
        if token_text:
            out.write(f"  API token (workspace acme, read_write, shown once): {token_text}")
            out.write(f'  Try: curl -H "Authorization: Bearer {token_text}" {base_url}/api/v1/phone-numbers')

    def _user(self, username: str, password: str, *, is_staff: bool = False, is_superuser: bool = False):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": is_staff, "is_superuser": is_superuser}
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        return user
