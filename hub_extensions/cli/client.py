"""HTTP access to the server for `jr`: one httpx client; server errors and unreachable servers become exceptions
that carry their exit code."""

from __future__ import annotations

import json
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:2024"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=None)  # a graph step may take long between events

EXIT_API_ERROR = 1
EXIT_UNREACHABLE = 3


class JrError(Exception):
    """A failure reported on stderr; the command exits with `exit_code`."""

    exit_code = EXIT_API_ERROR

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class ApiFailure(JrError):
    """The server answered 4xx or 5xx; `detail` is its `{"detail": ...}`."""

    def __init__(self, status: int, detail: Any, **data: Any) -> None:
        super().__init__(f"{describe(detail)} (HTTP {status})", status=status, detail=detail, **data)
        self.status = status
        self.detail = detail

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiFailure:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body["detail"] if isinstance(body, dict) and "detail" in body else (body or response.text
                                                                                      or response.reason_phrase)
        return cls(response.status_code, detail)


class Unreachable(JrError):
    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(f"cannot reach the server at {url} (set JR_URL or --url): {reason or type(reason).__name__}",
                         url=url)


def describe(detail: Any) -> str:
    """A server's `detail` as one line: a validation error list reads `loc: msg; ...`."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and all(isinstance(item, dict) and "msg" in item for item in detail):
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', ()))}: {item['msg']}".lstrip(": ") for item in detail)
    return json.dumps(detail, ensure_ascii=False, default=str)


class HubClient:
    """The server at `url`, with `Authorization: Bearer <token>` when a token is given."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=self.headers, timeout=TIMEOUT)

    def streaming_http(self) -> httpx.Client:
        """A client without a read timeout, for event streams."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=STREAM_TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, body: Any = None, params: Any = None) -> Any:
        """The response's JSON (None for an empty answer such as 204)."""
        try:
            response = self.http.request(method, path, json=body, params=params)
        except httpx.TransportError as error:
            raise Unreachable(self.url, error) from error
        if response.status_code >= 400:
            raise ApiFailure.from_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiFailure(response.status_code, "the server's answer is not JSON") from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=without_none(params))

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """Only the given values: options left out stay out of the request, so the server's defaults apply."""
    return {name: value for name, value in values.items() if value is not None and value != [] and value != ()}
