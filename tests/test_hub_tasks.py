"""The hub's task manager over HTTP against the served app and real Postgres: create (subtasks, tags, edges in
one call), get, update with history, status rules, reopen, delete, search, ready, claim (concurrent claims take
each task once), dependency and parent cycles, and bad input that changes nothing.

Tests share one database: each works in a queue (and with tags) of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import ServedApp, hub_config, make_settings
from helpers import assert_error

from agent_server.app import create_app
from agent_server.config import load_config


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def create(hub: httpx.AsyncClient, title: str = "task", **fields: Any) -> dict[str, Any]:
    response = await hub.post("/hub/tasks", json={"title": title, **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def get(hub: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await hub.get(f"/hub/tasks/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def patch(hub: httpx.AsyncClient, task_id: str, **fields: Any) -> dict[str, Any]:
    response = await hub.patch(f"/hub/tasks/{task_id}", json=fields)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def listed(hub: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await hub.get("/hub/tasks", params=params)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()["tasks"]]


async def ready(hub: httpx.AsyncClient, queue: str) -> list[str]:
    response = await hub.get("/hub/tasks/ready", params={"queue": queue})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


def events(task: dict[str, Any]) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(e["event_type"], e["field"], e["previous_value"], e["new_value"]) for e in task["history"]]


# --- authentication ---------------------------------------------------------------------------------------------

AUTH_PROJECT = Path(__file__).parent / "auth_project" / "langgraph.json"


@pytest_asyncio.fixture(scope="module")
async def authed_hub(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The hub behind the auth project's authenticator (a bearer token names the user)."""
    config = load_config(AUTH_PROJECT).model_copy(update={"http": hub_config().http})
    async with ServedApp(create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)) as app:
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
            yield http


async def test_anonymous_requests_are_refused(authed_hub: httpx.AsyncClient) -> None:
    task_id = str(uuid.uuid4())
    for method, path, body in [
        ("POST", "/hub/tasks", {"title": "t"}), ("GET", "/hub/tasks", None), ("GET", "/hub/tasks/ready", None),
        ("POST", "/hub/tasks/claim", {"agent": "w"}), ("GET", f"/hub/tasks/{task_id}", None),
        ("PATCH", f"/hub/tasks/{task_id}", {"title": "t"}), ("DELETE", f"/hub/tasks/{task_id}", None),
        ("GET", f"/hub/tasks/{task_id}/history", None), ("POST", f"/hub/tasks/{task_id}/reopen", {}),
        ("POST", "/hub/tags", {"name": "t"}), ("GET", "/hub/tags", None),
    ]:
        assert_error(await authed_hub.request(method, path, json=body), 401)


async def test_changes_are_recorded_as_the_signed_in_user(authed_hub: httpx.AsyncClient) -> None:
    carol = {"Authorization": "Bearer carol"}
    response = await authed_hub.post("/hub/tasks", json={"title": "mine", "queue": unique()}, headers=carol)
    assert response.status_code == 201, response.text
    task = response.json()
    response = await authed_hub.patch(f"/hub/tasks/{task['id']}", json={"priority": "high", "changed_by": "bot"},
                                      headers={"Authorization": "Bearer dave"})
    assert [e["changed_by"] for e in response.json()["history"]] == ["carol", "bot"]


# --- create / get ------------------------------------------------------------------------------------------------

