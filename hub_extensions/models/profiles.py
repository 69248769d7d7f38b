"""Provider profiles: the HTTP call (`transport`), how its answer is read (`response_mapping`) and, for providers
that answer with a job, how to wait for it (`workflow`). Everything is checked when a profile is saved: unknown
fields, unknown `{{variables}}`, JMESPath extract paths that do not compile, and mappings that cannot produce their
`result_type` are a 422 then, not a failure at call time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from agent_server.models.common import ApiModel, StorableValue, check_storable
from hub_extensions.services.templating import placeholders

Purpose = Literal["chat", "image", "audio", "music", "video", "multimodal", "embedding", "code"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
ResultType = Literal["text", "image_urls", "video_urls", "audio_data_url", "video_data_url", "raw_json"]
ResponseMode = Literal["json", "binary", "json_base64"]

TEMPLATE_VARIABLES = ("apiKey", "model", "userPrompt", "input", "language", "maxTokens", "shortHistory", "longSummary")
PARAM_PREFIX = "params_"
JOB_ID = "job_id"
URLS_RESULTS = ("image_urls", "video_urls")
DATA_URL_RESULTS = ("audio_data_url", "video_data_url")

Identifier = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]
ParamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$")]
Primitive = str | int | float | bool
HeaderName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
HeaderValue = Annotated[str, Field(max_length=8192, pattern=r"^[^\r\n\x00]*$")]
MimeType = Annotated[str, Field(max_length=255, pattern=r"^$|^[\w.+-]+/[\w.+-]+$")]


def compiles_as_jmespath(expression: str) -> str:
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise ValueError(f"{expression!r} is not a JMESPath expression: {str(exc).splitlines()[0]}") from None
    return expression


ExtractPath = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(compiles_as_jmespath)]


def starts_with_slash(path: str) -> str:
    if path and not path.startswith("/"):
        raise ValueError("a path starts with '/' (or is empty)")
    return path


def http_base_url(url: str) -> str:
    if url and not url.startswith(("http://", "https://")):
        raise ValueError("base_url starts with http:// or https:// (only its later parts may be {{variables}})")
    return url


RequestPath = Annotated[str, Field(max_length=2048), AfterValidator(starts_with_slash)]


def unknown_variables(template: Any, extra: tuple[str, ...] = ()) -> list[str]:
    known = (*TEMPLATE_VARIABLES, *extra)
    return sorted({name for name in placeholders(template) if name not in known and not name.startswith(PARAM_PREFIX)})


class Spec(BaseModel):
    """A part of a profile: closed, so a misspelt field is refused instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> Spec:
        check_storable(self.model_dump(), type(self).__name__)
        return self


class Retry(Spec):
    max: int = Field(default=0, ge=0, le=10, description="retries after the first attempt")
    backoff_ms: int = Field(default=0, ge=0, le=60_000, description="wait before retry n: backoff_ms * 2**(n-1)")


class HttpTransport(Spec):
    """One HTTP request. Strings anywhere in base_url, path, headers, query and body may use `{{variables}}`."""

    kind: Literal["http_json"] = "http_json"
    method: HttpMethod = "POST"
    base_url: Annotated[str, Field(max_length=2048), AfterValidator(http_base_url)] = Field(
        default="", description="empty: the provider credential's endpoint_url")
    path: RequestPath = ""
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    query: dict[Annotated[str, Field(min_length=1, max_length=200)], Primitive] = Field(default_factory=dict)
    body: StorableValue = Field(default=None, description="JSON body; null sends none")
    timeout_ms: int = Field(default=60_000, ge=1, le=600_000, description="per attempt, the whole exchange")
    retry: Retry = Field(default_factory=Retry)

    @model_validator(mode="after")
    def _known_variables(self) -> HttpTransport:
        unknown = unknown_variables([self.base_url, self.path, self.headers, self.query, self.body])
        if unknown:
            raise ValueError(f"unknown template variables: {', '.join(unknown)} (known: "
                             f"{', '.join(TEMPLATE_VARIABLES)}, params_<key>)")
        return self


class Extract(Spec):
    """JMESPath expressions into the provider's JSON answer (`choices[0].message.content`, `data[].url`)."""

    text_path: ExtractPath | None = None
    urls_path: ExtractPath | None = None
    data_url_path: ExtractPath | None = None
    base64_path: ExtractPath | None = None
    mime_path: ExtractPath | None = None


class ResponseMapping(Spec):
    result_type: ResultType
    mode: ResponseMode = Field(default="json", description="json; binary: the body is the media; json_base64")
    content_type: MimeType = Field(default="", description="media type of binary / json_base64 results")
    extract: Extract = Field(default_factory=Extract)


class PollStep(Spec):
    name: Literal["poll"]
    method: HttpMethod = "GET"
    path: RequestPath = Field(description="may use {{job_id}}")
    interval_ms: int = Field(default=2000, ge=0, le=600_000)
    max_attempts: int = Field(default=60, ge=1, le=1000)
    status_path: ExtractPath
    terminal_states: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=1, max_length=50)
    success_states: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=lambda: ["completed"], min_length=1, max_length=50,
        description="the terminal states that are a success; the others are failures")

    @model_validator(mode="after")
    def _success_is_terminal(self) -> PollStep:
        stray = [state for state in self.success_states if state not in self.terminal_states]
        if stray:
            raise ValueError(f"success_states {stray} are not among terminal_states")
        return self


class DownloadStep(Spec):
    """Fetch the finished job's result; `mode`, `content_type` and `url_path` override the response mapping's."""

    name: Literal["download"]
    method: HttpMethod = "GET"
    path: RequestPath = Field(description="may use {{job_id}}")
    mode: ResponseMode | None = None
    content_type: MimeType | None = None
    url_path: ExtractPath | None = None


