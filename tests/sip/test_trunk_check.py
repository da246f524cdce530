"""The trunk check against a real SIP peer (sipp on 127.0.0.1), through the service every door calls.

Each case of the check gets its status: ok, reachable, auth_failed, unreachable, dns_failed, and the
refused address ranges. The wrong-password case proves the password reaches no log record, no
stored result, no representation and not even the wire (only its digest does). The time bound is
asserted on transmission counts and the configured timeout, never on the clock.
"""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
from django.utils import timezone

from channels_app import selectors, services
from channels_app.api.serializers import SnapshotSerializer
from channels_app.audit import Actor, Door
from channels_app.errors import DomainError, RateLimited
from channels_app.models import ChannelBinding, ProbeSlot
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.sip.peer import free_udp_port
from tests.sip.support import NUMBER, register_trunk

REGISTRAR = "registrar.xml"
SILENT = "silent.xml"


def check(workspace, actor, number=NUMBER, channel="call"):
    return services.trunk_check(workspace=workspace, actor=actor, phone_number=number, channel=channel)


def health_of(number=NUMBER, workspace=None):
    binding = ChannelBinding.objects.get(phone_number__number=number, channel="call")
    found = selectors.number_get(workspace=binding.workspace, phone_number_uuid=binding.phone_number.phone_number_uuid)
    return SnapshotSerializer(found).data["channels"]["call"]["trunk"]["health"]


# --- each status against a real peer --------------------------------------------------------------


def test_a_gateway_that_answers_and_accepts_the_digest_is_ok(trunk_on_peer, workspace_a, agent_a, command_actor):
    peer, _ = trunk_on_peer(REGISTRAR, username=MARKER_USERNAME, password=MARKER_PASSWORD)

    binding = check(workspace_a, command_actor)

    assert binding.health_status == "ok"
    health = health_of()
    assert health["status"] == "ok"
    assert health["checked_at"] is not None
    [gateway] = health["gateways"]
    assert gateway["role"] == "gateway"
    assert (gateway["host"], gateway["port"], gateway["address"]) == ("127.0.0.1", peer.port, "127.0.0.1")
    assert gateway["status"] == "ok"
    assert gateway["status_line"] == "SIP/2.0 200 OK"
    assert gateway["rtt_ms"] >= 0
    assert gateway["register"]["status_line"] == "SIP/2.0 200 OK"
    assert peer.received() == [
        f"OPTIONS sip:127.0.0.1:{peer.port} SIP/2.0",
        f"REGISTER sip:127.0.0.1:{peer.port} SIP/2.0",
        f"REGISTER sip:127.0.0.1:{peer.port} SIP/2.0",
    ]


def test_the_register_is_a_binding_query_that_adds_no_registration(trunk_on_peer, workspace_a, agent_a, command_actor):
    peer, _ = trunk_on_peer(REGISTRAR, username="alice", password="right-password")

    check(workspace_a, command_actor)

    registers = peer.received_requests("REGISTER")
    assert len(registers) == 2
    assert not any("\nContact:" in request or "\nm:" in request for request in registers)
    assert "Authorization: Digest " in registers[1]
    assert "algorithm=MD5" in registers[1] and "qop=auth" in registers[1]


def test_a_trunk_without_credentials_is_reachable_and_sends_no_register(
    trunk_on_peer, workspace_a, agent_a, command_actor
):
    peer, _ = trunk_on_peer(REGISTRAR)

    check(workspace_a, command_actor)

    health = health_of()
    assert health["status"] == "reachable"
    assert health["gateways"][0]["status_line"] == "SIP/2.0 200 OK"
    assert health["gateways"][0]["register"] is None
    assert "no credentials were verified" in health["gateways"][0]["message"]
    assert peer.received() == [f"OPTIONS sip:127.0.0.1:{peer.port} SIP/2.0"]