async def test_create_with_subtasks_tags_and_dependencies_in_one_call(hub: httpx.AsyncClient) -> None:
    queue, tag = unique(), unique("tag")
    blocker = await create(hub, "blocker", queue=queue)
    task = await create(
        hub, "parent", queue=queue, source="host_agent", priority="high", urgency="critical", complexity="complex",
        description="the work", acceptance_criteria="- tests pass", external_ref="https://github.com/o/r/issues/1",
        due_date="2030-01-02T03:04:05+02:00", tags=[tag, "shared-tag", tag], assigned_agent="planner",
        dependencies=[{"task_id": blocker["id"], "kind": "blocks"}], changed_by="ann", comment="from the plan",
        subtasks=[
            {"title": "first", "subtasks": [{"title": "first.a", "queue": "elsewhere"}]},
            {"title": "second", "priority": "low", "source": "user", "tags": [tag]},
        ],
    )
    assert task["title"] == "parent"
    assert (task["status"], task["priority"], task["urgency"], task["complexity"]) == (
        "pending", "high", "critical", "complex")
    assert task["due_date"] == "2030-01-02T01:04:05+00:00"
    assert task["tags"] == sorted({tag, "shared-tag"})
    assert task["assigned_agent"] == "planner"
    assert task["completed_at"] is None
    assert task["parent_task_id"] is None
    assert task["dependencies"] == [
        {"task_id": blocker["id"], "kind": "blocks", "title": "blocker", "status": "pending"}]
    assert [(s["title"], s["queue"], s["source"], s["priority"], s["tags"]) for s in task["subtasks"]] == [
        ("first", queue, "host_agent", "normal", []), ("second", queue, "user", "low", [tag])]
    assert events(task) == [("created", "status", None, "pending"), ("assignment", "assigned_agent", None, "planner")]
    assert {(e["changed_by"], e["comment"]) for e in task["history"]} == {("ann", "from the plan")}
    assert task["history"][1]["assigned_agent"] == "planner"

    first = await get(hub, task["subtasks"][0]["id"])
    assert first["parent_task_id"] == task["id"]
    assert [(s["title"], s["queue"]) for s in first["subtasks"]] == [("first.a", "elsewhere")]
    assert (await get(hub, blocker["id"]))["dependents"] == [
        {"task_id": task["id"], "kind": "blocks", "title": "parent", "status": "pending"}]
    assert await get(hub, task["id"]) == task
    tag_row = (await hub.get(f"/hub/tags/{tag}")).json()
    assert (tag_row["name"], tag_row["task_count"], tag_row["color"]) == (tag, 2, None)


async def test_defaults_and_times(hub: httpx.AsyncClient) -> None:
    task = await create(hub, "plain", defer_until="2031-05-06T07:08:09")
    assert {k: task[k] for k in ("status", "priority", "urgency", "complexity", "queue", "source")} == {
        "status": "pending", "priority": "normal", "urgency": "normal", "complexity": "simple", "queue": "default",
        "source": "user"}
    assert task["defer_until"] == "2031-05-06T07:08:09+00:00"
    assert task["tags"] == []
    assert task["subtasks"] == []
    assert task["dependencies"] == []
    assert task["dependents"] == []
    assert task["assigned_agent"] is None
    assert task["history"][0]["changed_by"] == "api"
    assert task["created_at"] == task["updated_at"]


@pytest.mark.parametrize(("body", "where"), [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 256}, "title"),
    ({"title": "t", "status": "started"}, "status"),
    ({"title": "t", "priority": "urgent"}, "priority"),
    ({"title": "t", "urgency": "HIGH"}, "urgency"),
    ({"title": "t", "complexity": "hard"}, "complexity"),
    ({"title": "t", "source": "cron"}, "source"),
    ({"title": "t", "queue": "has space"}, "queue"),
    ({"title": "t", "queue": ""}, "queue"),
    ({"title": "t", "tags": ["a b"]}, "tags"),
    ({"title": "t", "tags": ["a,b"]}, "tags"),
    ({"title": "t", "due_date": "tomorrow"}, "due_date"),
    ({"title": "t", "dependencies": [{"task_id": "nope"}]}, "dependencies"),
    ({"title": "t", "dependencies": [{"task_id": str(uuid.uuid4()), "kind": "parent"}]}, "dependencies"),
    ({"title": "t", "subtasks": [{"title": "s", "subtasks": [{}]}]}, "subtasks"),
    ({"title": "t", "subtasks": [{"title": str(i)} for i in range(101)]}, "subtasks"),
    ({"title": "t", "statuss": "done"}, "statuss"),
    ({"title": "t", "subtasks": [{"title": "s", "changed_by": "x"}]}, "subtasks.0.changed_by"),
    ({"title": "t\x00"}, "title"),
])
async def test_create_refuses_bad_input(hub: httpx.AsyncClient, body: dict[str, Any], where: str) -> None:
    error = assert_error(await hub.post("/hub/tasks", json=body), 422)
    assert where in error["detail"]


