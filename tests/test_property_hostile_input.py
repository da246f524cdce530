"""Property: whatever text reaches whichever field of whichever door, the answer is a 4xx or a
form error (or a success, for input that happens to be valid), never a 5xx; nothing is written
on a refusal; no traceback reaches the log.

Table-driven: each door has a table of (field, how to send it); a field added later joins its
door's table with one line. The API is driven over real HTTP (live_server); the self-serve pages,
the admin and the CSV import in process, each example inside a savepoint that is rolled back.
Budget: tests/hostile_values.py (25 examples per field; HYPOTHESIS_PROFILE=long for 500).
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlencode, urlparse

import pytest

from tests.hostile_values import TOTALS, door_total, hostile_text, json_fragment, rows, run_examples

HOLE = "__HOSTILE__"
# Answered by the HTTP server before the application sees the request (a request line or headers
# beyond its limits): a 4xx in the server's words.
SERVER_LIMITS = {414, 431}
# --- the API, over real HTTP ----------------------------------------------------------------------

A2, PURCHASED, TRUNK = "{agent_2}", "{purchased}", "+12345678901"
API_BODIES: list[tuple[str, str, str, dict]] = [
    # (method, path, dotted field, body the field is put into)
    *[
        ("POST", "/phone-numbers/trunks", field, {"phone_number": "+12025550160", "agent_uuid": A2, "channel": "call"})
        for field in (
            "phone_number", "agent_uuid", "channel", "name", "direction", "sip", "sip.gateway", "sip.port",
            "sip.secondary_gateway", "sip.username", "sip.password", "sip.inbound_addresses", "sip.transport",
            "sip.number_format", "additional_settings", "additional_settings.key",
        )
    ],
    *[
        ("POST", "/phone-numbers/trunks", field, {"phone_number": "+12025550161", "agent_uuid": A2,
                                                  "channel": "whatsapp"})
        for field in ("whatsapp.phone_number_id", "whatsapp.business_account_id", "whatsapp.access_token")
    ],
    *[
        ("PATCH", "/phone-numbers/trunks", field, {"phone_number": TRUNK, "channel": "call"})
        for field in ("phone_number", "channel", "name", "sip.port", "sip.password", "additional_settings")
    ],
    ("PUT", "/phone-numbers/trunks/assign", "agent_uuid", {"phone_number": TRUNK, "channel": "call"}),
    ("PATCH", f"/phone-numbers/{PURCHASED}", "channel_settings.voice.channel_limit", {}),
    ("PATCH", f"/phone-numbers/{PURCHASED}", "channel_settings.voice.whitelisted_destinations", {}),
    ("POST", "/routing/explain", "to", {"direction": "inbound", "source_ip": "203.0.113.5"}),
    ("POST", "/routing/explain", "source_ip", {"direction": "inbound", "to": "+12345678901"}),
    ("POST", f"/agents/{A2}/channels/sms", "phone_number_uuid", {}),
]  # fmt: skip
API_QUERIES: list[tuple[str, str, str, dict]] = [
    *[
        ("GET", "/phone-numbers", name, {})
        for name in ("page", "per_page", "search", "source", "channel", "agent_uuid")
    ],
    ("GET", "/phone-numbers/trunks", "search", {}),
    ("GET", "/phone-numbers/channels", "number", {}),
    ("GET", f"/phone-numbers/{PURCHASED}/events", "page", {}),
    ("DELETE", "/phone-numbers/trunks", "phone_number", {"channel": "call"}),
]


def body_with(body: dict, field: str, places: dict) -> str:
    """The body as JSON text with the raw fragment's hole at the dotted `field`."""
    text = json.dumps(body)
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    document = json.loads(text)
    *parents, last = field.split(".")
    target = document
    for name in parents:
        target = target.setdefault(name, {})
    target[last] = HOLE
    return json.dumps(document)


@pytest.fixture
def api_door(live_server, settings, token_a, agents_a, trunk_a, purchased_a, log_watch):
    settings.API_THROTTLE_RATE = None  # hundreds of requests in seconds are the point here
    settings.SIP_CHECK_ALLOW_PRIVATE = False
    target = urlparse(live_server.url)
    places = {"agent_2": str(agents_a[1].agent_uuid), "purchased": str(purchased_a.phone_number_uuid)}
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)

    def send(method: str, path: str, body: bytes | None):
        headers = {"Authorization": f"Bearer {token_a}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        before, mark = rows(), log_watch.mark()
        connection.request(method, f"/api/v1{path.format(**places)}", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        refused = response.status >= 400
        if refused and response.status not in SERVER_LIMITS:
            assert json.loads(payload)["success"] is False  # the envelope, nothing else
        return response.status, refused, rows() != before, log_watch.tracebacks_since(mark)

    yield send, places
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_api_bodies_and_query_strings_answer_hostile_values_with_a_4xx_never_a_5xx(api_door):
    send, places = api_door
    started = time.monotonic()
    before = TOTALS["examples"]
    for method, path, field, body in API_BODIES:
        template = body_with(body, field, places).encode()
        hole = json.dumps(HOLE).encode()

        def check(fragment: str, method=method, path=path, template=template, hole=hole):
            raw = template.replace(hole, fragment.encode("utf-8", errors="surrogatepass"))
            return send(method, path, raw)

        run_examples(json_fragment(), f"api {method} {path}", field, check)
    for method, path, name, extra in API_QUERIES:

        def check(value: str, method=method, path=path, name=name, extra=extra):
            query = urlencode({name: value.encode("utf-8", errors="surrogatepass"), **extra})
            return send(method, f"{path}?{query}", None)

        run_examples(hostile_text(), f"api {method} {path}", f"?{name}", check)
    door_total("api", len(API_BODIES) + len(API_QUERIES), TOTALS["examples"] - before, started)
