"""Runs: one execution of an assistant's graph on a thread (or on an ephemeral thread when stateless)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from agent_server.models.common import ApiModel, Limit, Metadata, Offset, StorableObject, StorableValue

StreamMode = Literal[
    "values", "messages", "messages-tuple", "updates", "events", "debug", "custom", "checkpoints", "tasks"
]
STREAM_MODES: tuple[str, ...] = get_args(StreamMode)


def check_stream_modes(value: Any) -> Any:
    """One error naming the unknown mode and the allowed ones, instead of one per branch of the union."""
    for mode in value if isinstance(value, list) else [value]:
        if not isinstance(mode, str) or mode not in STREAM_MODES:
            raise ValueError(f"unknown stream mode {mode!r}; the modes are {', '.join(STREAM_MODES)}")
    return value


StreamModes = Annotated[StreamMode | list[StreamMode], BeforeValidator(check_stream_modes)]
RunStatus = Literal["pending", "running", "success", "error", "timeout", "interrupted"]
MultitaskStrategy = Literal["reject", "enqueue", "interrupt", "rollback"]
CancelAction = Literal["interrupt", "rollback"]


class CommandSpec(ApiModel):
    resume: StorableValue | None = None
    goto: str | dict[str, Any] | list[str | dict[str, Any]] | None = None
    update: StorableObject | list[tuple[str, StorableValue]] | None = None


class CheckpointSpec(ApiModel):
    checkpoint_id: str | None = None
    checkpoint_ns: str | None = ""
    checkpoint_map: dict[str, Any] | None = None
    thread_id: str | None = None


class RunCreate(ApiModel):
    assistant_id: str = Field(min_length=1)
    input: StorableValue | None = None
    command: CommandSpec | None = None
    config: StorableObject | None = None
    context: StorableObject | None = None
    metadata: StorableObject | None = None
    stream_mode: StreamModes = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    checkpoint: CheckpointSpec | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["reject", "create"] = "reject"
    on_completion: Literal["delete", "keep"] | None = None
    on_disconnect: Literal["cancel", "continue"] = "continue"
    after_seconds: float | None = Field(default=None, ge=0, le=31_536_000)
    webhook: str | None = Field(default=None, max_length=4096)
    feedback_keys: list[str] | None = None

    @field_validator("stream_mode")
    @classmethod
    def _unique_modes(cls, value: StreamMode | list[StreamMode]) -> list[StreamMode]:
        modes = [value] if isinstance(value, str) else value
        return list(dict.fromkeys(modes)) or ["values"]

    @property
    def modes(self) -> list[StreamMode]:
        return list(self.stream_mode) if isinstance(self.stream_mode, list) else [self.stream_mode]


class RunSearch(ApiModel):
    limit: Limit = 10
    offset: Offset = 0
    status: RunStatus | None = None


class RunsCancel(ApiModel):
    thread_id: UUID | None = None
    run_ids: list[UUID] | None = None
    status: Literal["pending", "running", "all"] | None = None
    action: CancelAction = "interrupt"


class Run(BaseModel):
    run_id: UUID
    thread_id: UUID
    assistant_id: UUID
    status: RunStatus
    metadata: Metadata
    kwargs: dict[str, Any]
    multitask_strategy: MultitaskStrategy
    created_at: datetime
    updated_at: datetime
