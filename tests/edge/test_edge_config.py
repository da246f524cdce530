"""The edge's configuration: rendered from the template, accepted by `kamailio -c` (TLS too:
end-to-end TLS is not tested, Debian's SIPp has none), free of the shared secret, and
`manage.py sip_edge` refusing settings it cannot run with, with a clear message."""

from __future__ import annotations

import datetime
import os
import subprocess
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command

from channels_app.edge import config as edge_config
from tests.edge.support import SECRET, require_kamailio


def kamailio_accepts(text: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "kamailio.cfg"
    path.write_text(text)
    config = edge_config.edge_config(listen="127.0.0.2:5999")
    env = {**os.environ, **edge_config.environment(config, SECRET)}
    return subprocess.run(
        [edge_config.KAMAILIO, "-c", "-f", str(path)], env=env, capture_output=True, text=True, check=False
    )


def self_signed(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "edge.crt", tmp_path / "edge.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_print_config_writes_the_configuration_without_the_secret(settings):
    settings.SIP_EDGE_SECRET = SECRET
    out = StringIO()
    call_command("sip_edge", "--print-config", "--listen", "127.0.0.3:5090", stdout=out)
    text = out.getvalue()
    assert text.startswith("#!KAMAILIO")
    assert "listen=udp:127.0.0.3:5090" in text and "listen=tcp:127.0.0.3:5090" in text
    assert "#!defenvs PRODUCT_HTTPCON=TRUNKADMIN_EDGE_HTTPCON" in text
    assert SECRET not in text and "tls.so" not in text


def test_the_configuration_passes_kamailios_own_check(settings, tmp_path):
    require_kamailio()
    result = kamailio_accepts(edge_config.render(edge_config.edge_config(listen="127.0.0.2:5999")), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_with_a_certificate_the_edge_also_listens_for_tls_and_kamailio_accepts_it(settings, tmp_path):
    require_kamailio(tls=True)
    settings.SIP_EDGE_TLS_CERTIFICATE, settings.SIP_EDGE_TLS_PRIVATE_KEY = self_signed(tmp_path)
    text = edge_config.render(edge_config.edge_config(listen="127.0.0.2:5999"))
    assert "listen=tls:127.0.0.2:6000" in text and 'loadmodule "tls.so"' in text
    result = kamailio_accepts(text, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tls: 127.0.0.2" in result.stdout + result.stderr


def test_an_ipv6_listen_address_is_bracketed(settings, tmp_path):
    text = edge_config.render(edge_config.edge_config(listen="[::1]:5999"))
    assert "listen=udp:[::1]:5999" in text and "dns_try_ipv6=yes" in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SIP_EDGE_SECRET": ""}, "SIP_EDGE_SECRET must be set, 16 to 200 characters"),
        ({"SIP_EDGE_SECRET": "short"}, "SIP_EDGE_SECRET must be set, 16 to 200 characters"),
        ({"SIP_EDGE_SECRET": "has a space in it and more"}, "SIP_EDGE_SECRET must be set"),
        ({"SIP_EDGE_PRODUCT_URL": "ftp://example.com"}, "SIP_EDGE_PRODUCT_URL must be an http(s) URL"),
        ({"SIP_EDGE_PRODUCT_URL": "http://user:pw@127.0.0.1:8000"}, "SIP_EDGE_PRODUCT_URL must be an http(s) URL"),
        ({"SIP_EDGE_TLS_CERTIFICATE": "only-the-certificate.pem"}, "go together"),
        ({"SIP_EDGE_GATEWAY_TIMEOUT_MS": 5}, "SIP_EDGE_GATEWAY_TIMEOUT_MS must be between 100 and 30000"),
        ({"SIP_EDGE_LISTEN": "5060"}, "The listen address must be HOST:PORT"),
    ],
)
def test_sip_edge_refuses_settings_it_cannot_run_with(settings, changes, message):
    settings.SIP_EDGE_SECRET = SECRET
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("sip_edge", stdout=StringIO(), stderr=StringIO())


def test_sip_edge_runs_kamailio_in_the_foreground_and_stops_it_with_itself(tmp_path):
    """The command as a supervisor runs it: Kamailio answers, and a SIGTERM to the command stops
    Kamailio too (no process left behind)."""
    import signal
    import sys
    import time

    from tests.edge.support import free_port, options_answered

    require_kamailio()
    port = free_port("127.0.0.6")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings_test",
        "SIP_EDGE_SECRET": SECRET,
        "TRUNKADMIN_VAR_DIR": str(tmp_path),
    }
    command = [sys.executable, "manage.py", "sip_edge", "--listen", f"127.0.0.6:{port}", "--config-dir", str(tmp_path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if options_answered("127.0.0.6", port) or process.poll() is not None:
                break
            time.sleep(0.05)
        assert options_answered("127.0.0.6", port), process.stderr.read().decode(errors="replace")[-2000:]
        assert SECRET not in (tmp_path / "kamailio.cfg").read_text()
        pid = int((tmp_path / "run" / "kamailio.pid").read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("Kamailio outlived the command")
    assert not options_answered("127.0.0.6", port)
