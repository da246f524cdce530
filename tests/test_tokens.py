"""API tokens: format with a checksum, hash-only storage, expiry and revocation in
selectors.token_by_secret, and last-use recorded at most once a minute."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import selectors, services, tokens
from channels_app.audit import Actor, Door
from channels_app.models import ApiToken
from tests.domain_asserts import occurrences, raises_domain_error, raw_dump

TOKEN_SHAPE = re.compile(r"^tka_[A-Za-z0-9_-]{43}[0-9A-Za-z]{6}$")


def test_a_token_is_the_prefix_32_random_bytes_and_a_checksum():
    token = tokens.generate()
    assert TOKEN_SHAPE.match(token)
    assert len(token) == 4 + 43 + 6
    assert tokens.is_well_formed(token)
    assert len({tokens.generate() for _ in range(200)}) == 200


def _flip(char: str) -> str:
    return "B" if char == "A" else "A"


def test_a_mistyped_token_fails_its_checksum():
    token = tokens.generate()
    for position in (4, 20, 46, len(token) - 1):
        mistyped = token[:position] + _flip(token[position]) + token[position + 1 :]
        assert not tokens.is_well_formed(mistyped), position


@pytest.mark.parametrize(
    "raw",
    ["", "tka_", "Bearer tka_x", "tkb_" + "A" * 49, "tka_" + "A" * 48, "tka_" + "A" * 50, None, 42, "tka_" + "é" * 49],
)
def test_a_malformed_token_is_refused(raw):
    assert not tokens.is_well_formed(raw)


@pytest.mark.django_db
def test_a_malformed_or_mistyped_token_is_refused_without_a_query(token_a, django_assert_num_queries):
    mistyped = token_a[:10] + _flip(token_a[10]) + token_a[11:]
    with django_assert_num_queries(0):
        assert selectors.token_by_secret(mistyped) is None
        assert selectors.token_by_secret("not a token") is None


@pytest.mark.django_db
def test_only_the_sha256_of_a_token_is_stored(token_a):
    row = ApiToken.objects.get()
    assert row.token_hash == hashlib.sha256(token_a.encode()).hexdigest()
    assert row.prefix == token_a[:10]
    dump = raw_dump()
    assert occurrences(token_a, dump) == {}
    assert occurrences(token_a[10:30], dump) == {}, "no part of the secret beyond the display prefix"


@pytest.mark.django_db
def test_a_valid_token_finds_its_workspace_in_one_query(token_a, workspace_a, django_assert_num_queries):
    with django_assert_num_queries(1):
        token = selectors.token_by_secret(token_a)
        assert token.workspace == workspace_a
    assert token.can_write


@pytest.mark.django_db
def test_a_well_formed_but_unknown_token_is_refused(token_a):
    assert selectors.token_by_secret(tokens.generate()) is None


@pytest.mark.django_db
def test_an_expired_token_is_refused(workspace_a, command_actor):
    token, plaintext = services.token_create(
        workspace=workspace_a, actor=command_actor, name="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert selectors.token_by_secret(plaintext) == token
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert selectors.token_by_secret(plaintext) is None


@pytest.mark.django_db
def test_a_revoked_token_is_refused_and_revoking_twice_keeps_the_first_time(token_a, workspace_a, command_actor):
    token = ApiToken.objects.get()
    first = services.token_revoke(workspace=workspace_a, actor=command_actor, token_uuid=token.uuid).revoked_at
    assert selectors.token_by_secret(token_a) is None
    again = services.token_revoke(workspace=workspace_a, actor=command_actor, token_uuid=str(token.uuid)).revoked_at
    assert again == first


@pytest.mark.django_db
def test_another_workspace_cannot_revoke_a_token(token_a, workspace_b, command_actor):
    token = ApiToken.objects.get()
    with raises_domain_error("NOT_FOUND"):
        services.token_revoke(workspace=workspace_b, actor=command_actor, token_uuid=token.uuid)
    assert selectors.token_by_secret(token_a) is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"scope": "admin"}, "scope"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": timezone.now().replace(tzinfo=None) + timedelta(days=1)}, "expires_at"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
    ],
    ids=["empty", "blank", "none", "too-long", "nul", "scope", "not-a-date", "naive", "past"],
)
def test_a_token_with_bad_attributes_is_refused(kwargs, field, workspace_a, command_actor):
    arguments = {"name": "ok", **kwargs}
    with raises_domain_error("VALIDATION_ERROR", field):
        services.token_create(workspace=workspace_a, actor=command_actor, **arguments)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_token_records_who_created_it(workspace_a, customer_a):
    token, _ = services.token_create(
        workspace=workspace_a, actor=Actor(door=Door.SELF_SERVE, user=customer_a), name="mine", scope="read"
    )
    assert (token.created_by, token.scope, token.can_write) == (customer_a, "read", False)


@pytest.mark.django_db
def test_last_use_is_recorded_at_most_once_a_minute(token_a, django_assert_num_queries):
    token = selectors.token_by_secret(token_a)
    with django_assert_num_queries(1):
        services.token_touch(token)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    with django_assert_num_queries(0):
        services.token_touch(token)
    # Another worker holding a stale copy of the token writes nothing either: the UPDATE matches no row.
    stale_copy = selectors.token_by_secret(token_a)
    stale_copy.last_used_at = None
    services.token_touch(stale_copy)
    assert ApiToken.objects.get().last_used_at == first
    # A minute later the next use is recorded.
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    token = selectors.token_by_secret(token_a)
    services.token_touch(token)
    assert ApiToken.objects.get().last_used_at > first


@pytest.mark.django_db
def test_last_use_is_kept_out_of_the_audit_trail(token_a):
    history = ApiToken.history.count()
    services.token_touch(selectors.token_by_secret(token_a))
    assert ApiToken.history.count() == history


NONCE = "n" * 43


@pytest.mark.django_db
def test_creating_twice_with_one_form_nonce_creates_one_token_and_no_second_secret(workspace_a, command_actor):
    first, plaintext = services.token_create(
        workspace=workspace_a, actor=command_actor, name="CRM sync", creation_nonce=NONCE
    )
    again, none = services.token_create(
        workspace=workspace_a, actor=command_actor, name="CRM sync", creation_nonce=NONCE
    )

    assert plaintext is not None and none is None
    assert again == first
    assert ApiToken.objects.count() == 1 and first.history.count() == 1
    other, _ = services.token_create(workspace=workspace_a, actor=command_actor, name="CRM sync")
    assert other != first  # without a nonce (commands, staff) each call creates one


@pytest.mark.django_db
def test_a_form_nonce_is_unique_per_workspace_in_the_database_and_in_full_clean(workspace_a, workspace_b):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    def token(workspace, secret):
        return ApiToken(workspace=workspace, name="t", prefix="tka_x", token_hash=secret, creation_nonce=NONCE)

    token(workspace_a, "1" * 64).save()
    token(workspace_b, "2" * 64).save()  # another workspace's form may carry the same value
    with pytest.raises(ValidationError) as caught:
        token(workspace_a, "3" * 64).full_clean()
    assert caught.value.message_dict == {"__all__": ["This form has already created a token."]}
    with pytest.raises(IntegrityError), transaction.atomic():
        token(workspace_a, "3" * 64).save()
