"""The interactive API docs page (/api/docs): Swagger UI from drf-spectacular-sidecar, no CDN.

The split view loads its init script from a URL instead of inline, so the project's strict CSP
(`script-src 'self'; style-src 'self'`) holds on this page too.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "trunkadmin API"
