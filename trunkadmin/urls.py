"""URL map: staff admin, self-serve pages, REST API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from channels_app.views.webhooks import whatsapp_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/app/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("app/", include("channels_app.urls")),
    path("api/", include("channels_app.api.urls")),
    # Each WhatsApp trunk's own webhook (docs/whatsapp.md): Meta calls it, no login, no CSRF.
    path("webhooks/whatsapp/<str:webhook_id>", whatsapp_webhook, name="whatsapp-webhook"),
    # The SIP edge's calls to the product (docs/routing.md); authenticated by SIP_EDGE_SECRET.
    path("internal/edge/", include("channels_app.edge.urls")),
]
