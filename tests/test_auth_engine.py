"""The auth engine on its own: which handler runs, what its answers mean, how filters match."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph_sdk import Auth
from starlette.requests import Request

from agent_server.errors import ApiError
from agent_server.repositories.common import metadata_matches as matches
from agent_server.services.auth import AuthEngine, AuthUser, Forbidden, to_auth_user

ALICE = AuthUser("alice", permissions=["threads:write"], extra={"org_id": "acme"})


def request(path: str = "/threads/search", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": path, "query_string": b"limit=3",
                    "headers": raw, "path_params": {}})


def layered_auth() -> Auth:
    auth = Auth()

    @auth.on
    async def everything(ctx: Any, value: Any) -> str:
        return "global"

    @auth.on.threads
    async def threads(ctx: Any, value: Any) -> str:
        return "threads"

    @auth.on.threads.create
    async def thread_create(ctx: Any, value: Any) -> str:
        return "threads.create"

    return auth


async def test_the_most_specific_handler_wins() -> None:
    engine = AuthEngine(layered_auth())
    assert await engine.handler_for("threads", "create")(ctx=None, value=None) == "threads.create"
    assert await engine.handler_for("threads", "delete")(ctx=None, value=None) == "threads"
    assert await engine.handler_for("assistants", "read")(ctx=None, value=None) == "global"
    assert AuthEngine(Auth()).handler_for("threads", "read") is None


async def test_handler_answers_allow_reject_or_filter_and_may_change_the_value() -> None:
    auth = Auth()

    @auth.on.threads.create
    async def stamp_owner(ctx: Any, value: dict[str, Any]) -> dict[str, Any]:
        value.setdefault("metadata", {})["owner"] = ctx.user.identity
        return {"owner": ctx.user.identity}

    @auth.on.threads.delete
    async def only_admins(ctx: Any, value: Any) -> bool:
        return "admin" in ctx.permissions

    @auth.on.threads.read
    async def anyone(ctx: Any, value: Any) -> None:
        return None

    engine = AuthEngine(auth)
    value: dict[str, Any] = {"metadata": {}}
    assert await engine.authorize(ALICE, "threads", "create", value) == {"owner": "alice"}
    assert value["metadata"]["owner"] == "alice"
    with pytest.raises(Forbidden):
        await engine.authorize(ALICE, "threads", "delete", {})
    assert await engine.authorize(ALICE, "threads", "read", {}) is None
    assert await engine.authorize(ALICE, "assistants", "read", {}) is None  # no handler: allowed


async def test_a_handler_raising_an_http_exception_answers_with_its_status_and_detail() -> None:
    auth = Auth()

    @auth.on.threads.update
    async def frozen(ctx: Any, value: Any) -> None:
        raise Auth.exceptions.HTTPException(status_code=403, detail="threads are read-only today")

    with pytest.raises(ApiError) as raised:
        await AuthEngine(auth).authorize(ALICE, "threads", "update", {})
    assert (raised.value.status_code, raised.value.detail) == (403, "threads are read-only today")


async def test_malformed_filters_are_a_server_side_error() -> None:
    auth = Auth()

    @auth.on
    async def bad(ctx: Any, value: Any) -> dict[str, Any]:
        return {"owner": {"$regex": ".*"}}

    with pytest.raises(TypeError, match=r"\$regex"):
        await AuthEngine(auth).authorize(ALICE, "threads", "read", {})


async def test_authenticate_gets_the_arguments_it_names() -> None:
    auth = Auth()
    seen: dict[str, Any] = {}

    @auth.authenticate
    async def authenticate(authorization: str | None, path: str, method: str, headers: dict[bytes, bytes],
                           query_params: dict[str, str]) -> dict[str, Any]:
        seen.update(authorization=authorization, path=path, method=method, query=query_params,
                    header=headers.get(b"x-team"))
        if authorization != "Bearer good":
            raise Auth.exceptions.HTTPException(401, "bad token")
        return {"identity": "bob", "permissions": ["runs:read"], "team": "blue"}

    engine = AuthEngine(auth)
    user = await engine.authenticate(request(headers={"Authorization": "Bearer good", "X-Team": "blue"}))
    assert user is not None
    assert (user.identity, user.display_name, user.permissions, user["team"]) == ("bob", "bob", ["runs:read"], "blue")
    assert seen == {"authorization": "Bearer good", "path": "/threads/search", "method": "POST",
                    "query": {"limit": "3"}, "header": b"blue"}
    with pytest.raises(Auth.exceptions.HTTPException):
        await engine.authenticate(request(headers={"Authorization": "Bearer bad"}))
    assert await AuthEngine(None).authenticate(request()) is None


def test_user_shapes_from_authenticate() -> None:
    assert to_auth_user("carol").identity == "carol"
    assert to_auth_user({"identity": "dan", "display_name": "Dan"}).display_name == "Dan"
    with pytest.raises(TypeError):
        to_auth_user({"permissions": []})
    with pytest.raises(TypeError):
        to_auth_user("")


def test_filters_match_metadata_as_documented() -> None:
    metadata = {"owner": "alice", "tags": ["a", "b"], "org": "acme"}
    assert matches(None, metadata)
    assert matches({"owner": "alice"}, metadata)
    assert matches({"owner": {"$eq": "alice"}, "tags": {"$contains": "a"}}, metadata)
    assert matches({"tags": {"$contains": ["a", "b"]}}, metadata)
    assert not matches({"owner": "bob"}, metadata)
    assert not matches({"tags": {"$contains": "c"}}, metadata)
    assert not matches({"missing": "x"}, metadata)
    assert not matches({"owner": {"$contains": "a"}}, metadata)
