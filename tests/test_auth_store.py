"""/store with auth: per-user namespaces by default (`auth.store: "user"`), `"shared"`, and `@auth.on.store`.

Users come from the built-in JWT authenticator (`sub`), or from tests/auth_store_handlers.py, whose bearer
token is the identity. Every test uses fresh identities: the store outlives the tests of a session.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from helpers import assert_error, tag

from agent_server.app import create_app
from agent_server.config import AuthConfig

SECRET = "jwt-secret-for-the-store-auth-tests-0123456789"
HANDLERS = Path(__file__).resolve().parent / "auth_store_handlers.py"


def user() -> str:
    return f"user-{tag()[:12]}"


def jwt_headers(identity: str) -> dict[str, str]:
    token = jwt.encode({"sub": identity, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def bearer(identity: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity}"}


async def serve(database_url: str, auth: AuthConfig, **settings: Any) -> ServedApp:
    app = create_app(make_settings(database_url, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0, **settings),
                     project_config(auth=auth))
    return ServedApp(app)


@pytest_asyncio.fixture(scope="module")
async def per_user(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with await serve(database_url, AuthConfig(), jwt={"secret": SECRET}) as served, \
            httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


@pytest_asyncio.fixture(scope="module")
async def shared(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with await serve(database_url, AuthConfig(store="shared"), jwt={"secret": SECRET}) as served, \
            httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


@pytest_asyncio.fixture(scope="module")
async def rewriting(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with await serve(database_url, AuthConfig(path=f"{HANDLERS}:rewriting")) as served, \
            httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


@pytest_asyncio.fixture(scope="module")
async def refusing(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with await serve(database_url, AuthConfig(path=f"{HANDLERS}:refusing")) as served, \
            httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        yield http


# --- calls ---------------------------------------------------------------------------------------------------


async def put(http: httpx.AsyncClient, headers: dict[str, str], namespace: list[str], key: str,
              value: dict[str, Any]) -> httpx.Response:
    return await http.put("/store/items", json={"namespace": namespace, "key": key, "value": value}, headers=headers)


async def get(http: httpx.AsyncClient, headers: dict[str, str], namespace: list[str], key: str) -> httpx.Response:
    return await http.get("/store/items", params={"namespace": ".".join(namespace), "key": key}, headers=headers)


async def delete(http: httpx.AsyncClient, headers: dict[str, str], namespace: list[str], key: str) -> httpx.Response:
    return await http.request("DELETE", "/store/items", json={"namespace": namespace, "key": key}, headers=headers)


async def search(http: httpx.AsyncClient, headers: dict[str, str], prefix: list[str]) -> httpx.Response:
    return await http.post("/store/items/search", json={"namespace_prefix": prefix, "limit": 1000}, headers=headers)


async def namespaces(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await http.post("/store/namespaces", json={"limit": 1000, **body}, headers=headers)


def found(response: httpx.Response) -> list[tuple[list[str], str]]:
    assert response.status_code == 200, response.text
    return [(item["namespace"], item["key"]) for item in response.json()["items"]]


def listed(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(response.json()["namespaces"])


def assert_foreign(response: httpx.Response, identity: str) -> None:
    detail = assert_error(response, 403)["detail"]
    assert "must start with the user's identity" in detail
    assert identity in detail


async def stored_keys(database_url: str, namespace: list[str]) -> list[str]:
    """What is in the store table, whatever the routes say."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        rows = await (await conn.execute("SELECT key FROM store WHERE prefix = %s", (".".join(namespace),))).fetchall()
    return [row[0] for row in rows]


# --- per-user namespaces (the default) -----------------------------------------------------------------------


async def test_anonymous_callers_get_401_on_every_store_route(per_user: httpx.AsyncClient) -> None:
    alice = user()
    for response in (await put(per_user, {}, [alice], "k", {}), await get(per_user, {}, [alice], "k"),
                     await delete(per_user, {}, [alice], "k"), await search(per_user, {}, [alice]),
                     await namespaces(per_user, {})):
        assert_error(response, 401)


async def test_a_user_works_in_namespaces_that_start_with_their_identity(per_user: httpx.AsyncClient) -> None:
    alice = user()
    as_alice = jwt_headers(alice)
    assert (await put(per_user, as_alice, [alice, "notes"], "n1", {"text": "hi"})).status_code == 204
    item = (await get(per_user, as_alice, [alice, "notes"], "n1")).json()
    assert (item["namespace"], item["value"]) == ([alice, "notes"], {"text": "hi"})
    assert found(await search(per_user, as_alice, [alice])) == [([alice, "notes"], "n1")]
    assert found(await search(per_user, as_alice, [])) == [([alice, "notes"], "n1")]
    assert listed(await namespaces(per_user, as_alice)) == [[alice, "notes"]]
    assert listed(await namespaces(per_user, as_alice, prefix=[alice], suffix=["notes"])) == [[alice, "notes"]]
    assert (await delete(per_user, as_alice, [alice, "notes"], "n1")).status_code == 204
    assert (await get(per_user, as_alice, [alice, "notes"], "n1")).json() is None