async def test_create_refuses_unknown_references_and_creates_nothing(hub: httpx.AsyncClient) -> None:
    queue, missing = unique(), str(uuid.uuid4())
    error = assert_error(await hub.post("/hub/tasks", json={"title": "t", "queue": queue, "parent_task_id": missing}),
                         422)
    assert missing in error["detail"]
    body = {"title": "t", "queue": queue, "subtasks": [{"title": "s", "dependencies": [{"task_id": missing}]}]}
    error = assert_error(await hub.post("/hub/tasks", json=body), 422)
    assert f"dependencies: no task '{missing}'" in error["detail"]
    assert await listed(hub, queue=queue) == []


async def test_get_unknown_and_malformed_ids(hub: httpx.AsyncClient) -> None:
    missing = str(uuid.uuid4())
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/history"), ("POST", "/reopen")]:
        body = {"title": "x"} if method == "PATCH" else ({} if method == "POST" else None)
        response = await hub.request(method, f"/hub/tasks/{missing}{path}", json=body)
        assert missing in assert_error(response, 404)["detail"]
    assert_error(await hub.get("/hub/tasks/not-a-uuid"), 422)


# --- update and history -----------------------------------------------------------------------------------------

async def test_every_change_is_in_the_history(hub: httpx.AsyncClient) -> None:
    queue, other_queue, tag = unique(), unique(), unique("tag")
    task = await create(hub, "before", queue=queue, tags=[tag])
    updated = await patch(
        hub, task["id"], title="after", priority="critical", urgency="high", complexity="moderate",
        queue=other_queue, status="in_progress", assigned_agent="agent-1", due_date="2030-01-01T00:00:00Z",
        description="more", tags=[tag, "extra-tag"], changed_by="bob", comment="triage",
    )
    assert (updated["title"], updated["priority"], updated["queue"], updated["assigned_agent"]) == (
        "after", "critical", other_queue, "agent-1")
    assert updated["updated_at"] > task["updated_at"]
    assert events(updated)[1:] == [
        ("field_change", "title", "before", "after"),
        ("field_change", "description", None, "more"),
        ("status_change", "status", "pending", "in_progress"),
        ("priority_change", "priority", "normal", "critical"),
        ("urgency_change", "urgency", "normal", "high"),
        ("complexity_change", "complexity", "simple", "moderate"),
        ("queue_change", "queue", queue, other_queue),
        ("field_change", "due_date", None, "2030-01-01T00:00:00+00:00"),
        ("assignment", "assigned_agent", None, "agent-1"),
        ("field_change", "tags", tag, f"extra-tag, {tag}"),
    ]
    assert all((e["changed_by"], e["comment"]) == ("bob", "triage") for e in updated["history"][1:])
    history = (await hub.get(f"/hub/tasks/{task['id']}/history")).json()
    assert history == updated["history"]

    same = await patch(hub, task["id"], title="after", priority="critical", tags=["extra-tag", tag])
    assert len(same["history"]) == len(updated["history"])
    assert same["updated_at"] == updated["updated_at"]

    cleared = await patch(hub, task["id"], due_date=None, description=None, assigned_agent=None, tags=[])
    assert (cleared["due_date"], cleared["description"], cleared["assigned_agent"], cleared["tags"]) == (
        None, None, None, [])
    assert events(cleared)[-4:] == [
        ("field_change", "description", "more", None),
        ("field_change", "due_date", "2030-01-01T00:00:00+00:00", None),
        ("assignment", "assigned_agent", "agent-1", None),
        ("field_change", "tags", f"extra-tag, {tag}", ""),
    ]


