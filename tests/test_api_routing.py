"""POST /api/v1/routing/explain: the shapes of docs/routing.md, validation, scope and tenancy."""

from __future__ import annotations

import pytest

from tests import api_support
from tests import routing_scenarios as world
from tests.api_support import MISSING_AUTH, validation

api, api_read, anonymous = api_support.api, api_support.api_read, api_support.anonymous
pytestmark = pytest.mark.django_db

URL = "/routing/explain"


@pytest.fixture
def routing(settings, workspace_a, workspace_b, command_actor):
    settings.AGENT_SOURCE_ADDRESSES = [world.MEDIA_SERVERS]
    settings.AGENT_SIP_URI = "sip:{agent_uuid}@127.0.0.50:5070"
    return world.build_world(workspace_a, workspace_b, command_actor)


def test_an_inbound_relay_is_explained_with_its_target_and_steps_to_a_read_token(api_read, routing):
    binding = routing[world.N_DIGITS]
    response = api_read.post(URL, {"direction": "inbound", "to": "14155550102", "source_ip": world.CARRIER_DIGITS})
    assert response.status_code == 200
    agent = str(binding.agent.agent_uuid)
    assert response.json() == {
        "success": True,
        "message": "Routing explained",
        "data": {
            "decision": "relay",
            "sip_status": None,
            "reason_code": None,
            "message": f"Relayed to the agent {binding.agent.name} at sip:{agent}@127.0.0.50:5070.",
            "binding": {
                "phone_number_uuid": str(binding.phone_number.phone_number_uuid),
                "number": world.N_DIGITS,
                "channel": "call",
                "agent_uuid": agent,
                "trunk_name": "call_trunk_14155550102",
            },
            "target": {
                "uri": f"sip:{agent}@127.0.0.50:5070",
                "headers": {
                    "X-Trunkadmin-Agent": agent,
                    "X-Trunkadmin-Number": world.N_DIGITS,
                    "X-Trunkadmin-Binding": str(binding.uuid),
                    "X-Trunkadmin-Workspace": "ws-a",
                },
            },
            "steps": [
                {
                    "check": "source_address",
                    "passed": True,
                    "detail": "127.0.0.12 is an inbound address of a trunk of this installation.",
                },
                {
                    "check": "number",
                    "passed": True,
                    "detail": "“14155550102” is +14155550102, the number of call trunk call_trunk_14155550102, "
                    "which accepts 127.0.0.12.",
                },
                {
                    "check": "direction",
                    "passed": True,
                    "detail": "Call trunk call_trunk_14155550102 takes inbound calls (direction both).",
                },
                {"check": "agent", "passed": True, "detail": f"The agent {binding.agent.name} is active."},
            ],
        },
    }


def test_a_rejected_outbound_call_names_its_reason_and_status(api, routing):
    response = api.post(URL, {"direction": "outbound", "from_number": "+1 415 555 0108", "to": "+14155550142"})
    data = response.json()["data"]
    assert (data["decision"], data["sip_status"], data["reason_code"]) == ("reject", 403, "DESTINATION_NOT_ALLOWED")
    assert data["message"] == "+14155550142 is in US, outside this number's voice destinations (GB)."
    assert [step["check"] for step in data["steps"]] == ["number", "direction", "destination"]
    assert data["target"] is None and data["binding"]["number"] == world.N_ONLY_GB


def test_an_outbound_relay_shows_the_gateway_uri_and_the_from_the_carrier_sees(api, routing):
    data = api.post(URL, {"direction": "outbound", "from_number": world.N_DIGITS, "to": "+14155550142"}).json()["data"]
    assert data["target"] == {
        "uri": "sip:14155550142@127.0.0.31:5060",
        "headers": {"From": "sip:14155550102@127.0.0.31"},
    }


def test_another_tenants_number_is_not_a_number_of_yours(api, routing):
    body = api.post(URL, {"direction": "inbound", "to": world.N_OF_B, "source_ip": world.CARRIER_OF_B}).json()
    assert body["data"]["reason_code"] == "NUMBER_NOT_ROUTED"
    assert body["data"]["message"] == "“+14155550201” is not a number of yours."
    text = str(body)
    b_binding = routing[world.N_OF_B]
    assert str(b_binding.uuid) not in text and str(b_binding.agent.agent_uuid) not in text and "ws-b" not in text


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"direction": ["This field is required."]}),
        ({"direction": "sideways", "to": "1"}, {"direction": ["Must be one of: inbound, outbound."]}),
        (
            {"direction": "inbound", "to": "+14155550101"},
            {"source_ip": ["Must be an IPv4 or IPv6 address, e.g. 203.0.113.10."]},
        ),
        (
            {"direction": "inbound", "to": "", "source_ip": "example.com"},
            {"to": ["This field is required."], "source_ip": ["Must be an IPv4 or IPv6 address, e.g. 203.0.113.10."]},
        ),
        (
            {"direction": "inbound", "to": "1\r\nX: y", "source_ip": "127.0.0.1"},
            {"to": ["At most 255 printable characters: the user part of a SIP URI."]},
        ),
        (
            {"direction": "outbound", "to": "+14155550142", "from_number": "12"},
            {
                "from_number": [
                    "This is not a valid international number (national formats are not accepted). Enter the "
                    "number in international format with its country code, e.g. +1 202 555 0123."
                ]
            },
        ),
    ],
)
def test_malformed_questions_are_validation_errors_on_their_field(api, routing, body, fields):
    response = api.post(URL, body)
    assert response.status_code == 422
    if "direction" in fields and fields["direction"] == ["This field is required."]:
        assert response.json()["error"]["field"] == "direction"
    else:
        assert response.json() == validation(fields)


def test_the_explainer_needs_a_token(anonymous):
    response = anonymous.post(URL, {"direction": "inbound", "to": "1", "source_ip": "127.0.0.1"})
    assert response.status_code == 401 and response.json() == MISSING_AUTH


def test_the_explainer_is_in_the_schema_and_the_edge_endpoints_are_not(api):
    paths = api.get("/api/v1/schema").json()["paths"]
    assert "/api/v1/routing/explain" in paths
    assert not [path for path in paths if "edge" in path or "internal" in path]
