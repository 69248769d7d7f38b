"""/threads/{id}/state and /history: reads, update_state, supersteps, checkpoints, subgraphs, bad input.

Runs do not exist yet, so checkpoints come from `supersteps`, `update_state`, or (for interrupts and
subgraphs) from running a test graph in-process against the server's database with its own checkpointer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import ServedApp
from helpers import assert_error
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError
from project.graphs.nested import graph as nested_graph
from project.graphs.steps import interrupting, plain

from agent_server.errors import ThreadNotFound
from agent_server.services import thread_state
from agent_server.services import threads as threads_service
from agent_server.state import AppState


def step(node: str, **values: Any) -> dict[str, Any]:
    return {"updates": [{"values": values, "as_node": node}]}


async def seeded(client: LangGraphClient, *steps: dict[str, Any], graph_id: str = "plain") -> str:
    thread = await client.threads.create(graph_id=graph_id, supersteps=list(steps))
    return str(thread["thread_id"])


async def abc_thread(client: LangGraphClient) -> str:
    """A `plain` thread walked through a, b and c: three checkpoints, finished."""
    return await seeded(client, step("a", value="h", steps=["a"]), step("b", steps=["b"]), step("c", steps=["c"]))


@pytest_asyncio.fixture(scope="session")
async def saver(database_url: str, server_url: str) -> AsyncIterator[AsyncPostgresSaver]:
    """The server's checkpoint tables, to play a run in-process (server_url: tables exist by then)."""
    async with AsyncPostgresSaver.from_conn_string(database_url) as checkpointer:
        yield checkpointer


async def run_in_process(saver: AsyncPostgresSaver, graph: Any, thread_id: str, payload: Any, **kwargs: Any) -> None:
    await graph.copy(update={"checkpointer": saver}).ainvoke(payload, {"configurable": {"thread_id": thread_id}},
                                                             **kwargs)


# --- reading ------------------------------------------------------------------------------------------

async def test_state_of_empty_thread(client: LangGraphClient) -> None:
    for metadata in ({}, {"graph_id": "plain"}):
        thread = await client.threads.create(metadata=metadata)
        state = await client.threads.get_state(thread["thread_id"])
        assert state["values"] == {}
        assert state["next"] == []
        assert state["tasks"] == []
        assert state["checkpoint"] is None
        assert state["parent_checkpoint"] is None
        assert state["interrupts"] == []
        assert await client.threads.get_history(thread["thread_id"]) == []


async def test_supersteps_seed_state_and_thread_row(client: LangGraphClient) -> None:
    tid = await seeded(client, step("a", value="seeded", steps=["a"]))
    state = await client.threads.get_state(tid)
    assert state["values"] == {"value": "seeded", "steps": ["a"]}
    assert state["next"] == ["b"]
    assert [(t["name"], t["error"], t["interrupts"], t["state"]) for t in state["tasks"]] == [("b", None, [], None)]
    assert state["checkpoint"]["thread_id"] == tid
    assert state["checkpoint"]["checkpoint_ns"] == ""
    assert state["metadata"]["source"] == "update"
    assert state["metadata"]["step"] == 0
    assert state["created_at"]
    thread = await client.threads.get(tid)
    assert thread["values"] == {"value": "seeded", "steps": ["a"]}
    assert thread["status"] == "interrupted"  # it has a next step, as the reference reports it
    assert thread["interrupts"] == {}


async def test_history_order_parents_and_finished_state(client: LangGraphClient) -> None:
    tid = await abc_thread(client)
    history = await client.threads.get_history(tid, limit=20)
    assert [h["metadata"]["step"] for h in history] == [2, 1, 0]
    assert [h["next"] for h in history] == [[], ["c"], ["b"]]
    assert [h["values"]["steps"] for h in history] == [["a", "b", "c"], ["a", "b"], ["a"]]
    for newer, older in zip(history, history[1:], strict=False):
        assert newer["parent_checkpoint"] == older["checkpoint"]
    assert history[-1]["parent_checkpoint"] is None
    assert (await client.threads.get(tid))["status"] == "idle"
    assert (await client.threads.get_state(tid))["checkpoint"] == history[0]["checkpoint"]


