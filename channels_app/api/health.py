"""GET /api/v1/health: the database answers and the keys decrypt what is stored. No auth."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from channels_app.encryption_health import check_stored_values


@never_cache
@require_GET
def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        encryption = check_stored_values(sample=1)
    except DatabaseError:
        return _unavailable("Database unreachable")
    if not encryption.ok:
        return _unavailable("Encryption key cannot decrypt stored credentials")
    return JsonResponse({"success": True, "message": "OK", "data": {"database": "ok", "encryption": "ok"}})


def _unavailable(details: str) -> JsonResponse:
    response = JsonResponse(
        {
            "success": False,
            "message": "Service unavailable",
            "error": {"code": "SERVICE_UNAVAILABLE", "details": details, "field": None},
        },
        status=503,
    )
    response["Retry-After"] = "30"
    return response
