"""The product's URLs plus the "floor" endpoint the benchmarks compare every operation with.

The floor is what the framework costs at the least for an API read: the same Bearer
authentication, permission and throttle as every endpoint of the API (the project's DRF
defaults), one query on a unique index, and a tiny JSON body. Not part of the product: only
bench/settings.py routes to it.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.models import PhoneNumber
from trunkadmin.urls import urlpatterns as product_urlpatterns


class FloorView(APIView):
    """GET /bench/floor/<uuid>: does this number exist in the token's workspace? One indexed query."""

    def get(self, request, phone_number_uuid):
        found = PhoneNumber.objects.filter(
            phone_number_uuid=phone_number_uuid, workspace_id=request.auth.workspace_id
        ).exists()
        return Response({"found": found})


urlpatterns = [
    path("bench/floor/<uuid:phone_number_uuid>", FloorView.as_view(), name="bench-floor"),
    *product_urlpatterns,
]
