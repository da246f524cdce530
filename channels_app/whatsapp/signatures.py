"""HMAC-SHA256 signatures of raw bodies: Meta's `X-Hub-Signature-256` on webhooks, ours
(`X-Trunkadmin-Signature`) on deliveries to agents. Both read `sha256=<hex digest>`."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value for `body` under `secret`."""
    return PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def valid(body: bytes, secret: str | None, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret`, compared in constant time.
    No secret, no header or a malformed header is never valid."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode("ascii"), header.strip().encode("utf-8", "replace"))
