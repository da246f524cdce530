"""GET /phone-numbers, PATCH /phone-numbers/{uuid}, its snapshot, release and events."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from channels_app import selectors, services
from channels_app.errors import ValidationFailed, phone_number_not_found
from channels_app.models import Channel, Source

from .. import idempotency
from .. import serializers as s
from ..pagination import paginate
from ..schema import IDEMPOTENCY_KEY, PAGE, PER_PAGE, WITH_BODY, errors
from .base import ApiView, etag_of, list_filters, ok, one_transaction, path_uuid, snapshot_data

LIST_FILTERS = [
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values, description="Bound on this channel."),
    OpenApiParameter("agent_uuid", OpenApiTypes.UUID, description="Bound to this agent."),
    OpenApiParameter("search", OpenApiTypes.STR, pattern="[0-9]", description="Digits of the number."),
    PAGE,
    PER_PAGE,
]


def number_page(request, workspace, **filters) -> dict:
    """A page of the workspace's numbers (filtered), with the list's true total."""
    return paginate(request, selectors.number_list(workspace=workspace, **filters), s.PhoneNumberSerializer)


class PhoneNumberListView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_list",
        tags=["Phone numbers"],
        summary="List the workspace's numbers (purchased and external)",
        parameters=[OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values), *LIST_FILTERS],
        responses={200: s.PhoneNumberPageEnvelope, **errors(422)},
    )
    def get(self, request):
        filters = list_filters(request, "source", "channel", "agent_uuid", "search")
        return ok("Phone numbers retrieved", number_page(request, self.workspace, **filters))


class PhoneNumberDetailView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_update",
        tags=["Phone numbers"],
        summary="Update a number's channel settings (partial)",
        request=s.PhoneNumberUpdateSerializer,
        responses={200: s.PhoneNumberEnvelope, **errors(*WITH_BODY, 404)},
    )
    def patch(self, request, phone_number_uuid):
        key = path_uuid(phone_number_uuid, phone_number_not_found)
        data = self.validated(s.PhoneNumberUpdateSerializer)
        with one_transaction():
            services.number_update_settings(
                workspace=self.workspace,
                actor=self.actor,
                phone_number_uuid=key,
                channel_settings=data["channel_settings"],
            )
            number = selectors.number_get(workspace=self.workspace, phone_number_uuid=key)
            answer = s.PhoneNumberSerializer(number).data
        return ok("Phone number updated", answer)


class PhoneNumberChannelsView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_channels_retrieve",
        tags=["Phone numbers"],
        summary="Per-channel snapshot of a number",
        responses={200: s.SnapshotEnvelope, **errors(404)},
    )
    def get(self, request, phone_number_uuid):
        number = selectors.number_get(workspace=self.workspace, phone_number_uuid=phone_number_uuid)
        data = snapshot_data(number)
        return ok("Channel snapshot retrieved", data, etag=etag_of(data))


class PhoneNumberChannelsByNumberView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_channels_by_number",
        tags=["Phone numbers"],
        summary="Per-channel snapshot of a number, looked up by the number in any spelling",
        parameters=[
            OpenApiParameter("number", OpenApiTypes.STR, required=True, description=s.ANY_SPELLING["description"])
        ],
        responses={200: s.SnapshotEnvelope, **errors(404, 422)},
    )
    def get(self, request):
        raw = request.query_params.get("number")
        if not raw:
            raise ValidationFailed.single("number", "This field is required.")
        data = snapshot_data(selectors.number_get(workspace=self.workspace, number=raw))
        return ok("Channel snapshot retrieved", data, etag=etag_of(data))


class PhoneNumberReleaseView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_release",
        tags=["Phone numbers"],
        summary="Release a purchased number (its bindings go with it)",
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.ReleaseEnvelope, **errors(*WITH_BODY, 404, 409)},
    )
    def post(self, request, phone_number_uuid):
        key = path_uuid(phone_number_uuid, phone_number_not_found)

        def release() -> Response:
            services.number_release(workspace=self.workspace, actor=self.actor, phone_number_uuid=key)
            return ok("Phone number released", None)

        return idempotency.run(self, request, release)


class PhoneNumberEventsView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_events",
        tags=["Phone numbers"],
        summary="Audit trail of a number and its bindings, newest first",
        parameters=[PAGE, PER_PAGE],
        responses={200: s.EventPageEnvelope, **errors(404, 422)},
    )
    def get(self, request, phone_number_uuid):
        number = selectors.number_get(workspace=self.workspace, phone_number_uuid=phone_number_uuid)
        events = selectors.number_events(number=number)
        return ok("Events retrieved", paginate(request, events, s.EventSerializer))
