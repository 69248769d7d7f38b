"""/store: items (put, get, delete), search (prefix, filter, pagination), namespaces, TTL, and bad input.

The session's app has no `store.index`: semantic search is covered by test_store_semantic.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from helpers import assert_error, tag
from langgraph.store.base import GetOp, PutOp
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from agent_server.app import create_app
from agent_server.config import StoreConfig, TTLConfig
from agent_server.db.langgraph import ServerStore


def ns(*labels: str) -> list[str]:
    """A namespace unique to the calling test."""
    return ["store-test", *labels]


async def put(http: httpx.AsyncClient, namespace: list[str], key: str, value: dict[str, Any], **extra: Any) -> None:
    response = await http.put("/store/items", json={"namespace": namespace, "key": key, "value": value, **extra})
    assert response.status_code == 204, response.text


async def search_keys(client: LangGraphClient, prefix: list[str], **kwargs: Any) -> list[str]:
    found = await client.store.search_items(prefix, **kwargs)
    return [item["key"] for item in found["items"]]


async def assert_nothing_under(client: LangGraphClient, prefix: list[str]) -> None:
    assert (await client.store.search_items(prefix, limit=1000))["items"] == []
    assert (await client.store.list_namespaces(prefix=prefix))["namespaces"] == []


# --- items -------------------------------------------------------------------------------------------------


async def test_put_answers_204_and_get_returns_the_item(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    namespace = ns(tag(), "docs")
    response = await http.put("/store/items", json={"namespace": namespace, "key": "k1", "value": {"text": "hi"}})
    assert response.status_code == 204
    assert response.content == b""
    item = await client.store.get_item(namespace, "k1")
    assert item["namespace"] == namespace
    assert item["key"] == "k1"
    assert item["value"] == {"text": "hi"}
    created, updated = datetime.fromisoformat(item["created_at"]), datetime.fromisoformat(item["updated_at"])
    assert created.tzinfo is not None
    assert created == updated
    assert set(item) == {"namespace", "key", "value", "created_at", "updated_at"}


async def test_sdk_put_stores_nested_json(client: LangGraphClient) -> None:
    namespace = ns(tag())
    value = {"s": "ünïcode ✓", "n": 1.5, "b": False, "none": None, "list": [1, {"a": [2]}], "deep": {"x": {"y": 1}}}
    await client.store.put_item(namespace, "k", value)
    assert (await client.store.get_item(namespace, "k"))["value"] == value


async def test_put_overwrites_value_and_moves_updated_at(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "k", {"v": 1, "old": True})
    first = await client.store.get_item(namespace, "k")
    await asyncio.sleep(0.01)
    await client.store.put_item(namespace, "k", {"v": 2})
    second = await client.store.get_item(namespace, "k")
    assert second["value"] == {"v": 2}
    assert second["created_at"] == first["created_at"]
    assert datetime.fromisoformat(second["updated_at"]) > datetime.fromisoformat(first["updated_at"])


async def test_missing_item_is_null(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    namespace = ns(tag())
    response = await http.get("/store/items", params={"namespace": ".".join(namespace), "key": "missing"})
    assert response.status_code == 200
    assert response.content == b"null"
    assert await client.store.get_item(namespace, "missing") is None


async def test_item_is_only_found_in_its_own_namespace(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": 1})
    assert await client.store.get_item(ns(t, "b"), "k") is None
    assert await client.store.get_item(ns(t), "k") is None
    assert await client.store.get_item(ns(t, "a", "child"), "k") is None
    assert await client.store.get_item(ns(t, "a"), "K") is None
    assert (await client.store.get_item(ns(t, "a"), "k"))["value"] == {"v": 1}


async def test_same_key_in_two_namespaces_are_two_items(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": "a"})
    await client.store.put_item(ns(t, "b"), "k", {"v": "b"})
    assert (await client.store.get_item(ns(t, "a"), "k"))["value"] == {"v": "a"}
    assert (await client.store.get_item(ns(t, "b"), "k"))["value"] == {"v": "b"}


async def test_raw_get_takes_a_dotted_namespace(http: httpx.AsyncClient) -> None:
    t = tag()
    await put(http, ["store-test", t, "x"], "k", {"x": 1})
    response = await http.get("/store/items", params={"namespace": f"store-test.{t}.x", "key": "k"})
    assert response.status_code == 200
    assert response.json()["namespace"] == ["store-test", t, "x"]
    assert response.json()["value"] == {"x": 1}


async def test_delete_item(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "gone", {"v": 1})
    await client.store.put_item(namespace, "kept", {"v": 2})
    response = await http.request("DELETE", "/store/items", json={"namespace": namespace, "key": "gone"})
    assert response.status_code == 204
    assert await client.store.get_item(namespace, "gone") is None
    assert (await client.store.get_item(namespace, "kept"))["value"] == {"v": 2}


async def test_delete_missing_item_is_a_no_op(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "kept", {"v": 1})
    await client.store.delete_item(namespace, "never-stored")
    assert (await client.store.get_item(namespace, "kept"))["value"] == {"v": 1}


async def test_labels_and_keys_may_hold_any_text_but_dots(client: LangGraphClient) -> None:
    namespace = ns(tag(), "user_1", "%", "with space", "ü")
    await client.store.put_item(namespace, "key with/slash?&", {"v": 1})
    assert (await client.store.get_item(namespace, "key with/slash?&"))["value"] == {"v": 1}


async def test_prefix_labels_are_matched_literally(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "userX1"), "k", {"v": 1})
    await client.store.put_item(ns(t, "user%"), "k", {"v": 1})
    assert await search_keys(client, ns(t, "user_1")) == []
    assert await search_keys(client, ns(t, "user%")) == ["k"]
    assert (await client.store.list_namespaces(prefix=ns(t, "user_1")))["namespaces"] == []


# --- search ------------------------------------------------------------------------------------------------


async def test_search_by_namespace_prefix(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k1", {"v": 1})
    await client.store.put_item(ns(t, "a"), "k2", {"v": 2})
    await client.store.put_item(ns(t, "a", "deep"), "k3", {"v": 3})
    await client.store.put_item(ns(t, "b"), "k4", {"v": 4})
    await client.store.put_item(ns(t + "x"), "other", {"v": 5})  # shares the text prefix, not the label
    assert sorted(await search_keys(client, ns(t))) == ["k1", "k2", "k3", "k4"]
    assert sorted(await search_keys(client, ns(t, "a"))) == ["k1", "k2", "k3"]
    assert await search_keys(client, ns(t, "a", "deep")) == ["k3"]
    assert await search_keys(client, ns(t, "c")) == []


async def test_search_items_have_the_reference_shape(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "k", {"v": 1})
    items = (await client.store.search_items(namespace))["items"]
    assert len(items) == 1
    assert set(items[0]) == {"namespace", "key", "value", "created_at", "updated_at", "score"}
    assert items[0]["namespace"] == namespace
    assert items[0]["value"] == {"v": 1}
    assert items[0]["score"] is None


async def test_search_lists_newest_updated_first(client: LangGraphClient) -> None:
    namespace = ns(tag())
    for key in ("first", "second", "third"):
        await client.store.put_item(namespace, key, {"v": key})
        await asyncio.sleep(0.005)
    await client.store.put_item(namespace, "first", {"v": "touched"})
    assert await search_keys(client, namespace) == ["first", "third", "second"]


async def test_search_without_prefix_reaches_every_namespace(http: httpx.AsyncClient) -> None:
    t = tag()
    await put(http, ns(t), "k", {"marker": t})
    for body in ({"filter": {"marker": t}}, {"namespace_prefix": [], "filter": {"marker": t}},
                 {"namespace_prefix": None, "filter": {"marker": t}}):
        response = await http.post("/store/items/search", json=body)
        assert response.status_code == 200, body
        assert [i["key"] for i in response.json()["items"]] == ["k"]


async def test_search_filter_equality(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "red1", {"color": "red", "n": 1, "tags": ["a", "b"]})
    await client.store.put_item(namespace, "blue", {"color": "blue", "n": 2, "tags": ["a"]})
    await client.store.put_item(namespace, "red2", {"color": "red", "n": 3, "flag": True})
    assert sorted(await search_keys(client, namespace, filter={"color": "red"})) == ["red1", "red2"]
    assert await search_keys(client, namespace, filter={"color": "red", "n": 3}) == ["red2"]
    assert await search_keys(client, namespace, filter={"n": 2}) == ["blue"]
    assert await search_keys(client, namespace, filter={"tags": ["a", "b"]}) == ["red1"]
    assert await search_keys(client, namespace, filter={"flag": True}) == ["red2"]
    assert await search_keys(client, namespace, filter={"color": "green"}) == []
    assert await search_keys(client, namespace, filter={"n": "1"}) == []  # JSON types are compared too


async def test_search_filter_operators(client: LangGraphClient) -> None:
    namespace = ns(tag())
    for i in range(1, 6):
        await client.store.put_item(namespace, f"k{i}", {"n": i, "name": "abcde"[i - 1]})
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"n": {"$gt": 3}}, ["k4", "k5"]),
        ({"n": {"$gte": 3}}, ["k3", "k4", "k5"]),
        ({"n": {"$lt": 2}}, ["k1"]),
        ({"n": {"$lte": 2}}, ["k1", "k2"]),
        ({"n": {"$gt": 1, "$lt": 4}}, ["k2", "k3"]),
        ({"n": {"$eq": 4}}, ["k4"]),
        ({"n": {"$ne": 4}}, ["k1", "k2", "k3", "k5"]),
        ({"name": {"$gte": "d"}}, ["k4", "k5"]),
        ({"name": {"$ne": "a"}, "n": {"$lte": 3}}, ["k2", "k3"]),
    ]
    for filter_, expected in cases:
        assert sorted(await search_keys(client, namespace, filter=filter_)) == expected, filter_


async def test_search_filter_comparisons_are_numeric(client: LangGraphClient) -> None:
    namespace = ns(tag())
    for n in (2, 9, 10, 100):
        await client.store.put_item(namespace, f"k{n}", {"n": n})
    assert sorted(await search_keys(client, namespace, filter={"n": {"$gt": 5}})) == ["k10", "k100", "k9"]


async def test_search_filter_on_a_nested_object_matches_it_whole(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "a", {"meta": {"kind": "x", "level": 1}})
    await client.store.put_item(namespace, "b", {"meta": {"kind": "y", "level": 1}})
    assert await search_keys(client, namespace, filter={"meta": {"kind": "x", "level": 1}}) == ["a"]
    assert await search_keys(client, namespace, filter={"meta": {"$eq": {"kind": "y", "level": 1}}}) == ["b"]


async def test_search_with_query_but_no_index_lists_items_unscored(client: LangGraphClient) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "old", {"text": "apple"})
    await asyncio.sleep(0.005)
    await client.store.put_item(namespace, "new", {"text": "car"})
    items = (await client.store.search_items(namespace, query="apple"))["items"]
    assert [i["key"] for i in items] == ["new", "old"]
    assert all(i["score"] is None for i in items)


async def test_search_limit_and_offset(client: LangGraphClient) -> None:
    namespace = ns(tag())
    for i in range(5):
        await client.store.put_item(namespace, f"k{i}", {"i": i})
    pages = [await search_keys(client, namespace, limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert sorted(k for p in pages for k in p) == [f"k{i}" for i in range(5)]


async def test_search_default_limit_is_10(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    namespace = ns(tag())
    for i in range(12):
        await client.store.put_item(namespace, f"k{i:02d}", {"i": i})
    assert len(await search_keys(client, namespace)) == 10
    raw = await http.post("/store/items/search", json={"namespace_prefix": namespace})
    assert len(raw.json()["items"]) == 10
    zero = await http.post("/store/items/search", json={"namespace_prefix": namespace, "limit": 0})
    assert len(zero.json()["items"]) == 10  # the reference reads a 0 limit as the default
    assert len(await search_keys(client, namespace, limit=12)) == 12


async def test_search_huge_limit_and_offset_are_capped(http: httpx.AsyncClient) -> None:
    namespace = ns(tag())
    for i in range(3):
        await put(http, namespace, f"k{i}", {"i": i})
    big = await http.post("/store/items/search", json={"namespace_prefix": namespace, "limit": 10**12})
    assert big.status_code == 200
    assert len(big.json()["items"]) == 3
    far = await http.post("/store/items/search", json={"namespace_prefix": namespace, "offset": 10**30})
    assert far.status_code == 200
    assert far.json() == {"items": []}


# --- namespaces --------------------------------------------------------------------------------------------


async def test_list_namespaces_by_prefix(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": 1})
    await client.store.put_item(ns(t, "a"), "k2", {"v": 1})
    await client.store.put_item(ns(t, "b"), "k", {"v": 1})
    await client.store.put_item(ns(t, "b", "c"), "k", {"v": 1})
    await client.store.put_item(ns(t + "x"), "k", {"v": 1})
    found = (await client.store.list_namespaces(prefix=ns(t)))["namespaces"]
    assert found == [ns(t, "a"), ns(t, "b"), ns(t, "b", "c")]


async def test_list_namespaces_max_depth_truncates_and_deduplicates(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": 1})
    await client.store.put_item(ns(t, "b", "c"), "k", {"v": 1})
    await client.store.put_item(ns(t, "b", "d"), "k", {"v": 1})
    assert (await client.store.list_namespaces(prefix=ns(t), max_depth=3))["namespaces"] == [ns(t, "a"), ns(t, "b")]
    assert (await client.store.list_namespaces(prefix=ns(t), max_depth=2))["namespaces"] == [ns(t)]
    deep = (await client.store.list_namespaces(prefix=ns(t), max_depth=10**15))["namespaces"]
    assert deep == [ns(t, "a"), ns(t, "b", "c"), ns(t, "b", "d")]


async def test_list_namespaces_by_suffix_and_wildcard(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a", "x"), "k", {"v": 1})
    await client.store.put_item(ns(t, "b", "y"), "k", {"v": 1})
    await client.store.put_item(ns(t, "c", "xy"), "k", {"v": 1})
    assert (await client.store.list_namespaces(prefix=ns(t), suffix=["y"]))["namespaces"] == [ns(t, "b", "y")]
    assert (await client.store.list_namespaces(prefix=ns(t), suffix=["b", "y"]))["namespaces"] == [ns(t, "b", "y")]
    wildcard = await client.store.list_namespaces(prefix=["store-test", t, "*", "x"])
    assert wildcard["namespaces"] == [ns(t, "a", "x")]


async def test_list_namespaces_limit_and_offset(client: LangGraphClient) -> None:
    t = tag()
    for name in ("a", "b", "c"):
        await client.store.put_item(ns(t, name), "k", {"v": 1})
    first = (await client.store.list_namespaces(prefix=ns(t), limit=2))["namespaces"]
    rest = (await client.store.list_namespaces(prefix=ns(t), limit=2, offset=2))["namespaces"]
    assert first == [ns(t, "a"), ns(t, "b")]
    assert rest == [ns(t, "c")]
    assert (await client.store.list_namespaces(prefix=ns(t), limit=0))["namespaces"] == []


async def test_list_namespaces_default_limit_is_100(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = tag()
    for i in range(101):
        await put(http, ns(t, f"n{i:03d}"), "k", {})
    assert len((await client.store.list_namespaces(prefix=ns(t)))["namespaces"]) == 100
    raw = await http.post("/store/namespaces", json={"prefix": ns(t), "limit": 5000})
    assert len(raw.json()["namespaces"]) == 101


async def test_deleted_items_leave_no_namespace(client: LangGraphClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": 1})
    await client.store.delete_item(ns(t, "a"), "k")
    assert (await client.store.list_namespaces(prefix=ns(t)))["namespaces"] == []


# --- TTL ---------------------------------------------------------------------------------------------------


async def expiry_of(database_url: str, namespace: list[str], key: str) -> tuple[datetime | None, float | None]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT expires_at, ttl_minutes FROM store WHERE prefix = %s AND key = %s", (".".join(namespace), key)
        )
        row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]


async def test_put_with_ttl_sets_an_expiry_and_reads_refresh_it(client: LangGraphClient, database_url: str) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "k", {"v": 1}, ttl=5)
    expires, minutes = await expiry_of(database_url, namespace, "k")
    assert minutes == 5
    assert expires is not None
    assert timedelta(minutes=4) < expires - datetime.now(UTC) <= timedelta(minutes=5)
    item = await client.store.get_item(namespace, "k", refresh_ttl=False)
    assert item["value"] == {"v": 1}
    assert (await expiry_of(database_url, namespace, "k"))[0] == expires
    await asyncio.sleep(0.01)
    await client.store.get_item(namespace, "k", refresh_ttl=True)
    refreshed = (await expiry_of(database_url, namespace, "k"))[0]
    assert refreshed is not None
    assert refreshed > expires
    await client.store.search_items(namespace, refresh_ttl=False)
    assert (await expiry_of(database_url, namespace, "k"))[0] == refreshed
    await asyncio.sleep(0.01)
    await client.store.search_items(namespace, refresh_ttl=True)
    searched = (await expiry_of(database_url, namespace, "k"))[0]
    assert searched is not None
    assert searched > refreshed
    await asyncio.sleep(0.01)
    await client.store.get_item(namespace, "k")  # without a store.ttl config, reads refresh by default
    by_default = (await expiry_of(database_url, namespace, "k"))[0]
    assert by_default is not None
    assert by_default > searched


async def test_fractional_ttl_expires_after_that_many_minutes(client: LangGraphClient, database_url: str) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "k", {"v": 1}, ttl=0.5)
    expires, _ = await expiry_of(database_url, namespace, "k")
    assert expires is not None
    assert timedelta(seconds=20) < expires - datetime.now(UTC) <= timedelta(seconds=30)


async def test_put_without_ttl_never_expires(client: LangGraphClient, database_url: str) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "k", {"v": 1}, ttl=5)
    await client.store.put_item(namespace, "k", {"v": 2})  # an overwrite without ttl clears it
    assert await expiry_of(database_url, namespace, "k") == (None, None)


async def test_expired_item_disappears_after_a_sweep(client: LangGraphClient, served: ServedApp) -> None:
    namespace = ns(tag())
    await client.store.put_item(namespace, "short", {"v": 1}, ttl=0.001)  # 60 ms
    await client.store.put_item(namespace, "long", {"v": 2}, ttl=60)
    await client.store.put_item(namespace, "forever", {"v": 3})
    await asyncio.sleep(0.2)
    assert await served.app.state.olg.store.sweep_ttl() >= 1
    assert await client.store.get_item(namespace, "short") is None
    assert (await client.store.get_item(namespace, "long"))["value"] == {"v": 2}
    assert sorted(await search_keys(client, namespace)) == ["forever", "long"]


@pytest_asyncio.fixture(scope="module")
async def ttl_default_url(database_url: str) -> AsyncIterator[str]:
    """A second app on the session database whose config sets `store.ttl` (and hosts no workers)."""
    config = project_config(store=StoreConfig(ttl=TTLConfig(default_ttl=30, refresh_on_read=False)))
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0), config)
    async with ServedApp(app) as served:
        yield served.url


@pytest_asyncio.fixture
async def ttl_default_client(ttl_default_url: str) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=ttl_default_url, api_key=None)
    try:
        yield sdk
    finally:
        await sdk.aclose()


async def test_configured_default_ttl_applies_when_ttl_is_left_out(
    ttl_default_client: LangGraphClient, ttl_default_url: str, database_url: str
) -> None:
    namespace = ns(tag())
    await ttl_default_client.store.put_item(namespace, "default", {"v": 1})
    await ttl_default_client.store.put_item(namespace, "own", {"v": 1}, ttl=5)
    async with httpx.AsyncClient(base_url=ttl_default_url) as raw:
        await put(raw, namespace, "never", {}, ttl=None)
    expires, minutes = await expiry_of(database_url, namespace, "default")
    assert minutes == 30
    assert expires is not None
    assert (await expiry_of(database_url, namespace, "own"))[1] == 5
    assert await expiry_of(database_url, namespace, "never") == (None, None)


async def test_configured_refresh_on_read_false_keeps_expiry_unless_asked(
    ttl_default_client: LangGraphClient, database_url: str
) -> None:
    namespace = ns(tag())
    await ttl_default_client.store.put_item(namespace, "k", {"v": 1}, ttl=5)
    expires = (await expiry_of(database_url, namespace, "k"))[0]
    await asyncio.sleep(0.01)
    assert (await ttl_default_client.store.get_item(namespace, "k"))["value"] == {"v": 1}
    await ttl_default_client.store.search_items(namespace)
    assert (await expiry_of(database_url, namespace, "k"))[0] == expires
    await ttl_default_client.store.get_item(namespace, "k", refresh_ttl=True)
    refreshed = (await expiry_of(database_url, namespace, "k"))[0]
    assert refreshed is not None
    assert expires is not None
    assert refreshed > expires


async def test_a_single_get_reads_as_langgraph_s_batched_get(served: ServedApp, database_url: str) -> None:
    """ServerStore answers one get with its own statement, and several with LangGraph's: the same items."""
    store = served.app.state.olg.store
    assert isinstance(store, ServerStore)
    namespace = tuple(ns(tag()))
    await store.abatch([PutOp(namespace, "a", {"v": [1, "x"]}, ttl=5), PutOp(namespace, "b", {"v": 2})])
    for key in ("a", "b", "missing"):
        for refresh in (False, True):
            (alone,) = await store.abatch([GetOp(namespace, key, refresh_ttl=refresh)])
            batched, _ = await store.abatch([GetOp(namespace, key, refresh_ttl=refresh), GetOp(namespace, "zz")])
            assert (alone and alone.dict()) == (batched and batched.dict())
    expires = (await expiry_of(database_url, list(namespace), "a"))[0]
    await store.abatch([GetOp(namespace, "a", refresh_ttl=False)])
    assert (await expiry_of(database_url, list(namespace), "a"))[0] == expires
    await asyncio.sleep(0.01)
    await store.abatch([GetOp(namespace, "a", refresh_ttl=True)])
    refreshed = (await expiry_of(database_url, list(namespace), "a"))[0]
    assert refreshed is not None
    assert expires is not None
    assert refreshed > expires


