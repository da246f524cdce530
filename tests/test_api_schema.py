"""The OpenAPI document: generated without warnings, errors declared on every operation, patterns,
enums, write-only secrets and the additive headers; the docs page is served without any CDN."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command

from channels_app.errors import ERROR_STATUS

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    with django_db_blocker.unblock():
        # --fail-on-warn: any warning or error of the generator fails this fixture (and every test).
        call_command("spectacular", "--fail-on-warn", "--validate", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_schema_generates_without_warnings_and_lists_every_contract_endpoint(schema):
    assert {(path, method) for path, method, _ in operations(schema)} == {
        ("/api/v1/phone-numbers", "get"),
        ("/api/v1/phone-numbers/{phone_number_uuid}", "patch"),
        ("/api/v1/phone-numbers/{phone_number_uuid}/channels", "get"),
        ("/api/v1/phone-numbers/channels", "get"),
        ("/api/v1/phone-numbers/{phone_number_uuid}/release", "post"),
        ("/api/v1/phone-numbers/{phone_number_uuid}/events", "get"),
        ("/api/v1/phone-numbers/trunks", "get"),
        ("/api/v1/phone-numbers/trunks", "post"),
        ("/api/v1/phone-numbers/trunks", "patch"),
        ("/api/v1/phone-numbers/trunks", "delete"),
        ("/api/v1/phone-numbers/trunks/assign", "put"),
        ("/api/v1/phone-numbers/trunks/check", "post"),
        ("/api/v1/routing/explain", "post"),
        ("/api/v1/phone-numbers/trunks/test-call", "post"),
        ("/api/v1/agents", "get"),
        ("/api/v1/agents/{agent_uuid}/channels/sms", "post"),
        ("/api/v1/agents/{agent_uuid}/channels/call/provision", "post"),
        ("/api/v1/health", "get"),
    }


def test_every_operation_declares_the_error_envelope_with_the_code_enum(schema):
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["required"]) == {"success", "message", "error"}
    detail = resolve(schema, envelope["properties"]["error"])
    assert set(detail["properties"]["code"]["enum"]) == set(ERROR_STATUS)
    assert set(detail["required"]) == {"code", "details", "field"}
    for path, method, operation in operations(schema):
        declared = {
            int(status)
            for status, response in operation["responses"].items()
            if response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
        }
        assert {500, 503} <= declared, (path, method)
        if path != "/api/v1/health":
            assert {401, 429} <= declared, (path, method)
            assert operation["security"] == [{"bearerAuth": []}]
        if method != "get":
            assert 403 in declared, (path, method)
        if method in ("post", "put", "patch"):
            assert {400, 415, 422} <= declared, (path, method)


def test_numbers_in_responses_carry_the_e164_pattern(schema):
    components = schema["components"]["schemas"]
    for name in ("Snapshot", "PhoneNumber"):
        assert components[name]["properties"]["number"]["pattern"] == r"^\+[1-9][0-9]{6,14}$"
    assert re.match(components["Snapshot"]["properties"]["number"]["pattern"], "+12025550123")


def test_enums_are_declared(schema):
    components = schema["components"]["schemas"]
    create = components["TrunkCreateRequest"]["properties"]
    assert create["channel"]["enum"] == ["call", "whatsapp"]
    assert create["direction"]["enum"] == ["inbound", "outbound", "both"]
    assert components["Snapshot"]["properties"]["source"]["enum"] == ["purchased", "external"]
    assert components["Event"]["properties"]["door"]["enum"] == ["admin", "self_serve", "api", "command", None]


def test_sip_username_and_password_are_write_only_and_never_in_a_response(schema):
    components = schema["components"]["schemas"]
    for name in ("TrunkCreateRequest", "TrunkUpdateRequest"):
        sip = components[name]["properties"]["sip"]["properties"]
        assert sip["username"]["writeOnly"] is True
        assert sip["password"]["writeOnly"] is True
    output = components["SipOutput"]["properties"]
    assert "username" not in output and "password" not in output
    assert {"has_username", "has_password", "credentials_updated_at"} <= set(output)


def test_the_additive_headers_and_parameters_are_declared(schema):
    ops = {(path, method): operation for path, method, operation in operations(schema)}

    def params(key):
        return {(p["in"], p["name"]) for p in ops[key].get("parameters", [])}

    for key in ops:
        if key[1] in ("post", "put"):
            assert ("header", "Idempotency-Key") in params(key), key
    for key in [
        ("/api/v1/phone-numbers/trunks", "patch"),
        ("/api/v1/phone-numbers/trunks/assign", "put"),
        ("/api/v1/phone-numbers/trunks", "delete"),
    ]:
        assert ("header", "If-Match") in params(key)
        assert 412 in {int(s) for s in ops[key]["responses"]}
    for key in [
        ("/api/v1/phone-numbers/trunks", "post"),
        ("/api/v1/phone-numbers/trunks", "patch"),
        ("/api/v1/phone-numbers/trunks/assign", "put"),
        ("/api/v1/phone-numbers/trunks", "delete"),
    ]:
        assert ("query", "dry_run") in params(key)
    snapshot = ops[("/api/v1/phone-numbers/{phone_number_uuid}/channels", "get")]
    assert "ETag" in snapshot["responses"]["200"]["headers"]
    assert "Retry-After" in snapshot["responses"]["429"]["headers"]
    assert list(ops[("/api/v1/phone-numbers/trunks", "post")]["responses"])[:2] == ["201", "200"]


def test_the_trunk_check_declares_its_errors_and_the_health_block(schema):
    check = schema["paths"]["/api/v1/phone-numbers/trunks/check"]["post"]
    assert {int(status) for status in check["responses"]} == {200, 400, 401, 403, 404, 415, 422, 429, 500, 503}
    assert "Retry-After" in check["responses"]["429"]["headers"]
    assert "ETag" in check["responses"]["200"]["headers"]
    components = schema["components"]["schemas"]
    request = components["TrunkCheckRequest"]
    assert set(request["required"]) == {"phone_number", "channel"}
    assert request["properties"]["channel"]["enum"] == ["call", "whatsapp"]
    either = resolve(schema, components["Trunk"]["properties"]["health"]["allOf"][0])
    health, line = (resolve(schema, kind) for kind in either["oneOf"])
    statuses = ["ok", "reachable", "auth_failed", "unreachable", "dns_failed", "refused"]
    assert health["properties"]["status"]["enum"] == statuses
    assert line["properties"]["status"]["enum"] == ["ok", "auth_failed", "number_mismatch", "unreachable"]
    assert set(line["required"]) >= {"status", "checked_at", "message", "display_phone_number", "verified_name"}
    gateway = components["GatewayHealth"]
    assert gateway["properties"]["status"]["enum"] == statuses
    assert set(gateway["required"]) == {
        "role",
        "host",
        "port",
        "address",
        "status",
        "status_line",
        "rtt_ms",
        "register",
        "message",
    }


def test_the_schema_is_served_as_json_without_a_token(client):
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response.json()["info"]["title"] == "trunkadmin API"


def test_the_docs_page_loads_everything_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "<style" not in html and "<script>" not in html  # nothing inline for the CSP to refuse
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    script = client.get("/api/docs?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema" in script.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
