"""The client side of SIP digest authentication: answer a 401/407 challenge.

RFC 2617 (MD5, qop), RFC 7616 (SHA-256, the `-sess` variants) and RFC 8760 (their use in SIP).
Only the computed `response` goes on the wire; the password never does, and nothing here logs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

# Digest algorithm token -> hashlib name, strongest first (RFC 8760 §2.3: pick the strongest).
ALGORITHMS: dict[str, str] = {"SHA-512-256": "sha512_256", "SHA-256": "sha256", "MD5": "md5"}

_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf"\s*({_TCHARS})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|{_TCHARS})\s*(?:,|$)")
_SCHEME = re.compile(rf"\s*({_TCHARS})(?=\s|$)")


class UnsupportedChallenge(ValueError):
    """The server asked for a scheme, algorithm or qop this client does not implement."""


@dataclass(frozen=True)
class Challenge:
    """One parsed `WWW-Authenticate` / `Proxy-Authenticate` challenge."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def algorithm(self) -> str:
        return self.params.get("algorithm", "MD5").upper()

    @property
    def base_algorithm(self) -> str:
        return self.algorithm.removesuffix("-SESS")

    @property
    def qop_options(self) -> list[str]:
        return [item.strip().lower() for item in self.params.get("qop", "").split(",") if item.strip()]

    @property
    def supported(self) -> bool:
        return (
            self.scheme.lower() == "digest"
            and self.base_algorithm in ALGORITHMS
            and "realm" in self.params
            and "nonce" in self.params
            and (not self.qop_options or bool({"auth", "auth-int"} & set(self.qop_options)))
        )


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Parse header values; one value may hold several challenges (`Digest a=1, Digest b=2`)."""
    challenges: list[Challenge] = []
    for value in values:
        rest = value
        while rest.strip():
            scheme_match = _SCHEME.match(rest)
            if scheme_match is None:
                break
            scheme, rest = scheme_match.group(1), rest[scheme_match.end() :]
            params: dict[str, str] = {}
            while (param := _PARAM.match(rest)) is not None:
                params[param.group(1).lower()] = _unquote(param.group(2))
                rest = rest[param.end() :]
            challenges.append(Challenge(scheme=scheme, params=params))
            if rest.strip().startswith(","):
                rest = rest.strip()[1:]
    return challenges


def choose(challenges: list[Challenge]) -> Challenge:
    """The strongest supported digest challenge, or UnsupportedChallenge naming what was offered."""
    usable = [c for c in challenges if c.supported]
    if not usable:
        offered = ", ".join(f"{c.scheme} {c.algorithm}" for c in challenges) or "nothing"
        raise UnsupportedChallenge(f"no supported digest challenge (offered: {offered})")
    order = list(ALGORITHMS)
    return min(usable, key=lambda c: order.index(c.base_algorithm))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answer(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    body: bytes = b"",
    nonce_count: int = 1,
    cnonce: str | None = None,
) -> str:
    """The `Authorization` header value answering `challenge` for a request `method uri`."""
    if not challenge.supported:
        raise UnsupportedChallenge(f"unsupported challenge {challenge.scheme} {challenge.algorithm}")
    hash_name = ALGORITHMS[challenge.base_algorithm]

    def h(data: str | bytes) -> str:
        return hashlib.new(hash_name, data.encode("utf-8") if isinstance(data, str) else data).hexdigest()

    realm, nonce = challenge.params["realm"], challenge.params["nonce"]
    qop = next((q for q in ("auth", "auth-int") if q in challenge.qop_options), None)
    sess = challenge.algorithm.endswith("-SESS")
    if cnonce is None and (qop or sess):
        cnonce = secrets.token_hex(8)
    nc = f"{nonce_count:08x}"

    ha1 = h(f"{username}:{realm}:{password}")
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}:{h(body)}") if qop == "auth-int" else h(f"{method}:{uri}")
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}")

    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={challenge.algorithm}",
    ]
    if "opaque" in challenge.params:
        parts.append(f"opaque={_quote(challenge.params['opaque'])}")
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce or '')}"]
    return "Digest " + ", ".join(parts)
