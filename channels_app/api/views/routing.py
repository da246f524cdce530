"""/routing/explain: what the SIP edge would do with a call, and why (docs/routing.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from channels_app.routing.explain import explain

from .. import idempotency
from .. import serializers as s
from ..schema import IDEMPOTENCY_KEY, WITH_BODY, errors
from .base import ApiView, ok


class RoutingExplainView(ApiView):
    """POST answers the routing decision for an inbound or outbound call; it changes nothing."""

    reads_only = True  # a POST that changes nothing: a read token may ask (api.permissions.TokenScope)

    @extend_schema(
        operation_id="routing_explain",
        tags=["Routing"],
        summary="Why would this call fail? The edge's decision for a call, with every check it makes",
        description="Inbound: {direction: inbound, to, source_ip}; outbound: {direction: outbound, from_number, to}. "
        "For the workspace's own numbers the answer is exactly what the SIP edge does; a number that is not the "
        "workspace's explains as NUMBER_NOT_ROUTED. A read token is enough; nothing is written.",
        request=s.RoutingExplainSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.RoutingDecisionEnvelope, **errors(*WITH_BODY)},
    )
    def post(self, request):
        # Every POST takes an Idempotency-Key (docs/api.md); a replay answers what was explained then.
        return idempotency.run(self, request, self._explain)

    def _explain(self):
        data = self.validated(s.RoutingExplainSerializer)
        decision = explain(workspace=self.workspace, **data)
        return ok("Routing explained", s.RoutingDecisionSerializer(decision).data)
