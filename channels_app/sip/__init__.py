"""The SIP trunk check engine: OPTIONS and REGISTER over UDP with digest answers.

No Django models here: `services.trunk_check` loads the trunk, decrypts its credentials, calls
`check_trunk` and stores the result. See docs/sip-check.md.
"""

from channels_app.sip.check import CheckResult, Credentials, Gateway, GatewayResult, check_trunk
from channels_app.sip.status import HealthStatus

__all__ = ["CheckResult", "Credentials", "Gateway", "GatewayResult", "HealthStatus", "check_trunk"]
