"""The REST API of contract §3. Views shape input and output; services and selectors do the rest.

Every write runs as `Actor(door=API, token=...)`; every read goes through a selector scoped to the
token's workspace, so another workspace's object is the same 404 as a missing one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app import selectors, services
from channels_app.audit import Actor, Door
from channels_app.errors import (
    DomainError,
    NotFound,
    ValidationFailed,
    agent_not_found,
    phone_number_not_found,
    trunk_not_found,
)
from channels_app.models import Channel, PhoneNumber, Source, Workspace

from . import idempotency
from . import serializers as s
from .envelope import success_body
from .pagination import paginate
from .parsers import StrictJSONParser
from .schema import (
    DRY_RUN,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    PAGE,
    PER_PAGE,
    WITH_BODY,
    errors,
)

DRY_RUN_MESSAGE = "Dry run: nothing was written"
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


# --- helpers ----------------------------------------------------------------------------------


def ok(message: str, data: Any, *, status: int = 200, etag: str | None = None) -> Response:
    response = Response(success_body(message, data), status=status)
    if etag:
        response["ETag"] = etag
    return response


def etag_of(snapshot: dict[str, Any] | None) -> str | None:
    """A strong validator of a snapshot: any visible change changes it."""
    if snapshot is None:
        return None
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def snapshot_of(number: PhoneNumber | None) -> dict[str, Any] | None:
    """The snapshot of a number just written by a service (re-read with what the snapshot needs)."""
    fresh = selectors.number_refetch(number)
    return selectors.snapshot(fresh) if fresh is not None else None


def path_uuid(value: str, not_found: Callable[[], NotFound]) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise not_found() from exc


def dry_run_requested(request: Request) -> bool:
    raw = request.query_params.get("dry_run")
    if raw is None:
        return False
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationFailed.single("dry_run", "Must be true or false.")


def list_filters(request: Request, *names: str) -> dict[str, str | None]:
    """The list filters sent; a filter sent empty (`?source=`) is refused rather than ignored."""
    query = request.query_params
    empty = {name: ["Must not be empty; leave the parameter out instead."] for name in names if query.get(name) == ""}
    if empty:
        raise ValidationFailed(empty)
    return {name: query.get(name) for name in names}


@contextmanager
def one_transaction(*, dry_run: bool = False) -> Iterator[None]:
    """The write and the read of its result in one transaction: if building the answer fails, the
    write is undone too, so a 5xx never leaves a change the client was not told about. A dry run
    is rolled back in any case. Any failure ends it (services.whole_transaction)."""
    with services.whole_transaction(dry_run=dry_run):
        yield


class ApiView(APIView):
    """Base of every authenticated endpoint: the token's workspace, its actor, JSON object bodies."""

    parser_classes = [StrictJSONParser]

    @property
    def allowed_methods(self) -> list[str]:
        # OPTIONS answers 405 (no metadata endpoint), so the Allow header does not offer it.
        return [method for method in super().allowed_methods if method != "OPTIONS"]

    @property
    def workspace(self) -> Workspace:
        return self.request.auth.workspace

    @property
    def actor(self) -> Actor:
        return Actor(door=Door.API, token=self.request.auth)

    def body(self) -> dict[str, Any]:
        """The JSON object sent; anything else is INVALID_JSON (415 when no Content-Type is given)."""
        request = self.request
        length = request.META.get("CONTENT_LENGTH") or "0"
        has_body = length.isdigit() and int(length) > 0
        if has_body and not request.META.get("CONTENT_TYPE"):
            raise drf_exceptions.UnsupportedMediaType("")
        data = request.data
        if not isinstance(data, dict):
            raise DomainError("INVALID_JSON", "Invalid JSON", details="The request body must be a JSON object.")
        return data

    def validated(self, serializer_class) -> dict[str, Any]:
        serializer = serializer_class(data=self.body())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def check_if_match(self, phone_number: Any) -> None:
        """412 PRECONDITION_FAILED when If-Match names another version of the number's snapshot.

        Call inside the write's transaction: the number stays locked until the write is done.
        """
        header = self.request.headers.get("If-Match")
        if header is None:
            return
        number = selectors.number_get_for_write(workspace=self.workspace, number=phone_number)
        if number is None:
            return  # the write reports the unknown or invalid number itself
        tags = parse_etags(header)
        if "*" in tags or etag_of(selectors.snapshot(number)) in tags:
            return
        raise DomainError(
            "PRECONDITION_FAILED",
            "The number changed since you read it",
            details="If-Match does not match the current ETag; read the snapshot again and retry.",
        )


