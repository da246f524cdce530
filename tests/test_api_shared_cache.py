"""With REDIS_URL (a shared cache), throttling and Idempotency-Key records live in Redis, so every
worker sees them. Needs the Redis CI starts; skipped with a notice on a machine without one."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.core.cache import caches

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


def test_throttling_and_idempotency_records_are_kept_in_redis(api, agent_a, redis_cache, settings):
    settings.API_THROTTLE_RATE = "2/minute"
    body = {"phone_number": "+12025550199", "agent_uuid": str(agent_a.agent_uuid), "channel": "whatsapp"}
    first = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "redis-key"})
    caches["default"].close()  # a new connection, as another worker would have
    replay = api.post("/phone-numbers/trunks", body, headers={"Idempotency-Key": "redis-key"})
    assert (first.status_code, replay.status_code, replay["Idempotent-Replayed"]) == (201, 201, "true")
    assert api.get("/agents").status_code == 429
    stored = b" ".join(keys(redis_cache.key_prefix))
    assert b"api:idempotency:" in stored and b"throttle_token_" in stored
