"""OpenAPI helpers: the error envelope on every operation, the extra headers, common parameters."""

from __future__ import annotations

import inspect
from collections import defaultdict

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from channels_app.errors import ERROR_STATUS

from .serializers import ErrorEnvelopeSerializer

CODES_BY_STATUS: dict[int, list[str]] = defaultdict(list)
for _code, _status in ERROR_STATUS.items():
    if _code != "PERMISSION_DENIED":  # not raised by the API: a read-only token is INSUFFICIENT_SCOPE
        CODES_BY_STATUS[_status].append(_code)

_WHEN = {
    400: "The body is not valid JSON or not a JSON object.",
    401: "No token, or a malformed, unknown, expired or revoked one.",
    403: "A read-only token on a write.",
    404: "Unknown, or belongs to another workspace.",
    409: "The change conflicts with the current bindings or inventory.",
    412: "If-Match does not match the current ETag.",
    415: "The body is not sent as application/json.",
    422: "The input is not valid (error.fields lists every offending field), or breaks a rule.",
    429: "Too many requests for this token; see Retry-After.",
    500: "Unexpected error; nothing is leaked.",
    503: "Temporarily unavailable (database, encryption keys, or a concurrent request with the same "
    "Idempotency-Key); see Retry-After.",
}

# Every authenticated operation can answer these.
COMMON = (401, 429, 500, 503)
# Operations that read a JSON body.
WITH_BODY = (400, 403, 415, 422)


def errors(*statuses: int, authenticated: bool = True) -> dict[int, OpenApiResponse]:
    wanted = sorted(set(statuses) | (set(COMMON) if authenticated else {500, 503}))
    return {
        status: OpenApiResponse(
            ErrorEnvelopeSerializer,
            description=f"{_WHEN[status]} Codes: {', '.join(CODES_BY_STATUS[status])}.",
        )
        for status in wanted
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and body within 24 h replays the first response "
    "(marked Idempotent-Replayed: true); another body with the same key is IDEMPOTENCY_KEY_REUSED.",
    pattern=r"^[\x21-\x7E]{1,255}$",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the number's snapshot you read; the write is refused with 412 "
    "PRECONDITION_FAILED if the number changed since.",
)
DRY_RUN = OpenApiParameter(
    "dry_run",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="Validate and answer with the would-be snapshot; nothing is written, no audit event.",
)
PAGE = OpenApiParameter(
    "page", {"type": "integer", "minimum": 1, "default": 1}, OpenApiParameter.QUERY, description="From 1."
)
PER_PAGE = OpenApiParameter(
    "per_page",
    {"type": "integer", "minimum": 1, "maximum": 100, "default": 15},
    OpenApiParameter.QUERY,
    description="Default 15, at most 100.",
)

# operationId -> response headers to declare on its successes.
ETAG_OPERATIONS = {
    "phone_numbers_channels_retrieve",
    "phone_numbers_channels_by_number",
    "trunks_create",
    "trunks_update",
    "trunks_assign",
    "trunks_delete",
    "trunks_check",
    "agents_sms_assign",
}
IDEMPOTENT_OPERATIONS = {
    "phone_numbers_release",
    "trunks_create",
    "trunks_assign",
    "trunks_check",
    "trunks_test_call",
    "agents_sms_assign",
    "agents_call_provision",
    "routing_explain",
}

_HEADERS = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Version of the number's snapshot; send it back as If-Match on a trunk write.",
    },
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."},
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present when this response is a replay for a repeated Idempotency-Key.",
    },
}


def add_response_headers(result, generator, request, public):
    """Postprocessing hook: declare ETag, Retry-After and Idempotent-Replayed where they are sent."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            operation_id = operation.get("operationId")
            for status, response in operation.get("responses", {}).items():
                headers = {}
                if status.startswith("2") and operation_id in ETAG_OPERATIONS:
                    headers["ETag"] = _HEADERS["ETag"]
                if status.startswith("2") and operation_id in IDEMPOTENT_OPERATIONS:
                    headers["Idempotent-Replayed"] = _HEADERS["Idempotent-Replayed"]
                if status in ("429", "503"):
                    headers["Retry-After"] = _HEADERS["Retry-After"]
                if headers:
                    response.setdefault("headers", {}).update(headers)
    return result


class ProductAutoSchema(AutoSchema):
    """drf-spectacular's schema, describing an operation only by what its own view says.

    The stock AutoSchema falls back to the docstring a view inherits, so every endpoint without a
    docstring of its own showed the base class's note for developers as its description."""

    def get_description(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = type(self.view).__dict__.get("__doc__")
        return get_doc(method) or (inspect.cleandoc(own) if own else "")