Step = Annotated[PollStep | DownloadStep, Field(discriminator="name")]


class AsyncJobWorkflow(Spec):
    """Submit (the transport), poll until a terminal state, then download (or read the last poll's answer)."""

    type: Literal["async_job"]
    job_id_path: ExtractPath
    steps: list[Step] = Field(min_length=1, max_length=2)

    @model_validator(mode="after")
    def _poll_then_download(self) -> AsyncJobWorkflow:
        if not isinstance(self.steps[0], PollStep) or any(isinstance(s, PollStep) for s in self.steps[1:]):
            raise ValueError("steps: one poll step first, then at most one download step")
        unknown = unknown_variables([step.path for step in self.steps], (JOB_ID,))
        if unknown:
            raise ValueError(f"unknown template variables in steps: {', '.join(unknown)}")
        return self

    @property
    def poll(self) -> PollStep:
        step = self.steps[0]
        assert isinstance(step, PollStep)
        return step

    @property
    def download(self) -> DownloadStep | None:
        step = self.steps[-1]
        return step if isinstance(step, DownloadStep) else None


def final_mapping(mapping: ResponseMapping, workflow: AsyncJobWorkflow | None) -> ResponseMapping:
    """The mapping applied to the last answer: an async job's download step may override mode, type and url."""
    step = workflow.download if workflow else None
    if step is None:
        return mapping
    extract = mapping.extract.model_copy(update={"urls_path": step.url_path}) if step.url_path else mapping.extract
    return mapping.model_copy(update={
        "mode": step.mode or mapping.mode,
        "content_type": mapping.content_type if step.content_type is None else step.content_type,
        "extract": extract,
    })


def mapping_problem(mapping: ResponseMapping) -> str | None:
    """Why `mapping` cannot produce its result_type, if it cannot."""
    result, mode, extract = mapping.result_type, mapping.mode, mapping.extract
    if result in DATA_URL_RESULTS:
        if mode == "json" and not extract.data_url_path:
            return f"{result} in json mode needs extract.data_url_path (or mode binary / json_base64)"
        if mode == "json_base64" and not extract.base64_path:
            return "json_base64 mode needs extract.base64_path"
        if mode == "json_base64" and not (extract.mime_path or mapping.content_type):
            return "json_base64 mode needs extract.mime_path or content_type"
        return None
    if mode != "json":
        return f"{result} results are read in json mode, not {mode}"
    if result == "text" and not extract.text_path:
        return "text results need extract.text_path"
    if result in URLS_RESULTS and not extract.urls_path:
        return f"{result} results need extract.urls_path (or the download step's url_path)"
    return None


class ProfileFields(ApiModel):
    tenant_id: Identifier
    provider_id: Identifier
    purpose: Purpose = Field(description="model_type text maps to chat")
    model_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="the API model id it is for; null: any model of the provider")
    description: str | None = Field(default=None, max_length=2000)
    transport: HttpTransport
    response_mapping: ResponseMapping
    workflow: AsyncJobWorkflow | None = None
    is_active: bool = True

    @model_validator(mode="after")
    def _mapping_fits(self) -> ProfileFields:
        problem = mapping_problem(final_mapping(self.response_mapping, self.workflow))
        if problem:
            raise ValueError(f"response_mapping: {problem}")
        return self


class ProfileCreate(ProfileFields):
    pass


class ProfilePatch(ApiModel):
    """Given fields replace the stored ones (transport, response_mapping and workflow whole); `model_id`,
    `description` and `workflow` may be set to null. The result is checked as a whole."""

    tenant_id: Identifier | None = None
    provider_id: Identifier | None = None
    purpose: Purpose | None = None
    model_id: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    transport: HttpTransport | None = None
    response_mapping: ResponseMapping | None = None
    workflow: AsyncJobWorkflow | None = None
    is_active: bool | None = None


class Profile(BaseModel):
    id: UUID
    tenant_id: str
    provider_id: str
    purpose: str
    model_id: str | None
    description: str | None
    transport: HttpTransport
    response_mapping: ResponseMapping
    workflow: AsyncJobWorkflow | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProfileInvoke(ApiModel):
    """The call's variables. `apiKey` and the endpoint come from the tenant's active credential for the provider."""

    model: str | None = Field(default=None, min_length=1, max_length=200, description="default: the profile's model_id")
    userPrompt: str | None = Field(default=None, max_length=1_000_000)
    input: str | None = Field(default=None, max_length=1_000_000)
    language: str | None = Field(default=None, max_length=100)
    maxTokens: int | None = Field(default=None, ge=1, le=10_000_000)
    shortHistory: str | None = Field(default=None, max_length=1_000_000)
    longSummary: str | None = Field(default=None, max_length=1_000_000)
    params: dict[ParamName, Primitive] = Field(default_factory=dict, description="each key is {{params_<key>}}")


class InvokeResult(BaseModel):
    """The mapped result: `text`, `urls`, `data_url` or `raw`, as `result_type` says."""

    result_type: ResultType
    text: str | None = None
    urls: list[str] | None = None
    data_url: str | None = None
    raw: Any = None
    job_id: str | None = Field(default=None, description="async jobs: the provider's job id")


class Invocation(BaseModel):
    id: UUID
    profile_id: UUID
    outcome: Literal["success", "error"]
    status_code: int = Field(description="the status the invocation was answered with")
    result_type: str | None
    detail: str | None = Field(description="why it failed")
    duration_ms: int
    created_at: datetime
