"""Small helpers shared by tests."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
import redis


def tag() -> str:
    """A unique value to scope metadata searches to one test."""
    return uuid.uuid4().hex


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    return body


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable_redis_url() -> str:
    """The test Redis (TEST_REDIS_URL); skips the test when no Redis answers there."""
    try:
        with redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1) as client:
            client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    return TEST_REDIS_URL
