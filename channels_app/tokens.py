"""API token format: `tka_` + 43 URL-safe characters (32 random bytes) + 6-character checksum.

The checksum (CRC32 of the body, base62) lets a malformed or mistyped token be refused without a
database query; only the SHA-256 of the whole token is stored. Lookup is by that hash (unique
index), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "tka_"
_BODY_BYTES = 32
_BODY_LENGTH = 43  # base64url of 32 bytes, no padding
_CHECKSUM_LENGTH = 6
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SHAPE = re.compile(rf"^{PREFIX}[A-Za-z0-9_-]{{{_BODY_LENGTH}}}[0-9A-Za-z]{{{_CHECKSUM_LENGTH}}}$")
DISPLAY_PREFIX_LENGTH = len(PREFIX) + 6


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


def generate() -> str:
    body = secrets.token_urlsafe(_BODY_BYTES)
    assert len(body) == _BODY_LENGTH
    return f"{PREFIX}{body}{_checksum(body)}"


def is_well_formed(token: str) -> bool:
    """Shape and checksum only: no database, constant cost."""
    if not isinstance(token, str) or not _SHAPE.match(token):
        return False
    body = token[len(PREFIX) : len(PREFIX) + _BODY_LENGTH]
    return hmac.compare_digest(_checksum(body), token[-_CHECKSUM_LENGTH:])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]