async def test_a_comment_alone_is_a_progress_note_in_the_history(hub: httpx.AsyncClient) -> None:
    task = await create(hub, "noted", queue=unique())
    path = f"/hub/tasks/{task['id']}"
    noted = (await hub.patch(path, json={"comment": "step 1 of 3 done", "changed_by": "agent-7"})).json()
    assert noted["updated_at"] > task["updated_at"]
    for body in ({"comment": "still on it"}, {"comment": "same title", "title": "noted"}):
        assert (await hub.patch(path, json=body)).status_code == 200
    notes = [(e["event_type"], e["comment"], e["changed_by"]) for e in (await hub.get(f"{path}/history")).json()
             if e["event_type"] == "comment"]
    assert notes[0] == ("comment", "step 1 of 3 done", "agent-7")
    assert [n[1] for n in notes] == ["step 1 of 3 done", "still on it", "same title"]


async def test_patch_refuses_bad_input_and_changes_nothing(hub: httpx.AsyncClient) -> None:
    task = await create(hub, "stable", queue=unique())
    path = f"/hub/tasks/{task['id']}"
    assert "Nothing to update" in assert_error(await hub.patch(path, json={}), 400)["detail"]
    assert_error(await hub.patch(path, json={"comment": ""}), 400)
    for body in ({"title": None}, {"status": None}, {"tags": None}, {"priority": "p1"}, {"source": "user"},
                 {"id": str(uuid.uuid4())}):
        assert_error(await hub.patch(path, json=body), 422)
    missing = str(uuid.uuid4())
    error = assert_error(await hub.patch(path, json={"priority": "high", "dependencies": [{"task_id": missing}]}), 422)
    assert missing in error["detail"]
    error = assert_error(await hub.patch(path, json={"priority": "high", "parent_task_id": missing}), 422)
    assert missing in error["detail"]
    assert await get(hub, task["id"]) == task


# --- status rules -----------------------------------------------------------------------------------------------

async def test_status_flow_completion_and_reopen(hub: httpx.AsyncClient) -> None:
    task = await create(hub, "flow", queue=unique())
    tid = task["id"]
    await patch(hub, tid, status="in_progress")
    await patch(hub, tid, status="review")
    done = await patch(hub, tid, status="done", result_summary="shipped in #12")
    assert done["completed_at"] is not None
    assert done["result_summary"] == "shipped in #12"

    for status in ("pending", "in_progress", "review", "cancelled"):
        error = assert_error(await hub.patch(f"/hub/tasks/{tid}", json={"status": status}), 409)
        assert "reopen" in error["detail"]
    assert (await get(hub, tid))["status"] == "done"

    reopened = (await hub.post(f"/hub/tasks/{tid}/reopen", json={"comment": "regressed", "changed_by": "qa"})).json()
    assert (reopened["status"], reopened["completed_at"], reopened["result_summary"]) == (
        "pending", None, "shipped in #12")
    last = reopened["history"][-1]
    assert (last["event_type"], last["previous_value"], last["new_value"], last["changed_by"], last["comment"]) == (
        "status_change", "done", "pending", "qa", "regressed")
    assert "only a done or cancelled" in assert_error(await hub.post(f"/hub/tasks/{tid}/reopen", json={}), 409)[
        "detail"]

    await patch(hub, tid, status="cancelled")
    assert (await get(hub, tid))["completed_at"] is None
    assert (await hub.post(f"/hub/tasks/{tid}/reopen", json={})).json()["status"] == "pending"


