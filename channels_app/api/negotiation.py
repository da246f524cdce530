"""JSON in and out, whatever the client's Accept header says (no 406 outside the contract)."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class JSONOnly(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
