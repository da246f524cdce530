"""The error envelope for every failure: parse errors, media types, methods, unknown paths, throttling,
unexpected errors. Nothing but the envelope is ever returned."""

from __future__ import annotations

import pytest

from channels_app.models import PhoneNumber
from tests import api_support
from tests.api_support import error

api, anonymous = api_support.api, api_support.anonymous
pytestmark = pytest.mark.django_db

INVALID_JSON = error("INVALID_JSON", "Invalid JSON", "The request body is not valid JSON.")
NOT_AN_OBJECT = error("INVALID_JSON", "Invalid JSON", "The request body must be a JSON object.")
UNSUPPORTED = error("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", "Send the body as application/json.")


@pytest.mark.parametrize(
    "raw",
    ["{", '{"phone_number": }', "NaN", '{"a": NaN}', "\xff\xfe", '{"a": 1}}', '{"name": "\\ud800"}', '{"\\udfff": 1}'],
)
def test_a_body_that_is_not_json_is_invalid_json(api, agent_a, raw):
    response = api.post("/phone-numbers/trunks", raw=raw)
    assert response.status_code == 400
    assert response.json() == INVALID_JSON


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_invalid_json(api, agent_a, raw):
    response = api.post("/phone-numbers/trunks", raw=raw)
    assert response.status_code == 400
    assert response.json() == NOT_AN_OBJECT


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None]
)
def test_a_body_that_is_not_sent_as_json_is_unsupported_media_type(api, agent_a, content_type):
    response = api.post("/phone-numbers/trunks", raw="phone_number=1", content_type=content_type)
    assert response.status_code == 415
    assert response.json() == UNSUPPORTED


def test_a_method_the_endpoint_does_not_have_is_method_not_allowed(api, purchased_a):
    for method, path in [
        ("PUT", "/phone-numbers"),
        ("DELETE", "/agents"),
        ("GET", f"/phone-numbers/{purchased_a.phone_number_uuid}"),
        ("GET", "/phone-numbers/trunks/assign"),
        ("OPTIONS", "/phone-numbers/trunks"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 405
        assert response.json() == error("METHOD_NOT_ALLOWED", "Method not allowed", f'Method "{method}" not allowed.')
    assert api.request("PUT", "/phone-numbers")["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v1/phone-numbers/", "/api/v2/agents", "/api/"])
def test_an_unknown_api_address_is_not_found_as_json(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == error("NOT_FOUND", "Not found", "No API resource at this address.")


def test_the_api_answers_json_whatever_the_accept_header(api):
    response = api.get("/agents", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_an_unexpected_error_is_internal_error_without_any_detail(api, purchased_a, caplog):
    # Real bad data (not a mock): a stored value the representation cannot handle.
    PhoneNumber.objects.filter(pk=purchased_a.pk).update(compliance_requirements=5)
    response = api.get("/phone-numbers")
    assert response.status_code == 500
    assert response.json() == error("INTERNAL_ERROR", "Internal server error", "Something went wrong on our side.")
    assert "Traceback" not in response.content.decode() and "TypeError" not in response.content.decode()
    assert any(record.name == "channels_app.api" for record in caplog.records)


def test_over_the_token_rate_the_api_answers_rate_limited_with_retry_after(api, workspace_a, settings):
    settings.API_THROTTLE_RATE = "3/minute"
    assert [api.get("/agents").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/agents")
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.json() == error(
        "RATE_LIMITED", "Too many requests", f"This token made too many requests; retry in {retry_after} seconds."
    )


def test_the_rate_is_counted_per_token(client, workspace_a, token_a, token_a_read, settings):
    settings.API_THROTTLE_RATE = "2/minute"
    first, second = api_support.ApiClient(client, token_a), api_support.ApiClient(client, token_a_read)
    assert [first.get("/agents").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/agents").status_code == 200


def test_health_is_never_throttled(anonymous, settings):
    settings.API_THROTTLE_RATE = "1/minute"
    assert [anonymous.get("/health").status_code for _ in range(3)] == [200, 200, 200]
