"""Check every trunk of a workspace (or of all workspaces) and print a summary: call trunks over
SIP, WhatsApp lines against the Graph API."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from channels_app import selectors, services
from channels_app.audit import Actor
from channels_app.errors import DomainError
from channels_app.models import Workspace
from channels_app.sip import HealthStatus
from channels_app.whatsapp.status import WhatsappHealth

MAX_CONCURRENCY = 16
# Outcomes that are not a check result, counted in the summary next to the statuses.
SKIPPED_NO_GATEWAY = "skipped_no_gateway"
SKIPPED_NO_LINE = "skipped_no_line"
SKIPPED_RATE_LIMITED = "skipped_rate_limited"
FAILED = "failed"
PROBLEMS = {
    HealthStatus.AUTH_FAILED,
    HealthStatus.UNREACHABLE,
    HealthStatus.DNS_FAILED,
    HealthStatus.REFUSED,
    WhatsappHealth.NUMBER_MISMATCH,
}


class Command(BaseCommand):
    help = (
        "Check the trunks of WORKSPACE_SLUG (or of every workspace): for call trunks OPTIONS to each gateway "
        "and a digest REGISTER when credentials are stored; for WhatsApp lines the number read from the Graph "
        "API. Stores each result on its trunk."
    )

    def add_arguments(self, parser):
        parser.add_argument("workspace_slug", nargs="?", help="only this workspace (default: every workspace)")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=4,
            help=f"trunks checked at the same time (1-{MAX_CONCURRENCY}, default 4)",
        )
        parser.add_argument(
            "--fail-on-problem",
            action="store_true",
            help="exit with status 2 when a trunk is auth_failed, unreachable, dns_failed, refused or number_mismatch",
        )

    def handle(self, *args, workspace_slug: str | None, concurrency: int, fail_on_problem: bool, **options):
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise CommandError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}.")
        workspace = None
        if workspace_slug is not None:
            workspace = Workspace.objects.filter(slug=workspace_slug).first()
            if workspace is None:
                raise CommandError(f"No workspace with slug {workspace_slug!r}.")
        calls = list(selectors.call_trunks_for_check(workspace=workspace))
        lines = list(selectors.whatsapp_trunks_for_check(workspace=workspace))
        trunks = calls + lines
        scope = f"workspace {workspace_slug}" if workspace_slug else "all workspaces"
        what = f"{len(calls)} call trunk(s)" + (f" and {len(lines)} WhatsApp line(s)" if lines else "")
        self.stdout.write(f"Checking {what} of {scope}, {concurrency} at a time.")
        actor = Actor.command("check_trunks")
        counts: Counter[str] = Counter()
        total = len(trunks)

        def report(done: int, trunk, outcome: str, text: str) -> None:
            counts[outcome] += 1
            style = self.style.SUCCESS if outcome in (HealthStatus.OK, HealthStatus.REACHABLE) else self.style.WARNING
            kind = " whatsapp" if trunk.channel == "whatsapp" else ""
            line = f"[{done}/{total}] {trunk.workspace.slug} {trunk.phone_number.number}{kind}: "
            self.stdout.write(line + style(outcome) + (f" - {text}" if text else ""))

        to_check = []
        done = 0
        for trunk in trunks:
            if getattr(trunk, "has_gateway", False) or getattr(trunk, "has_line", False):
                to_check.append(trunk)
            elif hasattr(trunk, "has_line"):
                done += 1
                report(done, trunk, SKIPPED_NO_LINE, "no phone number id or access token set")
            else:
                done += 1
                report(done, trunk, SKIPPED_NO_GATEWAY, "no gateway set")

        if concurrency == 1:
            for trunk in to_check:
                done += 1
                report(done, trunk, *_check(trunk, actor))
        else:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check-trunks") as pool:
                futures = {pool.submit(_check_in_thread, trunk, actor): trunk for trunk in to_check}
                for future in as_completed(futures):
                    done += 1
                    report(done, futures[future], *future.result())

        summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(counts.items())) or "nothing to check"
        self.stdout.write(f"Checked {total} trunk(s): {summary}.")
        if fail_on_problem and any(counts[status] for status in PROBLEMS):
            raise CommandError("Some trunks have problems (see above).", returncode=2)


def _check(trunk, actor: Actor) -> tuple[str, str]:
    """(outcome, one line of detail) for one trunk; never raises for a trunk's own problem."""
    try:
        binding = services.any_trunk_check(
            workspace=trunk.workspace, actor=actor, phone_number=str(trunk.phone_number.number), channel=trunk.channel
        )
    except DomainError as exc:
        if exc.code == "RATE_LIMITED":
            return SKIPPED_RATE_LIMITED, exc.details
        return FAILED, f"{exc.code}: {exc.details}"
    if binding.channel == "whatsapp":
        return binding.health_status, (binding.health_details or {}).get("message", "")
    gateways = (binding.health_details or {}).get("gateways", [])
    return binding.health_status, " | ".join(gateway.get("message", "") for gateway in gateways)


def _check_in_thread(trunk, actor: Actor) -> tuple[str, str]:
    """`_check` on a pool thread, which has its own database connection to close."""
    try:
        return _check(trunk, actor)
    finally:
        connections.close_all()
