"""Intermediate actions built the way Django's own `delete_selected` is.

The first call of an action renders a confirmation page that carries the selection as hidden
`_selected_action` inputs, with the action's name and a `post` marker. The confirming POST comes
back through the changelist's action machinery with the same queryset, and the action runs its
service for every row in one transaction: all of them or none, each refusal shown on its row.

A change page reuses an action for its one object with a small form that posts `action` and
`_selected_action` to the changelist (`admin/channels_app/action_button.html`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from channels_app.admin.base import changelist_url
from channels_app.errors import DomainError

M = TypeVar("M", bound=Model)

# A request must end well within the web server's timeout, whatever "select all" selected.
MAX_SELECTED = 100


def confirmed(request: HttpRequest) -> bool:
    """True for the POST of the confirmation page (the marker Django's delete_selected uses)."""
    return request.POST.get("post") == "yes"


def selection(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[M]) -> list[M] | None:
    """The selected rows; None, with a message, when none is left or more than MAX_SELECTED are."""
    rows = list(queryset[: MAX_SELECTED + 1])
    if not rows:
        modeladmin.message_user(
            request,
            _("No %(name)s were selected.") % {"name": modeladmin.opts.verbose_name_plural},
            messages.WARNING,
        )
        return None
    if len(rows) > MAX_SELECTED:
        modeladmin.message_user(
            request, _("Select at most %(n)d rows for this action.") % {"n": MAX_SELECTED}, messages.ERROR
        )
        return None
    return rows


def each_or_none(rows: Sequence[M], perform: Callable[[M], Any]) -> dict[int, DomainError]:
    """Run `perform` on every row in one transaction; when any is refused, undo them all.

    Every row is tried (each service call takes its own savepoint), so the page can show every
    row's problem at once. Returns the refusals by primary key: empty when everything was done.
    """
    errors: dict[int, DomainError] = {}
    with transaction.atomic():
        for row in rows:
            try:
                perform(row)
            except DomainError as exc:
                errors[row.pk] = exc
        if errors:
            transaction.set_rollback(True)
    return errors


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    selected: Sequence[Model],
    back_url: str | None = None,
    **context: Any,
) -> TemplateResponse:
    """The page asking to confirm `action` on `selected`: `admin/<app>/<model>/<action>_confirmation.html`.

    Its form posts back to the changelist the selection, the action's name and the `post` marker.
    """
    opts = modeladmin.opts
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        f"admin/{opts.app_label}/{opts.model_name}/{action}_confirmation.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": [obj.pk for obj in selected],
            "back_url": back_url or changelist_url(opts),
            "media": modeladmin.media,
            **context,
        },
    )
