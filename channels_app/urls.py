"""Self-serve pages, under /app/. The workspace is in the URL; numbers are named by their UUID."""

from django.urls import path

from channels_app import views

app_name = "app"

_binding = "<slug:workspace_slug>/numbers/<uuid:phone_number_uuid>/<str:channel>"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("numbers/<uuid:phone_number_uuid>/", views.NumberShortLinkView.as_view(), name="number_short_link"),
    path("<slug:workspace_slug>/", views.WorkspaceHomeView.as_view(), name="workspace_home"),
    path("<slug:workspace_slug>/numbers/", views.NumberListView.as_view(), name="number_list"),
    path("<slug:workspace_slug>/numbers/register/", views.TrunkRegisterView.as_view(), name="trunk_register"),
    path(
        "<slug:workspace_slug>/numbers/<uuid:phone_number_uuid>/",
        views.NumberDetailView.as_view(),
        name="number_detail",
    ),
    path(
        "<slug:workspace_slug>/numbers/<uuid:phone_number_uuid>/explain/",
        views.NumberExplainView.as_view(),
        name="number_explain",
    ),
    path(f"{_binding}/edit/", views.TrunkUpdateView.as_view(), name="trunk_update"),
    path(f"{_binding}/assign/", views.BindingAssignView.as_view(), name="binding_assign"),
    path(f"{_binding}/delete/", views.BindingDeleteView.as_view(), name="binding_delete"),
    path(f"{_binding}/bind/", views.PurchasedBindView.as_view(), name="binding_create"),
    path(f"{_binding}/check/", views.TrunkCheckView.as_view(), name="trunk_check"),
    path(f"{_binding}/test-call/", views.TrunkTestCallView.as_view(), name="trunk_test_call"),
    path("<slug:workspace_slug>/tokens/", views.TokenListView.as_view(), name="token_list"),
    path("<slug:workspace_slug>/settings/", views.WorkspaceSettingsView.as_view(), name="workspace_settings"),
    path(
        "<slug:workspace_slug>/tokens/<uuid:token_uuid>/revoke/",
        views.TokenRevokeView.as_view(),
        name="token_revoke",
    ),
]
