"""REST API routes, under /api/."""

from django.urls import path

from channels_app.api import health

urlpatterns = [
    path("v1/health", health.health, name="api-health"),
]
