"""/agents: the workspace's agents, and purchased numbers bound to one (SMS, call provisioning)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from channels_app import selectors, services
from channels_app.errors import agent_not_found

from .. import idempotency
from .. import serializers as s
from ..pagination import paginate
from ..schema import IDEMPOTENCY_KEY, PAGE, PER_PAGE, WITH_BODY, errors
from .base import ApiView, etag_of, ok, one_transaction, path_uuid


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
        return ok("Agents retrieved", paginate(request, agents, s.AgentSerializer))


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
                snapshot = self.snapshot(number)
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
            return ok("Number provisioned", s.AgentWrapperSerializer(agent).data)

        return idempotency.run(self, request, provision)
