"""Encryption at rest, read straight from the database with raw SQL.

- a marker username/password never appears in any table, history included;
- every non-null encrypted column holds a Fernet token that decrypts;
- a wrong but well-formed key raises the typed CredentialDecryptionError (never ciphertext) and
  changes no row;
- key rotation: written under [K1], rotated under [K2, K1], then everything reads under [K2] alone.
"""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from channels_app import fields, selectors, services
from channels_app.api.serializers import PhoneNumberSerializer
from channels_app.encryption_health import check_stored_values, encrypted_columns
from channels_app.fields import FERNET_PREFIX, CredentialDecryptionError
from channels_app.models import SIP_FIELDS, ChannelBinding
from tests.conftest import MARKER_PASSWORD, MARKER_USERNAME
from tests.domain_asserts import occurrences, raw_dump, raw_rows, snapshot_of
from trunkadmin.settings_test import TEST_FIELD_KEYS

K1, K2 = TEST_FIELD_KEYS
K3 = Fernet.generate_key().decode()  # well-formed, never configured

pytestmark = pytest.mark.django_db

SECOND_PASSWORD = "MARKER-pw-second-5b1e"
GATEWAY_MARKER = "gw-marker-93ab.example.com"


@pytest.fixture(autouse=True)
def written_under_k1(settings):
    """Everything in these tests is written under K1 unless a test says otherwise."""
    settings.FIELD_ENCRYPTION_KEY = [K1]


def encrypted_values() -> list[tuple[str, str, str]]:
    """(table, column, raw value) of every non-null encrypted value, main and history tables."""
    found = []
    for model, names in encrypted_columns():
        table = model._meta.db_table
        columns = [model._meta.get_field(name).column for name in names]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
            for row in cursor.fetchall():
                found += [(table, column, value) for column, value in zip(columns, row, strict=True) if value]
    return found


def decrypts_under(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except Exception:
        return False
    return True


@pytest.fixture
def busy_history(trunk_a, agents_a, workspace_a, command_actor):
    """A trunk whose credentials went through every write: register, update, assign, a second
    channel, a deletion; history rows on all of them."""
    services.trunk_update(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        channel="call",
        name="updated",
        sip={"password": SECOND_PASSWORD, "gateway": GATEWAY_MARKER, "port": 5070, "secondary_gateway": "10.0.0.7"},
    )
    services.trunk_assign(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        channel="call",
        agent_uuid=agents_a[1].agent_uuid,
    )
    other = services.trunk_register(
        workspace=workspace_a,
        actor=command_actor,
        phone_number="+442071838750",
        agent_uuid=agents_a[2].agent_uuid,
        channel="call",
        sip={"gateway": "sip.other.example", "username": MARKER_USERNAME + "-2", "password": MARKER_PASSWORD + "-2"},
    )
    services.trunk_delete(
        workspace=workspace_a, actor=command_actor, phone_number=other.phone_number.e164, channel="call"
    )
    return ChannelBinding.objects.get(pk=trunk_a.pk)


# --- at rest --------------------------------------------------------------------------------------


def test_a_marker_username_and_password_never_appear_in_any_table(busy_history):
    dump = raw_dump()
    assert "channels_app_historicalchannelbinding" in dump
    assert len(dump["channels_app_historicalchannelbinding"]) >= 5
    for marker in (MARKER_PASSWORD, MARKER_USERNAME, SECOND_PASSWORD, "do-not-leak", GATEWAY_MARKER):
        assert occurrences(marker, dump) == {}, marker


def test_every_encrypted_column_holds_a_fernet_token_that_decrypts(busy_history):
    values = encrypted_values()
    tables = {table for table, _, _ in values}
    assert tables == {"channels_app_channelbinding", "channels_app_historicalchannelbinding"}
    assert len(values) >= 10
    not_fernet = [(table, column) for table, column, value in values if not value.startswith(FERNET_PREFIX)]
    assert not_fernet == []
    assert all(decrypts_under(K1, value) for _, _, value in values)


def test_all_five_sip_fields_are_encrypted_and_history_keeps_no_username_or_password():
    columns = {model._meta.db_table: set(names) for model, names in encrypted_columns()}
    assert columns["channels_app_channelbinding"] == {*SIP_FIELDS, "wa_access_token", "wa_app_secret"}
    assert columns["channels_app_historicalchannelbinding"] == {"sip_gateway", "sip_secondary_gateway", "sip_port"}
    with connection.cursor() as cursor:
        history_columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "channels_app_historicalchannelbinding"
            )
        }
    assert not history_columns & {"sip_username", "sip_password", "wa_access_token", "wa_app_secret"}


