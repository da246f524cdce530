"""Per-token request rate (`settings.API_THROTTLE_RATE`), counted in the default cache.

The cache is Redis when REDIS_URL is set, so the limit holds across workers; with the local-memory
cache it is per process. Over the limit: 429 RATE_LIMITED with Retry-After.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


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
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if token is None:
            return None  # unauthenticated requests were refused before throttling
        return self.cache_format % {"scope": self.scope, "ident": token.uuid.hex}
