"""POST one message to the agent's endpoint (no Django here): the standard library's HTTP client,
a timeout, and the outcome in plain words."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: delivered (a 2xx), or why not, for people."""

    delivered: bool
    status: int | None = None
    error: str = ""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - AGENT_MESSAGE_URL
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(64 * 1024)
            return Outcome(True, response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return Outcome(False, exc.code, f"The agent's endpoint answered HTTP {exc.code} {exc.reason}.")
    except TimeoutError:
        return Outcome(False, None, f"The agent's endpoint did not answer within {timeout:g} seconds.")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return Outcome(False, None, f"The agent's endpoint did not answer within {timeout:g} seconds.")
        if isinstance(reason, ConnectionRefusedError):
            return Outcome(False, None, "Could not connect to the agent's endpoint (connection refused).")
        if isinstance(reason, socket.gaierror):
            return Outcome(False, None, "The agent's endpoint host name does not resolve.")
        return Outcome(False, None, f"Could not reach the agent's endpoint ({type(reason).__name__}).")
    except (OSError, ValueError) as exc:
        return Outcome(False, None, f"Could not reach the agent's endpoint ({type(exc).__name__}).")
