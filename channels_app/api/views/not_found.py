"""Anything else under /api/: the envelope, not Django's HTML 404."""

from __future__ import annotations

from rest_framework import exceptions as drf_exceptions
from rest_framework.views import APIView


class NotFoundView(APIView):
    """Unknown API addresses answer the envelope, not Django's HTML 404."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = {"Vary": "Accept"}
        response = self.handle_exception(drf_exceptions.NotFound())
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
