"""Self-serve pages for customers, under /app/<workspace_slug>/ (see each module)."""

from .bindings import BindingAssignView, BindingDeleteView, PurchasedBindView, TrunkUpdateView
from .numbers import (
    HomeView,
    NumberDetailView,
    NumberListView,
    NumberShortLinkView,
    TrunkCheckView,
    TrunkRegisterView,
    WorkspaceHomeView,
)
from .routing import NumberExplainView, TrunkTestCallView
from .settings import WorkspaceSettingsView
from .tokens import TokenListView, TokenRevokeView

__all__ = [
    "BindingAssignView",
    "BindingDeleteView",
    "HomeView",
    "NumberDetailView",
    "NumberExplainView",
    "NumberListView",
    "NumberShortLinkView",
    "PurchasedBindView",
    "TokenListView",
    "TokenRevokeView",
    "TrunkCheckView",
    "TrunkRegisterView",
    "TrunkTestCallView",
    "TrunkUpdateView",
    "WorkspaceHomeView",
    "WorkspaceSettingsView",
]
