"""ASGI middleware of the server's own (CORS comes from Starlette)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langgraph_sdk import Auth
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_server.responses import dumps
from agent_server.services.auth import AuthEngine


class BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing lets it through to the error handlers."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body is larger than {max_bytes} bytes")


async def send_error(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    body = dumps({"detail": detail})
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for a request body over `max_bytes`: refused from Content-Length when given, else (chunked) while it
    streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_error(send, 400, "Invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
                too_large = BodyTooLarge(self.max_bytes)
                await send_error(send, too_large.status_code, too_large.detail)
                return
        if b"transfer-encoding" not in headers:  # the HTTP server delivers no more than the declared length, if any
            await self.app(scope, receive, send)
            return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            if not started:
                await send_error(send, exc.status_code, exc.detail)


PUBLIC_PATHS = frozenset({"/ok", "/info", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class AuthenticationMiddleware:
    """Every request but the public ones needs a user from the configured authenticator (401/403 otherwise).

    The user is kept in the request's state (`request.state.auth_user`). Routes of the user's own `http.app`
    are authenticated only when `http.enable_custom_route_auth` is set.
    """

    def __init__(self, app: ASGIApp, engine: AuthEngine, open_routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.engine = engine
        self.open_routes = list(open_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or self._is_open_route(scope):
            await self.app(scope, receive, send)
            return
        try:
            user = await self.engine.authenticate(Request(scope))
        except Auth.exceptions.HTTPException as exc:
            await send_error(send, exc.status_code, str(exc.detail), exc.headers)
            return
        scope.setdefault("state", {})["auth_user"] = user
        scope["user"] = user  # `request.user` in the user's own routes, as Starlette's AuthenticationMiddleware does
        await self.app(scope, receive, send)

    def _is_open_route(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.open_routes)
