"""Authentication on the wire: with an authenticator configured, every route but the public ones needs a user.

The route list comes from the app itself, so a new route cannot be missed.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest_asyncio
from conftest import ServedApp, make_settings, project_config
from fastapi import FastAPI
from fastapi.routing import APIRoute
from helpers import assert_error
from langgraph_sdk import get_client

from agent_server.app import create_app
from agent_server.middleware import PUBLIC_PATHS

SECRET = "jwt-secret-for-the-http-tests-0123456789"


def token(**claims: Any) -> str:
    return jwt.encode({"sub": "alice", "exp": int(time.time()) + 300, **claims}, SECRET, algorithm="HS256")


@pytest_asyncio.fixture(scope="module")
async def auth_app(database_url: str) -> AsyncIterator[ServedApp]:
    settings = make_settings(database_url, jwt={"secret": SECRET}, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0)
    async with ServedApp(create_app(settings, project_config())) as served:
        yield served


def concrete_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if "id" in m.group(0) else "x", template)


def api_requests(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, concrete_path(route.path))
        for route in app.routes if isinstance(route, APIRoute)
        for method in route.methods
    )


async def test_every_route_but_the_public_ones_answers_401_to_anonymous_callers(auth_app: ServedApp) -> None:
    requests = api_requests(auth_app.app)
    assert len(requests) > 50
    async with httpx.AsyncClient(base_url=auth_app.url) as http:
        for method, path in requests:
            response = await http.request(method, path, json={})
            if path in PUBLIC_PATHS:
                assert response.status_code == 200, (method, path)
            else:
                assert_error(response, 401)
                assert "credentials" in response.json()["detail"].lower(), (method, path)


async def test_a_valid_token_passes_and_a_bad_one_says_why(auth_app: ServedApp) -> None:
    client = get_client(url=auth_app.url, headers={"Authorization": f"Bearer {token()}"})
    thread = await client.threads.create(metadata={"by": "alice"})
    assert (await client.threads.get(thread["thread_id"]))["metadata"] == {"by": "alice", "owner": "alice"}
    async with httpx.AsyncClient(base_url=auth_app.url) as http:
        expired = await http.post("/threads/search", json={},
                                  headers={"Authorization": f"Bearer {token(exp=int(time.time()) - 5)}"})
        assert "expired" in assert_error(expired, 401)["detail"].lower()
        count_before = (await http.post("/threads/count", json={},
                                        headers={"Authorization": f"Bearer {token()}"})).json()
        refused = await http.post("/threads", json={}, headers={"Authorization": "Bearer not-a-token"})
        assert_error(refused, 401)
        count_after = (await http.post("/threads/count", json={},
                                       headers={"Authorization": f"Bearer {token()}"})).json()
        assert count_after == count_before
    await client.aclose()


def bearer(**claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(**claims)}"}


async def test_the_jwt_authenticator_isolates_users_and_tenants(auth_app: ServedApp) -> None:
    alice, bob = bearer(sub="alice"), bearer(sub="bob")
    carol_at_acme, dave_at_acme = bearer(sub="carol", org_id="acme"), bearer(sub="dave", org_id="acme")
    erin_at_globex = bearer(sub="erin", org_id="globex")
    async with httpx.AsyncClient(base_url=auth_app.url) as http:
        alices = (await http.post("/threads", json={}, headers=alice)).json()
        assert alices["metadata"] == {"owner": "alice"}
        assert_error(await http.get(f"/threads/{alices['thread_id']}", headers=bob), 404)
        acmes = (await http.post("/threads", json={}, headers=carol_at_acme)).json()
        assert acmes["metadata"] == {"tenant": "acme"}
        assert (await http.get(f"/threads/{acmes['thread_id']}", headers=dave_at_acme)).status_code == 200
        for outsider in (erin_at_globex, alice):
            assert_error(await http.get(f"/threads/{acmes['thread_id']}", headers=outsider), 404)
        found = (await http.post("/threads/search", json={"limit": 1000}, headers=erin_at_globex)).json()
        assert {t["thread_id"] for t in found}.isdisjoint({alices["thread_id"], acmes["thread_id"]})
