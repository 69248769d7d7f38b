"""Runs across instances sharing one database, through each cross-process broker (Postgres, Redis).

Instance `api` hosts no worker; instance `worker` executes every run. Clients talk only to `api`, so every
event, outcome and cancellation crosses the broker (or Postgres NOTIFY) between the two.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import redis.asyncio
from conftest import ServedApp, make_settings, project_config
from helpers import assert_error, reachable_redis_url, sse_frames
from langgraph_sdk import get_client

from agent_server.app import create_app
from agent_server.streaming.postgres import PostgresBroker
from agent_server.streaming.redis import RedisBroker

BROKER_CLASSES = {"postgres": PostgresBroker, "redis": RedisBroker}


@pytest_asyncio.fixture(scope="module", params=["postgres", "redis"])
async def broker_settings(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """The settings both instances share to select the broker; a Redis broker gets keys of its own."""
    if request.param == "postgres":
        yield {"OPEN_LANGGRAPH_BROKER": "postgres"}
        return
    url, prefix = reachable_redis_url(), f"olg-test-{uuid.uuid4().hex[:12]}"
    yield {"OPEN_LANGGRAPH_BROKER": "redis", "REDIS_URL": url, "OPEN_LANGGRAPH_REDIS_PREFIX": prefix}
    async with redis.asyncio.Redis.from_url(url) as client:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)


@pytest_asyncio.fixture(scope="module")
async def api_url(module_database_url: str, broker_settings: dict[str, str]) -> AsyncIterator[str]:
    worker_app = create_app(make_settings(module_database_url, **broker_settings), project_config())
    api_app = create_app(make_settings(module_database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0, **broker_settings),
                         project_config())
    async with ServedApp(worker_app) as worker, ServedApp(api_app) as api:
        expected = BROKER_CLASSES[broker_settings["OPEN_LANGGRAPH_BROKER"]]
        assert type(worker.app.state.olg.broker) is type(api.app.state.olg.broker) is expected
        yield api.url


async def test_stream_from_the_instance_that_does_not_execute(api_url: str) -> None:
    client = get_client(url=api_url)
    thread = await client.threads.create()
    parts = [p async for p in client.runs.stream(thread["thread_id"], "slow", input={"tag": "x", "seconds": 0.3},
                                                  stream_mode=["custom", "values"])]
    assert parts[0].event == "metadata"
    ticks = [p.data["tick"] for p in parts if p.event == "custom"]
    assert len(ticks) >= 3
    assert ticks == sorted(ticks)
    assert parts[-1].event == "values"
    assert parts[-1].data["log"] == ["x"]
    await client.aclose()


async def test_wait_and_join_cross_instance(api_url: str) -> None:
    client = get_client(url=api_url)
    thread = await client.threads.create()
    result = await client.runs.wait(thread["thread_id"], "plain", input={"value": "w"})
    assert result == {"value": "w", "steps": ["a", "b", "c"]}
    run = await client.runs.create(thread["thread_id"], "plain", input={"value": "j"})
    joined = await client.runs.join(thread["thread_id"], run["run_id"])
    assert joined["steps"] == ["a", "b", "c"] * 2
    await client.aclose()


async def test_resume_with_last_event_id_loses_and_repeats_nothing(api_url: str) -> None:
    client = get_client(url=api_url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"tag": "r", "seconds": 0.5},
                                   stream_mode=["custom", "values"], stream_resumable=True)
    path = f"/threads/{thread['thread_id']}/runs/{run['run_id']}/stream"
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        async with http.stream("GET", path) as response:
            first = [frame.id for frame in await sse_frames(response, limit=3)]
        async with http.stream("GET", path, headers={"Last-Event-ID": str(first[-1])}) as response:
            rest = [frame.id for frame in await sse_frames(response)]
        everything = first + rest
        assert everything == list(range(1, len(everything) + 1))
        assert len(rest) >= 3
        assert_error(await http.get(path, headers={"Last-Event-ID": "not-a-number"}), 422)
    await client.aclose()


async def test_cancel_reaches_the_worker_of_another_instance(api_url: str) -> None:
    client = get_client(url=api_url)
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"tag": "c", "seconds": 30})
    for _ in range(200):
        if (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "running":
            break
    await client.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"
    await client.aclose()
