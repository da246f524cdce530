"""The SIP edge's benchmark: the routing decision against the API floor, and calls per second
through Kamailio + the product, at 1,000 and 100,000 numbers (docs/routing.md, "Performance").

    python bench/edge.py                          # sizes 1000,100000 on SQLite (~6 min)
    python bench/edge.py --sizes 1000 --duration 5 --rates 200,400
    python bench/edge.py --reuse                  # keep the generated databases of an earlier run

1. Per size, a fresh SQLite database with that many external numbers, each with a call trunk whose
   inbound addresses are a /24 every trunk shares (the worst case for the address look-up: the
   key has a row per trunk) and a /32 of its own; then the product, in-process through its WSGI
   application, answers the edge's decision request and the framework's floor (Bearer token, one
   indexed query: bench/urls.py), interleaved; medians and their ratio.
2. Per size, gunicorn (one worker, threads for the edge's kept-alive connections), Kamailio as
   `manage.py sip_edge` configures it, a SIPp agent answering every call, and a SIPp carrier
   calling random numbers of the inventory at a fixed rate, then at higher rates until calls
   fail: INVITEs per second, failed calls, call setup time (INVITE to 200 OK, p50/p99, from SIPp's
   response-time trace). First against a canned decision (a tiny HTTP server always answering the
   same relay): the edge's own ceiling on this machine. Then against the product.

Every process (SIPp on both sides, Kamailio, gunicorn) shares this machine's cores: the figures
are the whole chain's on one host, not the edge's alone. Results: var/bench/edge.json and stdout.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PYTHON, VAR, bench_env, gunicorn, percentile, valid_numbers  # noqa: E402

OUT = VAR / "bench"
SECRET = "bench-edge-secret-0123456789"
CARRIER = "127.0.0.11"
AGENT_HOST = "127.0.0.50"
EDGE_HOST = "127.0.0.2"
SIPP = "/usr/bin/sipp"
DECISION_REQUESTS = 1500
BATCH = 5000

CALLER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench: a carrier's call">
  <send retrans="500" start_rtd="setup">
    <![CDATA[
INVITE sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:carrier@[local_ip]:[local_port]>;tag=[pid]c[call_number]
To: <sip:[field0]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:carrier@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="100" optional="true" />
  <recv response="200" rrs="true" rtd="setup" />
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:carrier@[local_ip]:[local_port]>;tag=[pid]c[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:carrier@[local_ip]:[local_port]>;tag=[pid]c[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200" />
</scenario>
"""

AGENT = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench: the agents' media server">
  <recv request="INVITE" />
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]a[call_number]
[last_Record-Route:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port]>
Content-Length: 0

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
  </send>
</scenario>
"""


# --- children: generate a database, measure the decision in-process -------------------------------


def _django(database: Path) -> None:
    os.environ.update(bench_env(f"sqlite:///{database}"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["SIP_EDGE_SECRET"] = SECRET
    import django

    django.setup()


def child_generate(size: int, database: Path, info_path: Path) -> None:
    _django(database)
    from django.core.management import call_command

    from channels_app import services
    from channels_app.audit import Actor
    from channels_app.models import Agent, Channel, ChannelBinding, PhoneNumber, Source, TrunkAddressBlock, Workspace
    from channels_app.routing.addresses import block_key

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.create(name="Bench edge", slug="bench-edge")
    _token, plaintext = services.token_create(
        workspace=workspace, actor=Actor.command("bench"), name="bench", scope="read_write"
    )
    numbers = list(valid_numbers(size))
    for start in range(0, size, BATCH):
        chunk = numbers[start : start + BATCH]
        rows = PhoneNumber.objects.bulk_create(
            [PhoneNumber(workspace=workspace, number=e164, source=Source.EXTERNAL, monthly_fee=0) for e164 in chunk]
        )
        agents = Agent.objects.bulk_create(
            [Agent(workspace=workspace, name=f"agent {start + i}") for i in range(len(chunk))]
        )
        trunks = ChannelBinding.objects.bulk_create(
            [
                ChannelBinding(
                    workspace=workspace,
                    phone_number=row,
                    channel=Channel.CALL,
                    agent=agent,
                    is_trunk=True,
                    name=f"call_trunk_{row.number}",
                    direction="both",
                    sip_inbound_addresses=[
                        "127.0.0.0/24",
                        f"10.{(start + i) >> 16 & 255}.{(start + i) >> 8 & 255}.{(start + i) & 255}",
                    ],
                )
                for i, (row, agent) in enumerate(zip(rows, agents, strict=True))
            ]
        )
        TrunkAddressBlock.objects.bulk_create(
            [
                TrunkAddressBlock(binding=trunk, key=block_key(block))
                for trunk in trunks
                for block in trunk.sip_inbound_addresses
            ]
        )
    sample = [(str(n.phone_number_uuid), str(n.number)) for n in PhoneNumber.objects.order_by("?")[:400]]
    info_path.write_text(json.dumps({"token": plaintext, "sample": sample}))


def child_decision(database: Path, info_path: Path, out: Path) -> None:
    """Medians of the edge's decision request and of the floor, interleaved, in-process."""
    import io

    _django(database)
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    info = json.loads(info_path.read_text())
    basic = "Basic " + base64.b64encode(f"edge:{SECRET}".encode()).decode()

    def call(method: str, path: str, body: bytes = b"", headers=None) -> tuple[int, float]:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **(headers or {}),
        }
        if body:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
        status: list[str] = []
        started = time.perf_counter()
        response = app(environ, lambda line, headers, exc_info=None: status.append(line))
        b"".join(response)
        response.close()
        return int(status[0].split()[0]), time.perf_counter() - started

    samples: dict[str, list[float]] = {"floor": [], "decision": []}
    rng = random.Random(7)
    for turn in range(DECISION_REQUESTS + 200):
        uuid, e164 = info["sample"][turn % len(info["sample"])]
        user = rng.choice([e164, e164[1:], e164[2:]])  # +E164, E164 digits, national
        body = (
            f"direction=inbound&source={CARRIER}&ruri_user_hex={user.encode().hex()}&to_user_hex={user.encode().hex()}"
        )
        for name in rng.sample(["floor", "decision"], 2):
            if name == "floor":
                status, seconds = call(
                    "GET", f"/bench/floor/{uuid}", headers={"HTTP_AUTHORIZATION": f"Bearer {info['token']}"}
                )
            else:
                status, seconds = call("POST", "/internal/edge/route", body.encode(), {"HTTP_AUTHORIZATION": basic})
            assert status == 200, (name, status)
            if turn >= 200:  # warm-up
                samples[name].append(seconds * 1000)
    out.write_text(json.dumps({name: statistics.median(values) for name, values in samples.items()}))


