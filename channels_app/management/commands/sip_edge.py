"""Run the SIP edge: write the Kamailio configuration, then run Kamailio in the foreground."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.edge import config as edge


class Command(BaseCommand):
    help = (
        "Run the SIP edge (Kamailio) in the foreground, asking the product at SIP_EDGE_PRODUCT_URL for every "
        "decision (docs/routing.md). --print-config prints the configuration (it holds no secret) and exits."
    )
    requires_system_checks: list[str] = []  # Kamailio's start, not Django's, is what can fail here

    def add_arguments(self, parser):
        parser.add_argument("--listen", metavar="HOST:PORT", help="where to listen (default: SIP_EDGE_LISTEN)")
        parser.add_argument("--print-config", action="store_true", help="print the configuration and exit")
        parser.add_argument(
            "--config-dir",
            metavar="DIR",
            help="where to write the configuration and Kamailio's runtime files (default: TRUNKADMIN_VAR_DIR/edge)",
        )

    def handle(self, *args, listen: str | None, print_config: bool, config_dir: str | None, **options):
        try:
            config = edge.edge_config(listen=listen)
            text = edge.render(config)
            if print_config:
                self.stdout.write(text, ending="")
                return
            environment = edge.environment(config, settings.SIP_EDGE_SECRET)
        except edge.EdgeConfigError as exc:
            raise CommandError(str(exc)) from exc
        if not Path(edge.KAMAILIO).exists():
            raise CommandError(
                "Kamailio is not installed: apt-get install kamailio kamailio-utils-modules kamailio-json-modules"
            )
        directory = Path(config_dir) if config_dir else Path(settings.VAR_DIR) / "edge"
        runtime = directory / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        path = directory / "kamailio.cfg"
        path.write_text(text)
        # Kamailio's own binary and the file just written: no user input in the command line.
        check = subprocess.run(  # noqa: S603
            [edge.KAMAILIO, "-c", "-f", str(path)],
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise CommandError(f"Kamailio refuses the configuration {path}:\n{check.stderr[-2000:]}")
        where = f"{config.listen_host}:{config.port}"
        transports = "udp, tcp, tls" if config.tls else "udp, tcp"
        self.stderr.write(f"SIP edge on {where} ({transports}), asking {config.product_url}; Ctrl-C stops it.")
        process = subprocess.Popen(edge.command(path, runtime), env={**os.environ, **environment})  # noqa: S603

        def stop(signum, frame):  # a supervisor's SIGTERM stops Kamailio too, never leaving it behind
            process.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGTERM)
            code = process.wait()
        if code not in (0, -signal.SIGTERM):
            sys.exit(code)
