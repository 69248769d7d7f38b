"""Custom auth on threads and runs: the auth file's handlers add an owner and filter by it, so user B finds nothing
of user A's — every thread and run route answers 404 as for a missing object, and changes nothing.
Graphs receive the caller as `langgraph_auth_user`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from conftest import ServedApp, make_settings, owner_project_config
from helpers import assert_error, tag

from agent_server.app import create_app

ALICE = {"Authorization": "Bearer alice"}
BOB = {"Authorization": "Bearer bob"}


@pytest_asyncio.fixture(scope="module")
async def auth_url(module_database_url: str) -> AsyncIterator[str]:
    async with ServedApp(create_app(make_settings(module_database_url), owner_project_config())) as served:
        yield served.url


@pytest_asyncio.fixture
async def http(auth_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=auth_url, timeout=30) as client:
        yield client


async def alices_thread(http: httpx.AsyncClient, **metadata: Any) -> dict[str, Any]:
    response = await http.post("/threads", json={"metadata": metadata}, headers=ALICE)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def alices_finished_run(http: httpx.AsyncClient) -> tuple[str, str]:
    thread = await alices_thread(http)
    body = {"assistant_id": "whoami", "input": {}}
    response = await http.post(f"/threads/{thread['thread_id']}/runs/wait", json=body, headers=ALICE)
    assert response.status_code == 200, response.text
    run_id = response.headers["content-location"].rsplit("/", 1)[-1]
    return thread["thread_id"], run_id


async def test_create_records_the_owner_the_handler_adds(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http, topic="x")
    assert thread["metadata"] == {"topic": "x", "owner": "alice"}


async def test_another_users_thread_is_not_found_on_every_thread_route(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http, topic="kept")
    tid = thread["thread_id"]
    before = (await http.get(f"/threads/{tid}/state", headers=ALICE)).json()
    attempts = [
        ("GET", f"/threads/{tid}", None),
        ("PATCH", f"/threads/{tid}", {"metadata": {"topic": "stolen"}}),
        ("DELETE", f"/threads/{tid}", None),
        ("POST", f"/threads/{tid}/copy", None),
        ("GET", f"/threads/{tid}/state", None),
        ("POST", f"/threads/{tid}/state", {"values": {"seen": {"by": "bob"}}}),
        ("POST", f"/threads/{tid}/state/checkpoint", {"checkpoint": {"checkpoint_id": str(uuid.uuid4())}}),
        ("GET", f"/threads/{tid}/state/{uuid.uuid4()}", None),
        ("GET", f"/threads/{tid}/history", None),
        ("POST", f"/threads/{tid}/history", {}),
        ("GET", f"/threads/{tid}/runs", None),
        ("POST", f"/threads/{tid}/runs", {"assistant_id": "whoami", "input": {}}),
        ("POST", f"/threads/{tid}/runs/wait", {"assistant_id": "whoami", "input": {}}),
        ("POST", f"/threads/{tid}/runs/stream", {"assistant_id": "whoami", "input": {}}),
        ("GET", f"/threads/{tid}/stream", None),
    ]
    for method, path, body in attempts:
        response = await http.request(method, path, json=body, headers=BOB)
        assert_error(response, 404)
    assert (await http.get(f"/threads/{tid}", headers=ALICE)).json()["metadata"] == {"topic": "kept", "owner": "alice"}
    assert (await http.get(f"/threads/{tid}/state", headers=ALICE)).json() == before
    assert (await http.get(f"/threads/{tid}/runs", headers=ALICE)).json() == []


async def test_another_users_run_is_not_found_on_every_run_route(http: httpx.AsyncClient) -> None:
    tid, run_id = await alices_finished_run(http)
    run_path = f"/threads/{tid}/runs/{run_id}"
    for method, path in [("GET", run_path), ("GET", f"{run_path}/join"), ("GET", f"{run_path}/stream"),
                         ("POST", f"{run_path}/cancel"), ("DELETE", run_path)]:
        assert_error(await http.request(method, path, headers=BOB), 404)
    assert (await http.get(run_path, headers=ALICE)).json()["status"] == "success"


async def test_bulk_cancel_leaves_another_users_runs_running(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http)
    tid = thread["thread_id"]
    run = (await http.post(f"/threads/{tid}/runs", json={"assistant_id": "slow", "input": {"seconds": 1.5}},
                           headers=ALICE)).json()
    await http.post("/runs/cancel", json={"run_ids": [run["run_id"]]}, headers=BOB)
    await http.post("/runs/cancel", json={"thread_id": tid}, headers=BOB)
    await http.post("/runs/cancel", json={"status": "all"}, headers=BOB)
    joined = await http.get(f"/threads/{tid}/runs/{run['run_id']}/join", headers=ALICE)
    assert joined.json()["log"] == [""]
    assert (await http.get(f"/threads/{tid}/runs/{run['run_id']}", headers=ALICE)).json()["status"] == "success"


async def test_search_and_count_only_see_the_callers_threads(http: httpx.AsyncClient) -> None:
    marker = tag()
    await alices_thread(http, marker=marker)
    await alices_thread(http, marker=marker)
    bobs = (await http.post("/threads", json={"metadata": {"marker": marker}}, headers=BOB)).json()
    query = {"metadata": {"marker": marker}}
    found_by_bob = (await http.post("/threads/search", json=query, headers=BOB)).json()
    assert [t["thread_id"] for t in found_by_bob] == [bobs["thread_id"]]
    assert (await http.post("/threads/count", json=query, headers=BOB)).json() == 1
    assert (await http.post("/threads/count", json=query, headers=ALICE)).json() == 2
    spoofed = {"metadata": {"marker": marker, "owner": "alice"}}
    assert (await http.post("/threads/search", json=spoofed, headers=BOB)).json() == []


async def test_prune_skips_another_users_threads(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http)
    response = await http.post("/threads/prune", json={"thread_ids": [thread["thread_id"]]}, headers=BOB)
    assert response.json() == {"pruned_count": 0}
    assert (await http.get(f"/threads/{thread['thread_id']}", headers=ALICE)).status_code == 200


async def test_taking_another_users_thread_id_is_a_conflict_not_a_takeover(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http)
    for if_exists in ("raise", "do_nothing"):
        response = await http.post("/threads", json={"thread_id": thread["thread_id"], "if_exists": if_exists},
                                   headers=BOB)
        assert_error(response, 409)
    create_on_it = {"assistant_id": "whoami", "input": {}, "if_not_exists": "create"}
    assert_error(await http.post(f"/threads/{thread['thread_id']}/runs/wait", json=create_on_it, headers=BOB), 404)


async def test_the_graph_receives_the_caller_and_a_client_cannot_forge_it(http: httpx.AsyncClient) -> None:
    forged = {"configurable": {"langgraph_auth_user_id": "alice", "langgraph_auth_user": {"identity": "alice"}}}
    response = await http.post("/runs/wait", json={"assistant_id": "whoami", "input": {}, "config": forged},
                               headers=BOB)
    seen = response.json()["seen"]
    assert seen["identity"] == seen["identity_by_key"] == seen["user_id"] == "bob"
    assert seen["permissions"] == ["threads:write"]
    assert seen["fields"]["team"] == "team-of-bob"


async def test_threads_made_for_a_run_belong_to_its_caller(http: httpx.AsyncClient) -> None:
    kept = await http.post("/runs/wait", json={"assistant_id": "whoami", "input": {}, "on_completion": "keep"},
                           headers=BOB)
    kept_thread = kept.headers["content-location"].split("/")[2]
    new_id = str(uuid.uuid4())
    created = await http.post(f"/threads/{new_id}/runs/wait",
                              json={"assistant_id": "whoami", "input": {}, "if_not_exists": "create"}, headers=BOB)
    assert created.status_code == 200, created.text
    for thread_id in (kept_thread, new_id):
        assert (await http.get(f"/threads/{thread_id}", headers=BOB)).json()["metadata"]["owner"] == "bob"
        assert_error(await http.get(f"/threads/{thread_id}", headers=ALICE), 404)


async def test_run_metadata_gets_what_the_create_run_handler_adds(http: httpx.AsyncClient) -> None:
    thread = await alices_thread(http)
    run = (await http.post(f"/threads/{thread['thread_id']}/runs",
                           json={"assistant_id": "whoami", "input": {}, "metadata": {"m": 1}}, headers=ALICE)).json()
    assert run["metadata"] == {"m": 1, "owner": "alice"}
    await asyncio.wait_for(http.get(f"/threads/{thread['thread_id']}/runs/{run['run_id']}/join", headers=ALICE), 30)


async def test_another_users_assistant_cannot_run(http: httpx.AsyncClient) -> None:
    assistant = (await http.post("/assistants", json={"graph_id": "whoami"}, headers=ALICE)).json()
    response = await http.post("/runs/wait", json={"assistant_id": assistant["assistant_id"], "input": {}},
                               headers=BOB)
    assert_error(response, 404)
    by_graph = await http.post("/runs/wait", json={"assistant_id": "whoami", "input": {}}, headers=BOB)
    assert by_graph.status_code == 200
