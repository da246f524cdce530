"""Realistic benchmark data, fast: `bulk_create` of workspaces, agents, numbers and bindings.

The shape (deterministic for a given size and seed):

- ten workspaces; the measured one (`bench`) holds half of the inventory, nine other tenants
  share the other half, so every per-workspace list and count grows with the inventory too;
- half of the numbers are external, half purchased;
- an external number has a call trunk (80 %), a WhatsApp trunk (40 %) or both; every call trunk
  has encrypted SIP fields (gateway, port, username and password; a secondary gateway on one in
  four) and a few `additional_settings`;
- a purchased number is SMS-capable one time in three; 60 % are bound on call, half of the
  SMS-capable ones on sms, the rest of the inventory is unbound;
- each bound number has its own agent (`one-number-per-agent-and-channel`), so the
  agents grow with the inventory, as they would;
- plus spare agents, fresh numbers and a sample of bound numbers for the measured writes and reads.

Rows are written with `bulk_create` (no history rows: nothing measured reads them, and the
history tables only ever take inserts). Encrypted fields are encrypted row by row by the field
itself, as a service would. Afterwards the planner statistics are refreshed (ANALYZE), as
autovacuum would have done on a live database.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from bench.common import valid_numbers
from channels_app import channel_settings, numbers, services
from channels_app.audit import Actor
from channels_app.models import (
    Agent,
    Channel,
    ChannelBinding,
    ComplianceStatus,
    Direction,
    Membership,
    PhoneNumber,
    Role,
    Source,
    Workspace,
)
from channels_app.services.whatsapp import give_webhook_identity

BENCH_SLUG = "bench"
OTHER_TENANTS = 9
BENCH_SHARE = 0.5
BATCH = 5_000
SPARE_AGENTS = 300
SAMPLE_SIZE = 400
# Fresh numbers for the write benchmarks come from another area code than the inventory's.
FRESH_START = 16_000_000
STAFF_USERNAME = "bench-staff"
CUSTOMER_USERNAME = "bench-customer"
USER_PASSWORD = "bench-password-not-secret-42"  # throwaway local data only

Progress = Callable[[str], None]


@dataclass
class BenchData:
    """What the measurements need to know about the generated data."""

    size: int
    workspace_slug: str
    token: str
    token_read: str
    staff_username: str
    customer_username: str
    # (phone_number_uuid, e164) of bound numbers of the measured workspace, spread over the table.
    sample: list[tuple[str, str]] = field(default_factory=list)
    spare_agents: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> BenchData:
        raw = json.loads(text)
        raw.pop("call_trunks", None)  # written by earlier versions
        raw["sample"] = [tuple(item) for item in raw["sample"]]
        return cls(**raw)


def _facts(e164: str, cache: dict[str, numbers.NumberFacts]) -> numbers.NumberFacts:
    """Country, type and location, derived like a service would; cached per area code."""
    key = e164[:5]
    if key not in cache:
        cache[key] = numbers.describe(e164)
    return cache[key]


def _tenant_sizes(size: int) -> list[int]:
    bench = max(1, round(size * BENCH_SHARE))
    rest = size - bench
    others = [rest // OTHER_TENANTS + (1 if i < rest % OTHER_TENANTS else 0) for i in range(OTHER_TENANTS)]
    return [bench, *others]


def generate(size: int, *, seed: int = 7, progress: Progress = print) -> BenchData:
    """Fill an empty, migrated database with `size` numbers and their bindings."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    settings_doc = channel_settings.defaults()
    facts_cache: dict[str, numbers.NumberFacts] = {}

    workspaces = [Workspace.objects.create(name="Bench tenant", slug=BENCH_SLUG)]
    workspaces += [
        Workspace.objects.create(name=f"Tenant {i:02d}", slug=f"tenant-{i:02d}") for i in range(1, OTHER_TENANTS + 1)
    ]
    bench = workspaces[0]
    plan = [ws for ws, count in zip(workspaces, _tenant_sizes(size), strict=True) for _ in range(count)]
    rng.shuffle(plan)  # tenants' numbers interleave in the number order, as they would

    counts = {"numbers": 0, "agents": 0, "bindings": 0, "call_trunks": 0, "whatsapp_trunks": 0}
    sample_every = max(1, (size // 2) // SAMPLE_SIZE)
    sample: list[tuple[str, str]] = []
    bench_bound = 0
    e164s = valid_numbers(size)
    for offset in range(0, size, BATCH):
        chunk = plan[offset : offset + BATCH]
        rows: list[PhoneNumber] = []
        wiring: list[tuple[PhoneNumber, list[str]]] = []  # number -> channels to bind to one agent
        for workspace in chunk:
            e164 = next(e164s)
            facts = _facts(e164, facts_cache)
            external = rng.random() < 0.5
            if external:
                roll = rng.random()
                channels = ["call"] if roll < 0.6 else ["whatsapp"] if roll < 0.8 else ["call", "whatsapp"]
                number = PhoneNumber(
                    workspace=workspace,
                    number=e164,
                    source=Source.EXTERNAL,
                    country_code=facts.country_code,
                    type=facts.type,
                    location=facts.location,
                    compliance_status=ComplianceStatus.NOT_REQUIRED,
                    channel_settings=settings_doc,
                    monthly_fee=Decimal("0"),
                )
            else:
                sms = rng.random() < 1 / 3
                channels = []
                if rng.random() < 0.6:
                    channels.append("call")
                if sms and rng.random() < 0.5:
                    channels.append("sms")
                number = PhoneNumber(
                    workspace=workspace,
                    number=e164,
                    source=Source.PURCHASED,
                    country_code=facts.country_code,
                    type=facts.type,
                    location=facts.location,
                    sms_capable=sms,
                    mms_capable=sms,
                    channel_settings=settings_doc,
                    monthly_fee=Decimal("1.15"),
                    purchased_at=now - timedelta(days=rng.randint(1, 900)),
                )
            rows.append(number)
            if channels:
                wiring.append((number, channels))
        with transaction.atomic():
            PhoneNumber.objects.bulk_create(rows, batch_size=BATCH)
            agents = [
                Agent(workspace=number.workspace, name=f"Agent {str(number.number)[-7:]} {index}")
                for index, (number, _) in enumerate(wiring, start=counts["agents"])
            ]
            Agent.objects.bulk_create(agents, batch_size=BATCH)
            bindings = []
            for (number, channels), agent in zip(wiring, agents, strict=True):
                for channel in channels:
                    bindings.append(_binding(number, agent, channel, rng))
                if number.workspace_id == bench.pk:
                    bench_bound += 1
                    if bench_bound % sample_every == 0 and len(sample) < SAMPLE_SIZE:
                        sample.append((str(number.phone_number_uuid), str(number.number)))
            ChannelBinding.objects.bulk_create(bindings, batch_size=BATCH)
        counts["numbers"] += len(rows)
        counts["agents"] += len(agents)
        counts["bindings"] += len(bindings)
        counts["call_trunks"] += sum(1 for b in bindings if b.is_trunk and b.channel == Channel.CALL)
        counts["whatsapp_trunks"] += sum(1 for b in bindings if b.is_trunk and b.channel == Channel.WHATSAPP)
        if (offset // BATCH) % 20 == 19:
            progress(f"  {counts['numbers']:,} / {size:,} numbers")

    spare = [Agent(workspace=bench, name=f"Spare agent {i:04d}") for i in range(SPARE_AGENTS)]
    Agent.objects.bulk_create(spare)
    counts["agents"] += len(spare)

    actor = Actor.command("bench")
    _, token = services.token_create(workspace=bench, actor=actor, name="bench read_write")
    _, token_read = services.token_create(workspace=bench, actor=actor, name="bench read", scope="read")
    user_model = get_user_model()
    user_model.objects.create_superuser(STAFF_USERNAME, password=USER_PASSWORD)
    customer = user_model.objects.create_user(CUSTOMER_USERNAME, password=USER_PASSWORD)
    Membership.objects.create(user=customer, workspace=bench, role=Role.ADMIN)

    analyze()
    return BenchData(
        size=size,
        workspace_slug=BENCH_SLUG,
        token=token,
        token_read=token_read,
        staff_username=STAFF_USERNAME,
        customer_username=CUSTOMER_USERNAME,
        sample=sample,
        spare_agents=[str(agent.agent_uuid) for agent in spare],
        counts=counts,
        seconds=time.perf_counter() - started,
    )


def _binding(number: PhoneNumber, agent: Agent, channel: str, rng: random.Random) -> ChannelBinding:
    binding = ChannelBinding(workspace_id=number.workspace_id, phone_number=number, channel=channel, agent=agent)
    if number.source == Source.PURCHASED:
        return binding
    digits = str(number.number).lstrip("+")
    binding.is_trunk = True
    binding.name = f"{channel}_trunk_{digits}"
    binding.additional_settings = {"region": rng.choice(["us-east", "us-west", "eu"]), "record": rng.random() < 0.3}
    if channel == Channel.CALL:
        binding.direction = rng.choice([Direction.BOTH, Direction.BOTH, Direction.INBOUND, Direction.OUTBOUND])
        binding.sip_gateway = f"sip{rng.randint(1, 40)}.carrier-{rng.randint(1, 9)}.example.net"
        binding.sip_port = str(rng.choice([5060, 5060, 5061, 5080]))
        binding.sip_username = f"trunk{digits}"
        binding.sip_password = f"pw-{rng.getrandbits(64):016x}"
        binding.credentials_updated_at = timezone.now()
        if rng.random() < 0.25:
            binding.sip_secondary_gateway = f"backup{rng.randint(1, 9)}.carrier.example.net"
    elif channel == Channel.WHATSAPP:
        give_webhook_identity(binding)
        binding.wa_phone_number_id = digits
        binding.wa_business_account_id = str(rng.randint(10**14, 10**15 - 1))
        binding.wa_access_token = f"EAAG{rng.getrandbits(128):032x}"
        binding.wa_app_secret = f"{rng.getrandbits(128):032x}"
    return binding


def fresh_numbers(count: int, *, start: int = 0) -> list[str]:
    """Valid numbers that are not in the generated inventory (another area code)."""
    return list(valid_numbers(count, start=FRESH_START + start))


def analyze() -> None:
    """Refresh the planner's statistics, as autovacuum / a DBA would on a live database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE") if connection.get_autocommit() else cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
