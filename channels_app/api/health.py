"""GET /api/v1/health: the database answers and the keys decrypt what is stored. No auth."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.encryption_health import check_stored_values

from .envelope import error_body
from .schema import errors
from .serializers import HealthEnvelope


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        tags=["Health"],
        summary="Database reachable and encryption keys able to decrypt what is stored",
        auth=[],
        responses={200: HealthEnvelope, **errors(authenticated=False)},
    )
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            encryption = check_stored_values(sample=1)
        except DatabaseError:
            return self._unavailable("Database unreachable")
        if not encryption.ok:
            return self._unavailable("Encryption key cannot decrypt stored credentials")
        return self._never_cache(
            Response({"success": True, "message": "OK", "data": {"database": "ok", "encryption": "ok"}})
        )

    def _unavailable(self, details: str) -> Response:
        body = error_body("SERVICE_UNAVAILABLE", "Service unavailable", details=details)
        return self._never_cache(Response(body, status=503, headers={"Retry-After": "30"}))

    @staticmethod
    def _never_cache(response: Response) -> Response:
        add_never_cache_headers(response)
        return response


health = HealthView.as_view()
