"""Helpers for the API tests: a small client speaking JSON with a Bearer token, and exact bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

BASE = "/api/v1"


class ApiClient:
    """Django's test client, speaking JSON to /api/v1 with one token."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict | None = None,
        headers: dict | None = None,
        raw: bytes | str | None = None,
        content_type: str | None = "application/json",
        token: str | None = ...,
    ):
        url = path if path.startswith("/api/") else BASE + path
        if query:
            url += "?" + urlencode(query)
        all_headers = {}
        used_token = self.token if token is ... else token
        if used_token is not None:
            all_headers["Authorization"] = f"Bearer {used_token}"
        all_headers.update(headers or {})
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body)
        else:
            data = ""
        kwargs: dict[str, Any] = {"headers": all_headers}
        if content_type is not None:
            kwargs["content_type"] = content_type
        return self.client.generic(method, url, data, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


def error(
    code: str,
    message: str,
    details: str,
    field: str | None = None,
    fields: dict | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "details": details, "field": field}
    if fields is not None:
        body["fields"] = fields
    return {"success": False, "message": message, "error": body}


def validation(fields: dict[str, list[str]]) -> dict[str, Any]:
    first, messages = next(iter(fields.items()))
    return error("VALIDATION_ERROR", "The request is not valid.", messages[0], first, fields)


MISSING_AUTH = error("MISSING_AUTH_TOKEN", "Authentication required", "No authorization header provided")
INVALID_AUTH = error(
    "INVALID_AUTH_TOKEN", "Invalid authentication token", "The provided token is invalid or has been revoked"
)
INSUFFICIENT_SCOPE = error(
    "INSUFFICIENT_SCOPE",
    "This token cannot make changes",
    "The token's scope is read; this request needs a read_write token.",
)
PHONE_NUMBER_NOT_FOUND = error("PHONE_NUMBER_NOT_FOUND", "Phone number not found.", "Phone number not found")
AGENT_NOT_FOUND = error("AGENT_NOT_FOUND", "Agent not found.", "Agent not found")
TRUNK_NOT_FOUND = error("TRUNK_NOT_FOUND", "Trunk not found.", "Trunk not found")


@pytest.fixture
def api(client, token_a) -> ApiClient:
    """Workspace A's read_write token."""
    return ApiClient(client, token_a)


@pytest.fixture
def api_read(client, token_a_read) -> ApiClient:
    return ApiClient(client, token_a_read)


@pytest.fixture
def api_b(client, token_b) -> ApiClient:
    return ApiClient(client, token_b)


@pytest.fixture
def anonymous(client) -> ApiClient:
    return ApiClient(client, None)