async def test_a_parent_is_done_only_after_its_subtasks(hub: httpx.AsyncClient) -> None:
    queue = unique()
    parent = await create(hub, "parent", queue=queue, subtasks=[{"title": "a"}, {"title": "b"}])
    a, b = (sub["id"] for sub in parent["subtasks"])
    error = assert_error(await hub.patch(f"/hub/tasks/{parent['id']}", json={"status": "done"}), 409)
    assert a in error["detail"]
    assert b in error["detail"]
    await patch(hub, a, status="done")
    await patch(hub, b, status="cancelled")
    assert (await patch(hub, parent["id"], status="done"))["status"] == "done"

    body = {"title": "done parent", "queue": queue, "status": "done", "subtasks": [{"title": "open child"}]}
    assert "subtasks are open" in assert_error(await hub.post("/hub/tasks", json=body), 409)["detail"]
    assert "done parent" not in await listed(hub, queue=queue)
    body["subtasks"] = [{"title": "done child", "status": "done"}]
    assert (await hub.post("/hub/tasks", json=body)).status_code == 201


async def test_delete_takes_the_subtasks_with_it(hub: httpx.AsyncClient) -> None:
    queue = unique()
    parent = await create(hub, "parent", queue=queue, subtasks=[{"title": "child", "subtasks": [{"title": "gc"}]}])
    child = parent["subtasks"][0]
    grandchild = (await get(hub, child["id"]))["subtasks"][0]
    other = await create(hub, "depends on child", queue=queue, dependencies=[{"task_id": child["id"]}])
    assert (await hub.delete(f"/hub/tasks/{parent['id']}")).status_code == 204
    for gone in (parent, child, grandchild):
        assert_error(await hub.get(f"/hub/tasks/{gone['id']}"), 404)
    assert (await get(hub, other["id"]))["dependencies"] == []
    assert await listed(hub, queue=queue) == ["depends on child"]
    assert_error(await hub.delete(f"/hub/tasks/{parent['id']}"), 404)


# --- search -----------------------------------------------------------------------------------------------------

async def test_search_filters_sorts_and_pages(hub: httpx.AsyncClient) -> None:
    queue, tag = unique(), unique("tag")
    low = await create(hub, "low", queue=queue, priority="low", urgency="critical", due_date="2030-03-01T00:00:00Z")
    crit = await create(hub, "crit", queue=queue, priority="critical", tags=[tag], source="gateway",
                        description="find the NEEDLE here")
    high = await create(hub, "high", queue=queue, priority="high", complexity="complex",
                        due_date="2030-01-01T00:00:00Z", subtasks=[{"title": "sub", "priority": "normal"}])
    await patch(hub, crit["id"], status="in_progress", assigned_agent="w1")

    assert await listed(hub, queue=queue, sort_by="priority") == ["crit", "high", "sub", "low"]
    assert await listed(hub, queue=queue, sort_by="priority", sort_order="asc") == ["low", "sub", "high", "crit"]
    assert await listed(hub, queue=queue, sort_by="urgency") == ["low", "sub", "high", "crit"]
    assert await listed(hub, queue=queue, sort_by="due_date") == ["high", "low", "crit", "sub"]
    assert await listed(hub, queue=queue) == ["sub", "high", "crit", "low"]
    assert await listed(hub, queue=queue, sort_by="created_at", sort_order="asc") == ["low", "crit", "high", "sub"]
    assert await listed(hub, queue=queue, status=["in_progress"]) == ["crit"]
    assert await listed(hub, queue=queue, status=["in_progress", "pending"], priority=["critical", "low"]) == [
        "crit", "low"]
    assert await listed(hub, queue=queue, urgency="critical") == ["low"]
    assert await listed(hub, queue=queue, complexity="complex") == ["high"]
    assert await listed(hub, queue=queue, source="gateway") == ["crit"]
    assert await listed(hub, tag=tag) == ["crit"]
    assert await listed(hub, queue=queue, parent_task_id=high["id"]) == ["sub"]
    assert await listed(hub, queue=queue, top_level="true") == ["high", "crit", "low"]
    assert await listed(hub, queue=queue, assigned_agent="w1") == ["crit"]
    assert await listed(hub, queue=queue, due_before="2030-02-01T00:00:00Z") == ["high"]
    assert await listed(hub, queue=queue, due_after="2030-02-01T00:00:00Z") == ["low"]
    assert await listed(hub, queue=queue, q="needle") == ["crit"]
    assert await listed(hub, queue=queue, q="100%_") == []

    page = (await hub.get("/hub/tasks", params={"queue": queue, "limit": 2, "offset": 1})).json()
    assert ([t["title"] for t in page["tasks"]], page["total"], page["limit"], page["offset"]) == (
        ["high", "crit"], 4, 2, 1)
    assert page["tasks"][1]["id"] == crit["id"]
    assert page["tasks"][1]["tags"] == [tag]
    assert low["id"]

    for params in ({"status": "open"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"sort_by": "title"},
                   {"due_before": "soon"}, {"parent_task_id": "x"}, {"unknown": "1"}):
        assert_error(await hub.get("/hub/tasks", params=params), 422)


