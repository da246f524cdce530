"""Per-token request rate (`settings.API_THROTTLE_RATE`), counted once across every worker.

Without REDIS_URL the count lives in the database: one fixed-window counter row per token
(`RequestCounter`), moved by a single upsert per request (`services.upserts.count_request`), so
the limit holds across worker processes and servers that share the database. With REDIS_URL it
lives in Redis, as DRF's throttle keeps it (a sliding history of request times). Over the limit:
429 RATE_LIMITED with Retry-After.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from channels_app.services import upserts


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        # Read on every request (not at import) so the setting can change without a restart.
        return getattr(settings, "API_THROTTLE_RATE", None) or None

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if settings.REDIS_URL:
            return super().allow_request(request, view)
        token = request.auth
        if token is None:
            return True  # unauthenticated requests were refused before throttling
        now = self.timer()
        window_start = int(now // self.duration) * self.duration
        count, current_start = upserts.count_request(token_id=token.pk, window_start=window_start)
        self.window_end = current_start + self.duration
        self.now = now
        return count <= self.num_requests

    def wait(self) -> float | None:
        if settings.REDIS_URL:
            return super().wait()
        return max(0.0, self.window_end - self.now)

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if token is None:
            return None  # unauthenticated requests were refused before throttling
        return self.cache_format % {"scope": self.scope, "ident": token.uuid.hex}
