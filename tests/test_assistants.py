"""/assistants through langgraph-sdk and httpx: CRUD, versions, search, introspection, bad input."""

from __future__ import annotations

import uuid

import httpx
import pytest
from helpers import assert_error, tag
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from agent_server.services.graphs import default_assistant_id


async def test_default_assistant_per_graph_has_derived_id(client: LangGraphClient) -> None:
    for graph_id in ("echo", "plain", "subgraph", "factory"):
        found = await client.assistants.search(graph_id=graph_id, metadata={"created_by": "system"})
        assert [a["assistant_id"] for a in found] == [str(default_assistant_id(graph_id))]
        assert found[0]["name"] == graph_id
        assert found[0]["version"] == 1


async def test_default_assistant_carries_graph_description(client: LangGraphClient) -> None:
    found = await client.assistants.get(str(default_assistant_id("factory")))
    assert found["description"] == "built per use from its config"


async def test_graph_id_accepted_as_assistant_id(client: LangGraphClient) -> None:
    got = await client.assistants.get("plain")
    assert got["assistant_id"] == str(default_assistant_id("plain"))


async def test_create_returns_full_object(client: LangGraphClient) -> None:
    t = tag()
    created = await client.assistants.create(
        "echo", config={"configurable": {"prefix": "C: "}}, context={"prefix": "X: "},
        metadata={"suite": t}, name=f"echo-{t}", description="about",
    )
    uuid.UUID(created["assistant_id"])
    assert created["graph_id"] == "echo"
    assert created["name"] == f"echo-{t}"
    assert created["description"] == "about"
    assert created["config"] == {"configurable": {"prefix": "C: "}}
    assert created["context"] == {"prefix": "X: "}
    assert created["metadata"] == {"suite": t}
    assert created["version"] == 1
    assert created["created_at"]
    assert created["updated_at"]
    assert await client.assistants.get(created["assistant_id"]) == created


