"""The edge's Kamailio configuration and environment, from the settings (docs/routing.md).

The configuration file holds no secret: the HTTP connection to the product, with the shared
secret, is handed to Kamailio in the environment variable TRUNKADMIN_EDGE_HTTPCON (read by the
file's `#!defenvs`), so `manage.py sip_edge --print-config` can show the file as it is.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.template import Context, Engine

TEMPLATE = Path(__file__).with_name("kamailio.cfg")
MODULE_PATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
HTTPCON_VARIABLE = "TRUNKADMIN_EDGE_HTTPCON"
# The secret travels in a URL (user:password@host): characters that need no escaping there.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,200}")
RETRY_AFTER_SECONDS = 5
_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})$")


class EdgeConfigError(ValueError):
    """A setting the edge cannot run with; the message names it."""


@dataclass(frozen=True)
class EdgeConfig:
    listen_host: str
    port: int
    product_url: str
    children: int
    decision_workers: int
    gateway_timeout_ms: int
    tls_certificate: str = ""
    tls_private_key: str = ""
    log_level: int = 2

    @property
    def tls(self) -> bool:
        return bool(self.tls_certificate)

    @property
    def tls_port(self) -> int:
        return self.port + 1

    @property
    def ipv6(self) -> bool:
        return ":" in self.listen_host


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:5060` for IPv6) -> (host, port)."""
    match = _LISTEN.match(value.strip())
    port = int(match.group("port")) if match else 0
    if match is None or not 1 <= port <= 65534:
        raise EdgeConfigError(f"The listen address must be HOST:PORT (e.g. 127.0.0.1:5060), not {value!r}.")
    return (match.group("v6") or match.group("host")), port


def edge_config(*, listen: str | None = None) -> EdgeConfig:
    """The edge's configuration from the settings (`listen` overrides SIP_EDGE_LISTEN)."""
    host, port = parse_listen(listen or settings.SIP_EDGE_LISTEN)
    product = urlsplit(settings.SIP_EDGE_PRODUCT_URL)
    if product.scheme not in ("http", "https") or not product.hostname or product.query or product.username:
        raise EdgeConfigError(
            "SIP_EDGE_PRODUCT_URL must be an http(s) URL without credentials, e.g. http://127.0.0.1:8000."
        )
    certificate, key = settings.SIP_EDGE_TLS_CERTIFICATE, settings.SIP_EDGE_TLS_PRIVATE_KEY
    if bool(certificate) != bool(key):
        raise EdgeConfigError("SIP_EDGE_TLS_CERTIFICATE and SIP_EDGE_TLS_PRIVATE_KEY go together.")
    for name, value in (
        ("children", settings.SIP_EDGE_CHILDREN),
        ("decision workers", settings.SIP_EDGE_DECISION_WORKERS),
    ):
        if not 1 <= value <= 64:
            raise EdgeConfigError(f"The edge's {name} must be between 1 and 64.")
    if not 100 <= settings.SIP_EDGE_GATEWAY_TIMEOUT_MS <= 30_000:
        raise EdgeConfigError("SIP_EDGE_GATEWAY_TIMEOUT_MS must be between 100 and 30000.")
    return EdgeConfig(
        listen_host=host,
        port=port,
        product_url=settings.SIP_EDGE_PRODUCT_URL.rstrip("/"),
        children=settings.SIP_EDGE_CHILDREN,
        decision_workers=settings.SIP_EDGE_DECISION_WORKERS,
        gateway_timeout_ms=settings.SIP_EDGE_GATEWAY_TIMEOUT_MS,
        tls_certificate=str(Path(certificate).resolve()) if certificate else "",
        tls_private_key=str(Path(key).resolve()) if key else "",
    )


def render(config: EdgeConfig) -> str:
    """The Kamailio configuration (no secret in it)."""
    engine = Engine(autoescape=False)
    template = engine.from_string(TEMPLATE.read_text())
    context = {
        "product_url": config.product_url,
        "listen_host": f"[{config.listen_host}]" if config.ipv6 else config.listen_host,
        "port": config.port,
        "tls": config.tls,
        "tls_port": config.tls_port,
        "tls_certificate": config.tls_certificate,
        "tls_private_key": config.tls_private_key,
        "children": config.children,
        "decision_workers": config.decision_workers,
        "gateway_timeout_ms": config.gateway_timeout_ms,
        "retry_after": RETRY_AFTER_SECONDS,
        "module_path": MODULE_PATH,
        "log_level": config.log_level,
        "ipv6": config.ipv6,
    }
    return template.render(Context(context))


def environment(config: EdgeConfig, secret: str) -> dict[str, str]:
    """What Kamailio needs in its environment: the product connection, with the secret."""
    if not SECRET_PATTERN.fullmatch(secret or ""):
        raise EdgeConfigError(
            "SIP_EDGE_SECRET must be set, 16 to 200 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-' "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))").'
        )
    product = urlsplit(config.product_url)
    return {HTTPCON_VARIABLE: f"product=>{product.scheme}://edge:{secret}@{product.netloc}{product.path}"}


def command(config_path: Path, runtime_dir: Path) -> list[str]:
    """Kamailio in the foreground (-DD), logging to stderr (-E), its state in `runtime_dir`."""
    return [
        KAMAILIO,
        "-DD",
        "-E",
        "-f",
        str(config_path),
        "-Y",
        str(runtime_dir),
        "-P",
        str(runtime_dir / "kamailio.pid"),
        "-m",
        "64",
        "-M",
        "8",
    ]
