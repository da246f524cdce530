"""Self-serve form of API tokens."""

from __future__ import annotations

import secrets

from django import forms
from django.utils.translation import gettext_lazy as _

from channels_app.models import TokenScope

EXPIRY_CHOICES = [
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In 1 year")),
    ("never", _("Never")),
]


def form_nonce() -> str:
    """A one-time value for a form that must not act twice when it is posted again (a reload)."""
    return secrets.token_urlsafe(32)


class TokenCreateForm(forms.Form):
    """Create an API token. Length and scope rules live on the model and the service.

    `nonce` is new each time the form is shown: the service creates one token per nonce, so
    reloading the page that answered the post creates nothing (services.token_create).
    """

    name = forms.CharField(
        label=_("Name"),
        help_text=_("What uses it, e.g. “CRM sync”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=[
            (TokenScope.READ_WRITE, _("Read and write")),
            (TokenScope.READ, _("Read only")),
        ],
        initial=TokenScope.READ_WRITE,
        widget=forms.RadioSelect,
    )
    expires_in = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, initial="90")
    nonce = forms.RegexField(regex=r"^[A-Za-z0-9_-]{43}$", widget=forms.HiddenInput, initial=form_nonce)

    def expiry_days(self) -> int | None:
        value = self.cleaned_data["expires_in"]
        return None if value == "never" else int(value)
