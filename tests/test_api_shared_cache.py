"""With REDIS_URL (a shared cache), the API throttle counts in Redis, so every worker sees one count;
Idempotency-Key records stay in the database, where a write's record commits with the write. Needs
the Redis CI starts; skipped with a notice on a machine without one."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.core.cache import caches

from channels_app.models import IdempotencyRecord, RequestCounter
from tests import api_support

api = api_support.api
pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-api-{uuid.uuid4().hex}"
    settings.REDIS_URL = REDIS_URL
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield caches["default"]
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def keys(prefix: str) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}:*"))


def test_with_redis_the_throttle_counts_in_redis_and_idempotency_records_stay_in_the_database(
    api, agent_a, redis_cache, settings
):
    settings.API_THROTTLE_RATE = "2/minute"
    body = {"phone_number": "+12025550199", "agent_uuid": str(agent_a.agent_uuid), "channel": "whatsapp"}
    first = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "redis-key"})
    caches["default"].close()  # a new connection, as another worker would have
    replay = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "redis-key"})
    assert (first.status_code, replay.status_code, replay["Idempotent-Replayed"]) == (201, 201, "true")
    assert api.get("/agents").status_code == 429
    stored = b" ".join(keys(redis_cache.key_prefix))
    assert b"throttle_token_" in stored and b"idempotency" not in stored
    assert IdempotencyRecord.objects.get().status == 201
    assert not RequestCounter.objects.exists()
