"""Hostile input: oversized bodies, JSON that jsonb cannot hold, nesting too deep — a clean 4xx, nothing changed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from helpers import assert_error

from agent_server.app import create_app
from agent_server.models.common import MAX_JSON_DEPTH

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


async def test_deeply_nested_json_is_a_clean_4xx(small_body_url: str) -> None:
    deep = "[" * 3000 + "]" * 3000
    async with httpx.AsyncClient(base_url=small_body_url) as http:
        before = await thread_count(http)
        response = await http.post("/threads", content='{"metadata": {"x": ' + deep + "}}",
                                   headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, response.text
        assert "detail" in response.json()
        assert await thread_count(http) == before


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


async def test_json_that_jsonb_cannot_hold_is_422_on_every_resource(small_body_url: str) -> None:
    bad_values = [{"s": "a\x00b"}, {"n": float("nan")}, {"big": 2**70}, nested(MAX_JSON_DEPTH + 5)]
    async with httpx.AsyncClient(base_url=small_body_url) as http:
        thread = (await http.post("/threads", json={})).json()
        assistants_before = (await http.post("/assistants/count", json={})).json()
        threads_before = await thread_count(http)
        for bad in bad_values:
            requests = [
                ("/assistants", {"graph_id": "plain", "metadata": bad}),
                ("/assistants", {"graph_id": "plain", "config": {"configurable": bad}}),
                ("/threads", {"metadata": bad}),
                (f"/threads/{thread['thread_id']}/runs", {"assistant_id": "plain", "input": bad}),
                (f"/threads/{thread['thread_id']}/runs", {"assistant_id": "plain", "metadata": bad}),
                ("/runs", {"assistant_id": "plain", "context": bad}),
            ]
            for path, body in requests:  # json.dumps writes NaN as the parser that reads it accepts it
                response = await http.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
                assert_error(response, 422)
        assert (await http.post("/assistants/count", json={})).json() == assistants_before
        assert await thread_count(http) == threads_before
        runs = (await http.get(f"/threads/{thread['thread_id']}/runs")).json()
        assert runs == []


async def test_nesting_within_the_limit_is_stored(small_body_url: str) -> None:
    async with httpx.AsyncClient(base_url=small_body_url) as http:
        created = await http.post("/threads", json={"metadata": nested(MAX_JSON_DEPTH - 1)})
        assert created.status_code == 200
        assert created.json()["metadata"] == nested(MAX_JSON_DEPTH - 1)
