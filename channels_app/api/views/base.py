"""What every API view shares: the token's workspace and actor, JSON object bodies, the envelope,
ETags, dry runs and the transaction of a write."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils.http import parse_etags
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app import inputs, selectors, services
from channels_app.audit import Actor, Door
from channels_app.errors import DomainError, NotFound, ValidationFailed
from channels_app.models import PhoneNumber, Workspace

from ..envelope import success_body
from ..parsers import StrictJSONParser
from ..serializers import SnapshotSerializer

DRY_RUN_MESSAGE = "Dry run: nothing was written"
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


def ok(message: str, data: Any, *, status: int = 200, etag: str | None = None) -> Response:
    response = Response(success_body(message, data), status=status)
    if etag:
        response["ETag"] = etag
    return response


def etag_of(snapshot: dict[str, Any] | None) -> str | None:
    """A strong validator of a rendered snapshot: any visible change changes it."""
    if snapshot is None:
        return None
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def snapshot_data(number: PhoneNumber) -> dict[str, Any]:
    """The Snapshot of a number read by `selectors.number_get`."""
    return SnapshotSerializer(number).data


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
    """The write and the read of its answer in one transaction: if building the answer fails, the
    write is undone too, so a 5xx never leaves a change the client was not told about. A dry run
    is rolled back in any case."""
    with services.rolled_back() if dry_run else transaction.atomic():
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
        has_body = inputs.is_ascii_digits(length, max_length=18) and int(length) > 0
        if has_body and not request.META.get("CONTENT_TYPE"):
            raise drf_exceptions.UnsupportedMediaType("")
        data = request.data
        if not isinstance(data, dict):
            raise DomainError("INVALID_JSON", "Invalid JSON", details="The request body must be a JSON object.")
        return data

    def validated(self, serializer_class: type) -> dict[str, Any]:
        serializer = serializer_class(data=self.body())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def snapshot(self, number: PhoneNumber | None) -> dict[str, Any] | None:
        """The Snapshot of a number a service just wrote, read again as every read sees it."""
        if number is None:
            return None
        return snapshot_data(selectors.number_get(workspace=self.workspace, phone_number_uuid=number.phone_number_uuid))

    def check_if_match(self, phone_number: Any) -> None:
        """412 PRECONDITION_FAILED when If-Match names another version of the number's snapshot.

        Call inside the write's transaction: the number stays locked until the write is done. An
        unknown or invalid number is left to the write, which reports it with its own error.
        """
        header = self.request.headers.get("If-Match")
        if header is None:
            return
        try:
            number = selectors.number_get(workspace=self.workspace, number=phone_number, lock=True)
        except DomainError:
            return
        tags = parse_etags(header)
        if "*" in tags or etag_of(snapshot_data(number)) in tags:
            return
        raise DomainError(
            "PRECONDITION_FAILED",
            "The number changed since you read it",
            details="If-Match does not match the current ETag; read the snapshot again and retry.",
        )

    def written(self, message: str, snapshot: dict[str, Any] | None, *, dry_run: bool, status: int = 200) -> Response:
        """The answer to a trunk write: the snapshot after it, with its ETag (none on a dry run)."""
        if dry_run:
            return ok(DRY_RUN_MESSAGE, snapshot)
        return ok(message, snapshot, status=status, etag=etag_of(snapshot))