async def test_create_with_explicit_id_and_conflict(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    aid = str(uuid.uuid4())
    await client.assistants.create("plain", assistant_id=aid, name="first")
    with pytest.raises(ConflictError):
        await client.assistants.create("plain", assistant_id=aid, name="second")
    same = await client.assistants.create("plain", assistant_id=aid, name="third", if_exists="do_nothing")
    assert same["name"] == "first"
    assert (await client.assistants.get(aid))["name"] == "first"
    assert_error(await http.post("/assistants", json={"graph_id": "plain", "assistant_id": aid}), 409)


async def test_update_merges_metadata_and_adds_version(client: LangGraphClient) -> None:
    a = await client.assistants.create("echo", name="before", metadata={"keep": 1, "m": 1}, description="d")
    updated = await client.assistants.update(a["assistant_id"], name="after", metadata={"m": 2},
                                             context={"prefix": "N: "})
    assert updated["name"] == "after"
    assert updated["metadata"] == {"keep": 1, "m": 2}
    assert updated["description"] == "d"
    assert updated["context"] == {"prefix": "N: "}
    assert updated["version"] == 2
    assert updated["updated_at"] >= a["updated_at"]
    assert updated["created_at"] == a["created_at"]


async def test_update_can_change_graph(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    a = await client.assistants.create("echo")
    updated = await client.assistants.update(a["assistant_id"], graph_id="plain")
    assert updated["graph_id"] == "plain"
    assert_error(await http.patch(f"/assistants/{a['assistant_id']}", json={"graph_id": "nope"}), 404)
    assert (await client.assistants.get(a["assistant_id"]))["graph_id"] == "plain"


async def test_versions_newest_first_with_limit_and_metadata(client: LangGraphClient) -> None:
    a = await client.assistants.create("echo", name="v1", metadata={"rev": 1})
    await client.assistants.update(a["assistant_id"], name="v2", metadata={"rev": 2})
    await client.assistants.update(a["assistant_id"], name="v3", metadata={"rev": 3})
    versions = await client.assistants.get_versions(a["assistant_id"])
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["name"] for v in versions] == ["v3", "v2", "v1"]
    assert [v["version"] for v in await client.assistants.get_versions(a["assistant_id"], limit=2)] == [3, 2]
    assert [v["version"] for v in await client.assistants.get_versions(a["assistant_id"], offset=2)] == [1]
    by_meta = await client.assistants.get_versions(a["assistant_id"], metadata={"rev": 2})
    assert [v["version"] for v in by_meta] == [2]


async def test_set_latest_restores_every_field(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    a = await client.assistants.create("echo", name="v1", config={"configurable": {"p": 1}},
                                       context={"prefix": "One"}, metadata={"rev": 1})
    await client.assistants.update(a["assistant_id"], name="v2", config={"configurable": {"p": 2}},
                                   context={"prefix": "Two"}, metadata={"rev": 2})
    latest = await client.assistants.set_latest(a["assistant_id"], 1)
    assert (latest["version"], latest["name"], latest["context"]) == (1, "v1", {"prefix": "One"})
    got = await client.assistants.get(a["assistant_id"])
    assert got["config"] == {"configurable": {"p": 1}}
    assert got["metadata"] == {"rev": 1}
    assert_error(await http.post(f"/assistants/{a['assistant_id']}/latest", json={"version": 9}), 404)
    assert_error(await http.post(f"/assistants/{a['assistant_id']}/latest", json={"version": 0}), 422)
    # a later update continues numbering after the highest version, never reusing one
    again = await client.assistants.update(a["assistant_id"], name="v3")
    assert again["version"] == 3


async def test_delete(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    a = await client.assistants.create("echo")
    await client.assistants.delete(a["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get(a["assistant_id"])
    assert_error(await http.delete(f"/assistants/{a['assistant_id']}"), 404)


async def test_search_filters(client: LangGraphClient) -> None:
    t = tag()
    red = await client.assistants.create("echo", name=f"alpha-{t}", metadata={"suite": t, "color": "red"})
    blue = await client.assistants.create("plain", name=f"beta-{t}", metadata={"suite": t, "color": "blue"})
    assert [a["assistant_id"] for a in await client.assistants.search(metadata={"suite": t, "color": "red"})] == [
        red["assistant_id"]
    ]
    assert [a["assistant_id"] for a in await client.assistants.search(metadata={"suite": t}, graph_id="plain")] == [
        blue["assistant_id"]
    ]
    assert [a["assistant_id"] for a in await client.assistants.search(name=f"alpha-{t}")] == [red["assistant_id"]]
    assert await client.assistants.search(name=f"%-{t}") == []  # LIKE wildcards are literal


async def test_search_pagination_sort_and_select(client: LangGraphClient) -> None:
    t = tag()
    names = [f"c-{t}", f"a-{t}", f"b-{t}"]
    for name in names:
        await client.assistants.create("echo", name=name, metadata={"suite": t})
    assert [a["name"] for a in await client.assistants.search(metadata={"suite": t})] == names[::-1]
    asc = await client.assistants.search(metadata={"suite": t}, sort_by="name", sort_order="asc")
    assert [a["name"] for a in asc] == sorted(names)
    page = await client.assistants.search(metadata={"suite": t}, sort_by="created_at", sort_order="asc",
                                          limit=2, offset=1)
    assert [a["name"] for a in page] == names[1:]
    picked = await client.assistants.search(metadata={"suite": t}, select=["assistant_id", "name"], limit=1)
    assert set(picked[0]) == {"assistant_id", "name"}


async def test_count(client: LangGraphClient) -> None:
    t = tag()
    for graph_id in ("echo", "echo", "plain"):
        await client.assistants.create(graph_id, metadata={"suite": t})
    assert await client.assistants.count(metadata={"suite": t}) == 3
    assert await client.assistants.count(metadata={"suite": t}, graph_id="echo") == 2
    assert await client.assistants.count(metadata={"suite": tag()}) == 0


async def test_graph_drawing_and_xray(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    drawing = await client.assistants.get_graph("plain")
    assert {n["id"] for n in drawing["nodes"]} == {"__start__", "a", "b", "c", "__end__"}
    assert {(e["source"], e["target"]) for e in drawing["edges"]} == {
        ("__start__", "a"), ("a", "b"), ("b", "c"), ("c", "__end__")
    }
    flat = {n["id"] for n in (await client.assistants.get_graph("subgraph"))["nodes"]}
    assert "child" in flat
    xray = {n["id"] for n in (await client.assistants.get_graph("subgraph", xray=True))["nodes"]}
    assert {"child:one", "child:two"} <= xray
    assert "child" not in xray
    assert_error(await http.get("/assistants/plain/graph", params={"xray": "sideways"}), 422)


async def test_factory_graph_is_built_from_the_assistant_config(client: LangGraphClient) -> None:
    a = await client.assistants.create("factory", config={"configurable": {"extra_node": "bonus"}})
    nodes = {n["id"] for n in (await client.assistants.get_graph(a["assistant_id"]))["nodes"]}
    assert "bonus" in nodes
    plain_nodes = {n["id"] for n in (await client.assistants.get_graph("factory"))["nodes"]}
    assert "bonus" not in plain_nodes


async def test_schemas(client: LangGraphClient) -> None:
    s = await client.assistants.get_schemas("custom")
    assert s["graph_id"] == "custom"
    assert set(s["input_schema"]["properties"]) == {"key", "text"}
    assert set(s["output_schema"]["properties"]) == {"result"}
    assert set(s["state_schema"]["properties"]) == {"key", "text", "result"}
    assert set(s["context_schema"]["properties"]) == {"user_id"}
    assert "config_schema" in s
    echo = await client.assistants.get_schemas("echo")
    assert "messages" in echo["state_schema"]["properties"]


async def test_subgraphs(client: LangGraphClient) -> None:
    subs = await client.assistants.get_subgraphs("subgraph")
    assert set(subs) == {"child"}
    assert set(subs["child"]["state_schema"]["properties"]) == {"inner"}
    assert set(await client.assistants.get_subgraphs("subgraph", namespace="child")) == {"child"}
    assert await client.assistants.get_subgraphs("echo") == {}


UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", f"/assistants/{UNKNOWN}", None, 404),
        ("get", "/assistants/not-a-uuid-or-graph", None, 422),
        ("patch", f"/assistants/{UNKNOWN}", {"name": "x"}, 404),
        ("delete", f"/assistants/{UNKNOWN}", None, 404),
        ("post", f"/assistants/{UNKNOWN}/versions", {}, 404),
        ("get", f"/assistants/{UNKNOWN}/graph", None, 404),
        ("get", f"/assistants/{UNKNOWN}/schemas", None, 404),
        ("post", "/assistants", {"graph_id": "no-such-graph"}, 404),
        ("post", "/assistants", {}, 422),
        ("post", "/assistants", {"graph_id": "echo", "metadata": "nope"}, 422),
        ("post", "/assistants", {"graph_id": "echo", "if_exists": "sometimes"}, 422),
        ("post", "/assistants", {"graph_id": "echo", "assistant_id": "not-a-uuid"}, 422),
        ("post", "/assistants/search", {"limit": 0}, 422),
        ("post", "/assistants/search", {"limit": "ten"}, 422),
        ("post", "/assistants/search", {"offset": -1}, 422),
        ("post", "/assistants/search", {"sort_by": "graph_id; DROP TABLE assistants"}, 422),
        ("post", "/assistants/search", {"select": ["password"]}, 422),
        ("post", "/assistants/count", {"metadata": []}, 422),
    ],
)
async def test_bad_requests_get_clear_errors(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, object] | None, status: int
) -> None:
    before = (await http.post("/assistants/count", json={})).json()
    response = await http.request(method, path, json=body)
    assert_error(response, status)
    assert (await http.post("/assistants/count", json={})).json() == before


async def test_invalid_json_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post("/assistants", content=b"{nope", headers={"content-type": "application/json"})
    assert_error(response, 422)


async def test_huge_integer_is_a_clean_422(http: httpx.AsyncClient) -> None:
    response = await http.post("/assistants/search", content=b'{"limit": 1000000000000000000000000000000}',
                               headers={"content-type": "application/json"})
    assert_error(response, 422)