async def test_history_limit_before_and_metadata(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = await abc_thread(client)
    history = await client.threads.get_history(tid, limit=20)
    assert [h["metadata"]["step"] for h in await client.threads.get_history(tid, limit=2)] == [2, 1]
    pivot = history[0]["checkpoint"]
    for before in (pivot["checkpoint_id"], pivot, {"configurable": {"checkpoint_id": pivot["checkpoint_id"]}}):
        response = await http.post(f"/threads/{tid}/history", json={"limit": 10, "before": before})
        assert [h["metadata"]["step"] for h in response.json()] == [1, 0], before
    filtered = await client.threads.get_history(tid, limit=20, metadata={"step": 1})
    assert [h["values"]["steps"] for h in filtered] == [["a", "b"]]
    assert await client.threads.get_history(tid, limit=20, metadata={"source": "loop"}) == []
    # raw POST defaults to one state, like the reference
    assert len((await http.post(f"/threads/{tid}/history", json={})).json()) == 1


async def test_history_by_query_string(http: httpx.AsyncClient, client: LangGraphClient) -> None:
    tid = await abc_thread(client)
    history = await client.threads.get_history(tid, limit=20)
    assert len((await http.get(f"/threads/{tid}/history")).json()) == 1
    everything = (await http.get(f"/threads/{tid}/history", params={"limit": 10})).json()
    assert [h["checkpoint"] for h in everything] == [h["checkpoint"] for h in history]
    older = await http.get(f"/threads/{tid}/history",
                           params={"limit": 10, "before": history[1]["checkpoint"]["checkpoint_id"]})
    assert [h["metadata"]["step"] for h in older.json()] == [0]
    step_two = await http.get(f"/threads/{tid}/history", params={"limit": 10, "metadata": '{"step": 2}'})
    assert [h["metadata"]["step"] for h in step_two.json()] == [2]
    for params in ({"limit": 0}, {"limit": "x"}, {"limit": 1001}, {"metadata": "{not json"}, {"metadata": "[1]"}):
        assert_error(await http.get(f"/threads/{tid}/history", params=params), 422)


async def test_bad_history_bodies_are_422(http: httpx.AsyncClient, client: LangGraphClient) -> None:
    tid = await abc_thread(client)
    for body in ({"limit": 0}, {"limit": 1001}, {"limit": "many"}, {"metadata": "x"}, {"before": 5},
                 {"checkpoint": "x"}, {"metadata": {"k": "\u0000"}}):
        assert_error(await http.post(f"/threads/{tid}/history", json=body), 422)


async def test_state_at_checkpoint(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = await abc_thread(client)
    history = await client.threads.get_history(tid, limit=20)
    after_a = next(h for h in history if h["next"] == ["b"])
    by_id = await client.threads.get_state(tid, checkpoint_id=after_a["checkpoint"]["checkpoint_id"])
    assert by_id["values"] == {"value": "h", "steps": ["a"]}
    assert by_id["next"] == ["b"]
    assert by_id["checkpoint"] == after_a["checkpoint"]
    by_body = await client.threads.get_state(tid, checkpoint=after_a["checkpoint"])
    assert by_body == by_id
    posted = await http.post(f"/threads/{tid}/state/checkpoint",
                             json={"checkpoint": {"checkpoint_id": after_a["checkpoint"]["checkpoint_id"]}})
    assert posted.json()["values"] == by_id["values"]
    unknown = await client.threads.get_state(tid, checkpoint_id=str(uuid.uuid4()))
    assert unknown["values"] == {}
    assert unknown["next"] == []
    assert_error(await http.post(f"/threads/{tid}/state/checkpoint", json={}), 422)
    assert_error(await http.post(f"/threads/{tid}/state/checkpoint", json={"checkpoint": "x"}), 422)
    assert_error(await http.get(f"/threads/{tid}/state", params={"subgraphs": "maybe"}), 422)


# --- update_state -------------------------------------------------------------------------------------

async def test_update_state_appends_a_checkpoint_and_refreshes_the_thread(client: LangGraphClient) -> None:
    tid = await abc_thread(client)
    before = await client.threads.get(tid)
    result = await client.threads.update_state(tid, {"value": "after", "steps": ["manual"]})
    checkpoint = result["checkpoint"]
    assert checkpoint["thread_id"] == tid
    assert checkpoint["checkpoint_ns"] == ""
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == checkpoint["checkpoint_id"]
    assert state["values"] == {"value": "after", "steps": ["a", "b", "c", "manual"]}  # the reducer applied
    assert state["metadata"]["source"] == "update"
    assert len(await client.threads.get_history(tid, limit=50)) == 4
    thread = await client.threads.get(tid)
    assert thread["values"] == state["values"]
    assert thread["updated_at"] > before["updated_at"]


async def test_update_state_as_node_moves_next(client: LangGraphClient) -> None:
    tid = await seeded(client, step("a", value="x", steps=["a"]))
    await client.threads.update_state(tid, {"steps": ["manual-b"]}, as_node="b")
    state = await client.threads.get_state(tid)
    assert state["values"]["steps"] == ["a", "manual-b"]
    assert state["next"] == ["c"]
    await client.threads.update_state(tid, {"steps": ["manual-c"]}, as_node="c")
    assert (await client.threads.get_state(tid))["next"] == []
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_update_state_at_an_older_checkpoint_forks(client: LangGraphClient) -> None:
    tid = await abc_thread(client)
    history = await client.threads.get_history(tid, limit=20)
    after_a = history[-1]["checkpoint"]
    result = await client.threads.update_state(tid, {"value": "fork"}, as_node="a", checkpoint=after_a)
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == result["checkpoint"]["checkpoint_id"]
    assert state["parent_checkpoint"]["checkpoint_id"] == after_a["checkpoint_id"]
    assert state["values"] == {"value": "fork", "steps": ["a"]}
    assert state["next"] == ["b"]
    legacy = await client.threads.update_state(tid, {"value": "legacy"}, as_node="a",
                                               checkpoint_id=after_a["checkpoint_id"])
    forked = await client.threads.get_state(tid, checkpoint_id=legacy["checkpoint"]["checkpoint_id"])
    assert forked["values"] == {"value": "legacy", "steps": ["a"]}


async def test_update_state_of_a_factory_graph(client: LangGraphClient) -> None:
    tid = await seeded(client, step("first", steps=["first"]), graph_id="factory")
    await client.threads.update_state(tid, {"steps": ["manual"]})
    assert (await client.threads.get_state(tid))["values"] == {"steps": ["first", "manual"]}


async def test_update_state_serialises_messages_like_the_reference(client: LangGraphClient) -> None:
    thread = await client.threads.create(graph_id="echo")
    tid = thread["thread_id"]
    await client.threads.update_state(tid, {"messages": [{"role": "user", "content": "hi", "id": "m1"}]},
                                      as_node="chat")
    messages = (await client.threads.get_state(tid))["values"]["messages"]
    assert len(messages) == 1
    assert {k: messages[0][k] for k in ("type", "content", "id")} == {"type": "human", "content": "hi", "id": "m1"}
    assert (await client.threads.get(tid))["values"]["messages"] == messages


async def test_rejected_updates_change_nothing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = await seeded(client, step("a", value="keep", steps=["a"]))
    before_state = await client.threads.get_state(tid)
    before_thread = await client.threads.get(tid)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"values": {"steps": ["x"]}, "as_node": "no-such-node"}, 400),
        ({"values": {"steps": "not-a-list"}, "as_node": "a"}, 400),
        ({"values": [{"steps": ["x"]}]}, 400),
        ({"values": {"value": "x"}, "checkpoint_id": str(uuid.uuid4())}, 404),
        ({"values": {"value": "x"}, "checkpoint": {"checkpoint_id": "nope"}}, 404),
        ({"values": "text"}, 422),
        ({"values": {"value": "x"}, "as_node": 3}, 422),
        ({"values": {"value": "\u0000"}}, 422),
        ({"values": {"value": "x"}, "checkpoint": []}, 422),
    ]
    for body, status in cases:
        assert_error(await http.post(f"/threads/{tid}/state", json=body), status)
    assert await client.threads.get_state(tid) == before_state
    assert await client.threads.get(tid) == before_thread
    assert len(await client.threads.get_history(tid, limit=50)) == 1


