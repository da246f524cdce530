"""Just enough SIP (RFC 3261) to build requests (OPTIONS, REGISTER; INVITE, ACK, CANCEL and BYE
for the test call) and read their responses."""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

USER_AGENT = "trunkadmin-trunk-check/1"
MAX_DATAGRAM = 65_535
MAX_REASON = 120
BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 §8.1.1.7

# RFC 3261 §7.3.3 compact header names.
_COMPACT = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "e": "content-encoding",
    "o": "event",
    "s": "subject",
}
_STATUS_LINE = re.compile(r"^SIP/2\.0\s+([1-6][0-9][0-9])(?:\s+(.*))?$")  # ASCII digits: \d is every script's
_CSEQ = re.compile(r"([0-9]{1,10})\s+([A-Za-z]{1,32})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters allowed unescaped in the user part of a SIP URI (RFC 3261 §25.1).
_USER_SAFE = "-_.!~*'()&=+$,;?/"


def new_branch() -> str:
    return BRANCH_MAGIC + secrets.token_hex(10)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id() -> str:
    return secrets.token_hex(16)


def host_for_uri(host: str) -> str:
    """IPv6 literals are bracketed in SIP URIs and Via headers."""
    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            return f"[{host}]"
    except ValueError:
        pass
    return host


def hostport(host: str, port: int) -> str:
    return f"{host_for_uri(host)}:{port}"


def user_uri(user: str, host: str, port: int | None = None) -> str:
    """`sip:user@host[:port]` with the user part escaped (a username may hold any character)."""
    where = hostport(host, port) if port else host_for_uri(host)
    return f"sip:{quote(user, safe=_USER_SAFE)}@{where}"


def has_control_characters(text: str) -> bool:
    return bool(_CONTROL.search(text))


def build_request(
    method: str,
    uri: str,
    *,
    local_host: str,
    local_port: int,
    branch: str,
    call_id: str,
    cseq: int,
    from_uri: str,
    from_tag: str,
    to_uri: str,
    extra_headers: list[tuple[str, str]] | None = None,
    to_tag: str | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> bytes:
    """A request. `rport` asks the server to answer where the datagram came from. `to_tag` puts
    the request in a dialog."""
    to = f"<{to_uri}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {hostport(local_host, local_port)};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={from_tag}",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"User-Agent: {USER_AGENT}",
    ]
    lines += [f"{name}: {value}" for name, value in extra_headers or []]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError("header values must not contain line breaks")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@dataclass
class Response:
    """A parsed SIP response. Header names are stored lower-case and in their long form."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}".rstrip()

    @property
    def is_final(self) -> bool:
        return self.status >= 200

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    @property
    def call_id(self) -> str | None:
        return self.first("call-id")

    @property
    def cseq(self) -> tuple[int, str] | None:
        """(number, method), or None when the header is missing or malformed (`¹ OPTIONS`: the
        superscript passes `str.isdigit()` but not `int()`, so only ASCII digits are read)."""
        match = _CSEQ.fullmatch((self.first("cseq") or "").strip())
        if match is None:
            return None
        return int(match.group(1)), match.group(2).upper()

    @property
    def well_formed(self) -> bool:
        """Whether this response names the transaction it answers (Call-ID, CSeq, Via branch)."""
        return bool(self.call_id) and self.cseq is not None and self.branch is not None

    @property
    def to_tag(self) -> str | None:
        to = self.first("to")
        match = re.search(r";\s*tag=([^;,\s>]+)", to or "", re.IGNORECASE)
        return match.group(1) if match else None

    @property
    def contact_uri(self) -> str | None:
        contact = self.first("contact")
        match = re.search(r"<([^>]+)>", contact or "")
        return match.group(1) if match else (contact.split(";")[0].strip() if contact else None)

    @property
    def record_routes(self) -> list[str]:
        """Every Record-Route entry, in the order of the message."""
        return [entry.strip() for value in self.all("record-route") for entry in value.split(",") if entry.strip()]

    @property
    def branch(self) -> str | None:
        via = self.first("via")
        if via is None:
            return None
        match = re.search(r";\s*branch=([^;,\s]+)", via.split(",")[0], re.IGNORECASE)
        return match.group(1) if match else None


def clean_reason(text: str) -> str:
    """A reason phrase fit to store and show: printable, single line, bounded."""
    return _CONTROL.sub(" ", text).strip()[:MAX_REASON]


def parse_response(data: bytes) -> Response | None:
    """Parse a datagram; None when it is not a SIP response (requests and junk are ignored)."""
    text = data[:MAX_DATAGRAM].decode("utf-8", errors="replace")
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)
    match = _STATUS_LINE.match(lines[0].strip())
    if match is None:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        headers.append((_COMPACT.get(key, key), value.strip()))
    return Response(status=int(match.group(1)), reason=clean_reason(match.group(2) or ""), headers=headers)
