"""Running a provider profile: build the request from its templates and the caller's variables (with the tenant's
credential for the provider: its decrypted API key as `{{apiKey}}`, its endpoint as the default base URL), send it,
follow an async job to its end, and map the answer. Every invocation is logged, failed ones with their reason.

No database connection is held during the call: the profile and credential are read first, the log is written
after, each in its own short transaction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
from langchain_core.utils.uuid import uuid7
from sqlalchemy.exc import IntegrityError

from agent_server.errors import ApiError, Conflict, Unprocessable
from agent_server.state import AppState
from hub_extensions.models.profiles import (
    JOB_ID,
    AsyncJobWorkflow,
    HttpTransport,
    PollStep,
    Profile,
    ProfileInvoke,
    final_mapping,
)
from hub_extensions.repositories import credentials as credentials_repo
from hub_extensions.repositories import profiles as repo
from hub_extensions.services.encryption import decrypt_api_key
from hub_extensions.services.profiles import profile_not_found
from hub_extensions.services.profiles_http import (
    CallPolicy,
    ProviderFailure,
    ProviderRequest,
    ProviderResponse,
    ProviderTimeout,
    send,
)
from hub_extensions.services.profiles_mapping import extract, extract_text, map_response
from hub_extensions.services.templating import MissingVariable, as_text, render, render_string, substitute

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Credential:
    """What a call takes from the tenant's active credential for the provider."""

    api_key: str | None = None
    endpoint_url: str | None = None


def _url_part(text: str) -> str:
    return quote(text, safe="")


def template_variables(body: ProfileInvoke, profile: Profile, credential: Credential) -> dict[str, Any]:
    """The values `{{variables}}` take; unset ones are left out, so a template using one fails naming it."""
    values: dict[str, Any] = {
        "apiKey": credential.api_key, "model": body.model or profile.model_id, "userPrompt": body.userPrompt,
        "input": body.input, "language": body.language, "maxTokens": body.maxTokens,
        "shortHistory": body.shortHistory, "longSummary": body.longSummary,
    }
    values |= {f"params_{key}": value for key, value in body.params.items()}
    return {name: value for name, value in values.items() if value is not None}


def _base_url(transport: HttpTransport, credential: Credential, provider_id: str, variables: dict[str, Any]) -> str:
    if transport.base_url:
        url = substitute(transport.base_url, variables, _url_part)
    elif credential.endpoint_url:
        url = credential.endpoint_url
    else:
        raise Unprocessable(f"the profile has no base URL: set its transport.base_url, or the endpoint_url of the "
                            f"tenant's active credential for provider '{provider_id}'")
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Unprocessable(f"base URL {url!r} is not an absolute http(s) URL")
    return url.rstrip("/")


