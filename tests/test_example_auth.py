"""examples/auth.py, loaded through the config as a user would: demo bearer tokens and owner-only threads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from conftest import ALICE_DEMO, BOB_DEMO, ServedApp, example_auth_config, make_settings
from helpers import assert_error

from agent_server.app import create_app

ALICE, BOB = ALICE_DEMO, BOB_DEMO


@pytest_asyncio.fixture(scope="module")
async def example_app(database_url: str) -> AsyncIterator[ServedApp]:
    config = example_auth_config()
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)
    async with ServedApp(app) as served:
        yield served


@pytest_asyncio.fixture
async def http(example_app: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=example_app.url, timeout=30) as client:
        yield client


async def test_anonymous_and_unknown_tokens_are_refused(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/threads", json={}), 401)
    assert_error(await http.post("/threads", json={}, headers={"Authorization": "Bearer guessed"}), 401)
    assert_error(await http.post("/threads", json={}, headers={"Authorization": "alice-demo-token"}), 401)


async def test_a_demo_token_creates_a_thread_owned_by_its_user(http: httpx.AsyncClient) -> None:
    created = await http.post("/threads", json={"metadata": {"topic": "demo"}}, headers=ALICE)
    assert created.status_code == 200, created.text
    assert created.json()["metadata"] == {"topic": "demo", "owner": "alice"}
    thread_id = created.json()["thread_id"]
    fetched = await http.get(f"/threads/{thread_id}", headers=ALICE)
    assert fetched.status_code == 200
    assert fetched.json()["metadata"]["owner"] == "alice"


async def test_another_user_cannot_see_the_thread(http: httpx.AsyncClient) -> None:
    thread_id = (await http.post("/threads", json={}, headers=ALICE)).json()["thread_id"]
    assert_error(await http.get(f"/threads/{thread_id}", headers=BOB), 404)
    found = await http.post("/threads/search", json={"limit": 100}, headers=BOB)
    assert found.status_code == 200
    assert thread_id not in {thread["thread_id"] for thread in found.json()}
