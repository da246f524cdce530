"""The statuses a trunk check reports, shared by the engine, the model field and the doors."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class HealthStatus(models.TextChoices):
    """Outcome of a trunk check, for one gateway and for the trunk as a whole."""

    OK = "ok", _("Reachable, credentials accepted")
    REACHABLE = "reachable", _("Reachable, credentials not verified")
    AUTH_FAILED = "auth_failed", _("Credentials refused")
    UNREACHABLE = "unreachable", _("No answer")
    DNS_FAILED = "dns_failed", _("Gateway name does not resolve")
    REFUSED = "refused", _("Address not allowed")


# How far a gateway's check got, least first. The trunk's status is its least advanced gateway's:
# a check exists to say what needs attention, and a working primary does not hide a broken backup.
PROGRESS = (
    HealthStatus.DNS_FAILED,
    HealthStatus.REFUSED,
    HealthStatus.UNREACHABLE,
    HealthStatus.AUTH_FAILED,
    HealthStatus.REACHABLE,
    HealthStatus.OK,
)


def overall(statuses: list[str]) -> str:
    """The trunk's status from its gateways' statuses (the least advanced one)."""
    return min(statuses, key=PROGRESS.index)