def _headers(transport: HttpTransport, variables: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for name, template in transport.headers.items():
        value = substitute(template, variables)
        if not value.isascii() or not value.isprintable():
            raise Unprocessable(f"header {name!r} is not printable ASCII once its variables are substituted")
        headers[name] = value
    return headers


def _query(transport: HttpTransport, variables: dict[str, Any]) -> dict[str, str]:
    return {name: as_text(render_string(value, variables) if isinstance(value, str) else value)
            for name, value in transport.query.items()}


class PreparedCall:
    """The parts every request of one invocation shares: base URL, headers, query, timeout and retries (an async
    job's poll and download requests differ from the submission only in method and path)."""

    def __init__(self, profile: Profile, credential: Credential, variables: dict[str, Any]) -> None:
        transport = profile.transport
        self.base_url = _base_url(transport, credential, profile.provider_id, variables)
        self.headers = _headers(transport, variables)
        self.query = _query(transport, variables)
        self.policy = CallPolicy(transport.timeout_ms / 1000, transport.retry.max, transport.retry.backoff_ms / 1000)

    def request(self, method: str, path_template: str, variables: dict[str, Any], body: Any = None) -> ProviderRequest:
        url = self.base_url + substitute(path_template, variables, _url_part)
        return ProviderRequest(method, url, self.headers, self.query, body)


async def _wait_for_job(http: httpx.AsyncClient, call: PreparedCall, poll: PollStep,
                        variables: dict[str, Any]) -> ProviderResponse:
    """Poll until the job reaches a terminal state; the last poll's answer if it is a success state."""
    job_id = variables[JOB_ID]
    state = "(none)"
    for _ in range(poll.max_attempts):
        await asyncio.sleep(poll.interval_ms / 1000)
        answer = await send(http, call.request(poll.method, poll.path, variables), call.policy)
        state = extract_text(answer.json("poll"), poll.status_path, "poll status_path")
        if state in poll.success_states:
            return answer
        if state in poll.terminal_states:
            raise ProviderFailure(f"provider failure: job '{job_id}' ended in state '{state}'")
    raise ProviderTimeout(f"provider timeout: job '{job_id}' not finished after {poll.max_attempts} polls "
                          f"(last state '{state}')")


async def _run_async_job(http: httpx.AsyncClient, call: PreparedCall, profile: Profile, workflow: AsyncJobWorkflow,
                         submitted: ProviderResponse, variables: dict[str, Any]) -> dict[str, Any]:
    job_id = extract(submitted.json("workflow.job_id_path"), workflow.job_id_path, "workflow.job_id_path")
    if not isinstance(job_id, str | int) or isinstance(job_id, bool):
        raise ProviderFailure(f"provider answer not understood: workflow.job_id_path {workflow.job_id_path!r} "
                              "found no job id (a string or number)")
    job_variables = {**variables, JOB_ID: str(job_id)}
    answer = await _wait_for_job(http, call, workflow.poll, job_variables)
    download = workflow.download
    if download is not None:
        answer = await send(http, call.request(download.method, download.path, job_variables), call.policy)
    return {**map_response(final_mapping(profile.response_mapping, workflow), answer), "job_id": str(job_id)}


async def _run(http: httpx.AsyncClient, profile: Profile, credential: Credential,
               variables: dict[str, Any]) -> dict[str, Any]:
    transport = profile.transport
    call = PreparedCall(profile, credential, variables)
    body = None if transport.body is None else render(transport.body, variables)
    answer = await send(http, call.request(transport.method, transport.path, variables, body), call.policy)
    if profile.workflow is None:
        return map_response(profile.response_mapping, answer)
    return await _run_async_job(http, call, profile, profile.workflow, answer, variables)


async def run_profile(http: httpx.AsyncClient, profile: Profile, credential: Credential,
                      variables: dict[str, Any]) -> dict[str, Any]:
    """Send the profile's request(s) and return the mapped result (an InvokeResult's fields)."""
    try:
        return await _run(http, profile, credential, variables)
    except MissingVariable as missing:
        raise Unprocessable(_missing_detail(missing.name, profile)) from None


def _missing_detail(name: str, profile: Profile) -> str:
    if name == "apiKey":
        return (f"template variable 'apiKey' is not set: tenant '{profile.tenant_id}' has no active credential "
                f"with an API key for provider '{profile.provider_id}'")
    source = f"params.{name.removeprefix('params_')}" if name.startswith("params_") else name
    return f"template variable '{name}' is not set: send {source!r} in the request body"


async def _load(state: AppState, profile_id: UUID) -> tuple[Profile, dict[str, Any] | None]:
    async with state.read_sessionmaker() as session:
        row = await repo.get_profile(session, profile_id)
        if row is None:
            raise profile_not_found(profile_id)
        profile = Profile.model_validate(row)
        credential = await credentials_repo.active_credential(session, profile.tenant_id, profile.provider_id)
    return profile, credential


def _credential(state: AppState, row: dict[str, Any] | None) -> Credential:
    if row is None:
        return Credential()
    token = row["api_key_encrypted"]
    api_key = decrypt_api_key(state.settings, token) if token else None
    return Credential(api_key, row["endpoint_url"])


async def _log(state: AppState, profile: Profile, started: float, *, status_code: int,
               result_type: str | None = None, detail: str | None = None) -> None:
    values = {
        "id": uuid7(), "profile_id": profile.id, "outcome": "success" if status_code < 400 else "error",
        "status_code": status_code, "result_type": result_type, "detail": detail,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    async with state.sessionmaker() as session:
        try:
            await repo.insert_invocation(session, values)
            await session.commit()
        except IntegrityError:
            logger.info("profile %s was deleted during its invocation; not logged", profile.id)


def _redacted(text: str, secret: str | None) -> str:
    return text.replace(secret, REDACTED) if secret else text


async def invoke_profile(state: AppState, profile_id: UUID, body: ProfileInvoke) -> dict[str, Any]:
    profile, credential_row = await _load(state, profile_id)
    if not profile.is_active:
        raise Conflict(f"Profile '{profile_id}' is inactive")
    started = time.monotonic()
    credential = Credential()
    try:
        credential = _credential(state, credential_row)
        result = await run_profile(state.http, profile, credential, template_variables(body, profile, credential))
    except ApiError as exc:
        exc.detail = _redacted(exc.detail, credential.api_key)
        await _log(state, profile, started, status_code=exc.status_code, detail=exc.detail)
        raise
    await _log(state, profile, started, status_code=200, result_type=result["result_type"])
    return result