# --- bad input: a 4xx with a detail, and nothing stored ----------------------------------------------------

BAD_PUTS: list[tuple[str, dict[str, Any]]] = [
    ("value is a string", {"value": "not-a-dict"}),
    ("value is a list", {"value": [1, 2]}),
    ("value is null", {"value": None}),
    ("value missing", {"value": ...}),
    ("value holds NUL", {"value": {"s": "a\x00b"}}),
    ("value key holds NUL", {"value": {"a\x00": 1}}),
    ("key missing", {"key": ...}),
    ("key empty", {"key": ""}),
    ("key a number", {"key": 5}),
    ("key holds NUL", {"key": "a\x00"}),
    ("index true", {"index": True}),
    ("index 0", {"index": 0}),
    ("index a string", {"index": "text"}),
    ("index with an empty path", {"index": [""]}),
    ("ttl zero", {"ttl": 0}),
    ("ttl negative", {"ttl": -1}),
    ("ttl a string", {"ttl": "5"}),
    ("ttl a boolean", {"ttl": True}),
    ("ttl too large", {"ttl": 1e300}),
]

BAD_NAMESPACES: list[tuple[str, Any]] = [
    ("empty", []),
    ("dotted label", ["store-test", "a.b"]),
    ("empty label", ["store-test", ""]),
    ("NUL in label", ["store-test", "a\x00"]),
    ("number label", ["store-test", 1]),
    ("not a list", "store-test"),
    ("reserved root", ["langgraph", "x"]),
]


