"""Self-serve pages, under /app/."""

from django.urls import path

from channels_app import views

app_name = "app"

urlpatterns = [
    path("", views.home, name="home"),
]