# --- ready and claim --------------------------------------------------------------------------------------------

async def test_ready_means_pending_not_deferred_and_unblocked(hub: httpx.AsyncClient) -> None:
    queue = unique()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    blocker = await create(hub, "blocker", queue=queue, priority="low")
    other_blocker = await create(hub, "other blocker", queue=unique())
    await create(hub, "blocked", queue=queue, priority="critical", dependencies=[{"task_id": blocker["id"]}])
    await create(hub, "related only", queue=queue, dependencies=[{"task_id": blocker["id"], "kind": "related"}])
    await create(hub, "deferred", queue=queue, priority="critical", defer_until=future)
    await create(hub, "was deferred", queue=queue, defer_until=past, urgency="high")
    await create(hub, "in progress", queue=queue, status="in_progress")
    cancelled_blocker = await create(hub, "cancelled blocker", queue=unique(), status="cancelled")
    await create(hub, "blocker cancelled", queue=queue, priority="high",
                 dependencies=[{"task_id": cancelled_blocker["id"]}, {"task_id": other_blocker["id"]}])
    assert await ready(hub, queue) == ["was deferred", "related only", "blocker"]

    await patch(hub, other_blocker["id"], status="done")
    await patch(hub, blocker["id"], status="done")
    assert await ready(hub, queue) == ["blocked", "blocker cancelled", "was deferred", "related only"]
    everywhere = (await hub.get("/hub/tasks/ready", params={"limit": 1000})).json()
    assert {"blocked", "blocker cancelled"} <= {t["title"] for t in everywhere}
    assert_error(await hub.get("/hub/tasks/ready", params={"queue": "a b"}), 422)


async def test_claim_takes_the_next_ready_task_and_records_it(hub: httpx.AsyncClient) -> None:
    queue = unique()
    assert (await hub.post("/hub/tasks/claim", json={"queue": queue, "agent": "w"})).status_code == 204
    blocker = await create(hub, "blocker", queue=unique())
    await create(hub, "blocked", queue=queue, priority="critical", dependencies=[{"task_id": blocker["id"]}])
    await create(hub, "normal", queue=queue)
    await create(hub, "high", queue=queue, priority="high")

    response = await hub.post("/hub/tasks/claim", json={"queue": queue, "worker": "worker-7"})
    assert response.status_code == 200, response.text
    claimed = response.json()
    assert (claimed["title"], claimed["status"], claimed["assigned_agent"]) == ("high", "in_progress", "worker-7")
    assert events(claimed)[1:] == [
        ("assignment", "assigned_agent", None, "worker-7"), ("status_change", "status", "pending", "in_progress")]
    assert {e["changed_by"] for e in claimed["history"][1:]} == {"worker-7"}
    assert claimed["history"][1]["assigned_agent"] == "worker-7"

    assert (await hub.post("/hub/tasks/claim", json={"queue": queue, "agent": "w2"})).json()["title"] == "normal"
    assert (await hub.post("/hub/tasks/claim", json={"queue": queue, "agent": "w2"})).status_code == 204
    assert_error(await hub.post("/hub/tasks/claim", json={"queue": queue}), 422)
    assert_error(await hub.post("/hub/tasks/claim", json={"queue": queue, "agent": ""}), 422)