@pytest.mark.parametrize(("case", "change"), BAD_PUTS, ids=[c for c, _ in BAD_PUTS])
async def test_bad_put_is_422_and_stores_nothing(
    client: LangGraphClient, http: httpx.AsyncClient, case: str, change: dict[str, Any]
) -> None:
    namespace = ns(tag())
    body = {"namespace": namespace, "key": "k", "value": {"v": 1}, **change}
    body = {k: v for k, v in body.items() if v is not ...}
    assert_error(await http.put("/store/items", json=body), 422)
    await assert_nothing_under(client, namespace)


@pytest.mark.parametrize(("case", "namespace"), BAD_NAMESPACES, ids=[c for c, _ in BAD_NAMESPACES])
async def test_bad_namespace_put_is_422_and_stores_nothing(
    client: LangGraphClient, http: httpx.AsyncClient, case: str, namespace: Any
) -> None:
    marker = tag()
    response = await http.put("/store/items", json={"namespace": namespace, "key": marker, "value": {"m": marker}})
    assert_error(response, 422)
    assert (await client.store.search_items([], filter={"m": marker}))["items"] == []


@pytest.mark.parametrize("raw", [b'{"namespace": ["store-test"], "key": "k", "value": {"x": NaN}}',
                                 b'{"namespace": ["store-test"], "key": "k", "value": {"x": Infinity}}',
                                 b'{"namespace": ["store-test"], "key": "k", "value": {}, "ttl": Infinity}',
                                 b'{"namespace": ["store-test"], "key": "k", "value": ',
                                 b"not json"])
