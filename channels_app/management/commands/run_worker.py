"""Deliver received WhatsApp messages to their agents (docs/whatsapp.md): the outbox worker.

Claims due deliveries (PostgreSQL: row locks that skip locked rows; SQLite: an IMMEDIATE
transaction), posts each one signed to AGENT_MESSAGE_URL with a timeout, records the outcome,
and every minute deletes the bodies of messages whose delivery died 7 days ago. Run as many as
you like, on as many machines as share the database. SIGTERM or Ctrl-C stops it after the
deliveries in flight; a worker killed outright loses nothing: its leases run out and another
worker (or this one, restarted) takes the rows again.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from channels_app.services import delivery
from channels_app.whatsapp import agent_client

logger = logging.getLogger("channels_app.worker")
PURGE_EVERY_SECONDS = 60
MAX_CONCURRENCY = 32


class Command(BaseCommand):
    help = "Deliver received WhatsApp messages to their agents, with retries (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency", type=int, default=8, help=f"deliveries posted at once (1-{MAX_CONCURRENCY}, default 8)"
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=1.0,
            help="seconds to wait when nothing is due (default 1)",
        )
        parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
        parser.add_argument("--worker-id", default="", help="name of this worker in the leases (default host:pid)")

    def handle(self, *args, concurrency: int, poll_interval: float, once: bool, worker_id: str, **options):
        if not settings.AGENT_MESSAGE_SECRET:
            raise CommandError(
                "AGENT_MESSAGE_SECRET is not set: deliveries are signed with it. Set it in the environment "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))").'
            )
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise CommandError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}.")
        if not 0 < poll_interval <= 60:
            raise CommandError("--poll-interval must be more than 0 and at most 60 seconds.")
        worker = (worker_id or f"{socket.gethostname()}:{os.getpid()}")[:64]
        stopping = threading.Event()
        if not once and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stopping.set())
        self.stdout.write(f"Worker {worker}: delivering to {settings.AGENT_MESSAGE_URL}, {concurrency} at a time.")
        self.stdout.flush()
        # Claim a few rounds of posts at once (fewer transactions), no more than the lease covers
        # when every post of the claim waits for the whole timeout.
        rounds = max(
            1, min(4, int(settings.AGENT_DELIVERY_LEASE_SECONDS // settings.AGENT_MESSAGE_TIMEOUT_SECONDS) - 1)
        )
        batch = concurrency * rounds
        counts = {"delivered": 0, "retrying": 0, "dead": 0}
        last_purge = 0.0
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
            while not stopping.is_set():
                close_old_connections()
                try:
                    claimed = delivery.deliveries_claim(worker=worker, limit=batch)
                    if claimed:
                        self._deliver(pool, claimed, worker, counts)
                    if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                        purged = delivery.bodies_purge()
                        last_purge = time.monotonic()
                        if purged:
                            logger.info("deleted the bodies of %d dead messages older than 7 days", purged)
                except DatabaseError as exc:
                    logger.warning("worker %s: database error, trying again: %s", worker, type(exc).__name__)
                    claimed = []
                    stopping.wait(poll_interval)
                if not claimed:
                    if once:
                        break
                    stopping.wait(poll_interval)
        self.stdout.write(
            f"Worker {worker} stopped: {counts['delivered']} delivered, {counts['retrying']} to retry, "
            f"{counts['dead']} dead."
        )

    def _deliver(self, pool: ThreadPoolExecutor, claimed, worker: str, counts: dict[str, int]) -> None:
        """Post the claimed deliveries in parallel (no database in the threads), then record each."""
        requests = [delivery.delivery_request(row) for row in claimed]
        timeout = settings.AGENT_MESSAGE_TIMEOUT_SECONDS
        outcomes = list(
            pool.map(
                lambda request: agent_client.post(request.url, request.body, request.headers, timeout=timeout), requests
            )
        )
        statuses = delivery.deliveries_record(worker=worker, outcomes=list(zip(claimed, outcomes, strict=True)))
        for row, outcome, status in zip(claimed, outcomes, statuses, strict=True):
            counts[{"delivered": "delivered", "dead": "dead"}.get(status, "retrying")] += 1
            if not outcome.delivered:
                logger.info("delivery %s attempt %d: %s", row.pk, row.attempts, outcome.error)
