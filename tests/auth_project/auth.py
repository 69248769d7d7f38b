"""A custom auth file as LangGraph users write them: bearer tokens name the user; users see only what they own."""

from typing import Any

from langgraph_sdk import Auth

auth = Auth()

CREATE_ACTIONS = ("create", "create_run")


@auth.authenticate
async def authenticate(authorization: str | None) -> dict[str, Any]:
    if not authorization or not authorization.startswith("Bearer "):
        raise Auth.exceptions.HTTPException(status_code=401, detail="a bearer token is required")
    identity = authorization.removeprefix("Bearer ")
    return {"identity": identity, "permissions": ["threads:write"], "team": f"team-of-{identity}"}


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> dict[str, str]:
    if ctx.action in CREATE_ACTIONS and isinstance(value, dict) and "metadata" in value:
        value["metadata"] = {**(value["metadata"] or {}), "owner": ctx.user.identity}
    return {"owner": ctx.user.identity}
