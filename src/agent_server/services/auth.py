"""Custom auth as on LangGraph Platform: a `langgraph_sdk.Auth` object authenticates requests and authorises
actions on resources, returning filters that scope what a user sees.

The object comes from the config's `auth.path`, else from the built-in JWT authenticator's settings; with
neither, the server is open.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth
from langgraph_sdk.auth.types import AuthContext
from starlette.requests import Request

from agent_server.config import ProjectConfig
from agent_server.errors import ApiError
from agent_server.services.graphs import import_object
from agent_server.settings import Settings

Filters = dict[str, Any]
FILTER_OPERATORS = ("$eq", "$contains")


class Forbidden(ApiError):
    status_code = 403


class AuthUser:
    """The authenticated user, as handlers and graphs see it (LangGraph's `BaseUser` protocol)."""

    def __init__(self, identity: str, *, display_name: str | None = None, permissions: Sequence[str] = (),
                 is_authenticated: bool = True, extra: Mapping[str, Any] | None = None) -> None:
        self._fields: dict[str, Any] = {
            **(extra or {}), "identity": identity, "display_name": display_name or identity,
            "permissions": list(permissions), "is_authenticated": is_authenticated,
        }

    @property
    def identity(self) -> str:
        return str(self._fields["identity"])

    @property
    def display_name(self) -> str:
        return str(self._fields["display_name"])

    @property
    def permissions(self) -> list[str]:
        return list(self._fields["permissions"])

    @property
    def is_authenticated(self) -> bool:
        return bool(self._fields["is_authenticated"])

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def keys(self) -> list[str]:
        return list(self._fields)

    def get(self, key: str, default: Any = None) -> Any:
        return self._fields.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._fields)

    to_json = to_dict  # how the server's JSON encoder renders objects it does not know

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> AuthUser:
        extra = {k: v for k, v in fields.items() if k not in ("identity", "display_name", "permissions",
                                                              "is_authenticated")}
        return cls(str(fields["identity"]), display_name=fields.get("display_name"),
                   permissions=fields.get("permissions") or (),
                   is_authenticated=bool(fields.get("is_authenticated", True)), extra=extra)


def to_auth_user(result: Any) -> AuthUser:
    """What `@auth.authenticate` returned: a user id, a `MinimalUserDict`, or an object with `identity`."""
    if isinstance(result, str) and result:
        return AuthUser(result)
    if isinstance(result, Mapping) and isinstance(result.get("identity"), str) and result["identity"]:
        extra = {k: v for k, v in result.items() if k not in ("identity", "display_name", "permissions")}
        return AuthUser(result["identity"], display_name=result.get("display_name"),
                        permissions=result.get("permissions") or (), extra=extra)
    identity = getattr(result, "identity", None)
    if isinstance(identity, str) and identity:
        return AuthUser(identity, display_name=getattr(result, "display_name", None),
                        permissions=getattr(result, "permissions", ()) or (),
                        is_authenticated=bool(getattr(result, "is_authenticated", True)))
    raise TypeError(f"@auth.authenticate returned {type(result).__name__}; expected a user id or a user dict")


def request_arguments(request: Request) -> dict[str, Any]:
    """Every argument an authenticate handler may ask for by name."""
    return {
        "request": request,
        "path": request.url.path,
        "method": request.method,
        "path_params": dict(request.path_params),
        "query_params": dict(request.query_params),
        "headers": {key.lower(): value for key, value in request.headers.raw},
        "authorization": request.headers.get("authorization"),
    }


class AuthEngine:
    def __init__(self, auth: Auth | None) -> None:
        self.auth = auth

    @classmethod
    def from_config(cls, config: ProjectConfig, settings: Settings) -> AuthEngine:
        if config.auth.path:
            auth = import_object(config.resolve_path(config.auth.path))
            if not isinstance(auth, Auth):
                raise TypeError(f"auth.path {config.auth.path!r} is not a langgraph_sdk.Auth instance")
            return cls(auth)
        if not settings.jwt.configured:
            return cls(None)
        from agent_server.services.auth_jwt import jwt_auth  # PyJWT + cryptography only when used (~9 MB RSS)
        return cls(jwt_auth(settings.jwt))

    @property
    def enabled(self) -> bool:
        return self.auth is not None

    async def authenticate(self, request: Request) -> AuthUser | None:
        """The request's user; None when no authenticator is configured. Raises 401/403 from the handler."""
        handler = self.auth._authenticate_handler if self.auth is not None else None
        if handler is None:
            return None
        available = request_arguments(request)
        wanted = inspect.signature(handler).parameters
        result = await handler(**{name: available[name] for name in wanted if name in available})
        return to_auth_user(result)

    def handler_for(self, resource: str, action: str) -> Any:
        """The most specific handler: resource+action, then resource, then action, then global."""
        if self.auth is None:
            return None
        for key in ((resource, action), (resource, "*"), ("*", action)):
            handlers = self.auth._handlers.get(key)
            if handlers:
                return handlers[-1]
        return self.auth._global_handlers[-1] if self.auth._global_handlers else None

    async def authorize(self, user: AuthUser | None, resource: str, action: str, value: Any) -> Filters | None:
        """Run the handler for `resource.action`: None allows all, a dict restricts to matching objects.

        Handlers may change `value` in place (e.g. add `metadata.owner`); the caller uses the changed value.
        """
        handler = self.handler_for(resource, action)
        if handler is None or user is None:
            return None
        context = AuthContext(permissions=user.permissions, user=user, resource=resource,  # type: ignore[arg-type]
                              action=action)  # type: ignore[arg-type]
        try:
            result = await handler(ctx=context, value=value)
        except Auth.exceptions.HTTPException as exc:
            raise ApiError(str(exc.detail), exc.status_code) from None
        except AssertionError as exc:  # the documented `assert namespace[0] == ctx.user.identity` style
            raise Forbidden(str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        if isinstance(result, Mapping):
            return validate_filters(dict(result))
        raise TypeError(f"auth handler for {resource}.{action} returned {type(result).__name__}")


def validate_filters(filters: Filters) -> Filters:
    for key, condition in filters.items():
        if isinstance(condition, Mapping) and (set(condition) - set(FILTER_OPERATORS) or len(condition) != 1):
            raise TypeError(f"auth filter on {key!r} must be a value or one of {FILTER_OPERATORS}, got {condition}")
    return filters


@dataclass(frozen=True)
class Actor:
    """Who a request acts for, and the gate every service passes before touching the data layer.

    `authorize` runs the `@auth.on` handler for the action and returns the filters the repositories apply;
    `SYSTEM` (workers, sweepers, the server's own bookkeeping) passes every gate unfiltered.
    """

    engine: AuthEngine | None = None
    user: AuthUser | None = None

    async def authorize(self, resource: str, action: str, value: Any) -> Filters | None:
        if self.engine is None:
            return None
        return await self.engine.authorize(self.user, resource, action, value)

    @property
    def identity(self) -> str | None:
        return self.user.identity if self.user is not None else None

    def run_config_user(self) -> dict[str, Any] | None:
        """The user as a run stores it, to hand to the graph as `langgraph_auth_user`."""
        return self.user.to_dict() if self.user is not None else None


SYSTEM = Actor()


def equality_fields(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plain `key == value` parts of filters: metadata an object needs so that its creator can see it."""
    fields: dict[str, Any] = {}
    for key, condition in (filters or {}).items():
        if not isinstance(condition, Mapping):
            fields[key] = condition
        elif "$eq" in condition:
            fields[key] = condition["$eq"]
    return fields