def test_a_username_without_a_password_is_not_verified(trunk_on_peer, workspace_a, agent_a, command_actor):
    peer, _ = trunk_on_peer(REGISTRAR, peer=("", ""), username="alice")

    check(workspace_a, command_actor)

    assert health_of()["status"] == "reachable"
    assert len(peer.received()) == 1


def test_a_wrong_password_is_auth_failed_and_the_password_is_revealed_nowhere(
    trunk_on_peer, workspace_a, agent_a, command_actor, caplog
):
    peer, _ = trunk_on_peer(
        REGISTRAR, peer=(MARKER_USERNAME, "the-right-one"), username=MARKER_USERNAME, password=MARKER_PASSWORD
    )

    with caplog.at_level(logging.DEBUG):
        binding = check(workspace_a, command_actor)

    assert binding.health_status == "auth_failed"
    health = health_of()
    assert health["status"] == "auth_failed"
    assert health["gateways"][0]["status_line"] == "SIP/2.0 200 OK"
    assert health["gateways"][0]["register"]["status_line"] == "SIP/2.0 403 Forbidden"
    assert "refused the credentials" in health["gateways"][0]["message"]
    # Neither secret in any log record, the stored row, the representation or the history.
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    stored = json.dumps(list(ChannelBinding.objects.values("health_status", "health_details")), default=str)
    history = json.dumps(list(ChannelBinding.history.values()), default=str)
    for secret in (MARKER_PASSWORD, MARKER_USERNAME):
        assert secret not in logged
        assert secret not in stored
        assert secret not in json.dumps(health)
        assert secret not in history
    # On the wire, the password only ever travels as a digest.
    assert MARKER_PASSWORD not in peer.wire()


def test_a_reason_phrase_that_echoes_the_username_is_masked(trunk_on_peer, workspace_a, agent_a, command_actor):
    peer, _ = trunk_on_peer("echoing_registrar.xml", peer=("", ""), username=MARKER_USERNAME, password=MARKER_PASSWORD)

    binding = check(workspace_a, command_actor)

    assert binding.health_status == "auth_failed"
    assert binding.health_details["gateways"][0]["register"]["status_line"] == "SIP/2.0 403 Forbidden for ********"
    assert f"403 Forbidden for {MARKER_USERNAME}" in peer.wire()  # the peer did echo it
    stored = json.dumps(list(ChannelBinding.objects.values("health_details")))
    assert MARKER_USERNAME not in stored


def test_a_silent_gateway_is_unreachable_after_the_configured_timeout(
    trunk_on_peer, private_allowed, workspace_a, agent_a, command_actor
):
    private_allowed.SIP_CHECK_TIMEOUT_SECONDS = 1.0
    peer, _ = trunk_on_peer(SILENT, peer=("", ""), username="u", password="p")

    binding = check(workspace_a, command_actor)

    assert binding.health_status == "unreachable"
    assert binding.health_details["timeout_seconds"] == 1.0
    [gateway] = binding.health_details["gateways"]
    # RFC 3261 timer E within a 1 s budget: sent at 0 s and 0.5 s; the next (1.5 s) is past it.
    assert gateway["attempts"] == 2
    assert gateway["status_line"] is None and gateway["rtt_ms"] is None and gateway["register"] is None
    assert gateway["message"] == f"No answer from 127.0.0.1:{peer.port} within 1 s (2 transmissions)."
    assert peer.received() == [f"OPTIONS sip:127.0.0.1:{peer.port} SIP/2.0"] * 2


def test_a_closed_port_is_unreachable_at_once(private_allowed, workspace_a, agent_a, command_actor):
    port = free_udp_port("127.0.0.1")
    register_trunk(workspace_a, agent_a, command_actor, gateway="127.0.0.1", port=port)

    binding = check(workspace_a, command_actor)

    assert binding.health_status == "unreachable"
    [gateway] = binding.health_details["gateways"]
    assert gateway["attempts"] == 1
    assert "ICMP port unreachable" in gateway["message"]


