"""The benchmark harness (`make bench`): operation medians against the framework's floor, at
several inventory sizes, on SQLite and PostgreSQL, plus wrk throughput and import throughput.

    python bench/run.py                 # 1,000 and 100,000 numbers on SQLite and PostgreSQL (~15 min)
    python bench/run.py --million       # ... and 1,000,000 on PostgreSQL (~30 min)
    python bench/run.py --quick         # 1,000 and 10,000 numbers, fewer requests, no docs (~3 min)
    python bench/run.py --dbs sqlite --sizes 1000,100000 --reuse --no-import --no-docs

Per database engine: each size gets a fresh database, migrated and filled by bench/data.py in a
child process. Then one child process measures every size, in-process through the real WSGI
application (handler, every middleware, authentication, throttling, rendering; no socket),
switching database between sizes operation by operation, round after round: whatever else the
machine runs slows every size and every operation alike, so the ratios to the floor and between
sizes hold even when absolute times do not. Each figure is a median after warm-up, wall time
and CPU time of the process. Then gunicorn (2 workers, 127.0.0.1) serves each database to `wrk`
for the floor and the snapshot read, interleaved. `import_trunks` is timed by
bench/import_trunks.py (SQLite unless --import-dbs) while this harness watches the command's
peak resident memory.

Results: var/bench/results.json, tables on stdout and, unless --no-docs, the figures section of
docs/performance.md (between its bench markers) and the charts under docs/img/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PYTHON, VAR, bench_env, gunicorn, percentile  # noqa: E402

OUT = VAR / "bench"
RESULTS = OUT / "results.json"
DOC = ROOT / "docs" / "performance.md"
IMG = ROOT / "docs" / "img"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")

# (name, label, kind): kind decides the target (ratio of medians to the floor).
OPERATIONS = [
    ("floor", "floor (auth + 1 indexed query)", "floor"),
    ("snapshot_uuid", "snapshot by uuid", "snapshot"),
    ("snapshot_number", "snapshot by number", "snapshot"),
    ("list_numbers", "phone-number list page", "list"),
    ("list_trunks", "trunk list page", "list"),
    ("trunk_create", "trunk create", "write"),
    ("trunk_update", "trunk update", "write"),
    ("trunk_assign", "trunk assign", "write"),
    ("trunk_delete", "trunk delete", "write"),
    ("admin_changelist", "admin changelist", "page"),
    ("admin_search", "admin changelist, search by number", "page"),
    ("selfserve_numbers", "self-serve numbers page", "page"),
]
TARGET_RATIO = {"snapshot": 1.5, "list": 2.0, "write": 6.0}
FLAT_TARGET = {100_000: 1.2, 1_000_000: 1.3}
READS = [name for name, _, kind in OPERATIONS if kind in ("floor", "snapshot", "list", "page")]
WRITES = ["trunk_create", "trunk_update", "trunk_assign", "trunk_delete"]
LABEL = {name: label for name, label, _ in OPERATIONS}
KIND = {name: kind for name, _, kind in OPERATIONS}


# --- the parent: databases, children, report -------------------------------------------------------


def database_url(db: str, name: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{OUT / (name + '.sqlite3')}"
    return f"{POSTGRES_URL}/{name}"


def fresh_database(db: str, name: str) -> str:
    """Drop and create the database `name`; returns its URL."""
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (OUT / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(db, name)


def child_env(url: str) -> dict[str, str]:
    env = bench_env(url, redis_url="")
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    env["PYTHONPATH"] = str(ROOT)
    # Workers are not recycled during a throughput run (production recycles every ~5,000 requests).
    env["GUNICORN_CMD_ARGS"] = "--max-requests 0"
    return env


def run_child(args: list[str], url: str) -> dict:
    """Run this file as a child against one database; returns the JSON it writes."""
    with tempfile.NamedTemporaryFile(suffix=".json", dir=OUT, delete=False) as handle:
        out = Path(handle.name)
    try:
        subprocess.run([PYTHON, __file__, *args, "--out", str(out)], cwd=ROOT, env=child_env(url), check=True)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    sqlite_version = subprocess.run(
        [PYTHON, "-c", "import sqlite3; print(sqlite3.sqlite_version)"], capture_output=True, text=True
    ).stdout.strip()
    pg_version = ""
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_URL}/postgres") as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:
        pg_version = "not reachable"
    import django

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True) if shutil.which("wrk") else None
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite_version,
        "postgresql": pg_version,
        "wrk": (wrk.stdout or wrk.stderr).split("\n")[0].strip() if wrk else "not installed",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="1,000 and 10,000 numbers, fewer requests; leaves the docs alone"
    )
    parser.add_argument("--million", action="store_true", help="also 1,000,000 numbers on PostgreSQL")
    parser.add_argument("--dbs", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sizes", default="", help="comma-separated inventory sizes (overrides the defaults)")
    parser.add_argument("--import-rows", default="", help="comma-separated import sizes (default 10000,100000)")
    parser.add_argument("--no-import", action="store_true", help="skip the import_trunks runs")
    parser.add_argument("--import-dbs", default="sqlite", help="databases of the import runs (default: sqlite)")
    parser.add_argument("--no-wrk", action="store_true", help="skip the gunicorn + wrk throughput runs")
    parser.add_argument("--no-edge", action="store_true", help="skip the SIP edge's benchmark (bench/edge.py)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md and charts")
    parser.add_argument("--reuse", action="store_true", help="reuse databases generated by an earlier run")
    parser.add_argument(
        "--from-results", action="store_true", help="rewrite the tables, docs and charts from var/bench/results.json"
    )
    parser.add_argument("--child", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        return child_generate(args)
    if args.child == "measure":
        return child_measure(args)

    OUT.mkdir(parents=True, exist_ok=True)
    if args.from_results:
        return report(json.loads(RESULTS.read_text()), docs=not args.no_docs)
    dbs = [db.strip() for db in args.dbs.split(",") if db.strip()]
    if args.sizes:
        base_sizes = [int(size) for size in args.sizes.split(",")]
    else:
        base_sizes = [1_000, 10_000] if args.quick else [1_000, 100_000]
    import_rows = [int(n) for n in args.import_rows.split(",")] if args.import_rows else [10_000, 100_000]
    if args.quick and not args.import_rows:
        import_rows = [2_000, 10_000]
    started = time.monotonic()
    results: dict = {"machine": machine(), "quick": args.quick, "runs": [], "imports": []}
    results["load_at_start"] = round(os.getloadavg()[0], 2)
    results["command"] = "python bench/run.py " + " ".join(sys.argv[1:])
    for db in dbs:
        sizes = list(base_sizes)
        if db == "postgres" and args.million and 1_000_000 not in sizes:
            sizes.append(1_000_000)
        targets = []
        for size in sizes:
            name = f"bench_{db}_{size}"
            data_file = OUT / f"{name}.data.json"
            reuse = args.reuse and data_file.exists()
            url = database_url(db, name) if reuse else fresh_database(db, name)
            if not reuse:
                data_file.unlink(missing_ok=True)
            print(f"== {db}, {size:,} numbers: {'migrating (reusing data)' if reuse else 'generating'} ==", flush=True)
            generated = run_child(["--child", "generate", "--size", str(size), "--data", str(data_file)], url)
            targets.append({"size": size, "url": url, "data": str(data_file), **generated})
        measured_sizes = ", ".join(f"{size:,}" for size in sizes)
        print(f"== {db}: measuring {measured_sizes} numbers, interleaved ==", flush=True)
        child_args = ["--child", "measure", "--targets", json.dumps(targets)]
        if args.quick:
            child_args.append("--quick")
        measured = run_child(child_args, targets[0]["url"])
        for target, run in zip(targets, measured["runs"], strict=True):
            run.update(db=db, size=target["size"], generate_seconds=target["generate_seconds"])
            if not args.no_wrk:
                run["throughput"] = measure_throughput(target, quick=args.quick)
            results["runs"].append(run)
        print_runs([run for run in results["runs"] if run["db"] == db])
    if not args.no_import:
        for db in [db.strip() for db in args.import_dbs.split(",") if db.strip()]:
            for rows in import_rows:
                print(f"== import_trunks, {rows:,} rows, {db} ==", flush=True)
                url = fresh_database(db, f"bench_import_{db}_{rows}")
                result = measure_import(rows, url)
                result.update(db=db)
                results["imports"].append(result)
                print(
                    f"   commit {result['rows_per_second']:,.0f} rows/s ({result['seconds']:.1f} s), "
                    f"peak RSS {result['peak_rss_mib']:.0f} MiB; dry run {result['dry_run_rows_per_second']:,.0f} "
                    f"rows/s, peak RSS {result['dry_run_peak_rss_mib']:.0f} MiB",
                    flush=True,
                )
    results["seconds"] = round(time.monotonic() - started)
    results["load_at_end"] = round(os.getloadavg()[0], 2)
    RESULTS.write_text(json.dumps(results, indent=2))
    report(results, docs=not (args.no_docs or args.quick))  # the docs carry full runs only
    if not args.no_edge:
        # The SIP edge's own benchmark, on SQLite (figures: var/bench/edge.json, docs/routing.md).
        print("== the SIP edge: the decision against the floor, calls per second through Kamailio ==", flush=True)
        edge_args = ["--sizes", "1000,10000", "--duration", "4", "--rates", "200,400"] if args.quick else []
        subprocess.run([PYTHON, str(ROOT / "bench" / "edge.py"), *edge_args], cwd=ROOT, check=True)


def report(results: dict, *, docs: bool) -> None:
    print()
    print(render_tables(results))
    print(f"(whole run: {results['seconds'] // 60} min {results['seconds'] % 60} s; raw figures in {RESULTS})")
    if docs:
        charts = draw_charts(results)
        write_doc(results, charts)
        print(f"wrote {DOC.relative_to(ROOT)} and {len(charts)} chart(s) under {IMG.relative_to(ROOT)}/")


def print_runs(runs: list[dict]) -> None:
    """One line per operation: median and ratio to the floor at each size."""
    for name in READS + WRITES:
        cells = []
        for run in runs:
            op, floor = run["ops"][name], run["ops"]["floor"]["median_ms"]
            cells.append(f"{op['median_ms']:8.2f} ms x{op['median_ms'] / floor:5.2f} ({op['queries']} q)")
        print(f"   {LABEL[name]:<36} " + "  ".join(cells), flush=True)
    for run in runs:
        tp = run.get("throughput")
        if tp:
            print(
                f"   wrk @ {run['size']:,}: floor {tp['floor']['rps']:,.0f} req/s, "
                f"snapshot {tp['snapshot']['rps']:,.0f} req/s",
                flush=True,
            )


# --- the children ------------------------------------------------------------------------------------


def _django():
    import django

    django.setup()


def child_generate(args) -> None:
    """Migrate one database, collect static files, and fill it (unless its data file exists)."""
    _django()
    from django.core.management import call_command

    from bench import data as bench_data

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    data_file = Path(args.data)
    if not data_file.exists():
        info = bench_data.generate(args.size, progress=lambda line: print(line, flush=True))
        data_file.write_text(info.to_json())
        print(f"   generated in {info.seconds:.0f} s: {info.counts}", flush=True)
    info = json.loads(data_file.read_text())
    Path(args.out).write_text(json.dumps({"generate_seconds": round(info["seconds"], 1), "counts": info["counts"]}))


def child_measure(args) -> None:
    """Measure every size of one database engine in one process, interleaved operation by
    operation, so that whatever else the machine does slows every size alike."""
    _django()
    from django.core.wsgi import get_wsgi_application

    from bench import data as bench_data

    app = get_wsgi_application()
    targets = json.loads(args.targets)
    runners = []
    for target in targets:
        info = bench_data.BenchData.from_json(Path(target["data"]).read_text())
        use_database(target["url"])
        runners.append(Runner(app, info, target["url"], quick=args.quick))
    first = runners[0]
    for runner in runners:
        runner.use()
        runner.warm_up()
    for round_ in range(first.rounds):
        order = runners if round_ % 2 == 0 else runners[::-1]
        for name in READS:
            for runner in order:
                runner.use()
                runner.read(name)  # untimed: the first request after a switch opens a connection
                runner.reads(name, first.per_round)
        for runner in order:
            runner.use()
            runner.read("floor")
            runner.write_round(round_)
    runs = []
    for runner in runners:
        runner.use()
        runs.append({"ops": runner.summary(), "counts": runner.info.counts})
    Path(args.out).write_text(json.dumps({"runs": runs}))


_CONNECTIONS: dict[str, object] = {}


def use_database(url: str) -> None:
    """Make the default connection the one of another database of the same engine.

    Each database keeps its own connection between turns, as a server process keeps its
    connection from one request to the next (CONN_MAX_AGE): its SQLite page cache and its
    PostgreSQL prepared statements stay warm. Closing and reopening at every switch would
    measure a cold connection every 25 requests, which no deployment does.
    """
    import environ
    from django.db import connections
    from django.db.utils import load_backend

    wrapper = _CONNECTIONS.get(url)
    if wrapper is None:
        settings = {**connections["default"].settings_dict, "NAME": environ.Env.db_url_config(url)["NAME"]}
        wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
        _CONNECTIONS[url] = wrapper
    connections["default"] = wrapper


class Runner:
    """Requests through the WSGI application, in-process: the whole Django stack, no socket."""

    def __init__(self, app, info, url: str, *, quick: bool) -> None:
        from bench import data as bench_data

        self.app = app
        self.info = info
        self.url = url
        self.rounds, self.per_round, self.writes_per_round = (6, 8, 5) if quick else (20, 25, 10)
        self.warmup = 10 if quick else 40
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {info.token}"}
        self.staff = {"HTTP_COOKIE": f"sessionid={self._session(info.staff_username)}"}
        self.customer = {"HTTP_COOKIE": f"sessionid={self._session(info.customer_username)}"}
        total_writes = (self.rounds + 2) * self.writes_per_round
        self.fresh = bench_data.fresh_numbers(total_writes)
        self.agents = self.info.spare_agents[: 2 * self.writes_per_round]
        self.samples: dict[str, list[float]] = {name: [] for name in READS + WRITES}
        # CPU time of this process per request: all of the work on SQLite, the client's part on
        # PostgreSQL. Less disturbed than wall time by other processes on the same cores.
        self.cpu_samples: dict[str, list[float]] = {name: [] for name in READS + WRITES}
        self.last_cpu = 0.0
        self.turn = 0

    def use(self) -> None:
        use_database(self.url)

    @staticmethod
    def _session(username: str) -> str:
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return client.cookies["sessionid"].value

    def call(self, method: str, path: str, query: str = "", body: dict | None = None, headers=None):
        """One request through the WSGI application; returns (status, body bytes, seconds)."""
        import io

        payload = json.dumps(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT": "application/json" if path.startswith("/api/") else "text/html",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **(headers or {}),
        }
        if payload:
            environ["CONTENT_TYPE"] = "application/json"
            environ["CONTENT_LENGTH"] = str(len(payload))
        status: list[str] = []

        def start_response(line, response_headers, exc_info=None):
            status.append(line)

        started, cpu = time.perf_counter(), time.process_time()
        response = self.app(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            response.close()
        elapsed = time.perf_counter() - started
        self.last_cpu = time.process_time() - cpu
        return int(status[0].split()[0]), content, elapsed

    # --- the operations ---------------------------------------------------------------------

    def _pick(self) -> tuple[str, str]:
        self.turn += 1
        return self.info.sample[self.turn % len(self.info.sample)]

    def _page(self) -> str:
        return str(1 + self.turn % 5)

    def read(self, name: str):
        uuid, e164 = self._pick()
        if name == "floor":
            result = self.call("GET", f"/bench/floor/{uuid}", headers=self.auth)
        elif name == "snapshot_uuid":
            result = self.call("GET", f"/api/v1/phone-numbers/{uuid}/channels", headers=self.auth)
        elif name == "snapshot_number":
            result = self.call("GET", "/api/v1/phone-numbers/channels", f"number={quote(e164)}", headers=self.auth)
        elif name == "list_numbers":
            result = self.call("GET", "/api/v1/phone-numbers", f"page={self._page()}", headers=self.auth)
        elif name == "list_trunks":
            result = self.call("GET", "/api/v1/phone-numbers/trunks", f"page={self._page()}", headers=self.auth)
        elif name == "admin_changelist":
            result = self.call("GET", "/admin/channels_app/phonenumber/", f"p={self._page()}", headers=self.staff)
        elif name == "admin_search":
            query = f"q={quote(spelled(e164))}"
            result = self.call("GET", "/admin/channels_app/phonenumber/", query, headers=self.staff)
        elif name == "selfserve_numbers":
            path = f"/app/{self.info.workspace_slug}/numbers/"
            result = self.call("GET", path, f"page={self._page()}", headers=self.customer)
        else:
            raise ValueError(name)
        if result[0] != 200:
            raise RuntimeError(f"{name}: HTTP {result[0]} {result[1][:300]!r}")
        return result

    def reads(self, name: str, count: int) -> None:
        for _ in range(count):
            self.samples[name].append(self.read(name)[2])
            self.cpu_samples[name].append(self.last_cpu)

    def write_cycle(self, numbers: list[str], agents: list[str], record: bool) -> None:
        """Create, update, assign and delete a trunk on each number: the inventory ends as it began."""
        others = agents[len(numbers) :]
        steps = [
            (
                "trunk_create",
                lambda n, a, b: self.call(
                    "POST",
                    "/api/v1/phone-numbers/trunks",
                    body={
                        "phone_number": n,
                        "agent_uuid": a,
                        "channel": "call",
                        "direction": "both",
                        "sip": {"gateway": "sip.bench.example.net", "username": "bench", "password": "bench-pw-1"},
                        "additional_settings": {"region": "eu"},
                    },
                    headers=self.auth,
                ),
                201,
            ),
            (
                "trunk_update",
                lambda n, a, b: self.call(
                    "PATCH",
                    "/api/v1/phone-numbers/trunks",
                    body={"phone_number": n, "channel": "call", "name": "renamed", "sip": {"password": "bench-pw-2"}},
                    headers=self.auth,
                ),
                200,
            ),
            (
                "trunk_assign",
                lambda n, a, b: self.call(
                    "PUT",
                    "/api/v1/phone-numbers/trunks/assign",
                    body={"phone_number": n, "channel": "call", "agent_uuid": b},
                    headers=self.auth,
                ),
                200,
            ),
            (
                "trunk_delete",
                lambda n, a, b: self.call(
                    "DELETE",
                    "/api/v1/phone-numbers/trunks",
                    f"phone_number={quote(n)}&channel=call",
                    headers=self.auth,
                ),
                200,
            ),
        ]
        for name, step, expected in steps:
            for number, agent, other in zip(numbers, agents, others, strict=False):
                status, content, elapsed = step(number, agent, other)
                if status != expected:
                    raise RuntimeError(f"{name} {number}: HTTP {status} {content[:300]!r}")
                if record:
                    self.samples[name].append(elapsed)
                    self.cpu_samples[name].append(self.last_cpu)

    def warm_up(self) -> None:
        for name in READS:
            for _ in range(self.warmup):
                self.read(name)
        self.write_cycle(self.fresh[: self.writes_per_round], self.agents, record=False)

    def write_round(self, round_: int) -> None:
        k = self.writes_per_round
        numbers = self.fresh[k * (round_ + 1) : k * (round_ + 2)]
        if round_ % 2:  # alternate which agents take the trunks and which ones they are given to
            self.agents = self.agents[k:] + self.agents[:k]
        self.write_cycle(numbers, self.agents, record=True)

    def queries(self) -> dict[str, int]:
        """Queries per request of each operation (the token's once-a-minute touch excluded)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from channels_app.models import ApiToken

        counts: dict[str, int] = {}
        ApiToken.objects.update(last_used_at=datetime.now(UTC))
        for name in READS:
            with CaptureQueriesContext(connection) as captured:
                self.read(name)
            counts[name] = len(captured.captured_queries)
        k = self.writes_per_round
        numbers = self.fresh[-k:]
        original = self.call
        step = {"POST": "trunk_create", "PATCH": "trunk_update", "PUT": "trunk_assign", "DELETE": "trunk_delete"}

        def counted(method, path, query="", body=None, headers=None):
            with CaptureQueriesContext(connection) as captured:
                result = original(method, path, query, body, headers)
            counts[step[method]] = len(captured.captured_queries)
            return result

        self.call = counted
        try:
            self.write_cycle(numbers[:1], [self.agents[0], self.agents[k]], record=False)
        finally:
            self.call = original
        return counts

    def summary(self) -> dict[str, dict]:
        counts = self.queries()
        ops = {}
        for name, values in self.samples.items():
            values = sorted(values)
            ops[name] = {
                "n": len(values),
                "median_ms": round(statistics.median(values) * 1000, 3),
                "p90_ms": round(percentile(values, 0.9) * 1000, 3),
                "cpu_median_ms": round(statistics.median(self.cpu_samples[name]) * 1000, 3),
                "queries": counts[name],
            }
        return ops


def spelled(e164: str) -> str:
    """+12125550123 as a person would type it: +1 (212) 555-0123."""
    digits = e164.lstrip("+")
    return f"+{digits[0]} ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"


# --- throughput: gunicorn + wrk ------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer %(token)s"})
end
"""
WRK_CONNECTIONS = 4


def measure_throughput(target: dict, *, quick: bool) -> dict | None:
    """Requests per second of gunicorn (2 workers) under wrk: the floor, then the snapshot."""
    if not shutil.which("wrk"):
        print("   wrk not installed (apt-get install wrk): throughput skipped", flush=True)
        return None
    info = json.loads(Path(target["data"]).read_text())
    seconds = 4 if quick else 10
    sample = info["sample"][:100]
    paths = {
        "floor": [f"/bench/floor/{uuid}" for uuid, _ in sample],
        "snapshot": [f"/api/v1/phone-numbers/{uuid}/channels" for uuid, _ in sample],
    }
    results: dict[str, dict] = {}
    with gunicorn(child_env(target["url"]), workers=2, threads=1) as base, tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, items in paths.items():
            script = Path(tmp) / f"{name}.lua"
            script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in items), "token": info["token"]})
            scripts[name] = script
        for script in scripts.values():  # warm-up
            wrk(base, script, 2)
        runs: dict[str, list[dict]] = {name: [] for name in paths}
        for _ in range(2):  # interleaved: floor, snapshot, floor, snapshot
            for name, script in scripts.items():
                runs[name].append(wrk(base, script, seconds / 2))
        for name, items in runs.items():
            results[name] = {
                "rps": round(sum(item["rps"] for item in items) / len(items), 1),
                "non_2xx": sum(item["non_2xx"] for item in items),
                "seconds": seconds,
                "connections": WRK_CONNECTIONS,
            }
    return results


def wrk(base: str, script: Path, seconds: float) -> dict:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "non_2xx": int(bad.group(1)) if bad else 0}


# --- import_trunks ------------------------------------------------------------------------------

IMPORT_LINE = re.compile(r"(dry run \(preview\)|commit)\s+([\d.]+) s wall \(\s*(\d+) rows/s\)\s+([\d.]+) s CPU")


def measure_import(rows: int, url: str) -> dict:
    """Run bench/import_trunks.py (rows/s of `manage.py import_trunks`, dry run and commit) and
    watch the peak resident memory (VmHWM) of each import_trunks process while it runs."""
    proc = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "import_trunks.py"), "--rows", str(rows), "--database-url", url],
        cwd=ROOT,
        env=child_env(url),
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks: dict[str, int] = {}  # "commit" / "dry run" -> KiB
    while proc.poll() is None:
        for pid, cmdline in _import_processes():
            kib = _peak_rss_kib(pid)
            if kib:
                key = "dry run" if "--dry-run" in cmdline else "commit"
                peaks[key] = max(peaks.get(key, 0), kib)
        time.sleep(0.05)
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(f"bench/import_trunks.py failed:\n{out[-2000:]}")
    figures = {}
    for label, wall, per_second, cpu in IMPORT_LINE.findall(out):
        figures["dry run" if label.startswith("dry") else "commit"] = (float(wall), int(per_second), float(cpu))
    return {
        "rows": rows,
        "seconds": figures["commit"][0],
        "rows_per_second": figures["commit"][1],
        "cpu_seconds": figures["commit"][2],
        "peak_rss_mib": round(peaks.get("commit", 0) / 1024, 1),
        "dry_run_seconds": figures["dry run"][0],
        "dry_run_rows_per_second": figures["dry run"][1],
        "dry_run_peak_rss_mib": round(peaks.get("dry run", 0) / 1024, 1),
    }


def _import_processes() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "manage.py import_trunks" in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def _peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- report ----------------------------------------------------------------------------------------


def _fmt_size(size: int) -> str:
    return f"{size:,}"


def render_tables(results: dict) -> str:
    """Markdown tables: medians and ratios per database and size, flatness, throughput, import."""
    lines: list[str] = []
    runs = results["runs"]
    for db in sorted({run["db"] for run in runs}, key=lambda d: d != "sqlite"):
        db_runs = sorted((run for run in runs if run["db"] == db), key=lambda run: run["size"])
        base = db_runs[0]
        lines.append(f"#### {'SQLite' if db == 'sqlite' else 'PostgreSQL'}")
        lines.append("")
        header = ["operation", "queries"]
        for run in db_runs:
            header += [f"median ms @ {_fmt_size(run['size'])}", f"x floor @ {_fmt_size(run['size'])}"]
        for run in db_runs[1:]:
            header.append(f"{_fmt_size(run['size'])} / {_fmt_size(base['size'])}")
        header.append("verdict")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for name in READS + WRITES:
            if name not in base["ops"]:
                continue
            queries = sorted({run["ops"][name]["queries"] for run in db_runs})
            row = [LABEL[name], "/".join(str(q) for q in queries)]
            verdicts = []
            for run in db_runs:
                floor = run["ops"]["floor"]["median_ms"]
                median = run["ops"][name]["median_ms"]
                ratio = median / floor
                row += [f"{median:.2f}", f"{ratio:.2f}"]
                target = TARGET_RATIO.get(KIND[name])
                if target and ratio > target:
                    verdicts.append(f"x{ratio:.2f} > {target} @ {_fmt_size(run['size'])}")
            for run in db_runs[1:]:
                growth = run["ops"][name]["median_ms"] / base["ops"][name]["median_ms"]
                row.append(f"{growth:.2f}")
                flat = FLAT_TARGET.get(run["size"])
                if flat and growth > flat:
                    verdicts.append(f"growth {growth:.2f} > {flat} @ {_fmt_size(run['size'])}")
            if len(queries) > 1:
                verdicts.append("query count varies")
            row.append("; ".join(verdicts) if verdicts else "met")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        lines.append(
            "CPU time of the measuring process per request (median; "
            + ("all of the work" if db == "sqlite" else "without the database server's part")
            + "), and its ratio to the floor's:"
        )
        lines.append("")
        header = ["operation"] + [f"CPU ms @ {_fmt_size(run['size'])} (x floor)" for run in db_runs]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for name in READS + WRITES:
            cells = [LABEL[name]]
            for run in db_runs:
                cpu, floor = run["ops"][name]["cpu_median_ms"], run["ops"]["floor"]["cpu_median_ms"]
                cells.append(f"{cpu:.2f} (x{cpu / floor:.2f})")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    throughput = [run for run in runs if run.get("throughput")]
    if throughput:
        lines.append("#### Throughput (gunicorn, 2 workers, `wrk -t1 -c4`, 127.0.0.1)")
        lines.append("")
        lines.append("| database | numbers | floor req/s | snapshot req/s | snapshot / floor | non-2xx |")
        lines.append("|---|---|---|---|---|---|")
        for run in throughput:
            tp = run["throughput"]
            lines.append(
                f"| {run['db']} | {_fmt_size(run['size'])} | {tp['floor']['rps']:,.0f} | "
                f"{tp['snapshot']['rps']:,.0f} | {tp['snapshot']['rps'] / tp['floor']['rps']:.2f} | "
                f"{tp['floor']['non_2xx'] + tp['snapshot']['non_2xx']} |"
            )
        lines.append("")
    if results.get("imports"):
        lines.append("#### `import_trunks` (bench/import_trunks.py; peak resident memory of the command's process)")
        lines.append("")
        lines.append(
            "| database | rows | commit s | commit rows/s | commit peak MiB | dry run rows/s | dry run peak MiB |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        for item in results["imports"]:
            lines.append(
                f"| {item['db']} | {_fmt_size(item['rows'])} | {item['seconds']:.1f} | "
                f"{item['rows_per_second']:,} | {item['peak_rss_mib']:.0f} | "
                f"{item['dry_run_rows_per_second']:,} | {item['dry_run_peak_rss_mib']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def draw_charts(results: dict) -> list[Path]:
    """One PNG per database: each operation's median (ms, log scale) against inventory size."""
    try:
        import matplotlib
        import matplotlib.ticker

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -r requirements-bench.txt): no charts", flush=True)
        return []
    IMG.mkdir(parents=True, exist_ok=True)
    paths = []
    for db in sorted({run["db"] for run in results["runs"]}):
        runs = sorted((run for run in results["runs"] if run["db"] == db), key=lambda run: run["size"])
        if len(runs) < 2:
            continue
        sizes = [run["size"] for run in runs]
        fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
        colors = plt.get_cmap("tab20").colors
        for index, name in enumerate(READS + WRITES):
            values = [run["ops"][name]["median_ms"] for run in runs]
            style = {"linewidth": 3, "color": "black"} if name == "floor" else {"linewidth": 1.5}
            style.setdefault("color", colors[(2 * index) % 20 if index < 10 else (2 * index - 19) % 20])
            marker = "s" if KIND[name] == "write" else "o"
            ax.plot(sizes, values, marker=marker, label=LABEL[name], **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xticks(sizes, [_fmt_size(size) for size in sizes])
        ax.set_xlabel("numbers in the inventory")
        ax.set_ylabel("median per request (ms, log scale)")
        name = "SQLite" if db == "sqlite" else "PostgreSQL"
        ax.set_title(f"trunkadmin, {name}: median per operation against inventory size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
        fig.tight_layout()
        path = IMG / f"bench-{db}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_doc(results: dict, charts: list[Path]) -> None:
    """Replace the figures section of docs/performance.md (between the bench markers)."""
    m = results["machine"]
    lines = [
        BEGIN,
        "",
        f"Figures from one run of `{results['command'].strip()}` on {m['date']}"
        + (" (quick mode: fewer requests, smaller sizes)" if results.get("quick") else "")
        + f", which took {results['seconds'] // 60} min {results['seconds'] % 60} s.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}; Python {m['python']}, "
        f"Django {m['django']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, {m['wrk']}. "
        "The 2 cores are shared with other work (other changes' test suites run on them): absolute times "
        "move with that load, ratios within one run much less so"
        + (
            f" (load average {results['load_at_start']} at the start of this run, {results['load_at_end']} at its end)."
            if "load_at_start" in results
            else "."
        ),
        "",
    ]
    sizes = ", ".join(
        f"{run['db']} {_fmt_size(run['size'])} ({run['counts']['agents']:,} agents, "
        f"{run['counts']['bindings']:,} bindings, generated in {run['generate_seconds']:.0f} s)"
        for run in results["runs"]
    )
    lines += [f"Data: {sizes}.", "", render_tables(results)]
    for chart in charts:
        lines += [f"![{chart.stem}](img/{chart.name})", ""]
    lines.append(END)
    block = "\n".join(lines)
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    main()
