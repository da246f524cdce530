"""Login brute force: after AXES_FAILURE_LIMIT wrong passwords, the right one is refused too,
on the staff admin and on the self-serve login, and another user is not locked out."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import USER_PASSWORD

pytestmark = pytest.mark.django_db

DOORS = {
    "admin": "/admin/login/?next=/admin/",
    "self-serve": "/accounts/login/",
}


def _attempt(client, path: str, username: str, password: str):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR="203.0.113.7")


@pytest.mark.parametrize("door", DOORS)
def test_login_locks_out_at_the_configured_limit(client, door, staff_user, customer_a):
    user = staff_user if door == "admin" else customer_a
    path = DOORS[door]
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [_attempt(client, path, user.username, f"wrong-{i}").status_code for i in range(limit)]
    locked = _attempt(client, path, user.username, USER_PASSWORD)
    print(f"\n[lockout] {door}: limit={limit} wrong tries={statuses} then right password={locked.status_code}")
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with an error
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("door", DOORS)
def test_below_the_limit_the_right_password_still_logs_in(client, door, staff_user, customer_a):
    user = staff_user if door == "admin" else customer_a
    path = DOORS[door]
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        _attempt(client, path, user.username, f"wrong-{i}")
    response = _attempt(client, path, user.username, USER_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_locked_out_username_does_not_lock_out_other_users(client, customer_a, developer_a):
    path = DOORS["self-serve"]
    for i in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, path, customer_a.username, f"wrong-{i}")
    response = _attempt(client, path, developer_a.username, USER_PASSWORD)
    assert response.status_code == 302
