"""Hostile input refused before it reaches a handler: oversized bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from helpers import assert_error

from agent_server.app import create_app

LIMIT = 4096


@pytest_asyncio.fixture(scope="module")
async def small_body_url(database_url: str) -> AsyncIterator[str]:
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_MAX_BODY_BYTES=LIMIT,
                                   OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), project_config())
    async with ServedApp(app) as served:
        yield served.url


async def thread_count(http: httpx.AsyncClient) -> int:
    return int((await http.post("/threads/count", json={})).json())


async def test_a_body_over_the_limit_is_413_and_changes_nothing(small_body_url: str) -> None:
    async with httpx.AsyncClient(base_url=small_body_url) as http:
        before = await thread_count(http)
        response = await http.post("/threads", json={"metadata": {"blob": "x" * LIMIT}})
        assert_error(response, 413)
        assert str(LIMIT) in response.json()["detail"]
        assert await thread_count(http) == before
        assert (await http.post("/threads", json={"metadata": {"blob": "x" * 100}})).status_code == 200


async def test_a_streamed_body_without_length_is_cut_at_the_limit(small_body_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"metadata": {"blob": "'
        for _ in range(10):
            yield b"y" * 1024
        yield b'"}}'

    async with httpx.AsyncClient(base_url=small_body_url) as http:
        before = await thread_count(http)
        response = await http.post("/threads", content=chunks(), headers={"content-type": "application/json"})
        assert_error(response, 413)
        assert await thread_count(http) == before