def test_a_gateway_name_that_does_not_resolve_is_dns_failed(private_allowed, workspace_a, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, gateway="no-such-gateway.invalid")

    binding = check(workspace_a, command_actor)

    assert binding.health_status == "dns_failed"
    [gateway] = binding.health_details["gateways"]
    assert gateway["address"] is None and gateway["attempts"] == 0
    assert gateway["message"].startswith("no-such-gateway.invalid ")


def test_both_gateways_are_checked_in_parallel_under_one_deadline(
    sip_peer, private_allowed, workspace_a, agent_a, command_actor
):
    private_allowed.SIP_CHECK_TIMEOUT_SECONDS = 1.0
    port = free_udp_port("127.0.0.1", "127.0.0.2")
    silent = sip_peer(SILENT, host="127.0.0.1", port=port)
    working = sip_peer(REGISTRAR, host="127.0.0.2", port=port, username="alice", password="pw")
    register_trunk(
        workspace_a,
        agent_a,
        command_actor,
        gateway="127.0.0.1",
        secondary_gateway="127.0.0.2",
        port=port,
        username="alice",
        password="pw",
    )

    binding = check(workspace_a, command_actor)

    primary, secondary = binding.health_details["gateways"]
    assert (primary["role"], primary["status"], primary["attempts"]) == ("gateway", "unreachable", 2)
    assert (secondary["role"], secondary["status"]) == ("secondary_gateway", "ok")
    # The trunk reports what needs attention: its least advanced gateway.
    assert binding.health_status == "unreachable"
    assert len(silent.received()) == 2
    assert len(working.received()) == 3


# --- refused addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", ["127.0.0.1", "localhost", "::1"])
def test_loopback_gateways_are_refused_by_default_and_nothing_is_sent(
    gateway, workspace_a, agent_a, command_actor, settings
):
    assert settings.SIP_CHECK_ALLOW_PRIVATE is False
    family = socket.AF_INET6 if gateway == "::1" else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as listener:
        listener.bind(("::1" if gateway == "::1" else "127.0.0.1", 0))
        register_trunk(workspace_a, agent_a, command_actor, gateway=gateway, port=listener.getsockname()[1])

        binding = check(workspace_a, command_actor)

        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.recv(65_535)
    assert binding.health_status == "refused"
    [result] = binding.health_details["gateways"]
    assert result["attempts"] == 0
    assert "loopback address" in result["message"]


def test_each_gateway_is_refused_on_its_own_address_without_a_packet(workspace_a, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, gateway="::1", secondary_gateway="10.1.2.3")

    binding = check(workspace_a, command_actor)

    statuses = [(g["role"], g["status"], g["attempts"]) for g in binding.health_details["gateways"]]
    assert statuses == [("gateway", "refused", 0), ("secondary_gateway", "refused", 0)]
    assert "private address" in binding.health_details["gateways"][1]["message"]


# --- rate limit -----------------------------------------------------------------------------------


def test_a_second_check_within_the_interval_is_rate_limited_and_sends_nothing(
    trunk_on_peer, private_allowed, workspace_a, agent_a, command_actor
):
    assert private_allowed.SIP_CHECK_MIN_INTERVAL_SECONDS == 30
    peer, _ = trunk_on_peer(REGISTRAR)
    check(workspace_a, command_actor)
    first_checked_at = ChannelBinding.objects.get().health_checked_at

    with pytest.raises(RateLimited) as caught:
        check(workspace_a, command_actor)

    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.status == 429
    assert 1 <= caught.value.retry_after <= 30
    assert "once every 30 seconds" in caught.value.details
    assert ChannelBinding.objects.get().health_checked_at == first_checked_at
    assert len(peer.received()) == 1


