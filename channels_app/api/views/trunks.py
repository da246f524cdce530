"""/phone-numbers/trunks: list, register, update, delete, assign and check trunks."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from channels_app import services
from channels_app.errors import NotFound, ValidationFailed, trunk_not_found
from channels_app.models import Source

from .. import idempotency
from .. import serializers as s
from ..schema import DRY_RUN, IDEMPOTENCY_KEY, IF_MATCH, WITH_BODY, errors
from .base import ApiView, dry_run_requested, etag_of, list_filters, ok, one_transaction
from .numbers import LIST_FILTERS, number_page


class TrunkView(ApiView):
    """GET lists external numbers; POST registers, PATCH updates, DELETE removes one trunk."""

    @extend_schema(
        operation_id="trunks_list",
        tags=["Trunks"],
        summary="List external numbers (PhoneNumber shape)",
        parameters=LIST_FILTERS,
        responses={200: s.PhoneNumberPageEnvelope, **errors(422)},
    )
    def get(self, request):
        filters = list_filters(request, "channel", "agent_uuid", "search")
        return ok("Trunks retrieved", number_page(request, self.workspace, source=Source.EXTERNAL, **filters))

    @extend_schema(
        operation_id="trunks_create",
        tags=["Trunks"],
        summary="Register an external number's trunk on one channel",
        request=s.TrunkCreateSerializer,
        parameters=[IDEMPOTENCY_KEY, DRY_RUN],
        responses={
            201: s.SnapshotEnvelope,
            200: s.SnapshotEnvelope,  # dry run
            **errors(*WITH_BODY, 404, 409),
        },
    )
    def post(self, request):
        if dry_run_requested(request):
            return self._create(dry_run=True)
        return idempotency.run(self, request, lambda: self._create(dry_run=False))

    def _create(self, *, dry_run: bool) -> Response:
        data = self.validated(s.TrunkCreateSerializer)
        with one_transaction(dry_run=dry_run):
            binding = services.trunk_register(workspace=self.workspace, actor=self.actor, **data)
            snapshot = self.snapshot(binding.phone_number)
        return self.written("Trunk created", snapshot, dry_run=dry_run, status=201)

    @extend_schema(
        operation_id="trunks_update",
        tags=["Trunks"],
        summary="Update a trunk, located by phone_number and channel",
        request=s.TrunkUpdateSerializer,
        parameters=[IF_MATCH, DRY_RUN],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404, 409, 412)},
    )
    def patch(self, request):
        dry_run = dry_run_requested(request)
        data = self.validated(s.TrunkUpdateSerializer)
        with one_transaction(dry_run=dry_run):
            self.check_if_match(data["phone_number"])
            binding = services.trunk_update(workspace=self.workspace, actor=self.actor, **data)
            snapshot = self.snapshot(binding.phone_number)
        return self.written("Trunk updated", snapshot, dry_run=dry_run)

    @extend_schema(
        operation_id="trunks_delete",
        tags=["Trunks"],
        summary="Delete one trunk; the number leaves the inventory with its last one",
        parameters=[
            OpenApiParameter("phone_number", OpenApiTypes.STR, required=True, description="Any spelling."),
            OpenApiParameter("channel", OpenApiTypes.STR, required=True, enum=["call", "whatsapp"]),
            IF_MATCH,
            DRY_RUN,
        ],
        responses={200: s.NullableSnapshotEnvelope, **errors(403, 404, 412, 422)},
    )
    def delete(self, request):
        dry_run = dry_run_requested(request)
        query = request.query_params
        missing = {name: ["This field is required."] for name in ("phone_number", "channel") if not query.get(name)}
        if missing:
            raise ValidationFailed(missing)
        with one_transaction(dry_run=dry_run):
            self.check_if_match(query["phone_number"])
            number = services.trunk_delete(
                workspace=self.workspace,
                actor=self.actor,
                phone_number=query["phone_number"],
                channel=query["channel"],
            )
            snapshot = self.snapshot(number)
        return self.written("Trunk deleted", snapshot, dry_run=dry_run)


class TrunkAssignView(ApiView):
    @extend_schema(
        operation_id="trunks_assign",
        tags=["Trunks"],
        summary="Give a trunk to another agent (only the agent changes)",
        request=s.TrunkAssignSerializer,
        parameters=[IDEMPOTENCY_KEY, IF_MATCH, DRY_RUN],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404, 409, 412)},
    )
    def put(self, request):
        if dry_run_requested(request):
            return self._assign(dry_run=True)
        return idempotency.run(self, request, lambda: self._assign(dry_run=False))

    def _assign(self, *, dry_run: bool) -> Response:
        data = self.validated(s.TrunkAssignSerializer)
        with one_transaction(dry_run=dry_run):
            self.check_if_match(data["phone_number"])
            binding = services.trunk_assign(workspace=self.workspace, actor=self.actor, **data)
            snapshot = self.snapshot(binding.phone_number)
        return self.written("Trunk assigned", snapshot, dry_run=dry_run)


class TrunkCheckView(ApiView):
    @extend_schema(
        operation_id="trunks_check",
        tags=["Trunks"],
        summary="Check a trunk now: a call trunk's gateways and credentials, a WhatsApp trunk's line",
        description="call: sends SIP OPTIONS over UDP to the gateway (and the secondary gateway) and, when a "
        "username and a password are stored, a REGISTER that answers the digest challenge without registering "
        "anything; a trunk without a gateway is VALIDATION_ERROR on sip.gateway. whatsapp: reads the phone number "
        "from the Graph API with the stored access token (ok, auth_failed, number_mismatch, unreachable, with the "
        "display name, verified name and quality rating); a line without phone number id or token is "
        "VALIDATION_ERROR on whatsapp.phone_number_id / whatsapp.access_token. Answers the number's Snapshot; the "
        "result is in data.channels.<channel>.trunk.health and stays there. Takes at most a few seconds. One check "
        "per trunk, and per gateway address whichever trunk or workspace uses it, every 30 seconds (429 "
        "RATE_LIMITED with Retry-After); deleting and registering the trunk again does not reset it.",
        request=s.TrunkCheckSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404)},
    )
    def post(self, request):
        return idempotency.run(self, request, self._check, atomic=False)

    def _check(self) -> Response:
        data = self.validated(s.TrunkCheckSerializer)
        # No transaction here: the check waits on the network for seconds and must hold no lock
        # (services.trunk_check claims its rate-limit slot and stores its result by itself).
        binding = services.any_trunk_check(workspace=self.workspace, actor=self.actor, **data)
        try:
            snapshot = self.snapshot(binding.phone_number)
        except NotFound as exc:  # the trunk's number left the inventory just after the check
            raise trunk_not_found() from exc
        return ok("Trunk checked", snapshot, etag=etag_of(snapshot))


class TrunkTestCallView(ApiView):
    @extend_schema(
        operation_id="trunks_test_call",
        tags=["Trunks"],
        summary="Place a test call through a call trunk and end it at once",
        description="The product's SIP engine sends an INVITE to `to` through the trunk's gateway (the secondary "
        "gateway when the first is silent, unreachable or answers 5xx), answers a digest challenge with the stored "
        "credentials, and ends the call at once: CANCEL at the first sign of ringing, BYE if it is answered. Answers "
        "the exchange step by step (request and status lines only, no credential). Over UDP; the destination rules "
        "of outbound calls apply (DESTINATION_NOT_ALLOWED, DIRECTION_NOT_ALLOWED), and the trunk check's address "
        "policy and rate limit (one check or test call per trunk every 30 seconds: 429 RATE_LIMITED).",
        request=s.TrunkTestCallSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.TestCallEnvelope, **errors(*WITH_BODY, 404)},
    )
    def post(self, request):
        return idempotency.run(self, request, self._call)

    def _call(self) -> Response:
        data = self.validated(s.TrunkTestCallSerializer)
        # No transaction: the call waits on the network for seconds and must hold no lock.
        call = services.trunk_test_call(workspace=self.workspace, actor=self.actor, **data)
        return ok("Test call placed", s.TestCallSerializer(call).data)
