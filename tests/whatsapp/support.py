"""Meta-shaped webhook payloads, their signatures, and posting them to a trunk's webhook_url."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection

from channels_app.whatsapp.signatures import sign

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+14155550123"
PHONE_NUMBER_ID = "106540352242922"
BUSINESS_ACCOUNT_ID = "102290129340398"
ACCESS_TOKEN = "EAAMARKERtoken7f3c9eDoNotLeak0123456789"
APP_SECRET = "MARKER-app-secret-5d1e0c"
AGENT_SECRET = "agent-message-secret-for-tests"


def text_message(message_id: str, text: str = "Hello", sender: str = "16315551181") -> dict:
    return {"from": sender, "id": message_id, "timestamp": "1718000000", "type": "text", "text": {"body": text}}


def notification(phone_number_id: str, messages: list[dict], *, display: str = "+1 415-555-0123") -> dict:
    """A `messages` webhook notification as Meta documents it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": BUSINESS_ACCOUNT_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "16315551181"}],
                            "messages": messages,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def post_webhook(
    base_url: str, path: str, document: dict | bytes, *, secret: str | None = None, signature: str | None = None
) -> tuple[int, str]:
    """POST over real HTTP to a webhook path of the live server, signed with `secret` unless a
    `signature` is given."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    target = urlparse(base_url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def get(base_url: str, path: str) -> tuple[int, str]:
    target = urlparse(base_url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def path_of(binding) -> str:
    return urlparse(binding.webhook_url).path


def worker_env(agent_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `manage.py run_worker` process on this test's database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{os.path.abspath(db['NAME'])}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "trunkadmin.settings",
        "DEBUG": "false",
        "SECRET_KEY": "worker-tests-" + "s" * 40,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEY),
        "DATABASE_URL": url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "AGENT_MESSAGE_URL": agent_url,
        "AGENT_MESSAGE_SECRET": AGENT_SECRET,
        "AGENT_MESSAGE_TIMEOUT_MS": "500",
        "AGENT_DELIVERY_LEASE_SECONDS": "2",
        "AGENT_DELIVERY_BACKOFF_MS": "50",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`manage.py run_worker` as a real process (the caller stops or kills it)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_worker", "--poll-interval", "0.05", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen, *, kill: bool = False) -> str:
    """Stop a worker (SIGTERM, or SIGKILL) and return what it printed."""
    if process.poll() is None:
        process.kill() if kill else process.terminate()
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    return out or ""


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """`gunicorn trunkadmin.wsgi` (2 processes x 4 threads) on a free port of 127.0.0.1, on this
    test's database; returns the process and its base URL once it answers."""
    port = free_port()
    server_env = {
        **env,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "SECURE_SSL_REDIRECT": "false",
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "trunkadmin.wsgi"],
            cwd=ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return get(base_url, "/api/v1/health")[0] == 200
        except OSError:
            return False

    if not wait_for(answers, timeout=30, interval=0.1):
        stop(process, kill=True)
        raise RuntimeError(f"gunicorn did not start: {log_path.read_text()[-2000:]}")
    return process, base_url