# --- phone numbers ----------------------------------------------------------------------------------

LIST_FILTERS = [
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values, description="Bound on this channel."),
    OpenApiParameter("agent_uuid", OpenApiTypes.UUID, description="Bound to this agent."),
    OpenApiParameter("search", OpenApiTypes.STR, pattern="[0-9]", description="Digits of the number."),
    PAGE,
    PER_PAGE,
]


class PhoneNumberListView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_list",
        tags=["Phone numbers"],
        summary="List the workspace's numbers (purchased and external)",
        parameters=[
            OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values),
            *LIST_FILTERS,
        ],
        responses={200: s.PhoneNumberPageEnvelope, **errors(422)},
    )
    def get(self, request):
        filters = list_filters(request, "source", "channel", "agent_uuid", "search")
        numbers = selectors.number_list(workspace=self.workspace, **filters)
        return ok("Phone numbers retrieved", paginate(request.query_params, numbers, selectors.phone_number_repr))


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
            number = selectors.number_get(workspace=self.workspace, phone_number_uuid=key, for_snapshot=False)
            data = selectors.phone_number_repr(number)
        return ok("Phone number updated", data)


class PhoneNumberChannelsView(ApiView):
    @extend_schema(
        operation_id="phone_numbers_channels_retrieve",
        tags=["Phone numbers"],
        summary="Per-channel snapshot of a number",
        responses={200: s.SnapshotEnvelope, **errors(404)},
    )
    def get(self, request, phone_number_uuid):
        data = selectors.snapshot_get(workspace=self.workspace, phone_number_uuid=phone_number_uuid)
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
        data = selectors.snapshot_get(workspace=self.workspace, number=raw)
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
        number = selectors.number_get(workspace=self.workspace, phone_number_uuid=phone_number_uuid, for_snapshot=False)
        events = selectors.number_events(number=number)
        return ok(
            "Events retrieved", paginate(request.query_params, events, lambda event: s.EventSerializer(event).data)
        )


# --- trunks ------------------------------------------------------------------------------------------


class TrunkView(ApiView):
    # GET lists external numbers; POST registers, PATCH updates, DELETE removes one trunk.

    @extend_schema(
        operation_id="trunks_list",
        tags=["Trunks"],
        summary="List external numbers (PhoneNumber shape)",
        parameters=LIST_FILTERS,
        responses={200: s.PhoneNumberPageEnvelope, **errors(422)},
    )
    def get(self, request):
        filters = list_filters(request, "channel", "agent_uuid", "search")
        numbers = selectors.trunk_list(workspace=self.workspace, **filters)
        return ok("Trunks retrieved", paginate(request.query_params, numbers, selectors.phone_number_repr))

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
            snapshot = snapshot_of(binding.phone_number)
        if dry_run:
            return ok(DRY_RUN_MESSAGE, snapshot)
        return ok("Trunk created", snapshot, status=201, etag=etag_of(snapshot))

    @extend_schema(
        operation_id="trunks_update",
        tags=["Trunks"],
        summary="Update a trunk, located by phone_number and channel",
        request=s.TrunkUpdateSerializer,
        parameters=[IF_MATCH, DRY_RUN],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404, 412)},
    )
    def patch(self, request):
        dry_run = dry_run_requested(request)
        data = self.validated(s.TrunkUpdateSerializer)
        with one_transaction(dry_run=dry_run):
            self.check_if_match(data["phone_number"])
            binding = services.trunk_update(workspace=self.workspace, actor=self.actor, **data)
            snapshot = snapshot_of(binding.phone_number)
        return self._written("Trunk updated", snapshot, dry_run)

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
            snapshot = snapshot_of(number)
        return self._written("Trunk deleted", snapshot, dry_run)

    @staticmethod
    def _written(message: str, snapshot: dict | None, dry_run: bool) -> Response:
        if dry_run:
            return ok(DRY_RUN_MESSAGE, snapshot)
        return ok(message, snapshot, etag=etag_of(snapshot))


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
            snapshot = snapshot_of(binding.phone_number)
        return TrunkView._written("Trunk assigned", snapshot, dry_run)


