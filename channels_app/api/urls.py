"""REST API routes, under /api/ (docs/api.md). Paths have no trailing slash."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

from channels_app.api import docs, health, views

urlpatterns = [
    path("v1/health", health.health, name="api-health"),
    path("v1/schema", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("docs", docs.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/phone-numbers", views.PhoneNumberListView.as_view(), name="api-phone-numbers"),
    path("v1/phone-numbers/trunks", views.TrunkView.as_view(), name="api-trunks"),
    path("v1/phone-numbers/trunks/assign", views.TrunkAssignView.as_view(), name="api-trunks-assign"),
    path("v1/phone-numbers/trunks/check", views.TrunkCheckView.as_view(), name="api-trunks-check"),
    path("v1/phone-numbers/trunks/test-call", views.TrunkTestCallView.as_view(), name="api-trunks-test-call"),
    path("v1/routing/explain", views.RoutingExplainView.as_view(), name="api-routing-explain"),
    path("v1/phone-numbers/channels", views.PhoneNumberChannelsByNumberView.as_view(), name="api-channels-by-number"),
    path("v1/phone-numbers/<str:phone_number_uuid>", views.PhoneNumberDetailView.as_view(), name="api-phone-number"),
    path(
        "v1/phone-numbers/<str:phone_number_uuid>/channels",
        views.PhoneNumberChannelsView.as_view(),
        name="api-phone-number-channels",
    ),
    path(
        "v1/phone-numbers/<str:phone_number_uuid>/release",
        views.PhoneNumberReleaseView.as_view(),
        name="api-phone-number-release",
    ),
    path(
        "v1/phone-numbers/<str:phone_number_uuid>/events",
        views.PhoneNumberEventsView.as_view(),
        name="api-phone-number-events",
    ),
    path("v1/agents", views.AgentListView.as_view(), name="api-agents"),
    path("v1/agents/<str:agent_uuid>/channels/sms", views.AgentSmsView.as_view(), name="api-agent-sms"),
    path(
        "v1/agents/<str:agent_uuid>/channels/call/provision",
        views.AgentCallProvisionView.as_view(),
        name="api-agent-call-provision",
    ),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="api-not-found"),
]
