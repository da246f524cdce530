"""The product's SIP engine: the trunk check (OPTIONS and REGISTER) and the test call (INVITE,
CANCEL, ACK, BYE), over UDP with digest answers.

No Django models here: `services.trunk_check` and `services.trunk_test_call` load the trunk,
decrypt its credentials and call `check_trunk` / `test_call`. See docs/sip-check.md and
docs/routing.md.
"""

from channels_app.sip.call import CallResult, CallStep, place_test_call
from channels_app.sip.check import CheckResult, Credentials, Gateway, GatewayResult, check_trunk
from channels_app.sip.status import HealthStatus

__all__ = [
    "CallResult",
    "CallStep",
    "CheckResult",
    "Credentials",
    "Gateway",
    "GatewayResult",
    "HealthStatus",
    "check_trunk",
    "place_test_call",
]
