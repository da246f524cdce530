"""The four support actions (reassign, unbind, release, revoke) share one shape, Django's
delete_selected: a change page's button and the changelist's action bar lead to the same
confirmation page, which carries the selection back to the changelist; a selection is capped.
"""

from __future__ import annotations

import pytest

from channels_app import services
from channels_app.admin.actions import MAX_SELECTED
from channels_app.models import ApiToken, ChannelBinding, PhoneNumber
from tests.admin_support import (
    BINDINGS_URL,
    NUMBERS_URL,
    TOKENS_URL,
    change_url,
    form_fields,
    object_tool_forms,
    run_action,
)

pytestmark = pytest.mark.django_db

ACTIONS = {
    # action: (changelist, the change page's button, the confirmation form)
    "reassign_selected": (BINDINGS_URL, "Reassign", "reassign-form"),
    "unbind_selected": (BINDINGS_URL, "Unbind", "unbind-form"),
    "release_selected": (NUMBERS_URL, "Release", "release-form"),
    "revoke_selected": (TOKENS_URL, "Revoke", "revoke-form"),
}


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def subjects(trunk_a, purchased_a, token_a):
    """The object each action is about."""
    return {
        "reassign_selected": trunk_a,
        "unbind_selected": trunk_a,
        "release_selected": purchased_a,
        "revoke_selected": ApiToken.objects.get(),
    }


def written() -> tuple[int, ...]:
    return (
        ChannelBinding.history.count(),
        PhoneNumber.history.count(),
        ApiToken.history.count(),
        ApiToken.objects.filter(revoked_at__isnull=False).count(),
    )


@pytest.mark.parametrize("action", ACTIONS)
def test_a_change_page_button_posts_the_changelist_action_for_its_object(staff_client, subjects, action):
    changelist, label, _form = ACTIONS[action]
    obj = subjects[action]
    html = staff_client.get(change_url(obj)).content.decode()
    assert {"url": changelist, "action": action, "_selected_action": str(obj.pk)} in object_tool_forms(html)
    assert f'<button type="submit">{label}</button>' in html
    assert "?ids=" not in html


@pytest.mark.parametrize("action", ACTIONS)
def test_the_button_and_the_action_bar_reach_the_same_confirmation_and_write_nothing(staff_client, subjects, action):
    changelist, _label, form_id = ACTIONS[action]
    obj = subjects[action]
    before = written()
    [button] = [
        form
        for form in object_tool_forms(staff_client.get(change_url(obj)).content.decode())
        if form.get("action") == action
    ]
    from_button = staff_client.post(button.pop("url"), button)
    from_bar = run_action(staff_client, changelist, action, [obj])
    for page in (from_button, from_bar):
        assert page.status_code == 200
        assert page.templates[0].name.endswith(f"/{action}_confirmation.html")
        assert form_fields(page.content.decode(), form_id) == {
            "_selected_action": [str(obj.pk)],
            "action": [action],
            "post": ["yes"],
        }
    assert written() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_the_cancel_link_of_a_one_object_confirmation_leads_back_to_its_page(staff_client, subjects, action):
    changelist, _label, _form = ACTIONS[action]
    obj = subjects[action]
    html = run_action(staff_client, changelist, action, [obj]).content.decode()
    back = obj.phone_number if isinstance(obj, ChannelBinding) else obj
    assert f'<a href="{change_url(back)}" class="button cancel-link">' in html


def test_more_rows_than_an_action_takes_are_refused_before_anything_is_written(
    staff_client, workspace_a, command_actor
):
    for i in range(MAX_SELECTED + 1):
        services.token_create(workspace=workspace_a, actor=command_actor, name=f"token {i}")
    response = staff_client.post(
        TOKENS_URL,
        {"action": "revoke_selected", "select_across": "1", "_selected_action": "1", "post": "yes", "index": "0"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [f"Select at most {MAX_SELECTED} rows for this action."]
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_an_action_on_rows_that_no_longer_exist_says_so(staff_client, trunk_a, command_actor):
    services.binding_delete(workspace=trunk_a.workspace, actor=command_actor, binding_uuid=trunk_a.uuid)
    response = run_action(staff_client, BINDINGS_URL, "unbind_selected", [trunk_a], confirm=True)
    assert response.status_code == 302
    listed = staff_client.get(response["Location"])
    assert [str(m) for m in listed.context["messages"]] == ["No channel bindings were selected."]
