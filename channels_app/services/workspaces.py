"""A workspace's own settings (docs/rules.md `default-region`), set by its admins or by staff."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from channels_app import numbers
from channels_app.audit import Actor
from channels_app.errors import ValidationFailed
from channels_app.models import Workspace
from channels_app.services.base import clean_fields, write_service


@write_service
def workspace_update_settings(*, workspace: Workspace, actor: Actor, default_region: Any) -> Workspace:
    """Set the default region: an ISO 3166 alpha-2 code the number metadata knows, or "" for none.
    It changes how numbers typed without `+` are read from now on; stored numbers stay as they are."""
    if not isinstance(default_region, str):
        raise ValidationFailed.single("default_region", _("Must be a string."))
    region = default_region.strip().upper()
    if region and region not in numbers.REGIONS:
        raise ValidationFailed.single(
            "default_region", _("Must be a two-letter country code the number metadata knows, e.g. US.")
        )
    if region != workspace.default_region:
        workspace.default_region = region
        clean_fields(workspace, exclude=("slug", "name"))
        workspace.save(update_fields=["default_region"])
    return workspace