class TrunkCheckView(ApiView):
    @extend_schema(
        operation_id="trunks_check",
        tags=["Trunks"],
        summary="Check a call trunk now: is its gateway reachable, are the stored credentials accepted?",
        description="Sends SIP OPTIONS over UDP to the gateway (and the secondary gateway) and, when a username "
        "and a password are stored, a REGISTER that answers the digest challenge without registering anything. "
        "Answers the number's Snapshot; the result is in data.channels.call.trunk.health and stays there. "
        "Takes at most a few seconds; one check per trunk every 30 seconds (429 RATE_LIMITED with Retry-After). "
        "A trunk without a gateway is VALIDATION_ERROR on sip.gateway.",
        request=s.TrunkCheckSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404)},
    )
    def post(self, request):
        return idempotency.run(self, request, self._check)

    def _check(self) -> Response:
        data = self.validated(s.TrunkCheckSerializer)
        # No transaction here: the check waits on the network for seconds and must hold no lock
        # (services.trunk_check claims its rate-limit slot and stores its result by itself).
        binding = services.trunk_check(workspace=self.workspace, actor=self.actor, **data)
        snapshot = snapshot_of(binding.phone_number)
        if snapshot is None:  # the trunk's number left the inventory just after the check
            raise trunk_not_found()
        return ok("Trunk checked", snapshot, etag=etag_of(snapshot))


# --- agents -----------------------------------------------------------------------------------------


class AgentListView(ApiView):
    @extend_schema(
        operation_id="agents_list",
        tags=["Agents"],
        summary="List the workspace's agents",
        parameters=[PAGE, PER_PAGE],
        responses={200: s.AgentPageEnvelope, **errors(422)},
    )
    def get(self, request):
        agents = selectors.agent_list(workspace=self.workspace)
        return ok("Agents retrieved", paginate(request.query_params, agents, selectors.agent_repr))


class AgentSmsView(ApiView):
    @extend_schema(
        operation_id="agents_sms_assign",
        tags=["Agents"],
        summary="Bind a purchased SMS-capable number to the agent on sms (replaces its current one)",
        request=s.PhoneNumberUuidSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.SnapshotEnvelope, **errors(*WITH_BODY, 404, 409)},
    )
    def post(self, request, agent_uuid):
        key = path_uuid(agent_uuid, agent_not_found)

        def assign() -> Response:
            data = self.validated(s.PhoneNumberUuidSerializer)
            with one_transaction():
                number = services.sms_assign(
                    workspace=self.workspace,
                    actor=self.actor,
                    agent_uuid=key,
                    phone_number_uuid=data["phone_number_uuid"],
                )
                snapshot = snapshot_of(number)
            return ok("SMS number assigned", snapshot, etag=etag_of(snapshot))

        return idempotency.run(self, request, assign)


class AgentCallProvisionView(ApiView):
    @extend_schema(
        operation_id="agents_call_provision",
        tags=["Agents"],
        summary="Bind a purchased voice-capable number to the agent on call",
        request=s.PhoneNumberUuidSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.AgentEnvelope, **errors(*WITH_BODY, 404, 409)},
    )
    def post(self, request, agent_uuid):
        key = path_uuid(agent_uuid, agent_not_found)

        def provision() -> Response:
            data = self.validated(s.PhoneNumberUuidSerializer)
            with one_transaction():
                agent = services.call_provision(
                    workspace=self.workspace,
                    actor=self.actor,
                    agent_uuid=key,
                    phone_number_uuid=data["phone_number_uuid"],
                )
                body = {"agent": selectors.agent_repr(agent)}
            return ok("Number provisioned", body)

        return idempotency.run(self, request, provision)


# --- anything else under /api/ -------------------------------------------------------------------------


class NotFoundView(APIView):
    """Unknown API addresses answer the envelope, not Django's HTML 404."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = {"Vary": "Accept"}
        response = self.handle_exception(drf_exceptions.NotFound())
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