async def test_put_non_json_numbers_and_broken_bodies_are_422(http: httpx.AsyncClient, raw: bytes) -> None:
    response = await http.put("/store/items", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422)
    assert (await http.get("/store/items", params={"namespace": "store-test", "key": "k"})).json() is None


async def test_bad_delete_is_422_and_deletes_nothing(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    t = tag()
    await client.store.put_item(ns(t, "a"), "k", {"v": 1})
    for body in ({"namespace": ["store-test", f"{t}.a"], "key": "k"}, {"namespace": [], "key": "k"},
                 {"key": "k"}, {"namespace": ns(t, "a")}, {"namespace": ns(t, "a"), "key": ""}):
        assert_error(await http.request("DELETE", "/store/items", json=body), 422)
    assert (await client.store.get_item(ns(t, "a"), "k"))["value"] == {"v": 1}


async def test_bad_get_is_4xx(http: httpx.AsyncClient) -> None:
    t = tag()
    await put(http, ns(t), "k", {"v": 1})
    dotted = f"store-test.{t}"
    assert_error(await http.get("/store/items", params={"namespace": dotted}), 400)
    assert_error(await http.get("/store/items", params={"namespace": dotted, "key": ""}), 400)
    assert_error(await http.get("/store/items", params={"namespace": dotted, "key": "a\x00"}), 422)
    assert_error(await http.get("/store/items", params={"key": "k"}), 422)
    for bad in (f"{dotted}.", f".{dotted}", f"store-test..{t}", "a\x00b"):
        assert_error(await http.get("/store/items", params={"namespace": bad, "key": "k"}), 422)
    bad_flag = await http.get("/store/items", params={"namespace": dotted, "key": "k", "refresh_ttl": "x"})
    assert_error(bad_flag, 422)
    assert bad_flag.json()["errors"] == [{"loc": ["query", "refresh_ttl"], "type": "bool_parsing",
                                          "msg": "Input should be a valid boolean, unable to interpret input"}]
    for flag in ("true", "False", "1", "0", "yes", "off"):  # FastAPI's spellings of a boolean
        response = await http.get("/store/items", params={"namespace": dotted, "key": "k", "refresh_ttl": flag})
        assert response.json()["value"] == {"v": 1}


BAD_SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("negative limit", {"limit": -1}),
    ("string limit", {"limit": "5"}),
    ("negative offset", {"offset": -1}),
    ("dotted prefix label", {"namespace_prefix": ["a.b"]}),
    ("empty prefix label", {"namespace_prefix": ["store-test", ""]}),
    ("filter not an object", {"filter": ["a"]}),
    ("unknown operator", {"filter": {"n": {"$in": [1]}}}),
    ("operators mixed with fields", {"filter": {"n": {"$gt": 1, "x": 2}}}),
    ("comparison with an object", {"filter": {"n": {"$gt": {"a": 1}}}}),
    ("comparison with a boolean", {"filter": {"n": {"$lt": True}}}),
    ("NUL in filter", {"filter": {"s": "a\x00"}}),
    ("query not a string", {"query": 5}),
    ("refresh_ttl not a boolean", {"refresh_ttl": "yes"}),
]


