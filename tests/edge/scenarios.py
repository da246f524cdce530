"""SIPp scenarios of the edge tests, written per test with what the peer must and must not see.

Each function returns the XML of one scenario. SIPp checks on the wire with `<ereg>`: a
`check_it` that does not match, or a `check_it_inverse` that does, fails the call and SIPp exits
non-zero, so a test asserts `peer.passed()`. Placeholders are Python's `{name}`; SIPp's own
keywords stay in `[brackets]`.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

SDP = """v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000"""

# A carrier or an agent must never pass these on: the edge strips them.
FORGED = "X-Trunkadmin-Agent: forged-by-the-sender"


def _ereg(regexp: str, name: str, *, inverse: bool = False) -> str:
    """A check on the whole message. Its variable is named in the scenario's <Reference> (SIPp
    refuses a variable that is only ever set)."""
    check = "check_it_inverse" if inverse else "check_it"
    return f'<ereg regexp={quoteattr(regexp)} search_in="msg" {check}="true" assign_to="checked" />'


def literal(text: str) -> str:
    """`text` as a POSIX extended regular expression matching it literally (SIPp's <ereg>)."""
    return re.sub(r"([.\[\]()*+?{}|^$\\])", r"\\\1", text)


def header(name: str, value: str) -> str:
    """A regular expression for the header line `name: value`, exactly (SIPp's XML reader keeps no
    line breaks in attributes, so the end of the line is matched as white space)."""
    return f"(^|[[:space:]]){literal(name)}: {literal(value)}[[:space:]]"


REFERENCE = '\n  <Reference variables="checked" />'


def _invite(extra_header: str) -> str:
    return f"""
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]caller[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
{FORGED}
{extra_header}
Content-Type: application/sdp
Content-Length: [len]

{SDP}
    ]]>
  </send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />"""


def caller_refused(
    *,
    status: int,
    reason: str | None,
    extra_header: str = "X-Test: refused",
    timeout_ms: int = 0,
    also: tuple[tuple[str, str], ...] = (),
) -> str:
    """A caller whose INVITE gets `status` (with `X-Trunkadmin-Reason: reason` and a SIP Reason
    header when `reason` is given, and the headers `also`), then ACKs. `reason=None`: the answer
    must carry no X-Trunkadmin-* header (it comes from the callee)."""
    if reason is not None:
        checks = _ereg(header("X-Trunkadmin-Reason", reason), "reason")
        checks += _ereg(literal(f"Reason: SIP;cause={status};text="), "sip_reason")
    else:
        checks = _ereg("X-Trunkadmin-", "leak", inverse=True)
    checks = "<action>" + checks + "".join(_ereg(header(name, value), "also") for name, value in also) + "</action>"
    timeout = f' timeout="{timeout_ms}"' if timeout_ms else ""
    reference = REFERENCE if checks else ""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: a refused call">{_invite(extra_header)}
  <recv response="{status}"{timeout}>{checks}</recv>
  <send>
    <![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]caller[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
{reference}
</scenario>
"""


def caller_answered(*, extra_header: str = "X-Test: answered", hold_ms: int = 50) -> str:
    """A caller whose INVITE is answered 200 through the edge: ACK and BYE along the recorded route.
    The answer reaching it must not carry X-Trunkadmin-* headers."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: an answered call">{_invite(extra_header)}
  <recv response="200" rrs="true"><action>{_ereg("X-Trunkadmin-", "leak", inverse=True)}</action></recv>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]caller[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="{hold_ms}" />
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]caller[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200" />
{REFERENCE}
</scenario>
"""


def _answer_and_hang_up(tag: str) -> str:
    return f"""
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]{tag}[call_number]
[last_Record-Route:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{tag}@[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]{tag}[call_number]
[last_Record-Route:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{tag}@[local_ip]:[local_port]>
X-Trunkadmin-Leak: from-the-callee
Content-Type: application/sdp
Content-Length: [len]

{SDP}
    ]]>
  </send>
  <recv request="ACK" />
  <recv request="BYE" />
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>"""


def agent(*, headers: dict[str, str]) -> str:
    """The agent's media server at AGENT_SIP_URI: it must see exactly `headers` and never a
    header the caller forged; it answers, then the caller hangs up."""
    checks = "".join(_ereg(header(name, value), f"h{index}") for index, (name, value) in enumerate(headers.items()))
    checks += _ereg("forged-by-the-sender", "forged", inverse=True)
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: the agent's media server">
  <recv request="INVITE"><action>{checks}</action></recv>{_answer_and_hang_up("agent")}
  <pause milliseconds="1000" />
{REFERENCE}
</scenario>
"""


def carrier(*, ruri_user: str, from_user: str, realm: str = "carrier.test") -> str:
    """A carrier's gateway for outbound calls: the INVITE must name the destination and the caller
    in the trunk's number format and carry no X-Trunkadmin-* header; it is challenged (401, MD5,
    qop=auth), the answer is checked with `verifyauth` against the injection file's credentials
    ([field0], [field1]): 200 and the call goes on, or 403."""
    first = (
        _ereg("^" + literal(f"INVITE sip:{ruri_user}@"), "ruri")
        + _ereg("(^|[[:space:]])" + literal(f"From: <sip:{from_user}@"), "from")
        + _ereg("X-Trunkadmin-", "leak", inverse=True)
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: a carrier gateway with digest authentication">
  <recv request="INVITE"><action>{first}</action></recv>
  <send>
    <![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]challenge[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="{realm}", nonce="a1b2c3d4[call_number]", algorithm=MD5, qop="auth"
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />
  <recv request="INVITE">
    <action>
      <verifyauth assign_to="credentials_accepted" username="[field0]" password="[field1]" />
      {_ereg("X-Trunkadmin-", "leak2", inverse=True)}
    </action>
  </recv>
  <nop hide="true" test="credentials_accepted" next="accepted" />
  <send>
    <![CDATA[
SIP/2.0 403 Forbidden
[last_Via:]
[last_From:]
[last_To:];tag=[pid]refused[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" next="done" />
  <label id="accepted" />{_answer_and_hang_up("carrier")}
  <label id="done" />
  <pause milliseconds="1000" />
{REFERENCE}
</scenario>
"""


def silent() -> str:
    """A gateway that receives and never answers (the primary of a failover)."""
    return """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: a silent gateway">
  <recv request="INVITE" />
  <pause milliseconds="30000" />
</scenario>
"""


def busy() -> str:
    """A gateway that answers 503 (the primary of a failover)."""
    return """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="edge: a gateway out of service">
  <recv request="INVITE" />
  <send>
    <![CDATA[
SIP/2.0 503 Service Unavailable
[last_Via:]
[last_From:]
[last_To:];tag=[pid]busy[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" />
</scenario>
"""
