"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import httpx
import orjson
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


class Frame(NamedTuple):
    id: int
    event: str
    data: Any


async def sse_frames(response: httpx.Response, limit: int | None = None) -> list[Frame]:
    """The SSE frames of a streaming response (comments skipped), until it ends or `limit` frames arrived."""
    frames: list[Frame] = []
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line:
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
            continue
        if "event" in fields:
            frames.append(Frame(int(fields["id"]), fields["event"], orjson.loads(fields.get("data", "null"))))
            if limit is not None and len(frames) >= limit:
                break
        fields = {}
    return frames


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def reachable_redis_url() -> str:
    """The test Redis (TEST_REDIS_URL); skips the test when no Redis answers there."""
    try:
        with redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1) as client:
            client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    return TEST_REDIS_URL


T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 15) -> T:
    """The first truthy result of `probe`, polled every 0.05 s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing within {timeout} s")
