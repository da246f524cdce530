"""Hostile strings in every text field of the API: always a 2xx or a 4xx envelope, never a 5xx."""

from __future__ import annotations

import pytest

from channels_app.models import ChannelBinding
from tests import api_support

api = api_support.api
pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "nul\x00inside",
    "x" * 10_000,
    "\u202eevil\u202c",
    "😀📞",
    "<script>alert(1)</script>",
    "'; DROP TABLE channels_app_phonenumber; --",
    '" OR 1=1 --',
    "../../etc/passwd",
    "%00%0d%0a",
    "\ud7ff\ue000",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_in_every_field_never_causes_a_server_error(api, agents_a, trunk_a, purchased_a, value):
    number = "+12345678901"
    agent = str(agents_a[1].agent_uuid)
    attempts = [
        api.post("/phone-numbers/trunks", {"phone_number": value, "agent_uuid": agent, "channel": "call"}),
        api.post("/phone-numbers/trunks", {"phone_number": "+12025550111", "agent_uuid": value, "channel": value}),
        api.post(
            "/phone-numbers/trunks",
            {"phone_number": "+12025550112", "agent_uuid": agent, "channel": "whatsapp", "name": value},
        ),
        api.patch(
            "/phone-numbers/trunks",
            {
                "phone_number": number,
                "channel": "call",
                "name": value,
                "direction": value,
                "sip": {
                    "gateway": value,
                    "secondary_gateway": value,
                    "port": value,
                    "username": value,
                    "password": value,
                },
                "additional_settings": {value[:100]: value},
            },
        ),
        api.patch("/phone-numbers/trunks", {"phone_number": number, "channel": "call", "sip": {"username": value}}),
        api.patch(
            f"/phone-numbers/{purchased_a.phone_number_uuid}",
            {"channel_settings": {"voice": {"whitelisted_destinations": [value]}}},
        ),
        api.get("/phone-numbers", query={"search": value, "source": value}),
        api.get("/phone-numbers/trunks", query={"agent_uuid": value}),
        api.get("/phone-numbers/channels", query={"number": value}),
        api.delete("/phone-numbers/trunks", query={"phone_number": value, "channel": value}),
        api.post(f"/agents/{agent}/channels/sms", {"phone_number_uuid": value}),
        api.get(f"/phone-numbers/{value[:200]}/channels"),
        api.post("/phone-numbers/trunks", {"phone_number": "+12025550113"}, headers={"Idempotency-Key": value[:300]}),
    ]
    for response in attempts:
        assert response.status_code < 500, response.content[:300]
        assert response.json()["success"] in (True, False)
    binding = ChannelBinding.objects.get(pk=trunk_a.pk)
    assert "\x00" not in (binding.name or "")