def test_a_trunk_can_be_checked_again_once_the_interval_has_passed(trunk_on_peer, workspace_a, agent_a, command_actor):
    peer, _ = trunk_on_peer(REGISTRAR)
    check(workspace_a, command_actor)
    ProbeSlot.objects.update(until=timezone.now())  # the interval has passed

    check(workspace_a, command_actor)

    assert len(peer.received()) == 2


def test_the_rate_limit_is_per_trunk(sip_peer, private_allowed, workspace_a, agents_a, command_actor):
    peer = sip_peer(REGISTRAR)
    register_trunk(workspace_a, agents_a[0], command_actor, gateway=peer.host, port=peer.port)
    register_trunk(workspace_a, agents_a[1], command_actor, number="+12345678902", gateway=peer.host, port=peer.port)

    check(workspace_a, command_actor)
    check(workspace_a, command_actor, number="+12345678902")

    assert len(peer.received()) == 2


@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_for_simultaneous_checks_from_several_workers(
    trunk_on_peer, workspace_a, agent_a, command_actor
):
    from django.db import connections

    peer, _ = trunk_on_peer(REGISTRAR)
    workers = 5
    start = threading.Barrier(workers)
    outcomes: list[str] = []

    def worker():
        try:
            start.wait()
            check(workspace_a, command_actor)
            outcomes.append("checked")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["RATE_LIMITED"] * (workers - 1) + ["checked"]
    assert len(peer.received()) == 1


@pytest.mark.django_db(transaction=True)
def test_one_gateway_checked_at_once_from_several_workspaces_is_probed_once(
    sip_peer, private_allowed, workspace_a, workspace_b, agent_a, agent_b, command_actor
):
    from django.db import connections

    peer = sip_peer(REGISTRAR)
    register_trunk(workspace_a, agent_a, command_actor, gateway=peer.host, port=peer.port)
    register_trunk(workspace_b, agent_b, command_actor, number="+12345678903", gateway=peer.host, port=peer.port)
    customer = Actor(door=Door.SELF_SERVE, label_override="tests")
    asked = [(workspace_a, NUMBER), (workspace_b, "+12345678903")] * 3
    start = threading.Barrier(len(asked))
    outcomes: list[str] = []

    def worker(workspace, number):
        try:
            start.wait()
            check(workspace, customer, number=number)
            outcomes.append("checked")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=pair) for pair in asked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["RATE_LIMITED"] * (len(asked) - 1) + ["checked"]
    assert len(peer.received()) == 1


def test_an_operators_run_is_bound_by_each_trunks_slot_only(
    sip_peer, private_allowed, workspace_a, agents_a, command_actor
):
    # check_trunks checks every trunk behind a carrier's gateway on purpose (docs/sip-check.md).
    peer = sip_peer(REGISTRAR)
    register_trunk(workspace_a, agents_a[0], command_actor, gateway=peer.host, port=peer.port)
    register_trunk(workspace_a, agents_a[1], command_actor, number="+12345678902", gateway=peer.host, port=peer.port)
    check(workspace_a, Actor(door=Door.SELF_SERVE, label_override="tests"))

    check(workspace_a, command_actor, number="+12345678902")
    with pytest.raises(RateLimited):
        check(workspace_a, Actor(door=Door.SELF_SERVE, label_override="tests"), number="+12345678902")

    assert len(peer.received()) == 2


# --- what can be checked --------------------------------------------------------------------------


def test_only_call_trunks_can_be_checked(workspace_a, agent_a, command_actor):
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agent_a.agent_uuid,
        channel="whatsapp",
    )
    with pytest.raises(DomainError) as whatsapp:
        check(workspace_a, command_actor, channel="whatsapp")
    with pytest.raises(DomainError) as sms:
        check(workspace_a, command_actor, channel="sms")

    assert (whatsapp.value.code, whatsapp.value.field) == ("UNSUPPORTED_CHANNEL", "channel")
    assert (sms.value.code, sms.value.field) == ("UNSUPPORTED_CHANNEL", "channel")


