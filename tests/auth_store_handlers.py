"""`@auth.on.store` handlers as LangGraph users write them, for test_auth_store.py (loaded through `auth.path`).

Each `Auth` authenticates `Authorization: Bearer <identity>`: the token is the user's identity.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

# The keys of langgraph_sdk's StorePut, StoreGet, StoreSearch, StoreListNamespaces and StoreDelete.
VALUE_KEYS = {
    "put": {"namespace", "key", "value", "index"},
    "get": {"namespace", "key"},
    "search": {"namespace", "filter", "limit", "offset", "query"},
    "list_namespaces": {"namespace", "suffix", "max_depth", "limit", "offset"},
    "delete": {"namespace", "key"},
}


async def bearer_identity(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Auth.exceptions.HTTPException(status_code=401, detail="a bearer token is required")
    return authorization.removeprefix("Bearer ")


rewriting = Auth()
rewriting.authenticate(bearer_identity)


@rewriting.on.store
async def prefix_the_identity(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """The documented pattern: every namespace is moved under the user's identity."""
    assert set(value) == VALUE_KEYS[ctx.action], f"store.{ctx.action} got {sorted(value)}"
    namespace = value["namespace"]
    assert namespace is None or isinstance(namespace, tuple), f"namespace is a {type(namespace).__name__}"
    namespace = namespace or ()
    if namespace[:1] != (ctx.user.identity,):
        value["namespace"] = (ctx.user.identity, *namespace)


refusing = Auth()
refusing.authenticate(bearer_identity)


@refusing.on
async def owner_filters(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    """A global handler written for threads: the store has nothing to filter, so its filters are ignored there."""
    return {"owner": ctx.user.identity}


@refusing.on.store.put
async def no_writes(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> bool:
    return False


@refusing.on.store.delete
async def no_deletes(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    raise Auth.exceptions.HTTPException(status_code=409, detail="deletes are disabled")


@refusing.on.store.get
async def no_secrets(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    assert value["key"] != "secret", "secret keys are not readable"
