"""Shared machinery of the staff admin: service-backed forms, capped changelists, small helpers.

The admin is a door like the API and the self-serve pages: it shapes input and output and calls
channels_app.services with `Actor(door=Door.ADMIN, user=request.user)`. Nothing here restates a
rule; a refusal from a service is shown next to the field it names, with the service's message.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import construct_change_message, unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import router, transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from channels_app.audit import Actor, Door
from channels_app.errors import DomainError
from channels_app.fieldpaths import add_domain_error, add_dry_run_errors

DEFAULT_COUNT_CAP = 10_000
# A primary key as the changelist's checkboxes send it: ASCII digits that fit a 64-bit integer.
# (`int()` also reads the decimal digits of every script, "\u0665" -> 5; the database refuses more digits.)
PRIMARY_KEY = re.compile(r"[0-9]{1,18}")
MAX_SEARCH = 255  # characters of a changelist search: a number in any spelling, a name, a token prefix


def _beyond_any_key(value: str) -> bool:
    """ASCII digits too many for a 64-bit key: no row has it, and the driver cannot even send it."""
    return value.isascii() and value.isdigit() and not PRIMARY_KEY.fullmatch(value)


def admin_actor(request: HttpRequest) -> Actor:
    """The actor for every write made through the staff admin."""
    return Actor(door=Door.ADMIN, user=request.user)


def admin_url(obj: Model, view: str = "change") -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk])


def changelist_url(opts: Any) -> str:
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def missing_object(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
    """The answer of the admin's own views to an id that names no row: a message, then the list."""
    modeladmin.message_user(
        request,
        _("%(name)s with ID “%(key)s” doesn’t exist. Perhaps it was deleted?")  # noqa: RUF001 - Django's own text
        % {"name": modeladmin.opts.verbose_name, "key": unquote(object_id)},
        messages.WARNING,
    )
    return HttpResponseRedirect(changelist_url(modeladmin.opts))


class ServiceForm(forms.ModelForm):
    """A ModelForm for the admin's change views whose "save" is one service call.

    The service runs in `clean()`, once the fields are valid, in a savepoint: a refusal rolls it
    back and lands on the form next to its field, so the admin re-renders the form with the
    contract's message and nothing written. When a field is refused already, the service still
    runs on the rest as a dry run, so every mistake shows after one submit (`perform` reads
    refused fields as not given). On success `result` holds what the service returned
    and `save()` hands it to the admin.
    No model field is bound or validated by the form (ServiceAdminMixin gives it `fields=[]` and
    excludes every model field): every input is declared, so stored values, the SIP secrets above
    all, never reach the form unless a form puts them there, and the service, which validates the
    whole input and lets the database have the last word, is the only validation of the model.
    """

    request: HttpRequest | None = None  # set per request by ServiceAdminMixin.get_form

    class Meta:
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.result: Any = None

    @property
    def actor(self) -> Actor:
        return admin_actor(self.request)

    def perform(self, data: dict[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # Inputs without which the service cannot be asked at all (a dry run needs its workspace).
    needed: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if self.errors:  # a field is refused already: the service says what else is wrong
            if all(name in cleaned_data for name in self.needed):
                add_dry_run_errors(self, lambda: self.perform(cleaned_data))
        else:
            try:
                with transaction.atomic():
                    self.result = self.perform(cleaned_data)
            except DomainError as exc:
                add_domain_error(self, exc)
        if self.errors:
            self.note_dropped_secrets()
        return cleaned_data

    def note_dropped_secrets(self) -> None:
        """A secret typed into a refused form is not rendered back: its field says so."""
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.PasswordInput) and self.data.get(self.add_prefix(name)):
                note = _("Not kept, for your safety: type it again before you save.")
                field.help_text = self[name].help_text = note  # the bound field keeps its own copy

    def save(self, commit: bool = True) -> Any:
        return self.result


class ServiceAdminMixin:
    """ModelAdmin glue for ServiceForm: pass the request in, save through the service only.

    A POST the admin did not accept (a refusal, a formset error: `save_model` was never reached)
    is rolled back whole, so a rejected form never leaves a partial write behind.
    """

    def get_exclude(self, request, obj=None) -> list[str]:
        # Every model field. A declared input named like one (`name`, `sip_gateway`) is then not
        # validated on the instance, which the form never fills: the service validates the input.
        return [field.name for field in self.model._meta.fields]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = []  # every input is declared on the form (see ServiceForm)
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and not getattr(request, "admin_form_accepted", False):
                transaction.set_rollback(True)
        return response

    def save_form(self, request, form, change):
        return form.save(commit=False)

    def save_model(self, request, obj, form, change):
        """Already saved by the service during validation; the admin accepted the whole POST."""
        request.admin_form_accepted = True

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited through these forms (inlines are read-only)."""

    def construct_change_message(self, request, form, formsets, add=False):
        # Field names only, never values: the admin log says "Changed SIP password", nothing more.
        return construct_change_message(form, [], add)


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows, so a changelist never counts a huge table in full.

    The changelist then says "more than 10,000" instead of the exact total; search and filters
    narrow the list to something countable. The cap is the ADMIN_CHANGELIST_COUNT_CAP setting.
    """

    @cached_property
    def cap(self) -> int:
        return int(getattr(settings, "ADMIN_CHANGELIST_COUNT_CAP", DEFAULT_COUNT_CAP))

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "order_by"):
            return object_list.order_by()[: self.cap + 1].count()
        return len(object_list)

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


class ChangeListMixin:
    """What every changelist here shares: it stays fast on 100,000 rows (no full count, a capped
    one), and an action runs only on a selection of well-formed primary keys.

    Django's action machinery filters `pk__in` the posted `_selected_action` values as they are:
    "abc", "²" or a 30-digit number make that filter raise, a 500. Such a selection is refused
    with a message before any action sees it. A filter in the address (`?workspace=`) with a
    number beyond any key overflows the database driver when the query runs, after Django's own
    check of lookups, and PostgreSQL refuses a NUL character in any text: either leads back to the
    plain list with a message. A search of thousands of characters is more than SQLite's LIKE
    takes, and one with NUL more than PostgreSQL takes: it finds nothing, with a message.
    """

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME) if request.method == "POST" else []
        if not all(PRIMARY_KEY.fullmatch(value) for value in selected):
            self.message_user(request, _("The selection is not valid. Select the rows again."), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        query = request.GET
        filters = [value for name in query if name != SEARCH_VAR for value in query.getlist(name)]
        if any(_beyond_any_key(value) or "\x00" in value for value in filters):
            self.message_user(request, _("A filter in the address is not valid."), messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        if len(search_term) > MAX_SEARCH or "\x00" in search_term:
            message = _("A search of more than %(n)d characters, or with a NUL character, finds nothing.") % {
                "n": MAX_SEARCH
            }
            self.message_user(request, message, messages.WARNING)
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows rows: every change goes through a service from its own page."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
