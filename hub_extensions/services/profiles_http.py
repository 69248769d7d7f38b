"""The outbound HTTP exchange of a provider profile: a deadline per attempt, retries with exponential backoff on
timeouts, connection failures and 408/425/429/5xx answers, and a cap on the answer's size.

Where calls go (SSRF): the host comes from the profile's `transport.base_url` or the tenant credential's
`endpoint_url`, both written by the hub's admins through /hub/profiles and /hub/credentials. Variables put into a
URL are percent-encoded, so a caller's value cannot add a host, path segment or query; redirects are not
followed. A profile whose base_url puts a caller's variable in the host name lets callers choose the host: don't.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from agent_server.errors import ApiError

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
SNIPPET_CHARS = 300


class ProviderFailure(ApiError):
    """The provider could not be reached, refused the call, or answered something the profile cannot read."""

    status_code = 502


class ResponseTooLarge(ProviderFailure):
    """Not retried: the same call would bring the same answer."""


class ProviderTimeout(ApiError):
    """The provider did not answer in time (or an async job did not finish within its polls)."""

    status_code = 504


@dataclass(frozen=True)
class CallPolicy:
    timeout_s: float
    retries: int = 0
    backoff_s: float = 0.0


@dataclass(frozen=True)
class ProviderRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON; None sends no body

    @property
    def where(self) -> str:
        """Method and URL without the query (which may carry a key)."""
        url = httpx.URL(self.url)
        return f"{self.method} {url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path}"


@dataclass(frozen=True)
class ProviderResponse:
    status_code: int
    content_type: str
    content: bytes

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    def snippet(self) -> str:
        text = self.content[:SNIPPET_CHARS * 4].decode("utf-8", "replace")
        return text[:SNIPPET_CHARS] + ("..." if len(text) > SNIPPET_CHARS else "")

    def json(self, where: str) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            media = self.media_type or "no content type"
            raise ProviderFailure(f"{where}: the provider's answer is not JSON ({media}): {self.snippet()!r}") from None


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            limit = MAX_RESPONSE_BYTES // (1024 * 1024)
            raise ResponseTooLarge(f"provider failure: the answer is larger than {limit} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def _exchange(http: httpx.AsyncClient, request: ProviderRequest, timeout_s: float) -> ProviderResponse:
    extra: dict[str, Any] = {} if request.body is None else {"json": request.body}
    async with asyncio.timeout(timeout_s):
        async with http.stream(request.method, request.url, headers=request.headers, params=request.params,
                               timeout=httpx.Timeout(timeout_s), follow_redirects=False, **extra) as response:
            content = await _read_capped(response)
            return ProviderResponse(response.status_code, response.headers.get("content-type", ""), content)


def _refusal(request: ProviderRequest, response: ProviderResponse) -> ProviderFailure:
    note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
    return ProviderFailure(f"provider failure: {request.where} answered HTTP {response.status_code}{note}: "
                           f"{response.snippet()!r}")


async def _attempt(http: httpx.AsyncClient, request: ProviderRequest, policy: CallPolicy) -> ProviderResponse:
    try:
        return await _exchange(http, request, policy.timeout_s)
    except (TimeoutError, httpx.TimeoutException):
        raise ProviderTimeout(f"provider timeout: {request.where} did not answer within "
                              f"{round(policy.timeout_s * 1000)} ms") from None
    except httpx.HTTPError as exc:
        raise ProviderFailure(f"provider failure: could not reach {request.where}: {type(exc).__name__}") from None


def _after_attempts(failure: ApiError, attempts: int) -> ApiError:
    if attempts > 1:
        failure.detail += f" (after {attempts} attempts)"
    return failure


async def send(http: httpx.AsyncClient, request: ProviderRequest, policy: CallPolicy) -> ProviderResponse:
    """The provider's successful (2xx) answer; raises ProviderFailure / ProviderTimeout once retries are spent."""
    attempts = policy.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            response = await _attempt(http, request, policy)
        except ResponseTooLarge:
            raise
        except ApiError as failure:
            if attempt == attempts:
                raise _after_attempts(failure, attempt) from None
        else:
            if response.status_code < 300:
                return response
            if response.status_code not in RETRYABLE_STATUSES or attempt == attempts:
                raise _after_attempts(_refusal(request, response), attempt)
        await asyncio.sleep(policy.backoff_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
