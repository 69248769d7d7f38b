"""Small helpers shared by tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def tag() -> str:
    """A unique value to scope metadata searches to one test."""
    return uuid.uuid4().hex


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    return body
