"""A complete custom auth for Open LangGraph Server: bearer tokens, and every object owned by its creator.

Enable it in open_langgraph.json with `"auth": {"path": "./examples/auth.py:auth"}`, then call the server with
`Authorization: Bearer alice-demo-token` (or the SDK's `get_client(url=..., headers={"Authorization": ...})`).
The tokens below are for trying it out; a real deployment checks them against its identity provider.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

DEMO_TOKENS: dict[str, Auth.types.MinimalUserDict] = {
    "alice-demo-token": {"identity": "alice", "display_name": "Alice", "permissions": ["threads:write"]},
    "bob-demo-token": {"identity": "bob", "display_name": "Bob", "permissions": []},
}

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """The user of an `Authorization: Bearer <token>` header; 401 for a missing or unknown token."""
    scheme, _, token = (authorization or "").partition(" ")
    user = DEMO_TOKENS.get(token) if scheme.lower() == "bearer" else None
    if user is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid or missing bearer token")
    return user


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    """Every resource and action: what a user creates is stamped with their identity, and they see only that."""
    if ctx.action == "create":
        value.setdefault("metadata", {})["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}
