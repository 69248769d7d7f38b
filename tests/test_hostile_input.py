"""Hostile input — a clean 4xx with a clear `detail`, and nothing changed: oversized bodies, JSON that jsonb
cannot hold, nesting too deep, bodies that are not UTF-8, malformed Last-Event-ID headers, ids that are not ids,
limits out of range, unknown stream modes, injection through filters; unknown fields are ignored."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from fastapi import FastAPI
from fastapi.routing import APIRoute
from helpers import assert_error

from agent_server.app import create_app
from agent_server.models.common import MAX_JSON_DEPTH, MAX_OFFSET, MAX_PAGE_SIZE
from agent_server.models.runs import STREAM_MODES

LIMIT = 4096


@pytest_asyncio.fixture(scope="module")
async def hostile_app(database_url: str) -> AsyncIterator[ServedApp]:
    """No workers of its own (the session's app, on the same database, may still run what it creates)."""
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_MAX_BODY_BYTES=LIMIT,
                                   OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0, OPEN_LANGGRAPH_DB_POOL_SIZE=4), project_config())
    async with ServedApp(app) as served:
        yield served


@pytest_asyncio.fixture(scope="module")
async def small_body_url(hostile_app: ServedApp) -> str:
    return hostile_app.url


@pytest_asyncio.fixture
async def api(hostile_app: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hostile_app.url, timeout=30) as client:
        yield client


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


# --- Shared helpers -------------------------------------------------------------------------------------------


def ok(response: httpx.Response) -> Any:
    """The JSON of a 200 (None for a 204), failing with the body otherwise."""
    assert response.status_code in (200, 204), (response.request.url, response.status_code, response.text)
    return response.json() if response.status_code == 200 else None


async def tagged_count(api: httpx.AsyncClient, resource: str, tag: str) -> int:
    """Rows of `resource` (threads, assistants, runs/crons) whose metadata carries `tag`."""
    response = await api.post(f"/{resource}/count", json={"metadata": {"tag": tag}})
    assert response.status_code == 200, response.text
    return int(response.json())


async def new_thread(api: httpx.AsyncClient, **metadata: Any) -> str:
    response = await api.post("/threads", json={"metadata": metadata})
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


async def new_run(api: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    response = await api.post(f"/threads/{thread_id}/runs", json={"assistant_id": "plain", "input": {}})
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- Last-Event-ID ----------------------------------------------------------------------------------------------

BAD_EVENT_IDS = ["abc", "-1", "1.5", "+5", "1_0", "0x10", "1e3", "9" * 30, str(2**63)]


async def test_a_malformed_last_event_id_is_422_on_both_streams_and_changes_nothing(api: httpx.AsyncClient) -> None:
    thread_id = await new_thread(api)
    run = await new_run(api, thread_id)
    streams = [f"/threads/{thread_id}/runs/{run['run_id']}/stream", f"/threads/{thread_id}/stream"]
    for value in BAD_EVENT_IDS:
        for path in streams:
            response = await api.get(path, headers={"Last-Event-ID": value}, timeout=5)
            body = assert_error(response, 422)
            assert "Last-Event-ID" in body["detail"], body
    runs = (await api.get(f"/threads/{thread_id}/runs")).json()
    assert [r["run_id"] for r in runs] == [run["run_id"]]
    assert runs[0]["status"] != "interrupted"  # not cancelled (another app's worker on this database may run it)


# --- Path ids ---------------------------------------------------------------------------------------------------

UUID_PARAMETERS = ("thread_id", "run_id", "cron_id")


def routes_with_uuid_ids(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path, the id parameters written as non-UUIDs) for every route taking a thread, run or cron id."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        names = re.findall(r"\{(\w+)\}", route.path)
        bad = [name for name in names if name in UUID_PARAMETERS]
        if bad:
            path = re.sub(r"\{(thread_id|run_id|cron_id)\}", "not-a-uuid", route.path)
            path = re.sub(r"\{\w+\}", "x", path)
            found += [(method, path, bad) for method in route.methods]
    return found


async def test_thread_run_and_cron_ids_that_are_not_uuids_are_422_naming_the_id(
    hostile_app: ServedApp, api: httpx.AsyncClient
) -> None:
    requests = routes_with_uuid_ids(hostile_app.app)
    assert len(requests) >= 24
    threads_before = await thread_count(api)
    for method, path, bad in requests:
        response = await api.request(method, path, json={"metadata": {}}, timeout=5)
        body = assert_error(response, 422)
        for name in bad:
            assert f"path.{name}" in body["detail"], (method, path, body)
    assert await thread_count(api) == threads_before


def assistant_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, route.path.replace("{namespace}", "x")) for route in app.routes
        if isinstance(route, APIRoute) and "{assistant_id}" in route.path for method in route.methods
    ]


