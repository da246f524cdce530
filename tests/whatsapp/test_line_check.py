"""The WhatsApp line check through the API, against a Graph API peer on 127.0.0.1 answering
Meta's documented shapes. The token goes in the Authorization header only and nowhere else."""

from __future__ import annotations

import logging

import pytest

from channels_app.models import ChannelBinding
from tests import api_support
from tests.api_support import validation
from tests.whatsapp.conftest import register_line
from tests.whatsapp.support import ACCESS_TOKEN, NUMBER, PHONE_NUMBER_ID

api, api_b = api_support.api, api_support.api_b
pytestmark = pytest.mark.django_db

PATH = "/phone-numbers/trunks/check"
BODY = {"phone_number": NUMBER, "channel": "whatsapp"}


def health_of(response):
    return response.json()["data"]["channels"]["whatsapp"]["trunk"]["health"]


def test_a_healthy_line_answers_ok_with_the_names_meta_knows(api, graph, line_a, caplog):
    caplog.set_level(logging.DEBUG)
    response = api.post(PATH, BODY)

    assert response.status_code == 200, response.json()
    binding = ChannelBinding.objects.get()
    assert health_of(response) == {
        "status": "ok",
        "checked_at": binding.health_checked_at.isoformat().replace("+00:00", "Z"),
        "message": "Connected as Acme Support, quality rating GREEN.",
        "display_phone_number": "+1 415-555-0123",
        "verified_name": "Acme Support",
        "quality_rating": "GREEN",
    }
    [request] = graph.requests
    assert request["path"] == f"/v21.0/{PHONE_NUMBER_ID}"
    assert request["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert ACCESS_TOKEN not in response.content.decode()
    assert all(ACCESS_TOKEN not in record.getMessage() for record in caplog.records)
    assert ACCESS_TOKEN not in str(binding.health_details)


def test_a_refused_token_is_auth_failed(api, graph, line_a):
    graph.token = "another-token"
    response = api.post(PATH, BODY)
    assert health_of(response)["status"] == "auth_failed"
    assert health_of(response)["verified_name"] is None
    assert "refused the access token" in health_of(response)["message"]


def test_a_phone_number_id_of_another_number_is_number_mismatch(api, graph, line_a):
    graph.add_line(PHONE_NUMBER_ID, "+44 20 7183 8750", name="Someone Else")
    response = api.post(PATH, BODY)
    health = health_of(response)
    assert (health["status"], health["display_phone_number"]) == ("number_mismatch", "+44 20 7183 8750")
    assert health["message"].startswith("This phone number id belongs to +44 20 7183 8750, not +14155550123.")


def test_an_id_the_token_cannot_see_is_number_mismatch(api, graph, line_a):
    graph.lines.clear()
    health = health_of(api.post(PATH, BODY))
    assert health["status"] == "number_mismatch"
    assert (
        health["message"]
        == "The Graph API knows no phone number with this id for this token. Check the phone number id."
    )


def test_a_graph_api_that_does_not_answer_in_time_is_unreachable(api, graph, line_a, settings):
    settings.WHATSAPP_CHECK_TIMEOUT_SECONDS = 0.2
    graph.silent = 1.0
    health = health_of(api.post(PATH, BODY))
    assert health["status"] == "unreachable"


def test_nothing_listening_is_unreachable(api, line_a, settings):
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9/v21.0"
    assert health_of(api.post(PATH, BODY))["status"] == "unreachable"


def test_a_second_check_within_the_interval_is_rate_limited_like_the_sip_check(api, graph, line_a):
    assert api.post(PATH, BODY).status_code == 200
    second = api.post(PATH, BODY)
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "RATE_LIMITED"
    assert int(second["Retry-After"]) >= 1
    assert len(graph.requests) == 1


def test_a_line_without_id_or_token_says_what_to_set(api, graph, workspace_a, agent_a, command_actor):
    register_line(workspace_a, agent_a, command_actor, phone_number_id=None, access_token=None)
    response = api.post(PATH, BODY)
    assert response.status_code == 422
    assert response.json() == validation(
        {
            "whatsapp.phone_number_id": ["Set the phone number id before checking this line."],
            "whatsapp.access_token": ["Set an access token before checking this line."],
        }
    )
    assert graph.requests == []


def test_a_change_of_token_forgets_the_last_check(api, graph, line_a):
    api.post(PATH, BODY)
    response = api.patch(
        "/phone-numbers/trunks", {"phone_number": NUMBER, "channel": "whatsapp", "whatsapp": {"access_token": "EAAx"}}
    )
    assert response.json()["data"]["channels"]["whatsapp"]["trunk"]["health"] is None


def test_another_workspace_cannot_check_the_line(api_b, graph, line_a):
    response = api_b.post(PATH, BODY)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TRUNK_NOT_FOUND"
    assert graph.requests == []