async def test_concurrent_claims_take_each_task_once(hub: httpx.AsyncClient) -> None:
    queue, tasks, claimers = unique(), 6, 16
    created = await asyncio.gather(*(create(hub, f"t{i}", queue=queue) for i in range(tasks)))
    responses = await asyncio.gather(*(
        hub.post("/hub/tasks/claim", json={"queue": queue, "agent": f"w{i}"}) for i in range(claimers)))
    assert sorted(r.status_code for r in responses) == [200] * tasks + [204] * (claimers - tasks)
    claimed = [r.json() for r in responses if r.status_code == 200]
    assert sorted(t["id"] for t in claimed) == sorted(t["id"] for t in created)
    for task in claimed:
        history = (await hub.get(f"/hub/tasks/{task['id']}/history")).json()
        assert [e["event_type"] for e in history] == ["created", "assignment", "status_change"]
        assert history[1]["assigned_agent"] == task["assigned_agent"]
    assert await ready(hub, queue) == []


# --- dependencies and cycles ------------------------------------------------------------------------------------

async def test_blocks_cycles_are_refused(hub: httpx.AsyncClient) -> None:
    queue = unique()
    a = await create(hub, "a", queue=queue)
    b = await create(hub, "b", queue=queue, dependencies=[{"task_id": a["id"]}])
    c = await create(hub, "c", queue=queue, dependencies=[{"task_id": b["id"]}])
    error = assert_error(await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": c["id"]}), 409)
    assert "cycle" in error["detail"]
    assert f"{a['id']} -> {c['id']} -> {b['id']} -> {a['id']}" in error["detail"]
    error = assert_error(await hub.patch(f"/hub/tasks/{a['id']}", json={"dependencies": [{"task_id": b["id"]}]}),
                         409)
    assert "cycle" in error["detail"]
    assert (await get(hub, a["id"]))["dependencies"] == []

    related = await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": c["id"], "kind": "related"})
    assert related.status_code == 200, related.text
    assert related.json()["dependencies"][0]["kind"] == "related"
    assert_error(await hub.post(f"/hub/tasks/{a['id']}/dependencies",
                                json={"task_id": c["id"], "kind": "blocks"}), 409)
    assert "itself" in assert_error(
        await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": a["id"]}), 422)["detail"]
    assert_error(await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": str(uuid.uuid4())}), 422)
    assert_error(await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"kind": "blocks"}), 422)


async def test_concurrent_edges_cannot_close_a_cycle_together(hub: httpx.AsyncClient) -> None:
    queue, pairs = unique(), 6
    tasks = await asyncio.gather(*(create(hub, f"t{i}", queue=queue) for i in range(2 * pairs)))
    edges = [(tasks[2 * i], tasks[2 * i + 1]) for i in range(pairs)]
    responses = await asyncio.gather(*(
        hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": b["id"]})
        for first, second in edges for a, b in ((first, second), (second, first))
    ))
    statuses = [r.status_code for r in responses]
    assert [sorted(statuses[i:i + 2]) for i in range(0, len(statuses), 2)] == [[200, 409]] * pairs, statuses


async def test_dependency_sub_routes_write_history(hub: httpx.AsyncClient) -> None:
    queue = unique()
    a, b = await create(hub, "a", queue=queue), await create(hub, "b", queue=queue)
    added = (await hub.post(f"/hub/tasks/{a['id']}/dependencies",
                            json={"task_id": b["id"], "changed_by": "lead", "comment": "order"})).json()
    assert added["dependencies"] == [{"task_id": b["id"], "kind": "blocks", "title": "b", "status": "pending"}]
    assert events(added)[-1] == ("field_change", "dependencies", "", f"blocks:{b['id']}")
    again = (await hub.post(f"/hub/tasks/{a['id']}/dependencies", json={"task_id": b["id"]})).json()
    assert len(again["history"]) == len(added["history"])
    removed = await hub.delete(f"/hub/tasks/{a['id']}/dependencies/{b['id']}")
    assert removed.status_code == 200
    assert removed.json()["dependencies"] == []
    assert events(removed.json())[-1] == ("field_change", "dependencies", f"blocks:{b['id']}", "")
    assert_error(await hub.delete(f"/hub/tasks/{a['id']}/dependencies/{b['id']}"), 404)


async def test_parent_cycles_are_refused(hub: httpx.AsyncClient) -> None:
    queue = unique()
    root = await create(hub, "root", queue=queue, subtasks=[{"title": "child", "subtasks": [{"title": "gc"}]}])
    child = root["subtasks"][0]
    grandchild = (await get(hub, child["id"]))["subtasks"][0]
    error = assert_error(await hub.patch(f"/hub/tasks/{root['id']}", json={"parent_task_id": grandchild["id"]}),
                         409)
    assert "cycle" in error["detail"]
    assert "own parent" in assert_error(
        await hub.patch(f"/hub/tasks/{root['id']}", json={"parent_task_id": root["id"]}), 422)["detail"]
    # A subtask blocked by its ancestor would wait for a task that waits for it.
    error = assert_error(await hub.post(f"/hub/tasks/{grandchild['id']}/dependencies",
                                        json={"task_id": root["id"]}), 409)
    assert "cycle" in error["detail"]

    other = await create(hub, "other", queue=queue)
    moved = await patch(hub, grandchild["id"], parent_task_id=other["id"])
    assert moved["parent_task_id"] == other["id"]
    assert events(moved)[-1] == ("field_change", "parent_task_id", child["id"], other["id"])
    top = await patch(hub, grandchild["id"], parent_task_id=None)
    assert top["parent_task_id"] is None


# --- tags -------------------------------------------------------------------------------------------------------

async def test_tags_crud(hub: httpx.AsyncClient) -> None:
    name, renamed = unique("tag"), unique("tag")
    response = await hub.post("/hub/tags", json={"name": name, "description": "bugs", "color": "#A1b2C3"})
    assert response.status_code == 201, response.text
    tag = response.json()
    assert (tag["name"], tag["description"], tag["color"], tag["task_count"]) == (name, "bugs", "#A1b2C3", 0)
    assert "exists" in assert_error(await hub.post("/hub/tags", json={"name": name}), 409)["detail"]
    assert (await hub.get(f"/hub/tags/{tag['id']}")).json() == tag
    assert (await hub.get(f"/hub/tags/{name}")).json() == tag
    task = await create(hub, "tagged", queue=unique(), tags=[name])

    patched = (await hub.patch(f"/hub/tags/{name}", json={"name": renamed, "color": None})).json()
    assert (patched["id"], patched["name"], patched["color"], patched["task_count"]) == (tag["id"], renamed, None, 1)
    assert (await get(hub, task["id"]))["tags"] == [renamed]
    other = (await hub.post("/hub/tags", json={"name": name})).json()
    assert_error(await hub.patch(f"/hub/tags/{other['id']}", json={"name": renamed}), 409)
    assert (await hub.get(f"/hub/tags/{other['id']}")).json()["name"] == name
    assert {name, renamed} <= {t["name"] for t in (await hub.get("/hub/tags")).json()}

    for body in ({"color": "red"}, {"color": "#12345"}, {"name": None}, {"name": "a b"}, {"size": 1}):
        assert_error(await hub.patch(f"/hub/tags/{renamed}", json=body), 422)
    assert_error(await hub.patch(f"/hub/tags/{renamed}", json={}), 400)
    assert_error(await hub.post("/hub/tags", json={"name": "x", "color": "#GGGGGG"}), 422)

    assert (await hub.delete(f"/hub/tags/{renamed}")).status_code == 204
    assert (await get(hub, task["id"]))["tags"] == []
    assert_error(await hub.get(f"/hub/tags/{renamed}"), 404)
    assert_error(await hub.delete(f"/hub/tags/{renamed}"), 404)