async def test_an_assistant_id_that_is_neither_a_uuid_nor_a_graph_is_422_and_an_unknown_uuid_404(
    hostile_app: ServedApp, api: httpx.AsyncClient
) -> None:
    """As the reference server answers ("Invalid assistant ID: must be a UUID"): a name that is no graph is not
    an id at all. `version` serves /latest; every other body ignores it."""
    requests = assistant_routes(hostile_app.app)
    assert len(requests) >= 9
    assistants_before = (await api.post("/assistants/count", json={})).json()
    for method, template in requests:
        for assistant_id, status in (("no-such-graph", 422), ("'; DROP TABLE assistants; --", 422),
                                     (str(uuid.uuid4()), 404)):
            path = template.replace("{assistant_id}", quote(assistant_id, safe=""))
            response = await api.request(method, path, json={"version": 1}, timeout=5)
            body = assert_error(response, status)
            assert assistant_id in body["detail"], (method, path, body)
    assert (await api.post("/assistants/count", json={})).json() == assistants_before


# --- Limits and offsets -----------------------------------------------------------------------------------------

PAGED_SEARCHES = ["/threads/search", "/assistants/search", "/runs/crons/search"]


async def test_negative_or_huge_limits_and_offsets_are_422_naming_the_bound(api: httpx.AsyncClient) -> None:
    thread_id = await new_thread(api)
    cases: list[tuple[dict[str, int], str]] = [
        ({"limit": -1}, "greater than or equal to 1"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": MAX_PAGE_SIZE + 1}, f"less than or equal to {MAX_PAGE_SIZE}"),
        ({"limit": 10**30}, f"less than or equal to {MAX_PAGE_SIZE}"),
        ({"offset": -1}, "greater than or equal to 0"),
        ({"offset": 2**63}, f"less than or equal to {MAX_OFFSET}"),
    ]
    for paging, expected in cases:
        for path in PAGED_SEARCHES:
            assert expected in assert_error(await api.post(path, json=paging), 422)["detail"], (path, paging)
        listed = await api.get(f"/threads/{thread_id}/runs", params=paging)
        assert expected in assert_error(listed, 422)["detail"], paging
    assert "less than or equal to 1000" in assert_error(
        await api.post(f"/threads/{thread_id}/history", json={"limit": 10**6}), 422)["detail"]


async def test_store_pages_cap_huge_limits_and_refuse_negative_ones(api: httpx.AsyncClient) -> None:
    """The store caps (its documented behaviour, as the reference store's): a huge limit is MAX_PAGE_SIZE."""
    for path in ("/store/items/search", "/store/namespaces"):
        assert (await api.post(path, json={"limit": 10**30, "offset": 10**30})).status_code == 200
        assert_error(await api.post(path, json={"limit": -1}), 422)
        assert_error(await api.post(path, json={"offset": -1}), 422)


async def test_out_of_range_integers_that_reach_postgres_are_422(api: httpx.AsyncClient) -> None:
    created = await api.post("/assistants", json={"graph_id": "plain"})
    assistant_id = created.json()["assistant_id"]
    body = assert_error(await api.post(f"/assistants/{assistant_id}/latest", json={"version": 2**40}), 422)
    assert str(2**31 - 1) in body["detail"]
    assert_error(await api.post("/assistants/search", json={"offset": 2**63}), 422)
    assert (await api.get(f"/assistants/{assistant_id}")).json()["version"] == 1


# --- Stream modes -----------------------------------------------------------------------------------------------


async def test_an_unknown_stream_mode_is_422_naming_the_allowed_modes_and_creates_nothing(
    api: httpx.AsyncClient,
) -> None:
    tag = uuid.uuid4().hex
    thread_id = await new_thread(api)
    run = {"assistant_id": "plain", "input": {}, "metadata": {"tag": tag}}
    requests = [
        (f"/threads/{thread_id}/runs", run), (f"/threads/{thread_id}/runs/stream", run),
        (f"/threads/{thread_id}/runs/wait", run), ("/runs", run), ("/runs/stream", run), ("/runs/wait", run),
        ("/runs/crons", {**run, "schedule": "* * * * *"}),
    ]
    for modes in ("bogus", ["values", "bogus"], ["values", 5]):
        for path, body in requests:
            response = await api.post(path, json={**body, "stream_mode": modes}, timeout=5)
            detail = assert_error(response, 422)["detail"]
            assert detail.startswith("stream_mode: "), detail
            assert all(mode in detail for mode in STREAM_MODES), detail
        batch = await api.post("/runs/batch", json=[run, {**run, "stream_mode": modes}])
        assert_error(batch, 422)
    assert (await api.get(f"/threads/{thread_id}/runs")).json() == []
    assert await tagged_count(api, "runs/crons", tag) == 0


# --- Bodies that are not UTF-8, or hold what no column can ------------------------------------------------------


async def test_a_body_that_is_not_utf8_is_400_saying_so_and_changes_nothing(api: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex
    thread_id = await new_thread(api)
    bad = b'{"graph_id": "plain", "assistant_id": "plain", "metadata": {"tag": "%s", "x": "\xff\xfe"}}' % tag.encode()
    for method, path in [("POST", "/threads"), ("POST", "/assistants"), ("POST", f"/threads/{thread_id}/runs"),
                         ("POST", "/runs"), ("PATCH", f"/threads/{thread_id}"), ("POST", "/threads/search"),
                         ("PUT", "/store/items"), ("POST", "/store/items/search")]:
        response = await api.request(method, path, content=bad, headers={"content-type": "application/json"})
        assert assert_error(response, 400)["detail"] == "Request body is not valid UTF-8"
    assert await tagged_count(api, "threads", tag) == 0
    assert await tagged_count(api, "assistants", tag) == 0
    assert (await api.get(f"/threads/{thread_id}")).json()["metadata"] == {}
    assert (await api.get(f"/threads/{thread_id}/runs")).json() == []


async def test_lone_surrogates_and_nul_in_any_field_are_422_not_a_database_error(api: httpx.AsyncClient) -> None:
    """Names, ids, labels and [key, value] pairs go to text columns or jsonb, which refuse both; the JSON is
    written by hand so that the surrogate travels as the escape a client would send."""
    tag = uuid.uuid4().hex
    thread_id = await new_thread(api)
    for text in ("\\ud800", "a\\u0000b"):
        meta = f'"metadata": {{"tag": "{tag}"}}'
        requests = [
            ("POST", "/assistants", f'{{"graph_id": "plain", "name": "{text}", {meta}}}'),
            ("POST", "/assistants", f'{{"graph_id": "plain", {meta}, "metadata2": 1, "description": "{text}"}}'),
            ("POST", "/threads", f'{{"graph_id": "{text}", {meta}}}'),
            ("POST", "/threads", f'{{{meta[:-1]}, "{text}": 1}}}}'),
            ("POST", f"/threads/{thread_id}/runs",
             f'{{"assistant_id": "plain", "command": {{"update": [["{text}", 1]]}}, {meta}}}'),
            ("POST", f"/threads/{thread_id}/runs", f'{{"assistant_id": "plain", "webhook": "{text}", {meta}}}'),
            ("PUT", "/store/items", f'{{"namespace": ["{tag}"], "key": "{text}", "value": {{}}}}'),
            ("POST", "/threads/search", f'{{"metadata": {{"{text}": 1}}}}'),
            ("POST", "/assistants/search", f'{{"name": "{text}"}}'),
        ]
        for method, path, body in requests:
            response = await api.request(method, path, content=body, headers={"content-type": "application/json"})
            assert_error(response, 422)
    assert await tagged_count(api, "threads", tag) == 0
    assert await tagged_count(api, "assistants", tag) == 0
    assert (await api.get(f"/threads/{thread_id}/runs")).json() == []
    assert (await api.post("/store/items/search", json={"namespace_prefix": [tag]})).json() == {"items": []}


async def test_numbers_jsonb_widens_are_read_back_as_sent(api: httpx.AsyncClient) -> None:
    """jsonb keeps 1e51 as 1000...0, which reads back as an integer wider than 64 bits; it renders as 1e51."""
    created = await api.post("/threads", json={"metadata": {"big": 1e51, "small": -1e30, "int": 2**63}})
    assert created.status_code == 200, created.text
    read = await api.get(f"/threads/{created.json()['thread_id']}")
    assert read.json()["metadata"] == {"big": 1e51, "small": -1e30, "int": 2**63}


async def test_a_store_ttl_too_small_for_postgres_is_422(api: httpx.AsyncClient) -> None:
    namespace = ["ttl-test", uuid.uuid4().hex]
    body = assert_error(await api.put("/store/items", json={"namespace": namespace, "key": "k", "value": {},
                                                               "ttl": 1e-9}), 422)
    assert "ttl" in body["detail"]
    assert (await api.get("/store/items", params={"namespace": ".".join(namespace), "key": "k"})).json() is None


# --- Injection through filters ----------------------------------------------------------------------------------

HOSTILE_KEYS = ["a'; DROP TABLE threads; --", "$.x", "$[*]", "metadata->>'x'", 'a"b', "a\\b", "' OR '1'='1"]
HOSTILE_VALUES = ["') OR 1=1 --", '" OR ""="', "'; DELETE FROM store; --", "%", "_"]


def hostile_filters(tag: str) -> list[dict[str, Any]]:
    return [{"tag": tag, key: value} for key in HOSTILE_KEYS for value in [*HOSTILE_VALUES, 1]]


async def test_injection_through_metadata_filters_matches_nothing_and_breaks_nothing(api: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex
    thread_id = await new_thread(api, tag=tag)
    for filter_ in hostile_filters(tag):
        for path in ("/threads/search", "/assistants/search", "/runs/crons/search"):
            assert ok(await api.post(path, json={"metadata": filter_})) == [], (path, filter_)
        for path in ("/threads/count", "/assistants/count", "/runs/crons/count"):
            assert ok(await api.post(path, json={"metadata": filter_})) == 0, (path, filter_)
        assert ok(await api.post("/store/items/search", json={"filter": filter_})) == {"items": []}, filter_
    await assert_the_tables_still_work(api, tag, thread_id)


async def assert_the_tables_still_work(api: httpx.AsyncClient, tag: str, thread_id: str) -> None:
    """The keys are data: stored under a hostile key, a row is found by exactly that key."""
    key, value = HOSTILE_KEYS[0], HOSTILE_VALUES[0]
    found = await api.post("/threads/search", json={"metadata": {"tag": tag}})
    assert [t["thread_id"] for t in found.json()] == [thread_id]
    hostile = await new_thread(api, tag=tag, **{key: value})
    found = await api.post("/threads/search", json={"metadata": {"tag": tag, key: value}})
    assert [t["thread_id"] for t in found.json()] == [hostile]
    assistant = await api.post("/assistants", json={"graph_id": "plain", "metadata": {"tag": tag, key: value}})
    assert assistant.status_code == 200
    assert await tagged_count(api, "assistants", tag) == 1
    namespace = ["hostile", tag]
    put = await api.put("/store/items", json={"namespace": namespace, "key": "k", "value": {key: value}})
    assert put.status_code == 204
    searched = await api.post("/store/items/search", json={"namespace_prefix": namespace, "filter": {key: value}})
    assert [item["key"] for item in searched.json()["items"]] == ["k"]


# --- Unknown fields ---------------------------------------------------------------------------------------------


async def test_unknown_fields_are_ignored_in_every_body(api: httpx.AsyncClient) -> None:
    """As the reference server does: an unknown field neither fails the request nor is stored."""
    extra = {"unknown_field": "x", "__proto__": {"polluted": True}, "id": "not-ours"}
    tag = uuid.uuid4().hex
    thread = ok(await api.post("/threads", json={"metadata": {"tag": tag}, **extra}))
    assistant = ok(await api.post("/assistants", json={"graph_id": "plain", **extra}))
    run = ok(await api.post(f"/threads/{thread['thread_id']}/runs",
                            json={"assistant_id": "plain", "input": {}, **extra}))
    cron = ok(await api.post("/runs/crons", json={"assistant_id": "plain", "schedule": "0 0 1 1 *", **extra}))
    for created in (thread, assistant, run, run["kwargs"], cron):
        assert not extra.keys() & created.keys(), created
    patched = ok(await api.patch(f"/threads/{thread['thread_id']}", json={"metadata": {"b": 1}, **extra}))
    assert patched["metadata"]["b"] == 1
    assert not extra.keys() & (patched.keys() | patched["metadata"].keys())
    ok(await api.put("/store/items", json={"namespace": ["x", tag], "key": "k", "value": {}, **extra}))
    for path, body in [("/threads/search", {"metadata": {"tag": tag}}), ("/threads/count", {}),
                       ("/assistants/search", {}), ("/runs/crons/search", {}), ("/store/items/search", {}),
                       ("/store/namespaces", {})]:
        ok(await api.post(path, json={**body, **extra}))
    ok(await api.delete(f"/runs/crons/{cron['cron_id']}"))
