"""The webhook of each WhatsApp trunk, at its own `webhook_url` (docs/whatsapp.md).

The trunk is known from the URL. `GET` answers Meta's verification handshake with the trunk's
verify token. `POST` reads the raw body (at most WHATSAPP_WEBHOOK_MAX_BYTES, refused unread when
it announces more), checks `X-Hub-Signature-256` against the trunk's app secret in constant time
and only then parses it; changes for another phone number id are dropped and logged; each new
message is stored once with its delivery row (services.delivery.messages_receive).
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app import inputs
from channels_app.selectors.whatsapp import trunk_for_webhook
from channels_app.services.delivery import messages_receive
from channels_app.whatsapp import payload, signatures

logger = logging.getLogger(__name__)

MAX_CHALLENGE = 256


def _text(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    binding = trunk_for_webhook(webhook_id=webhook_id)
    if binding is None:
        return _text(404, "Not found.")
    if request.method == "GET":
        return _verify(request, binding)
    return _receive(request, binding)


def _verify(request: HttpRequest, binding) -> HttpResponse:
    """Meta's handshake: hub.mode=subscribe, hub.verify_token = the trunk's; echo hub.challenge."""
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    matches = hmac.compare_digest(token.encode("utf-8", "replace"), (binding.verify_token or "").encode("ascii"))
    if mode != "subscribe" or not matches or not challenge or len(challenge) > MAX_CHALLENGE:
        logger.warning("whatsapp trunk %s: webhook verification refused", binding.uuid)
        return _text(403, "Verification failed.")
    logger.info("whatsapp trunk %s: webhook verified", binding.uuid)
    return _text(200, challenge)


def _receive(request: HttpRequest, binding) -> HttpResponse:
    limit = settings.WHATSAPP_WEBHOOK_MAX_BYTES
    announced = request.META.get("CONTENT_LENGTH") or "0"
    if not inputs.is_ascii_digits(announced, max_length=18) or int(announced) > limit:
        return _text(413, "Body too large.")
    body = request.read(limit + 1)  # the raw bytes the signature covers, never request.body's limit
    if len(body) > limit:
        return _text(413, "Body too large.")
    if not signatures.valid(body, binding.wa_app_secret, request.headers.get("X-Hub-Signature-256")):
        logger.warning("whatsapp trunk %s: webhook POST refused (signature missing or wrong)", binding.uuid)
        return _text(401, "Signature missing or wrong.")
    try:
        notification = payload.read(body, phone_number_id=binding.wa_phone_number_id)
    except payload.PayloadError:
        logger.warning("whatsapp trunk %s: signed webhook body is not a notification", binding.uuid)
        return _text(400, "Not a WhatsApp notification.")
    if notification.foreign_ids:
        logger.warning(
            "whatsapp trunk %s: dropped %d change(s) for phone number id(s) %s (the trunk's is %s)",
            binding.uuid,
            len(notification.foreign_ids),
            ", ".join(sorted(set(notification.foreign_ids))),
            binding.wa_phone_number_id or "not set",
        )
    stored = messages_receive(binding=binding, messages=notification.messages) if notification.messages else 0
    if notification.messages:
        logger.info(
            "whatsapp trunk %s: %d message(s) received, %d new", binding.uuid, len(notification.messages), stored
        )
    return _text(200, "OK")