@pytest.mark.parametrize(("case", "body"), BAD_SEARCHES, ids=[c for c, _ in BAD_SEARCHES])
async def test_bad_search_is_422(http: httpx.AsyncClient, case: str, body: dict[str, Any]) -> None:
    assert_error(await http.post("/store/items/search", json={"namespace_prefix": ["store-test"], **body}), 422)


BAD_LISTS: list[tuple[str, dict[str, Any]]] = [
    ("max_depth zero", {"max_depth": 0}),
    ("max_depth negative", {"max_depth": -2}),
    ("negative limit", {"limit": -1}),
    ("negative offset", {"offset": -1}),
    ("dotted prefix label", {"prefix": ["a.b"]}),
    ("dotted suffix label", {"suffix": ["a.b"]}),
    ("empty suffix label", {"suffix": [""]}),
    ("prefix not a list", {"prefix": "store-test"}),
]


@pytest.mark.parametrize(("case", "body"), BAD_LISTS, ids=[c for c, _ in BAD_LISTS])
async def test_bad_list_namespaces_is_422(http: httpx.AsyncClient, case: str, body: dict[str, Any]) -> None:
    assert_error(await http.post("/store/namespaces", json=body), 422)


async def test_sdk_refuses_dotted_labels_before_sending(client: LangGraphClient) -> None:
    with pytest.raises(ValueError, match="periods"):
        await client.store.put_item(["a.b"], "k", {})


async def test_openapi_lists_the_store_routes(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert set(paths["/store/items"]) == {"put", "get", "delete"}
    assert "post" in paths["/store/items/search"]
    assert "post" in paths["/store/namespaces"]