# --- the parent ------------------------------------------------------------------------------------


class CannedDecision:
    """The edge's ceiling: an HTTP server that answers every decision with the same relay."""

    def __init__(self, agent_uri: str) -> None:
        answer = json.dumps(
            {
                "action": "relay",
                "uri": agent_uri,
                "agent": "canned",
                "number": "+1",
                "binding": "canned",
                "workspace": "bench",
            }
        ).encode()

        # One write per answer, without Nagle: headers and body written apart met the client's
        # delayed ACK and cost 40 ms an answer on a kept-alive connection.
        reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            len(answer),
            answer,
        )

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def kamailio(workdir: Path, product_url: str):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trunkadmin.settings_test")
    import django

    django.setup()
    from channels_app.edge import config as edge

    port = free_udp(EDGE_HOST)
    config = edge.EdgeConfig(
        listen_host=EDGE_HOST,
        port=port,
        product_url=product_url,
        children=4,
        decision_workers=8,
        gateway_timeout_ms=2000,
        log_level=1,
    )
    path = workdir / "kamailio.cfg"
    path.write_text(edge.render(config))
    runtime = workdir / f"run-{port}"
    runtime.mkdir()
    log = (workdir / "kamailio.log").open("wb")
    process = subprocess.Popen(
        edge.command(path, runtime),
        env={**os.environ, **edge.environment(config, SECRET)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    try:
        yield f"{EDGE_HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def free_udp(host: str) -> int:
    for _ in range(100):
        port = random.randint(20_000, 32_000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            try:
                udp.bind((host, port))
                tcp.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def run_calls(workdir: Path, edge: str, numbers: list[str], *, rate: int, duration: int, agent_port: int) -> dict:
    """SIPp calling `numbers` at `rate` calls/s for `duration` s; the agent (on `agent_port`, where
    the decision sends the calls) answers every call."""
    tag = f"r{rate}-{time.time_ns()}"
    caller, agent = workdir / f"caller-{tag}.xml", workdir / f"agent-{tag}.xml"
    caller.write_text(CALLER)
    agent.write_text(AGENT)
    injection = workdir / f"numbers-{tag}.csv"
    injection.write_text("RANDOM\n" + "".join(f"{n}\n" for n in numbers))
    callee = subprocess.Popen(
        [
            SIPP,
            "-sf",
            str(agent),
            "-i",
            AGENT_HOST,
            "-p",
            str(agent_port),
            "-nostdin",  # in the foreground: -bg would fork a process that terminate() does not reach
            "-trace_err",
            "-error_file",
            str(workdir / f"agent-{tag}.err"),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)  # the agent binds its port
    calls = rate * duration
    started = time.monotonic()
    result = subprocess.run(
        [
            SIPP,
            "-sf",
            str(caller),
            "-inf",
            str(injection),
            "-i",
            CARRIER,
            "-p",
            str(free_udp(CARRIER)),
            "-r",
            str(rate),
            "-m",
            str(calls),
            "-l",
            str(max(100, rate * 4)),
            "-nostdin",
            "-timeout",
            f"{duration * 3 + 30}s",
            "-recv_timeout",
            "5000",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-trace_stat",
            "-fd",
            "1",
            edge,
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.monotonic() - started
    callee.terminate()
    callee.wait(timeout=10)
    rtt_files = sorted(workdir.glob(f"caller-{tag}_*_rtt.csv"))
    setup = []
    for path in rtt_files:
        with path.open() as handle:
            for row in csv.reader(handle, delimiter=";"):
                if row and row[0][:1].isdigit() and len(row) >= 2:
                    setup.append(float(row[1]))
    successful = failed = 0
    for path in sorted(workdir.glob(f"caller-{tag}_*_.csv")):
        rows = list(csv.reader(path.open(), delimiter=";"))
        header, last = rows[0], rows[-1]
        successful = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
    setup.sort()
    return {
        "rate": rate,
        "calls": calls,
        "successful": successful,
        "failed": failed,
        "achieved_cps": round(successful / elapsed, 1) if elapsed else 0,
        "setup_p50_ms": round(percentile(setup, 0.5), 2) if setup else None,
        "setup_p99_ms": round(percentile(setup, 0.99), 2) if setup else None,
        "sipp_exit": result.returncode,
    }


def step_up(
    workdir: Path, edge: str, numbers: list[str], rates: list[int], duration: int, *, agent_port: int, label: str
) -> list[dict]:
    """The rates in turn, until calls fail or fall behind."""
    steps = []
    for rate in rates:
        step = run_calls(workdir, edge, numbers, rate=rate, duration=duration, agent_port=agent_port)
        step["against"] = label
        steps.append(step)
        print(
            f"  {label:>8} @ {rate:5d}/s: {step['successful']:6d} ok, {step['failed']:4d} failed, "
            f"{step['achieved_cps']:7.1f} calls/s, setup p50 {step['setup_p50_ms']} ms, p99 {step['setup_p99_ms']} ms",
            flush=True,
        )
        if step["failed"] or step["successful"] < step["calls"]:
            break
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--rates", default="200,300,400,600,800,1000,1300,1600")
    parser.add_argument("--duration", type=int, default=8, help="seconds at each rate")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--no-calls", action="store_true", help="only the in-process decision against the floor")
    parser.add_argument("--child", choices=["generate", "decision"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        return child_generate(args.size, Path(args.database), Path(args.info))
    if args.child == "decision":
        return child_decision(Path(args.database), Path(args.info), Path(args.out))

    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(size) for size in args.sizes.split(",")]
    rates = [int(rate) for rate in args.rates.split(",")]
    results: dict = {"machine": f"{os.cpu_count()} cores, shared", "sizes": {}}
    for size in sizes:
        database, info = OUT / f"edge-{size}.sqlite3", OUT / f"edge-{size}.json"
        if not (args.reuse and database.exists() and info.exists()):
            for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                path.unlink(missing_ok=True)
            started = time.monotonic()
            subprocess.run(
                [
                    PYTHON,
                    __file__,
                    "--child",
                    "generate",
                    "--size",
                    str(size),
                    "--database",
                    str(database),
                    "--info",
                    str(info),
                ],
                check=True,
                cwd=ROOT,
            )
            print(f"generated {size:,} numbers with call trunks in {time.monotonic() - started:.0f} s", flush=True)
        out = OUT / f"edge-decision-{size}.json"
        subprocess.run(
            [
                PYTHON,
                __file__,
                "--child",
                "decision",
                "--database",
                str(database),
                "--info",
                str(info),
                "--out",
                str(out),
            ],
            check=True,
            cwd=ROOT,
        )
        medians = json.loads(out.read_text())
        ratio = medians["decision"] / medians["floor"]
        print(
            f"{size:>9,} numbers: decision {medians['decision']:.2f} ms, floor {medians['floor']:.2f} ms, x{ratio:.2f}",
            flush=True,
        )
        entry = {
            "decision_ms": round(medians["decision"], 3),
            "floor_ms": round(medians["floor"], 3),
            "ratio": round(ratio, 2),
        }
        if not args.no_calls:
            numbers = [e164 for _uuid, e164 in json.loads(info.read_text())["sample"]]
            env = {**bench_env(f"sqlite:///{database}"), "SIP_EDGE_SECRET": SECRET}
            with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
                workdir = Path(tmp)
                agent_port = free_udp(AGENT_HOST)
                canned = CannedDecision(f"sip:canned@{AGENT_HOST}:{agent_port}")
                try:
                    with kamailio(workdir, canned.url) as edge:
                        entry["canned"] = step_up(
                            workdir, edge, numbers, rates, args.duration, agent_port=agent_port, label="canned"
                        )
                finally:
                    canned.stop()
                env["AGENT_SIP_URI"] = "sip:{agent_uuid}@" + f"{AGENT_HOST}:{agent_port}"
                with gunicorn(env, workers=1, threads=8) as base, kamailio(workdir, base) as edge:
                    entry["product"] = step_up(
                        workdir, edge, numbers, rates, args.duration, agent_port=agent_port, label="product"
                    )
        results["sizes"][size] = entry
    (OUT / "edge.json").write_text(json.dumps(results, indent=2))
    print(f"results: {OUT / 'edge.json'}")


if __name__ == "__main__":
    main()
