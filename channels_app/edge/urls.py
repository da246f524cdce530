"""The edge's internal endpoints, under /internal/edge/ (not part of the public API or its schema)."""

from django.urls import path

from channels_app.edge import views

urlpatterns = [
    path("route", views.route, name="edge-route"),
    path("digest", views.digest_answer, name="edge-digest"),
]
