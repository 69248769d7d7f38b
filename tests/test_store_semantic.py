"""Semantic store search: a store index (tests/store_project) on an embedded PostgreSQL 16 with pgvector.

The CI PostgreSQL has no pgvector, so this module starts its own server with pgserver and its own app
(configured with `store.index`, a hashed bag-of-words embedding of the `text` field, 64 dims).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conftest import ServedApp, fresh_embedded_dir, make_settings
from helpers import tag
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from store_project.embed import DIMS, bucket, vector

from agent_server.app import create_app
from agent_server.config import load_config
from agent_server.db.embedded import embedded_postgres

STORE_PROJECT = Path(__file__).parent / "store_project"

pytestmark = pytest.mark.embedded

# Words the tests use; no two may share a hash bucket, or unrelated texts would look alike.
VOCABULARY = ("apple pie recipe car engine repair banana split orchard fruit motor road harbor river "
              "sweet cake tart stone jam").split()


@pytest.fixture(scope="module")
def pgvector_url() -> Iterator[str]:
    with fresh_embedded_dir() as folder, embedded_postgres(folder) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def semantic_url(pgvector_url: str) -> AsyncIterator[str]:
    settings = make_settings(pgvector_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0)
    app = create_app(settings, load_config(STORE_PROJECT / "langgraph.json"))
    async with ServedApp(app) as served:
        yield served.url


@pytest_asyncio.fixture
async def sdk(semantic_url: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=semantic_url, api_key=None)
    try:
        yield client
    finally:
        await client.aclose()


async def query(sdk: LangGraphClient, namespace: list[str], text: str, **kwargs: Any) -> list[tuple[str, float]]:
    found = (await sdk.store.search_items(namespace, query=text, **kwargs))["items"]
    assert all(isinstance(item["score"], float) for item in found), found
    return [(item["key"], item["score"]) for item in found]


def test_embedding_is_deterministic_and_separates_the_test_words() -> None:
    assert len({bucket(word) for word in VOCABULARY}) == len(VOCABULARY)
    assert vector("Apple pie") == vector("pie apple") == vector("apple, PIE!")
    assert len(vector("")) == DIMS
    assert sum(v * v for v in vector("apple pie apple")) == pytest.approx(1.0)


async def test_query_ranks_related_items_first_with_a_score(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "pie", {"text": "apple pie recipe"})
    await sdk.store.put_item(namespace, "car", {"text": "car engine repair"})
    await sdk.store.put_item(namespace, "jam", {"text": "apple jam"})
    ranked = await query(sdk, namespace, "apple jam")
    assert [key for key, _ in ranked] == ["jam", "pie", "car"]
    scores = dict(ranked)
    assert scores["jam"] == pytest.approx(1.0)
    assert scores["pie"] == pytest.approx(1 / (3**0.5 * 2**0.5))
    assert scores["car"] == pytest.approx(0.0, abs=1e-6)


async def test_items_put_with_index_false_are_not_scored(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "indexed", {"text": "banana split"})
    await sdk.store.put_item(namespace, "hidden", {"text": "banana split"}, index=False)
    assert await query(sdk, namespace, "banana") == [("indexed", pytest.approx(1 / 2**0.5))]
    listed = (await sdk.store.search_items(namespace))["items"]
    assert sorted(item["key"] for item in listed) == ["hidden", "indexed"]
    assert (await sdk.store.get_item(namespace, "hidden"))["value"] == {"text": "banana split"}


async def test_index_names_the_fields_to_embed(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "by_title", {"text": "motor road", "title": "orchard fruit"}, index=["title"])
    await sdk.store.put_item(namespace, "by_text", {"text": "harbor river", "title": "orchard fruit"})
    ranked = await query(sdk, namespace, "orchard fruit")
    assert ranked[0] == ("by_title", pytest.approx(1.0))
    assert ranked[1] == ("by_text", pytest.approx(0.0, abs=1e-6))
    unindexed_text = dict(await query(sdk, namespace, "motor road"))
    assert unindexed_text == {"by_title": pytest.approx(0.0, abs=1e-6), "by_text": pytest.approx(0.0, abs=1e-6)}


async def test_items_without_the_indexed_field_are_not_scored(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "with", {"text": "apple"})
    await sdk.store.put_item(namespace, "without", {"body": "apple"})
    assert [key for key, _ in await query(sdk, namespace, "apple")] == ["with"]


async def test_filter_and_query_combine(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "cake", {"text": "sweet cake", "kind": "food", "n": 1})
    await sdk.store.put_item(namespace, "tart", {"text": "sweet tart", "kind": "food", "n": 2})
    await sdk.store.put_item(namespace, "motor", {"text": "sweet tart motor", "kind": "vehicle", "n": 3})
    await sdk.store.put_item(namespace, "stone", {"text": "stone road", "kind": "food", "n": 4})
    ranked = await query(sdk, namespace, "sweet tart", filter={"kind": "food"})
    assert [key for key, _ in ranked] == ["tart", "cake", "stone"]
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    ranked = await query(sdk, namespace, "sweet tart", filter={"n": {"$gte": 2}})
    assert [key for key, _ in ranked] == ["tart", "motor", "stone"]


async def test_query_respects_the_namespace_prefix(sdk: LangGraphClient) -> None:
    t = tag()
    await sdk.store.put_item(["sem", t, "a"], "in", {"text": "apple"})
    await sdk.store.put_item(["sem", t, "b"], "out", {"text": "apple"})
    assert [key for key, _ in await query(sdk, ["sem", t, "a"], "apple")] == ["in"]
    assert sorted(key for key, _ in await query(sdk, ["sem", t], "apple")) == ["in", "out"]


async def test_query_pages_through_the_ranking(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "three", {"text": "harbor river stone"})
    await sdk.store.put_item(namespace, "two", {"text": "harbor river"})
    await sdk.store.put_item(namespace, "one", {"text": "harbor"})
    full = [key for key, _ in await query(sdk, namespace, "harbor river stone")]
    assert full == ["three", "two", "one"]
    pages = [[key for key, _ in await query(sdk, namespace, "harbor river stone", limit=1, offset=i)] for i in range(4)]
    assert pages == [["three"], ["two"], ["one"], []]


async def test_overwrite_and_delete_update_the_index(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "k", {"text": "apple"})
    await sdk.store.put_item(namespace, "other", {"text": "apple pie"})
    assert [key for key, _ in await query(sdk, namespace, "apple")] == ["k", "other"]
    await sdk.store.put_item(namespace, "k", {"text": "car"})
    assert [key for key, _ in await query(sdk, namespace, "apple")] == ["other", "k"]
    await sdk.store.delete_item(namespace, "other")
    assert [key for key, _ in await query(sdk, namespace, "apple")] == ["k"]


async def test_no_query_or_an_empty_one_lists_items_unscored(sdk: LangGraphClient) -> None:
    namespace = ["sem", tag()]
    await sdk.store.put_item(namespace, "a", {"text": "apple"})
    await sdk.store.put_item(namespace, "b", {"text": "car"})
    for kwargs in ({}, {"query": ""}):
        items = (await sdk.store.search_items(namespace, **kwargs))["items"]
        assert [item["key"] for item in items] == ["b", "a"]
        assert all(item["score"] is None for item in items)
