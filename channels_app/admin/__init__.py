"""The staff admin (docs/admin.md): every model, search by number in any spelling, the same rules
and messages as the API (every write goes through channels_app.services), secrets write-only,
audit trails, bulk registration from CSV and the everyday support actions.

See docs/admin.md.
"""

from django.contrib import admin
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from channels_app.admin import (  # noqa: F401 - registers
    binding_admin,
    delivery_admin,
    number_admin,
    tenant_admin,
    token_admin,
)

admin.site.site_header = _("trunkadmin staff admin")
admin.site.site_title = _("trunkadmin")
admin.site.index_title = _("Numbers, trunks and workspaces")
# The changelists need the width: the index and the breadcrumbs lead everywhere the sidebar did.
admin.site.enable_nav_sidebar = False
# "View site" leads staff to every workspace, in the admin (docs/admin.md).
admin.site.site_url = reverse_lazy("admin:channels_app_workspace_overview")