def test_a_trunk_without_a_gateway_cannot_be_checked(workspace_a, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, username="u", password="p")

    with pytest.raises(DomainError) as caught:
        check(workspace_a, command_actor)

    assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "sip.gateway")
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_another_workspace_cannot_check_or_learn_about_a_trunk(workspace_a, workspace_b, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, gateway="sip.example.com")

    with pytest.raises(DomainError) as caught:
        check(workspace_b, command_actor)

    assert caught.value.code == "TRUNK_NOT_FOUND"
    assert not ProbeSlot.objects.exists()  # nothing claimed


def test_a_purchased_number_has_no_trunk_to_check(purchased_a, command_actor, workspace_a):
    with pytest.raises(DomainError) as caught:
        check(workspace_a, command_actor, number=str(purchased_a.number))
    assert caught.value.code == "TRUNK_NOT_FOUND"


def test_an_unparseable_number_is_a_validation_error(workspace_a, command_actor):
    with pytest.raises(DomainError) as caught:
        check(workspace_a, command_actor, number="tel:+12345678901")
    assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "phone_number")


# --- the stored result ----------------------------------------------------------------------------


def test_health_is_null_until_the_first_check_and_on_whatsapp_trunks(workspace_a, agents_a, command_actor):
    register_trunk(workspace_a, agents_a[0], command_actor, gateway="sip.example.com")
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agents_a[1].agent_uuid,
        channel="whatsapp",
    )
    number = selectors.number_get(workspace=workspace_a, number=NUMBER)
    channels = SnapshotSerializer(number).data["channels"]

    assert channels["call"]["trunk"]["health"] is None
    assert channels["whatsapp"]["trunk"]["health"] is None


def test_a_check_changes_no_history_and_keeps_updated_at(trunk_on_peer, workspace_a, agent_a, command_actor):
    _, binding = trunk_on_peer(REGISTRAR)
    history_rows = ChannelBinding.history.count()

    check(workspace_a, command_actor)

    binding.refresh_from_db()
    assert binding.health_status == "reachable"
    assert ChannelBinding.history.count() == history_rows
    assert binding.updated_at == ChannelBinding.objects.get().updated_at
    number = selectors.number_get(workspace=workspace_a, number=NUMBER)
    assert selectors.number_events(number=number)[0].action == "registered"


def test_a_sip_change_forgets_the_last_check_and_a_rename_keeps_it(trunk_on_peer, workspace_a, agent_a, command_actor):
    trunk_on_peer(REGISTRAR)
    check(workspace_a, command_actor)

    services.trunk_update(workspace=workspace_a, actor=command_actor, phone_number=NUMBER, channel="call", name="Main")
    assert health_of()["status"] == "reachable"

    services.trunk_update(
        workspace=workspace_a, actor=command_actor, phone_number=NUMBER, channel="call", sip={"password": "new"}
    )
    assert health_of() is None


def test_a_check_costs_four_statements_and_the_transaction_of_its_claim(
    trunk_on_peer, workspace_a, agent_a, command_actor, django_assert_max_num_queries
):
    trunk_on_peer(REGISTRAR, username="alice", password="pw")

    # The trunk, the one upsert that claims its probe slots, the credentials, the result; the claim
    # runs in a transaction of its own (a savepoint and its release here, inside the test's
    # transaction; BEGIN IMMEDIATE on SQLite in production, no statement on PostgreSQL).
    with django_assert_max_num_queries(6):
        check(workspace_a, command_actor)


def test_a_check_row_outside_a_call_trunk_is_refused_by_the_database(purchased_a, agent_a):
    from django.db import IntegrityError, transaction

    binding = ChannelBinding.objects.create(
        workspace=purchased_a.workspace, phone_number=purchased_a, channel="sms", agent=agent_a
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelBinding.objects.filter(pk=binding.pk).update(health_status="ok")