async def test_update_state_needs_a_graph(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create(metadata={"no": "graph"})
    response = await http.post(f"/threads/{thread['thread_id']}/state", json={"values": {"value": "x"}})
    assert "graph" in assert_error(response, 400)["detail"]
    assert await client.threads.get_history(thread["thread_id"]) == []
    unknown = await client.threads.create(graph_id="no-such-graph")
    response = await http.post(f"/threads/{unknown['thread_id']}/state", json={"values": {"value": "x"}})
    assert assert_error(response, 404)["detail"] == "Graph 'no-such-graph' not found"


# --- supersteps ---------------------------------------------------------------------------------------

async def test_supersteps_apply_in_order_with_commands(client: LangGraphClient) -> None:
    thread = await client.threads.create(graph_id="plain", supersteps=[
        {"updates": [{"values": {"value": "cmd", "steps": ["a"]}, "as_node": "a"}]},
        {"updates": [{"values": None, "command": {"update": {"steps": ["jump"]}, "goto": "c"}, "as_node": "b"}]},
    ])
    history = await client.threads.get_history(thread["thread_id"], limit=10)
    assert [h["values"]["steps"] for h in history] == [["a", "jump"], ["a"]]
    assert history[0]["next"] == ["c"]


async def test_failed_supersteps_create_nothing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = str(uuid.uuid4())
    body = {"thread_id": tid, "metadata": {"graph_id": "plain"}, "supersteps": [
        {"updates": [{"values": {"value": "ok", "steps": ["a"]}, "as_node": "a"}]},
        {"updates": [{"values": {"steps": ["x"]}, "as_node": "no-such-node"}]},
    ]}
    assert "no-such-node" in assert_error(await http.post("/threads", json=body), 400)["detail"]
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    await client.threads.create(thread_id=tid, graph_id="plain")
    assert await client.threads.get_history(tid) == []  # the first superstep's checkpoint was removed
    missing_graph = {"graph_id": "no-such-graph", "supersteps": [step("a", steps=["a"])]}
    assert_error(await http.post("/threads", json=missing_graph), 404)


async def test_supersteps_ignored_when_the_thread_exists(client: LangGraphClient) -> None:
    tid = await seeded(client, step("a", value="first", steps=["a"]))
    again = await client.threads.create(thread_id=tid, if_exists="do_nothing", graph_id="plain",
                                        supersteps=[step("b", steps=["b"])])
    assert again["values"] == {"value": "first", "steps": ["a"]}
    assert len(await client.threads.get_history(tid, limit=10)) == 1


# --- checkpoints written by a graph run (in-process) --------------------------------------------------

async def test_interrupts_in_state_and_thread_row(client: LangGraphClient, saver: AsyncPostgresSaver) -> None:
    thread = await client.threads.create(graph_id="interrupt")
    tid = thread["thread_id"]
    await run_in_process(saver, interrupting, tid, {"value": "q"})
    state = await client.threads.get_state(tid)
    assert state["next"] == ["b"]
    [task] = state["tasks"]
    assert task["name"] == "b"
    [interrupt] = task["interrupts"]
    assert interrupt["value"] == {"question": "approve?", "value": "q"}
    assert interrupt["id"]
    assert state["interrupts"] == [interrupt]
    # an update makes a new checkpoint after `a` again: `b` is next, its old interrupt is history
    await client.threads.update_state(tid, {"value": "edited"})
    refreshed = await client.threads.get(tid)
    assert refreshed["status"] == "interrupted"
    assert refreshed["values"] == {"value": "edited", "steps": ["a"]}
    assert refreshed["interrupts"] == {}


async def test_runs_engine_helpers_record_state_on_the_thread(
    client: LangGraphClient, served: ServedApp, saver: AsyncPostgresSaver
) -> None:
    thread = await client.threads.create(graph_id="interrupt")
    tid = uuid.UUID(thread["thread_id"])
    await run_in_process(saver, interrupting, str(tid), {"value": "r"})
    graph = interrupting.copy(update={"checkpointer": saver})
    snapshot = await graph.aget_state({"configurable": {"thread_id": str(tid)}})
    app_state: AppState = served.app.state.olg
    async with app_state.sessionmaker.begin() as session:
        await threads_service.set_thread_status(session, tid, "busy")
    assert [t["thread_id"] for t in await client.threads.search(ids=[str(tid)], status="busy")] == [str(tid)]
    async with app_state.sessionmaker.begin() as session:
        await thread_state.record_snapshot(session, tid, snapshot)
    got = await client.threads.get(str(tid))
    assert got["status"] == "interrupted"
    assert got["values"] == {"value": "r", "steps": ["a"]}
    [(task_id, [interrupt])] = got["interrupts"].items()
    assert task_id == snapshot.tasks[0].id
    assert interrupt == {"id": snapshot.interrupts[0].id, "value": {"question": "approve?", "value": "r"}}
    async with app_state.sessionmaker.begin() as session:
        await threads_service.set_thread_status(session, tid, "error", values={"x": 1}, interrupts=None)
    got = await client.threads.get(str(tid))
    assert (got["status"], got["values"], got["interrupts"]) == ("error", {"x": 1}, {})
    async with app_state.sessionmaker.begin() as session:
        with pytest.raises(ThreadNotFound):
            await threads_service.set_thread_status(session, uuid.uuid4(), "idle")
        with pytest.raises(ValueError, match="status"):
            await threads_service.set_thread_status(session, tid, "sleeping")


async def test_history_of_a_full_run(client: LangGraphClient, saver: AsyncPostgresSaver) -> None:
    thread = await client.threads.create(graph_id="plain")
    await run_in_process(saver, plain, thread["thread_id"], {"value": "h"})
    history = await client.threads.get_history(thread["thread_id"], limit=20)
    assert [h["metadata"]["step"] for h in history] == [3, 2, 1, 0, -1]
    assert [h["next"] for h in history] == [[], ["c"], ["b"], ["a"], ["__start__"]]
    assert history[-1]["metadata"]["source"] == "input"
    inputs = await client.threads.get_history(thread["thread_id"], limit=20, metadata={"source": "input"})
    assert [h["metadata"]["step"] for h in inputs] == [-1]


async def test_thread_without_graph_reads_raw_checkpoints(client: LangGraphClient, saver: AsyncPostgresSaver) -> None:
    thread = await client.threads.create(metadata={"graph": "unknown to the server"})
    await run_in_process(saver, plain, thread["thread_id"], {"value": "raw"})
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"] == {"value": "raw", "steps": ["a", "b", "c"]}
    assert state["checkpoint"]["thread_id"] == thread["thread_id"]
    assert state["metadata"]["step"] == 3
    history = await client.threads.get_history(thread["thread_id"], limit=20)
    assert [h["metadata"]["step"] for h in history] == [3, 2, 1, 0, -1]
    assert history[1]["values"] == {"value": "raw", "steps": ["a", "b"]}


async def test_subgraph_namespace_history_and_subgraph_state(
    client: LangGraphClient, http: httpx.AsyncClient, saver: AsyncPostgresSaver
) -> None:
    thread = await client.threads.create(graph_id="subgraph")
    tid = thread["thread_id"]
    await run_in_process(saver, nested_graph, tid, {}, interrupt_before=["finish"])
    namespaces = {c.config["configurable"]["checkpoint_ns"] async for c in saver.alist(
        {"configurable": {"thread_id": tid}})}
    [child] = [ns for ns in namespaces if ns.startswith("child:")]
    sub = await client.threads.get_history(tid, checkpoint={"checkpoint_ns": child}, limit=20)
    assert [h["values"] for h in sub] == [{"inner": ["one", "two"]}, {"inner": ["one"]}, {"inner": []}, {"inner": []}]
    assert {h["checkpoint"]["checkpoint_ns"] for h in sub} == {child}
    by_query = await http.get(f"/threads/{tid}/history", params={"checkpoint_ns": child, "limit": 20})
    assert [h["values"] for h in by_query.json()] == [h["values"] for h in sub]
    root = await client.threads.get_state(tid, subgraphs=True)
    assert root["values"] == {"trail": ["prepare"], "inner": ["one", "two"]}
    assert root["next"] == ["finish"]
    assert all(h["checkpoint"]["checkpoint_ns"] == "" for h in await client.threads.get_history(tid, limit=20))


async def test_update_state_is_refused_while_a_run_is_in_flight(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create(graph_id="slow")
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "slow", input={"tag": "busy", "seconds": 3})
    try:
        response = await http.post(f"/threads/{tid}/state", json={"values": {"log": ["manual"]}})
        assert "in-flight" in assert_error(response, 409)["detail"]
    finally:
        await client.runs.cancel(tid, run["run_id"], wait=True)
    assert all("manual" not in (h["values"].get("log") or []) for h in await client.threads.get_history(tid, limit=50))
    await client.threads.update_state(tid, {"log": ["manual"]})
    assert (await client.threads.get_state(tid))["values"]["log"][-1] == "manual"
