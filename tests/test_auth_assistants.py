"""Assistants under custom auth (examples/auth.py: each user owns what they create and sees only that).

Another user's assistant answers 404 on every route and stays unchanged; search and count never show it; the graphs'
own assistants, which have no owner, are hidden from a filtered user too (as on the reference server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import ALICE_DEMO, BOB_DEMO, ServedApp, example_auth_config, make_settings
from helpers import assert_error, tag

from agent_server.app import create_app
from agent_server.services.graphs import default_assistant_id

ALICE, BOB = ALICE_DEMO, BOB_DEMO


@pytest_asyncio.fixture(scope="module")
async def owner_app(database_url: str) -> AsyncIterator[ServedApp]:
    config = example_auth_config()
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)
    async with ServedApp(app) as served:
        yield served


@pytest_asyncio.fixture
async def http(owner_app: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=owner_app.url, timeout=30) as client:
        yield client


async def create(http: httpx.AsyncClient, user: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await http.post("/assistants", json={"graph_id": "subgraph", **body}, headers=user)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def versions(http: httpx.AsyncClient, user: dict[str, str], assistant_id: str) -> list[dict[str, Any]]:
    response = await http.post(f"/assistants/{assistant_id}/versions", json={}, headers=user)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_anonymous(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/assistants", json={"graph_id": "echo"}), 401)
    assert_error(await http.post("/assistants/search", json={}), 401)


async def test_create_writes_the_owner_the_handler_adds(http: httpx.AsyncClient) -> None:
    created = await create(http, ALICE, metadata={"topic": "demo"}, name="mine")
    assert created["metadata"] == {"topic": "demo", "owner": "alice"}
    fetched = await http.get(f"/assistants/{created['assistant_id']}", headers=ALICE)
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert [v["metadata"] for v in await versions(http, ALICE, created["assistant_id"])] == [created["metadata"]]


FOREIGN_ROUTES = [
    ("GET", "", None),
    ("GET", "/graph", None),
    ("GET", "/schemas", None),
    ("GET", "/subgraphs", None),
    ("GET", "/subgraphs/child", None),
    ("POST", "/versions", {}),
    ("POST", "/versions", None),
    ("PATCH", "", {"metadata": {"owner": "bob"}, "name": "taken"}),
    ("POST", "/latest", {"version": 1}),
    ("DELETE", "", None),
    ("DELETE", "?delete_threads=true", None),
]


@pytest.mark.parametrize(("method", "suffix", "body"), FOREIGN_ROUTES)
async def test_another_users_assistant_is_not_found_and_unchanged(
    http: httpx.AsyncClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    mine = await create(http, ALICE, name="alice's")
    await http.patch(f"/assistants/{mine['assistant_id']}", json={"name": "alice's v2"}, headers=ALICE)
    before = (await http.get(f"/assistants/{mine['assistant_id']}", headers=ALICE)).json()
    path = f"/assistants/{mine['assistant_id']}{suffix}"
    assert_error(await http.request(method, path, json=body, headers=BOB), 404)
    after = await http.get(f"/assistants/{mine['assistant_id']}", headers=ALICE)
    assert after.status_code == 200
    assert after.json() == before
    assert [v["version"] for v in await versions(http, ALICE, mine["assistant_id"])] == [2, 1]


async def test_the_owner_can_use_every_route(http: httpx.AsyncClient) -> None:
    mine = await create(http, ALICE, metadata={"v": 1})
    path = f"/assistants/{mine['assistant_id']}"
    without_body = await http.post(f"{path}/versions", headers=ALICE)
    assert [v["version"] for v in without_body.json()] == [1]
    for suffix in ("/graph", "/schemas", "/subgraphs"):
        assert (await http.get(path + suffix, headers=ALICE)).status_code == 200
    patched = await http.patch(path, json={"metadata": {"v": 2}}, headers=ALICE)
    assert patched.json()["metadata"] == {"v": 2, "owner": "alice"}
    assert patched.json()["version"] == 2
    restored = await http.post(f"{path}/latest", json={"version": 1}, headers=ALICE)
    assert restored.json()["metadata"] == {"v": 1, "owner": "alice"}
    assert (await http.delete(path, headers=ALICE)).status_code == 204
    assert_error(await http.get(path, headers=ALICE), 404)


async def test_search_and_count_show_only_the_users_own(http: httpx.AsyncClient) -> None:
    mark = {"suite": tag()}
    alices = {(await create(http, ALICE, metadata=mark))["assistant_id"] for _ in range(2)}
    bobs = (await create(http, BOB, metadata=mark))["assistant_id"]
    found = await http.post("/assistants/search", json={"metadata": mark, "limit": 100}, headers=BOB)
    assert [a["assistant_id"] for a in found.json()] == [bobs]
    assert (await http.post("/assistants/count", json={"metadata": mark}, headers=BOB)).json() == 1
    assert (await http.post("/assistants/count", json={"metadata": mark}, headers=ALICE)).json() == 2
    everything = await http.post("/assistants/search", json={"limit": 1000}, headers=BOB)
    assert alices.isdisjoint(a["assistant_id"] for a in everything.json())
    assert {a["metadata"]["owner"] for a in everything.json()} == {"bob"}


async def test_the_graphs_own_assistants_are_hidden_from_a_filtered_user(http: httpx.AsyncClient) -> None:
    """They have no owner, so the owner filter hides them, as on the reference server."""
    system = await http.post("/assistants/search", json={"graph_id": "echo", "limit": 100}, headers=BOB)
    assert [a for a in system.json() if a["metadata"].get("created_by") == "system"] == []
    assert (await http.post("/assistants/count", json={"graph_id": "plain"}, headers=BOB)).json() == 0
    assert_error(await http.get("/assistants/echo", headers=BOB), 404)
    assert_error(await http.get(f"/assistants/{default_assistant_id('echo')}", headers=BOB), 404)


async def test_creating_over_another_users_id_changes_nothing(http: httpx.AsyncClient) -> None:
    mine = await create(http, ALICE)
    for if_exists in ("raise", "do_nothing"):
        taken = {"graph_id": "echo", "assistant_id": mine["assistant_id"], "if_exists": if_exists}
        assert_error(await http.post("/assistants", json=taken, headers=BOB), 409)
    assert (await http.get(f"/assistants/{mine['assistant_id']}", headers=ALICE)).json() == mine


async def test_deleting_with_threads_deletes_only_threads_the_user_may_delete(http: httpx.AsyncClient) -> None:
    mine = await create(http, ALICE)
    marked = {"metadata": {"assistant_id": mine["assistant_id"]}}
    alices_thread = (await http.post("/threads", json=marked, headers=ALICE)).json()["thread_id"]
    bobs_thread = (await http.post("/threads", json=marked, headers=BOB)).json()["thread_id"]
    deleted = await http.delete(f"/assistants/{mine['assistant_id']}?delete_threads=true", headers=ALICE)
    assert deleted.status_code == 204
    assert_error(await http.get(f"/threads/{alices_thread}", headers=ALICE), 404)
    assert (await http.get(f"/threads/{bobs_thread}", headers=BOB)).status_code == 200


async def test_a_run_cannot_use_another_users_assistant(http: httpx.AsyncClient) -> None:
    mine = await create(http, ALICE)
    run = {"assistant_id": mine["assistant_id"], "input": {}}
    assert_error(await http.post("/runs", json=run, headers=BOB), 404)
