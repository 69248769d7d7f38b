"""/threads through langgraph-sdk and httpx: CRUD, search, count, copy, prune and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from helpers import assert_error, tag
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

THREAD_KEYS = {"thread_id", "created_at", "updated_at", "metadata", "status", "config", "values", "interrupts"}


def step(node: str, **values: Any) -> dict[str, Any]:
    """One superstep of the `plain` graph (a -> b -> c) with a single update."""
    return {"updates": [{"values": values, "as_node": node}]}


async def seeded(client: LangGraphClient, *steps: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return await client.threads.create(graph_id="plain", metadata=metadata or None, supersteps=list(steps))


async def history_ids(client: LangGraphClient, thread_id: str) -> list[str]:
    return [h["checkpoint"]["checkpoint_id"] for h in await client.threads.get_history(thread_id, limit=100)]


# --- create / get -----------------------------------------------------------------------------------

async def test_create_defaults(client: LangGraphClient) -> None:
    created = await client.threads.create()
    uuid.UUID(created["thread_id"])
    assert set(created) == THREAD_KEYS
    assert created["status"] == "idle"
    assert created["metadata"] == {}
    assert created["values"] is None
    assert created["interrupts"] == {}
    assert created["config"] == {}
    assert created["created_at"] == created["updated_at"]
    assert await client.threads.get(created["thread_id"]) == created


async def test_create_with_id_metadata_and_graph_id(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = str(uuid.uuid4())
    created = await client.threads.create(thread_id=tid, metadata={"owner": "ann", "n": 3}, graph_id="echo")
    assert created["thread_id"] == tid
    assert created["metadata"] == {"owner": "ann", "n": 3, "graph_id": "echo"}
    raw = await http.post("/threads", json={"graph_id": "plain", "metadata": {"k": [1, {"x": None}]}})
    assert raw.status_code == 200
    assert raw.json()["metadata"] == {"k": [1, {"x": None}], "graph_id": "plain"}


async def test_create_duplicate_raises_or_returns_existing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = str(uuid.uuid4())
    first = await client.threads.create(thread_id=tid, metadata={"v": 1})
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id=tid, metadata={"v": 2})
    body = assert_error(await http.post("/threads", json={"thread_id": tid, "if_exists": "raise"}), 409)
    assert tid in body["detail"]
    again = await client.threads.create(thread_id=tid, metadata={"v": 3}, if_exists="do_nothing")
    assert again == first
    assert (await client.threads.get(tid))["metadata"] == {"v": 1}


async def test_unknown_thread_is_404_everywhere(http: httpx.AsyncClient) -> None:
    tid = str(uuid.uuid4())
    for method, path, body in [
        ("GET", f"/threads/{tid}", None), ("PATCH", f"/threads/{tid}", {"metadata": {"a": 1}}),
        ("DELETE", f"/threads/{tid}", None), ("POST", f"/threads/{tid}/copy", None),
        ("GET", f"/threads/{tid}/state", None), ("POST", f"/threads/{tid}/state", {"values": {"value": "x"}}),
        ("GET", f"/threads/{tid}/history", None), ("POST", f"/threads/{tid}/history", {}),
        ("POST", f"/threads/{tid}/state/checkpoint", {"checkpoint": {"checkpoint_id": "x"}}),
    ]:
        response = await http.request(method, path, json=body)
        assert assert_error(response, 404)["detail"] == f"Thread '{tid}' not found", (method, path)


async def test_sdk_raises_not_found(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.threads.get(str(uuid.uuid4()))


async def test_malformed_thread_ids_are_422(http: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/threads/nope"), ("PATCH", "/threads/nope"), ("DELETE", "/threads/nope"),
                         ("POST", "/threads/nope/copy"), ("GET", "/threads/nope/state"),
                         ("GET", "/threads/nope/history"), ("POST", "/threads/nope/history")]:
        response = await http.request(method, path, json={} if method != "GET" else None)
        assert "thread_id" in assert_error(response, 422)["detail"], (method, path)


async def test_bad_create_bodies_are_422_and_create_nothing(http: httpx.AsyncClient) -> None:
    marker = tag()
    bodies: list[Any] = [
        {"metadata": "not-an-object", "thread_id": str(uuid.uuid4())},
        {"thread_id": "not-a-uuid", "metadata": {"m": marker}},
        {"if_exists": "overwrite", "metadata": {"m": marker}},
        {"metadata": {"m": marker, "bad": "nul\u0000char"}},
        {"metadata": {"m": marker}, "supersteps": [{"updates": [{"values": {}}]}]},
        {"metadata": {"m": marker}, "supersteps": "nope"},
        {"metadata": {"m": marker}, "supersteps": [{"updates": [{"values": {}, "as_node": "a"}]}]},
        [1, 2],
    ]
    for body in bodies:
        assert_error(await http.post("/threads", json=body), 422)
    raw_nan = b'{"metadata": {"m": "%s", "x": NaN}}' % marker.encode()
    assert_error(await http.post("/threads", content=raw_nan, headers={"content-type": "application/json"}), 422)
    broken = await http.post("/threads", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(broken, 422)
    assert (await http.post("/threads/count", json={"metadata": {"m": marker}})).json() == 0


# --- patch / delete ---------------------------------------------------------------------------------

async def test_patch_merges_metadata_and_bumps_updated_at(client: LangGraphClient) -> None:
    created = await client.threads.create(metadata={"a": 1, "b": {"x": 1}})
    updated = await client.threads.update(created["thread_id"], metadata={"b": {"y": 2}, "c": 3})
    assert updated["metadata"] == {"a": 1, "b": {"y": 2}, "c": 3}
    assert updated["updated_at"] > created["updated_at"]
    assert updated["created_at"] == created["created_at"]
    assert await client.threads.get(created["thread_id"]) == updated


async def test_patch_return_minimal_is_204(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    created = await client.threads.create(metadata={"a": 1})
    assert await client.threads.update(created["thread_id"], metadata={"b": 2}, return_minimal=True) is None
    response = await http.patch(f"/threads/{created['thread_id']}", json={"metadata": {"c": 3}},
                                headers={"Prefer": "return=minimal"})
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.threads.get(created["thread_id"]))["metadata"] == {"a": 1, "b": 2, "c": 3}


async def test_bad_patch_changes_nothing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    created = await client.threads.create(metadata={"a": 1})
    for body in ({"metadata": "x"}, {"metadata": ["a"]}, {"metadata": {"a": "\u0000"}}):
        assert_error(await http.patch(f"/threads/{created['thread_id']}", json=body), 422)
    assert await client.threads.get(created["thread_id"]) == created


async def test_delete_removes_thread_and_checkpoints(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await seeded(client, step("a", value="gone", steps=["a"]))
    tid = thread["thread_id"]
    response = await http.delete(f"/threads/{tid}")
    assert response.status_code == 204
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    assert_error(await http.delete(f"/threads/{tid}"), 404)
    # the same id again starts from nothing: the old checkpoints went with the thread
    await client.threads.create(thread_id=tid, graph_id="plain")
    state = await client.threads.get_state(tid)
    assert state["values"] == {}
    assert state["checkpoint"] is None
    assert await client.threads.get_history(tid) == []


# --- search / count ---------------------------------------------------------------------------------

async def test_search_by_metadata_status_values_and_ids(client: LangGraphClient) -> None:
    t = tag()
    red = await client.threads.create(metadata={"suite": t, "color": "red", "nested": {"a": 1, "b": 2}})
    blue = await client.threads.create(metadata={"suite": t, "color": "blue"})
    wanted = await seeded(client, step("a", value="wanted", steps=["a"]), suite=t)
    other = await seeded(client, step("a", value="other", steps=["a"]), step("b", steps=["b"]),
                         step("c", steps=["c"]), suite=t)

    def ids(found: list[Any]) -> list[str]:
        return [x["thread_id"] for x in found]

    assert ids(await client.threads.search(metadata={"suite": t, "color": "red"})) == [red["thread_id"]]
    assert ids(await client.threads.search(metadata={"suite": t, "nested": {"b": 2}})) == [red["thread_id"]]
    assert ids(await client.threads.search(metadata={"suite": t}, values={"value": "wanted"})) == [wanted["thread_id"]]
    assert ids(await client.threads.search(metadata={"suite": t}, values={"steps": ["c"]})) == [other["thread_id"]]
    assert ids(await client.threads.search(metadata={"suite": t}, status="interrupted")) == [wanted["thread_id"]]
    assert set(ids(await client.threads.search(metadata={"suite": t}, status="idle"))) == {
        red["thread_id"], blue["thread_id"], other["thread_id"]}
    assert await client.threads.search(metadata={"suite": t}, status="busy") == []
    found = await client.threads.search(ids=[red["thread_id"], other["thread_id"], str(uuid.uuid4())])
    assert set(ids(found)) == {red["thread_id"], other["thread_id"]}
    assert await client.threads.search(metadata={"suite": tag()}) == []


async def test_search_order_sort_and_pagination(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = tag()
    made = [await client.threads.create(metadata={"suite": t, "i": i}) for i in range(5)]
    order = [x["metadata"]["i"] for x in await client.threads.search(metadata={"suite": t})]
    assert order == [4, 3, 2, 1, 0]
    asc = await client.threads.search(metadata={"suite": t}, sort_by="created_at", sort_order="asc")
    assert [x["metadata"]["i"] for x in asc] == [0, 1, 2, 3, 4]
    by_id = await client.threads.search(metadata={"suite": t}, sort_by="thread_id", sort_order="asc")
    assert [x["thread_id"] for x in by_id] == sorted(x["thread_id"] for x in made)
    await client.threads.update(made[1]["thread_id"], metadata={"touched": True})
    recent = await client.threads.search(metadata={"suite": t}, sort_by="updated_at", limit=1)
    assert recent[0]["thread_id"] == made[1]["thread_id"]

    pages = [await http.post("/threads/search", json={"metadata": {"suite": t}, "limit": 2, "offset": o,
                                                      "sort_order": "asc", "sort_by": "created_at"})
             for o in (0, 2, 4)]
    assert [[x["metadata"]["i"] for x in p.json()] for p in pages] == [[0, 1], [2, 3], [4]]
    assert pages[0].headers["X-Pagination-Next"] == "2"
    assert "X-Pagination-Next" not in pages[2].headers
    assert pages[2].headers["X-Pagination-Total"] == "5"


async def test_search_by_status_sorts(client: LangGraphClient) -> None:
    t = tag()
    await client.threads.create(metadata={"suite": t})
    await seeded(client, step("a", value="s", steps=["a"]), suite=t)
    asc = await client.threads.search(metadata={"suite": t}, sort_by="status", sort_order="asc")
    assert [x["status"] for x in asc] == ["idle", "interrupted"]
    desc = await client.threads.search(metadata={"suite": t}, sort_by="status", sort_order="desc")
    assert [x["status"] for x in desc] == ["interrupted", "idle"]


async def test_search_select(client: LangGraphClient) -> None:
    t = tag()
    await client.threads.create(metadata={"suite": t})
    found = await client.threads.search(metadata={"suite": t}, select=["thread_id", "status"])
    assert len(found) == 1
    assert set(found[0]) == {"thread_id", "status"}
    assert found[0]["status"] == "idle"


async def test_count(client: LangGraphClient) -> None:
    t = tag()
    for _ in range(3):
        await client.threads.create(metadata={"suite": t})
    await seeded(client, step("a", value="counted", steps=["a"]), suite=t)
    assert await client.threads.count(metadata={"suite": t}) == 4
    assert await client.threads.count(metadata={"suite": t}, status="idle") == 3
    assert await client.threads.count(metadata={"suite": t}, status="interrupted") == 1
    assert await client.threads.count(metadata={"suite": t}, values={"value": "counted"}) == 1
    assert await client.threads.count(metadata={"suite": tag()}) == 0


@pytest.mark.parametrize(("path", "body"), [
    ("/threads/search", {"limit": "ten"}), ("/threads/search", {"limit": 0}),
    ("/threads/search", {"limit": 1001}), ("/threads/search", {"offset": -1}),
    ("/threads/search", {"status": "sleeping"}), ("/threads/search", {"sort_by": "name"}),
    ("/threads/search", {"sort_order": "up"}), ("/threads/search", {"select": ["secret"]}),
    ("/threads/search", {"ids": ["not-a-uuid"]}), ("/threads/search", {"metadata": [1]}),
    ("/threads/search", {"values": "x"}), ("/threads/count", {"status": "nope"}),
    ("/threads/count", {"metadata": "x"}), ("/threads/count", {"values": {"a": "\u0000"}}),
])
async def test_bad_search_and_count_bodies_are_422(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    assert_error(await http.post(path, json=body), 422)


# --- copy ---------------------------------------------------------------------------------------------

async def test_copy_has_same_metadata_values_and_history(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    original = await seeded(client, step("a", value="orig", steps=["a"]), step("b", steps=["b"]), origin="yes")
    response = await http.post(f"/threads/{original['thread_id']}/copy")
    assert response.status_code == 200
    copy = response.json()
    assert copy["thread_id"] != original["thread_id"]
    assert copy["metadata"] == {"origin": "yes", "graph_id": "plain"}
    assert copy["values"] == original["values"] == {"value": "orig", "steps": ["a", "b"]}
    assert copy["status"] == original["status"] == "interrupted"
    original_history = await client.threads.get_history(original["thread_id"], limit=50)
    copy_history = await client.threads.get_history(copy["thread_id"], limit=50)
    assert [h["values"] for h in copy_history] == [h["values"] for h in original_history]
    assert [h["next"] for h in copy_history] == [["c"], ["b"]]
    assert [h["checkpoint"]["checkpoint_id"] for h in copy_history] == await history_ids(client, original["thread_id"])
    assert {h["checkpoint"]["thread_id"] for h in copy_history} == {copy["thread_id"]}


async def test_copy_is_independent(client: LangGraphClient) -> None:
    original = await seeded(client, step("a", value="one", steps=["a"]))
    copy = await client.threads.copy(original["thread_id"])
    await client.threads.update_state(copy["thread_id"], {"value": "two", "steps": ["b"]}, as_node="b")
    assert (await client.threads.get_state(copy["thread_id"]))["values"] == {"value": "two", "steps": ["a", "b"]}
    assert (await client.threads.get_state(original["thread_id"]))["values"] == {"value": "one", "steps": ["a"]}
    assert len(await client.threads.get_history(original["thread_id"], limit=50)) == 1
    await client.threads.delete(original["thread_id"])
    assert (await client.threads.get_state(copy["thread_id"]))["values"]["value"] == "two"


async def test_copy_of_thread_without_checkpoints(client: LangGraphClient) -> None:
    original = await client.threads.create(metadata={"plain": True})
    copy = await client.threads.copy(original["thread_id"])
    assert copy["metadata"] == {"plain": True}
    assert copy["status"] == "idle"
    assert (await client.threads.get_state(copy["thread_id"]))["values"] == {}


# --- prune --------------------------------------------------------------------------------------------

async def test_prune_delete(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    gone = await seeded(client, step("a", value="x", steps=["a"]))
    kept = await client.threads.create()
    response = await http.post("/threads/prune", json={"thread_ids": [gone["thread_id"], str(uuid.uuid4())]})
    assert response.status_code == 200
    assert response.json() == {"pruned_count": 1}
    with pytest.raises(NotFoundError):
        await client.threads.get(gone["thread_id"])
    assert (await client.threads.get(kept["thread_id"]))["thread_id"] == kept["thread_id"]
    await client.threads.create(thread_id=gone["thread_id"], graph_id="plain")
    assert await client.threads.get_history(gone["thread_id"]) == []


async def test_prune_keep_latest(client: LangGraphClient) -> None:
    thread = await seeded(client, step("a", value="v", steps=["a"]), step("b", steps=["b"]), step("c", steps=["c"]))
    tid = thread["thread_id"]
    before = await client.threads.get_state(tid)
    assert len(await client.threads.get_history(tid, limit=50)) == 3
    assert await client.threads.prune([tid], strategy="keep_latest") == {"pruned_count": 1}
    after = await client.threads.get_state(tid)
    assert after["values"] == before["values"] == {"value": "v", "steps": ["a", "b", "c"]}
    assert after["checkpoint"] == before["checkpoint"]
    assert [h["checkpoint"] for h in await client.threads.get_history(tid, limit=50)] == [before["checkpoint"]]
    assert (await client.threads.get(tid))["values"] == after["values"]


async def test_prune_nothing_and_bad_bodies(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    assert (await http.post("/threads/prune", json={"thread_ids": []})).json() == {"pruned_count": 0}
    assert (await http.post("/threads/prune", json={"thread_ids": [str(uuid.uuid4())]})).json() == {"pruned_count": 0}
    thread = await client.threads.create()
    for body in ({}, {"thread_ids": [thread["thread_id"]], "strategy": "shred"},
                 {"thread_ids": [thread["thread_id"], "not-a-uuid"]}, {"thread_ids": thread["thread_id"]}):
        assert_error(await http.post("/threads/prune", json=body), 422)
    assert (await client.threads.get(thread["thread_id"]))["thread_id"] == thread["thread_id"]


async def test_openapi_lists_every_thread_route(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    expected = {
        "/threads": {"post"}, "/threads/search": {"post"}, "/threads/count": {"post"}, "/threads/prune": {"post"},
        "/threads/{thread_id}": {"get", "patch", "delete"}, "/threads/{thread_id}/copy": {"post"},
        "/threads/{thread_id}/state": {"get", "post"}, "/threads/{thread_id}/state/checkpoint": {"post"},
        "/threads/{thread_id}/state/{checkpoint_id}": {"get"}, "/threads/{thread_id}/history": {"get", "post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path


async def test_delete_removes_the_threads_runs(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "plain", input={"value": "x"})
    await client.runs.join(thread["thread_id"], run["run_id"])
    await client.threads.delete(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await client.runs.get(thread["thread_id"], run["run_id"])
