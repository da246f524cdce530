"""The product starts: health answers, the admin login page renders, the demo seeds."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_health_answers_ok_on_a_fresh_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["data"] == {"database": "ok", "encryption": "ok"}


@pytest.mark.django_db
def test_the_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"username" in response.content


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    from channels_app.models import Agent, PhoneNumber, Workspace

    call_command("seed_demo", "--password", "pw-for-tests-123")
    counts = (Workspace.objects.count(), Agent.objects.count(), PhoneNumber.objects.count())
    call_command("seed_demo", "--password", "pw-for-tests-123")
    assert (Workspace.objects.count(), Agent.objects.count(), PhoneNumber.objects.count()) == counts
    assert set(Workspace.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    assert not PhoneNumber.objects.filter(source="external").exists()
