"""The routing fields of a call trunk (docs/routing.md): `inbound_addresses`, `transport`,
`number_format`, through every door, with their rules, their audit trail and their index."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from channels_app import imports, selectors, services
from channels_app.models import ChannelBinding, PhoneNumber, TrunkAddressBlock
from channels_app.routing import addresses
from tests import api_support
from tests.api_support import validation
from tests.domain_asserts import raises_domain_error, stopped_by_database

api = api_support.api
pytestmark = pytest.mark.django_db

NUMBER = "+12025550199"


def register_body(agent, **sip):
    return {"phone_number": NUMBER, "agent_uuid": str(agent.agent_uuid), "channel": "call", "sip": sip}


def indexed(binding) -> set[str]:
    return set(TrunkAddressBlock.objects.filter(binding=binding).values_list("key", flat=True))


# --- the API: create, update, snapshot ---------------------------------------------------------------


def test_a_call_trunk_is_registered_with_its_routing_and_shows_it_normalised(api, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        register_body(
            agent_a,
            inbound_addresses=[" 203.0.113.5 ", "198.51.100.0/24", "2001:DB8:10::/48", "203.0.113.5/32"],
            transport="tcp",
            number_format="national",
        ),
    )
    assert response.status_code == 201, response.json()
    sip = response.json()["data"]["channels"]["call"]["trunk"]["sip"]
    assert sip["inbound_addresses"] == ["203.0.113.5", "198.51.100.0/24", "2001:db8:10::/48"]
    assert (sip["transport"], sip["number_format"]) == ("tcp", "national")
    binding = ChannelBinding.objects.get()
    assert indexed(binding) == {addresses.block_key(block) for block in sip["inbound_addresses"]}


def test_a_call_trunk_without_routing_accepts_no_inbound_call_and_uses_the_defaults(api, agent_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, gateway="sip.example.com"))
    sip = response.json()["data"]["channels"]["call"]["trunk"]["sip"]
    assert (sip["inbound_addresses"], sip["transport"], sip["number_format"]) == ([], "udp", "e164")
    assert TrunkAddressBlock.objects.count() == 0


@pytest.mark.parametrize(
    ("addresses_sent", "message"),
    [
        (
            ["203.0.113.0/33"],
            "“203.0.113.0/33” is not an IP address or CIDR block (e.g. 203.0.113.10 or 203.0.113.0/24).",
        ),
        (
            ["sip.example.com"],
            "“sip.example.com” is not an IP address or CIDR block (e.g. 203.0.113.10 or 203.0.113.0/24).",
        ),
        (["203.0.113.5/24"], "“203.0.113.5/24” has host bits set: the block is 203.0.113.0/24."),
        (["10.0.0.0/7"], "“10.0.0.0/7” is wider than /8: list the carrier's narrower blocks."),
        (["2001:db8::/31"], "“2001:db8::/31” is wider than /32: list the carrier's narrower blocks."),
        (["::/0"], "“::/0” is wider than /32: list the carrier's narrower blocks."),
        (
            ["::/64"],
            "“::/64” covers the IPv4-mapped range ::ffff:0:0/96: write IPv4 blocks in IPv4 form.",
        ),
        ([f"203.0.113.{i}" for i in range(21)], "At most 20 addresses or blocks (21 given)."),
        ("203.0.113.0/24", 'Must be a list of IP addresses or CIDR blocks, e.g. ["203.0.113.0/24"].'),
        ([42], "Each entry must be a string, e.g. 203.0.113.0/24."),
    ],
)
def test_inbound_addresses_are_refused_with_a_clear_message(api, agent_a, addresses_sent, message):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, inbound_addresses=addresses_sent))
    assert response.status_code == 422
    assert response.json() == validation({"sip.inbound_addresses": [message]})
    assert PhoneNumber.objects.count() == ChannelBinding.objects.count() == TrunkAddressBlock.objects.count() == 0


def test_every_refused_entry_and_every_bad_choice_is_reported_at_once(api, agent_a):
    response = api.post(
        "/phone-numbers/trunks",
        register_body(agent_a, inbound_addresses=["nope", "10.0.0.1/8"], transport="sctp", number_format="e.164"),
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "sip.inbound_addresses": [
            "“nope” is not an IP address or CIDR block (e.g. 203.0.113.10 or 203.0.113.0/24).",
            "“10.0.0.1/8” has host bits set: the block is 10.0.0.0/8.",
        ],
        "sip.transport": ["Must be one of: udp, tcp, tls."],
        "sip.number_format": ["Must be one of: e164, e164_no_plus, national."],
    }


def test_an_ipv4_mapped_block_is_stored_as_the_ipv4_block_it_is(api, agent_a):
    response = api.post("/phone-numbers/trunks", register_body(agent_a, inbound_addresses=["::ffff:203.0.113.0/120"]))
    assert response.json()["data"]["channels"]["call"]["trunk"]["sip"]["inbound_addresses"] == ["203.0.113.0/24"]


def test_an_update_merges_the_routing_keys_and_the_index_follows(api, agent_a):
    api.post("/phone-numbers/trunks", register_body(agent_a, inbound_addresses=["203.0.113.0/24"], transport="tls"))
    binding = ChannelBinding.objects.get()
    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": NUMBER, "channel": "call", "sip": {"inbound_addresses": ["198.51.100.7", "203.0.113.0/24"]}},
    )
    sip = response.json()["data"]["channels"]["call"]["trunk"]["sip"]
    assert (sip["inbound_addresses"], sip["transport"]) == (["198.51.100.7", "203.0.113.0/24"], "tls")
    assert indexed(binding) == {addresses.block_key("198.51.100.7"), addresses.block_key("203.0.113.0/24")}
    response = api.patch(
        "/phone-numbers/trunks",
        {"phone_number": NUMBER, "channel": "call", "sip": {"inbound_addresses": "", "transport": None}},
    )
    sip = response.json()["data"]["channels"]["call"]["trunk"]["sip"]
    assert (sip["inbound_addresses"], sip["transport"], sip["number_format"]) == ([], "udp", "e164")
    assert indexed(binding) == set()


def test_a_whatsapp_trunk_takes_no_routing(api, agent_a):
    body = {"phone_number": NUMBER, "agent_uuid": str(agent_a.agent_uuid), "channel": "whatsapp"}
    response = api.post("/phone-numbers/trunks", {**body, "sip": {"transport": "tcp"}})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "sip"


def test_routing_changes_are_in_the_audit_trail_and_keep_the_trunk_check(api, agent_a):
    api.post("/phone-numbers/trunks", register_body(agent_a, gateway="sip.example.com"))
    binding = ChannelBinding.objects.get()
    ChannelBinding.objects.filter(pk=binding.pk).update(health_status="ok", health_details={"gateways": []})
    api.patch(
        "/phone-numbers/trunks",
        {
            "phone_number": NUMBER,
            "channel": "call",
            "sip": {"inbound_addresses": ["203.0.113.9"], "number_format": "national"},
        },
    )
    number = PhoneNumber.objects.get()
    [latest, *_] = selectors.number_events(number=number)
    assert latest.action == "updated"
    assert latest.changes == {"sip.inbound_addresses": ["203.0.113.9"], "sip.number_format": "national"}
    binding.refresh_from_db()
    assert binding.health_status == "ok", "inbound addresses do not change how the gateway is reached"


def test_the_schema_documents_the_routing_keys_in_the_sip_blocks(api):
    schema = api.get("/api/v1/schema").json()
    sip_output = schema["components"]["schemas"]["SipOutput"]["properties"]
    assert {"inbound_addresses", "transport", "number_format"} <= set(sip_output)
    create = schema["components"]["schemas"]["TrunkCreateRequest"]["properties"]["sip"]
    assert create["properties"]["inbound_addresses"]["maxItems"] == 20
    assert create["properties"]["transport"]["enum"] == ["udp", "tcp", "tls"]


# --- the database ----------------------------------------------------------------------------------


def test_the_database_refuses_routing_on_a_whatsapp_trunk(workspace_a, agent_a, command_actor):
    services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=NUMBER,
        agent_uuid=agent_a.agent_uuid,
        channel="whatsapp",
    )
    binding = ChannelBinding.objects.get()
    binding.sip_transport = "tcp"
    with stopped_by_database("binding_routing_on_call_trunk_only"):
        binding.save()
    with pytest.raises(ValidationError) as excinfo:
        binding.full_clean()
    assert "VALIDATION_ERROR" in {error.code for errors in excinfo.value.error_dict.values() for error in errors}


def test_the_database_refuses_an_unknown_number_format_on_a_call_trunk(trunk_a):
    trunk_a.sip_number_format = "e.164"
    with stopped_by_database("binding_routing_on_call_trunk_only"):
        trunk_a.save()


def test_every_number_carries_its_national_number_however_it_was_written(workspace_a, command_actor):
    services.number_add_purchased(workspace=workspace_a, actor=command_actor, number="+442071838750")
    PhoneNumber.objects.bulk_create([PhoneNumber(workspace=workspace_a, number="+390612345678", source="purchased")])
    assert dict(PhoneNumber.objects.values_list("number", "national_number")) == {
        "+442071838750": "2071838750",
        "+390612345678": "0612345678",
    }


def test_deleting_a_trunk_takes_its_indexed_blocks(api, agent_a):
    api.post("/phone-numbers/trunks", register_body(agent_a, inbound_addresses=["203.0.113.0/24"]))
    api.delete("/phone-numbers/trunks", query={"phone_number": NUMBER, "channel": "call"})
    assert TrunkAddressBlock.objects.count() == 0


# --- CSV, self-serve, admin ---------------------------------------------------------------------------


def test_the_csv_import_reads_the_routing_columns(workspace_a, agents_a, command_actor):
    agent, other = agents_a[0], agents_a[1]
    csv = (
        "phone_number,channel,agent_uuid,sip_inbound_addresses,sip_transport,sip_number_format\n"
        f"{NUMBER},call,{agent.agent_uuid},203.0.113.0/24  198.51.100.7,tcp,e164_no_plus\n"
        f"+12025550198,call,{other.agent_uuid},10.0.0.0/7,,\n"
    )
    report = imports.import_csv(workspace=workspace_a, actor=command_actor, source=csv, dry_run=False)
    assert report.valid_count == 1
    [refused] = report.refused
    assert [str(error) for error in refused.errors] == [
        "sip_inbound_addresses: “10.0.0.0/7” is wider than /8: list the carrier's narrower blocks."
    ]
    binding = ChannelBinding.objects.get()
    assert (binding.sip_inbound_addresses, binding.sip_transport, binding.sip_number_format) == (
        ["203.0.113.0/24", "198.51.100.7"],
        "tcp",
        "e164_no_plus",
    )
    assert indexed(binding) == {addresses.block_key("203.0.113.0/24"), addresses.block_key("198.51.100.7")}


def test_a_bulk_import_indexes_the_blocks_of_every_row(workspace_a, command_actor):
    from channels_app.models import Agent

    agents = [Agent.objects.create(workspace=workspace_a, name=f"bulk {i}") for i in range(30)]
    rows = [f"+1202555{1000 + i},call,{agent.agent_uuid},203.0.113.{i}" for i, agent in enumerate(agents)]
    csv = "phone_number,channel,agent_uuid,sip_inbound_addresses\n" + "\n".join(rows) + "\n"
    report = imports.import_csv(workspace=workspace_a, actor=command_actor, source=csv, dry_run=False)
    assert report.valid_count == 30
    assert TrunkAddressBlock.objects.count() == 30
    for binding in ChannelBinding.objects.all():
        assert indexed(binding) == {addresses.block_key(binding.sip_inbound_addresses[0])}


def test_the_self_serve_forms_register_and_edit_the_routing(client, customer_a, workspace_a, agent_a):
    client.force_login(customer_a)
    response = client.post(
        f"/app/{workspace_a.slug}/numbers/register/",
        {
            "phone_number": NUMBER,
            "channel": "call",
            "agent": str(agent_a.agent_uuid),
            "direction": "both",
            "sip_inbound_addresses": "203.0.113.0/24\n198.51.100.7",
            "sip_transport": "udp",
            "sip_number_format": "national",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    binding = ChannelBinding.objects.get()
    assert binding.sip_inbound_addresses == ["203.0.113.0/24", "198.51.100.7"]
    assert (binding.sip_transport, binding.sip_number_format) == (None, "national"), "defaults are not stored"
    number = binding.phone_number
    page = client.get(f"/app/{workspace_a.slug}/numbers/{number.phone_number_uuid}/").content.decode()
    assert "203.0.113.0/24, 198.51.100.7" in page and "National (4155550100)" in page
    assert "sip:2025550199@" in page, "the carrier panel gives the number as the edge writes it"
    edit_url = f"/app/{workspace_a.slug}/numbers/{number.phone_number_uuid}/call/edit/"
    form = client.get(edit_url).context["form"]
    assert form.initial["sip_inbound_addresses"] == "203.0.113.0/24\n198.51.100.7"
    response = client.post(
        edit_url,
        {
            "name": "",
            "direction": "both",
            "sip_inbound_addresses": "",
            "sip_transport": "tls",
            "sip_number_format": "national",
        },
    )
    assert response.status_code == 302
    binding.refresh_from_db()
    assert (binding.sip_inbound_addresses, binding.sip_transport) == ([], "tls")
    page = client.get(f"/app/{workspace_a.slug}/numbers/{number.phone_number_uuid}/").content.decode()
    assert "This trunk accepts no inbound call" in page


def test_the_self_serve_form_shows_an_address_refusal_next_to_the_field(client, customer_a, workspace_a, agent_a):
    client.force_login(customer_a)
    response = client.post(
        f"/app/{workspace_a.slug}/numbers/register/",
        {
            "phone_number": NUMBER,
            "channel": "call",
            "agent": str(agent_a.agent_uuid),
            "sip_inbound_addresses": "10.0.0.0/7",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["sip_inbound_addresses"] == [
        "“10.0.0.0/7” is wider than /8: list the carrier's narrower blocks."
    ]
    assert ChannelBinding.objects.count() == 0


def test_the_admin_registers_and_edits_the_routing(client, staff_user, workspace_a, agent_a):
    client.force_login(staff_user)
    response = client.post(
        "/admin/channels_app/channelbinding/add/",
        {
            "workspace": workspace_a.pk,
            "phone_number": NUMBER,
            "channel": "call",
            "agent": agent_a.pk,
            "sip_inbound_addresses": "203.0.113.0/24",
            "sip_transport": "tcp",
            "sip_number_format": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    binding = ChannelBinding.objects.get()
    assert (binding.sip_inbound_addresses, binding.sip_transport, binding.sip_number_format) == (
        ["203.0.113.0/24"],
        "tcp",
        None,
    )
    change_url = f"/admin/channels_app/channelbinding/{binding.pk}/change/"
    page = client.get(change_url).content.decode()
    assert "203.0.113.0/24" in page
    response = client.post(
        change_url,
        {
            "name": binding.name,
            "direction": "both",
            "sip_inbound_addresses": "203.0.113.0/24\n2001:db8::/32",
            "sip_transport": "tcp",
            "sip_number_format": "e164_no_plus",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    binding.refresh_from_db()
    assert (binding.sip_inbound_addresses, binding.sip_number_format) == (
        ["203.0.113.0/24", "2001:db8::/32"],
        "e164_no_plus",
    )
    response = client.post(
        change_url, {"name": binding.name, "direction": "both", "sip_inbound_addresses": "203.0.113.0/4"}
    )
    assert response.status_code == 200
    assert "“203.0.113.0/4” has host bits set" in response.content.decode()


def test_the_services_refuse_bad_routing_with_the_field(workspace_a, agent_a, command_actor):
    with raises_domain_error("VALIDATION_ERROR", "sip.inbound_addresses"):
        services.trunk_register(
            workspace=workspace_a,
            actor=command_actor,
            phone_number=NUMBER,
            agent_uuid=agent_a.agent_uuid,
            channel="call",
            sip={"inbound_addresses": ["300.1.2.3"]},
        )