def test_a_cleared_credential_is_stored_as_null(trunk_a, workspace_a, command_actor):
    services.trunk_update(
        workspace=workspace_a,
        actor=command_actor,
        phone_number=trunk_a.phone_number.e164,
        channel="call",
        sip={"password": ""},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT sip_password, sip_username FROM channels_app_channelbinding WHERE id = %s", [trunk_a.pk])
        password, username = cursor.fetchone()
    assert password is None
    assert username.startswith(FERNET_PREFIX)


def test_user_input_that_looks_like_a_token_is_never_decrypted(trunk_a):
    lookalike = fields.encrypt("what-the-token-hides")
    row = ChannelBinding.objects.get(pk=trunk_a.pk)
    row.sip_password = lookalike
    row.full_clean()  # to_python sees the value here: it must not decrypt it
    assert row.sip_password == lookalike
    row.save()
    assert ChannelBinding.objects.get(pk=trunk_a.pk).sip_password == lookalike


# --- a wrong key ------------------------------------------------------------------------------------


def test_a_wrong_key_raises_the_typed_error_and_never_returns_ciphertext(busy_history, workspace_a, command_actor):
    before = raw_dump()
    ciphertexts = [value for _, _, value in encrypted_values()]
    with override_settings(FIELD_ENCRYPTION_KEY=[K2]):
        with pytest.raises(CredentialDecryptionError) as excinfo:
            ChannelBinding.objects.get(pk=busy_history.pk)
        message = str(excinfo.value)
        assert "channels_app.ChannelBinding" in message
        assert "FIELD_ENCRYPTION_KEY" in message
        assert FERNET_PREFIX not in message
        assert all(ciphertext not in message for ciphertext in ciphertexts)
        with pytest.raises(CredentialDecryptionError):
            snapshot_of(busy_history.phone_number)
        for write in (
            lambda: services.trunk_update(
                workspace=workspace_a, actor=command_actor, phone_number="+12345678901", channel="call", name="x"
            ),
            lambda: services.trunk_assign(
                workspace=workspace_a,
                actor=command_actor,
                phone_number="+12345678901",
                channel="call",
                agent_uuid=busy_history.agent.agent_uuid,
            ),
            lambda: services.trunk_delete(
                workspace=workspace_a, actor=command_actor, phone_number="+12345678901", channel="call"
            ),
        ):
            with pytest.raises(CredentialDecryptionError):
                write()
        # Lists never load encrypted columns: they keep working.
        listed = [PhoneNumberSerializer(n).data for n in selectors.number_list(workspace=workspace_a)[0:100]]
        assert [item["number"] for item in listed] == ["+12345678901"]
        assert not check_stored_values(sample=None).ok
    assert raw_dump() == before, "no row may change under a wrong key"


def test_history_rows_under_a_wrong_key_raise_the_typed_error_too(busy_history):
    with override_settings(FIELD_ENCRYPTION_KEY=[K2]), pytest.raises(CredentialDecryptionError):
        list(ChannelBinding.history.filter(id=busy_history.pk))


def test_a_malformed_key_is_refused_as_a_configuration_error(trunk_a):
    with override_settings(FIELD_ENCRYPTION_KEY=["not-a-fernet-key"]), pytest.raises(ImproperlyConfigured):
        ChannelBinding.objects.get(pk=trunk_a.pk)
    with override_settings(FIELD_ENCRYPTION_KEY=[]), pytest.raises(ImproperlyConfigured):
        ChannelBinding.objects.get(pk=trunk_a.pk)


def test_keys_are_read_on_use_and_the_first_one_encrypts(trunk_a, workspace_a, command_actor):
    with override_settings(FIELD_ENCRYPTION_KEY=[K2, K1]):
        assert ChannelBinding.objects.get(pk=trunk_a.pk).sip_password == MARKER_PASSWORD
        services.trunk_update(
            workspace=workspace_a,
            actor=command_actor,
            phone_number="+12345678901",
            channel="call",
            sip={"password": "n"},
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT sip_password FROM channels_app_channelbinding WHERE id = %s", [trunk_a.pk])
        (stored,) = cursor.fetchone()
    assert decrypts_under(K2, stored)
    assert not decrypts_under(K1, stored)


# --- key rotation ------------------------------------------------------------------------------------


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


def rows_with_encrypted_values() -> int:
    total = 0
    for model, names in encrypted_columns():
        columns = [model._meta.get_field(name).column for name in names]
        with connection.cursor() as cursor:
            where = " OR ".join(f"{c} IS NOT NULL" for c in columns)
            cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table} WHERE {where}")
            total += cursor.fetchone()[0]
    return total


def plaintexts() -> list[tuple]:
    return sorted(ChannelBinding.objects.values_list("pk", *SIP_FIELDS)) + sorted(
        ChannelBinding.history.values_list("history_id", "sip_gateway", "sip_secondary_gateway", "sip_port")
    )


def test_rotation_moves_every_value_to_the_newest_key_in_batches_and_is_idempotent(busy_history):
    expected = plaintexts()
    rows = rows_with_encrypted_values()
    assert rows >= 6
    bindings_before = raw_rows("channels_app_channelbinding")
    history_count = ChannelBinding.history.count()

    with override_settings(FIELD_ENCRYPTION_KEY=[K2, K1]):
        dry = rotate("--dry-run", "--batch-size", "2")
        assert f"would re-encrypt {rows} rows" in dry
        assert raw_rows("channels_app_channelbinding") == bindings_before

        first = rotate("--batch-size", "2")
        assert f"re-encrypted {rows} rows" in first
        assert "0 already current; 0 failed." in first
        assert "channels_app_historicalchannelbinding: re-encrypted" in first
        again = rotate("--batch-size", "2")
        assert "re-encrypted 0 rows (0 values) in 2 tables" in again
        assert f"{rows} already current; 0 failed." in again

    with override_settings(FIELD_ENCRYPTION_KEY=[K2]):
        assert all(decrypts_under(K2, value) for _, _, value in encrypted_values())
        assert plaintexts() == expected
        report = check_stored_values(sample=None)
        assert (report.ok, report.checked) == (True, len(encrypted_values()))
        assert "re-encrypted 0 rows" in rotate()
        binding = ChannelBinding.objects.get(pk=busy_history.pk)
    # Rotation is not a change: no audit record, no timestamps moved.
    assert ChannelBinding.history.count() == history_count
    assert (binding.updated_at, binding.credentials_updated_at) == (
        busy_history.updated_at,
        busy_history.credentials_updated_at,
    )


def test_rotation_reports_rows_it_cannot_read_leaves_them_unchanged_and_fails(busy_history):
    with override_settings(FIELD_ENCRYPTION_KEY=[K3]):
        unreadable = fields.encrypt("written-under-a-lost-key")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE channels_app_channelbinding SET sip_password = %s WHERE id = %s", [unreadable, busy_history.pk]
        )
    before = raw_rows("channels_app_channelbinding")
    with override_settings(FIELD_ENCRYPTION_KEY=[K2, K1]):
        with pytest.raises(CommandError) as excinfo:
            rotate()
        assert "1 failed" in str(excinfo.value)
        assert "FIELD_ENCRYPTION_KEY" in str(excinfo.value)
    assert raw_rows("channels_app_channelbinding") == before, "the unreadable row stays as it was"
    history_values = [value for table, _, value in encrypted_values() if table.endswith("historicalchannelbinding")]
    assert history_values and all(decrypts_under(K2, value) for value in history_values)


def test_rotation_with_one_key_changes_nothing(busy_history):
    before = raw_dump()
    assert "re-encrypted 0 rows" in rotate()
    assert raw_dump() == before


def test_rotation_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError):
        rotate("--batch-size", "0")