async def test_another_user_is_refused_every_call_on_a_foreign_namespace(
    per_user: httpx.AsyncClient, database_url: str
) -> None:
    alice, bob = user(), user()
    assert (await put(per_user, jwt_headers(alice), [alice, "notes"], "n1", {"by": "alice"})).status_code == 204
    as_bob = jwt_headers(bob)
    assert_foreign(await get(per_user, as_bob, [alice, "notes"], "n1"), bob)
    assert_foreign(await put(per_user, as_bob, [alice, "notes"], "n1", {"by": "bob"}), bob)
    assert_foreign(await delete(per_user, as_bob, [alice, "notes"], "n1"), bob)
    assert_foreign(await search(per_user, as_bob, [alice]), bob)
    assert_foreign(await namespaces(per_user, as_bob, prefix=[alice]), bob)
    item = (await get(per_user, jwt_headers(alice), [alice, "notes"], "n1")).json()
    assert item["value"] == {"by": "alice"}
    assert await stored_keys(database_url, [alice, "notes"]) == ["n1"]


async def test_a_namespace_that_belongs_to_no_user_is_refused_too(
    per_user: httpx.AsyncClient, database_url: str
) -> None:
    alice, label = user(), f"team-{tag()}"
    assert_foreign(await put(per_user, jwt_headers(alice), [label, alice], "n1", {}), alice)
    assert await stored_keys(database_url, [label, alice]) == []


async def test_without_a_prefix_search_and_listing_show_only_the_users_own_namespaces(
    per_user: httpx.AsyncClient,
) -> None:
    alice, bob = user(), user()
    assert (await put(per_user, jwt_headers(alice), [alice, "notes"], "a1", {})).status_code == 204
    assert (await put(per_user, jwt_headers(bob), [bob, "todo"], "b1", {})).status_code == 204
    assert found(await search(per_user, jwt_headers(bob), [])) == [([bob, "todo"], "b1")]
    assert listed(await namespaces(per_user, jwt_headers(bob))) == [[bob, "todo"]]
    assert listed(await namespaces(per_user, jwt_headers(bob), suffix=["notes"])) == []
    assert found(await search(per_user, jwt_headers(alice), [])) == [([alice, "notes"], "a1")]


async def test_an_identity_that_cannot_be_a_namespace_label_is_refused_not_a_crash(
    per_user: httpx.AsyncClient,
) -> None:
    as_dotted = jwt_headers(f"{user()}@example.com")
    detail = assert_error(await search(per_user, as_dotted, []), 403)["detail"]
    assert "identity cannot start a store namespace" in detail
    assert "periods" in detail


# --- shared ---------------------------------------------------------------------------------------------------


async def test_shared_mode_lets_a_user_read_and_write_another_users_namespace(shared: httpx.AsyncClient) -> None:
    alice, bob = user(), user()
    assert (await put(shared, jwt_headers(alice), [alice, "notes"], "n1", {"by": "alice"})).status_code == 204
    as_bob = jwt_headers(bob)
    assert (await get(shared, as_bob, [alice, "notes"], "n1")).json()["value"] == {"by": "alice"}
    assert found(await search(shared, as_bob, [alice])) == [([alice, "notes"], "n1")]
    assert listed(await namespaces(shared, as_bob, prefix=[alice])) == [[alice, "notes"]]
    assert (await put(shared, as_bob, ["lobby", alice], "n2", {})).status_code == 204


# --- @auth.on.store handlers ------------------------------------------------------------------------------


async def test_a_handler_that_prefixes_the_identity_moves_every_call_under_it(
    rewriting: httpx.AsyncClient, database_url: str
) -> None:
    alice, bob = user(), user()
    assert (await put(rewriting, bearer(alice), ["notes"], "n1", {"text": "hi"})).status_code == 204
    assert await stored_keys(database_url, [alice, "notes"]) == ["n1"]
    assert await stored_keys(database_url, ["notes"]) == []
    item = (await get(rewriting, bearer(alice), ["notes"], "n1")).json()
    assert (item["namespace"], item["value"]) == ([alice, "notes"], {"text": "hi"})
    assert (await get(rewriting, bearer(alice), [alice, "notes"], "n1")).json()["key"] == "n1"
    assert found(await search(rewriting, bearer(alice), [])) == [([alice, "notes"], "n1")]
    assert listed(await namespaces(rewriting, bearer(alice))) == [[alice, "notes"]]
    assert (await get(rewriting, bearer(bob), ["notes"], "n1")).json() is None
    assert (await get(rewriting, bearer(bob), [alice, "notes"], "n1")).json() is None
    assert found(await search(rewriting, bearer(bob), [alice])) == []
    assert (await delete(rewriting, bearer(alice), ["notes"], "n1")).status_code == 204
    assert await stored_keys(database_url, [alice, "notes"]) == []


async def test_a_handler_returning_false_refuses_with_403_and_writes_nothing(
    refusing: httpx.AsyncClient, database_url: str
) -> None:
    alice = user()
    response = await put(refusing, bearer(alice), [alice, "notes"], "n1", {"text": "hi"})
    assert assert_error(response, 403)["detail"] == "Forbidden"
    assert await stored_keys(database_url, [alice, "notes"]) == []


async def test_a_handlers_exception_or_failed_assert_is_its_answer(refusing: httpx.AsyncClient) -> None:
    alice = user()
    assert assert_error(await delete(refusing, bearer(alice), [alice], "n1"), 409)["detail"] == "deletes are disabled"
    detail = assert_error(await get(refusing, bearer(alice), [alice], "secret"), 403)["detail"]
    assert detail == "secret keys are not readable"
    assert (await get(refusing, bearer(alice), [alice], "public")).json() is None


async def test_filters_from_a_global_handler_are_ignored_by_the_store(refusing: httpx.AsyncClient) -> None:
    alice = user()
    assert found(await search(refusing, bearer(alice), [])) == []
    assert listed(await namespaces(refusing, bearer(alice))) == []
    assert_foreign(await search(refusing, bearer(alice), ["elsewhere"]), alice)
