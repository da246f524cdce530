"""`manage.py check_trunks`: one workspace or all, bounded concurrency, progress and a summary."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from channels_app.models import ChannelBinding
from tests.sip.support import register_trunk


def run(*args) -> str:
    out = io.StringIO()
    call_command("check_trunks", *args, stdout=out)
    return out.getvalue()


def test_it_checks_the_call_trunks_of_one_workspace_with_progress_and_a_summary(
    sip_peer, private_allowed, workspace_a, workspace_b, agents_a, agent_b, command_actor
):
    peer = sip_peer("registrar.xml")
    register_trunk(workspace_a, agents_a[0], command_actor, number="+12345678901", gateway=peer.host, port=peer.port)
    register_trunk(workspace_a, agents_a[1], command_actor, number="+12345678902")  # no gateway
    register_trunk(workspace_b, agent_b, command_actor, number="+12345678903", gateway=peer.host, port=peer.port)

    output = run("ws-a", "--concurrency", "1")

    lines = output.splitlines()
    assert lines[0] == "Checking 2 call trunk(s) of workspace ws-a, 1 at a time."
    assert lines[1].startswith("[1/2] ws-a +12345678902: skipped_no_gateway")
    assert lines[2].startswith("[2/2] ws-a +12345678901: reachable - ")
    assert lines[-1] == "Checked 2 trunk(s): reachable 1, skipped_no_gateway 1."
    assert len(peer.received()) == 1  # workspace B's trunk was left alone
    assert ChannelBinding.objects.get(phone_number__number="+12345678903").health_status is None


def test_a_trunk_checked_moments_ago_is_skipped_not_failed(
    sip_peer, private_allowed, workspace_a, agent_a, command_actor
):
    peer = sip_peer("registrar.xml")
    register_trunk(workspace_a, agent_a, command_actor, number="+12345678901", gateway=peer.host, port=peer.port)
    run("ws-a", "--concurrency", "1")

    output = run("ws-a", "--concurrency", "1")

    assert "skipped_rate_limited - A trunk can be checked once every 30 seconds." in output
    assert output.splitlines()[-1] == "Checked 1 trunk(s): skipped_rate_limited 1."


def test_problems_fail_the_run_only_when_asked(private_allowed, workspace_a, agent_a, command_actor):
    register_trunk(workspace_a, agent_a, command_actor, number="+12345678901", gateway="no-such-gateway.invalid")

    with pytest.raises(CommandError) as caught:
        run("ws-a", "--concurrency", "1", "--fail-on-problem")

    assert caught.value.returncode == 2
    assert ChannelBinding.objects.get().health_status == "dns_failed"


@pytest.mark.django_db(transaction=True)
def test_every_workspace_is_checked_concurrently_when_no_slug_is_given(
    sip_peer, private_allowed, workspace_a, workspace_b, agent_a, agent_b, command_actor
):
    peer = sip_peer("registrar.xml")
    register_trunk(workspace_a, agent_a, command_actor, number="+12345678901", gateway=peer.host, port=peer.port)
    register_trunk(workspace_b, agent_b, command_actor, number="+12345678903", gateway=peer.host, port=peer.port)

    output = run("--concurrency", "2")

    assert output.splitlines()[0] == "Checking 2 call trunk(s) of all workspaces, 2 at a time."
    assert output.splitlines()[-1] == "Checked 2 trunk(s): reachable 2."
    assert set(ChannelBinding.objects.values_list("health_status", flat=True)) == {"reachable"}
    assert len(peer.received()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-workspace"], "No workspace with slug 'no-such-workspace'."),
        (["--concurrency", "0"], "--concurrency must be between 1 and 16."),
        (["--concurrency", "17"], "--concurrency must be between 1 and 16."),
    ],
)
@pytest.mark.django_db
def test_bad_arguments_fail_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
