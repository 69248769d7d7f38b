"""Crons: a stored run request plus a schedule; each tick creates a run (on its thread, or on a new one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from agent_server.models.common import ApiModel, Limit, Offset, SortOrder, selection_of
from agent_server.models.runs import MultitaskStrategy, StreamModes
from agent_server.models.threads import JsonObject, JsonValues

OnRunCompleted = Literal["delete", "keep"]
CronSortBy = Literal["cron_id", "assistant_id", "thread_id", "next_run_date", "end_time", "created_at", "updated_at"]
CronField = Literal[
    "cron_id", "assistant_id", "thread_id", "on_run_completed", "end_time", "schedule", "timezone", "created_at",
    "updated_at", "user_id", "payload", "next_run_date", "metadata", "enabled",
]
Interrupts = Literal["*"] | list[str]


def _as_utc(value: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC, as schedules are."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


EndTime = Annotated[datetime | None, AfterValidator(_as_utc)]


class CronRunFields(ApiModel):
    """What each tick's run is created with (the run-creation fields a cron may carry)."""

    input: JsonValues = None
    metadata: JsonObject | None = None
    config: JsonObject | None = None
    context: JsonObject | None = None
    checkpoint_during: bool | None = None
    interrupt_before: Interrupts | None = None
    interrupt_after: Interrupts | None = None
    webhook: str | None = Field(default=None, min_length=1, max_length=4096)
    stream_mode: StreamModes | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None


class CronCreate(CronRunFields):
    assistant_id: str = Field(min_length=1, description="an assistant id, or a graph id for its default assistant")
    schedule: str = Field(description="cron expression (5 fields, or 6 with seconds last), in `timezone`")
    timezone: str | None = Field(default=None, description="IANA name; null means UTC")
    end_time: EndTime = None
    enabled: bool = True
    multitask_strategy: MultitaskStrategy | None = None
    on_run_completed: OnRunCompleted | None = Field(
        default=None, description="stateless crons only: delete (default) or keep each tick's thread"
    )


class CronPatch(CronRunFields):
    """Given fields replace (metadata merges); `end_time: null` clears the end time, an absent one keeps it."""

    schedule: str | None = None
    timezone: str | None = None
    end_time: EndTime = None
    enabled: bool | None = None
    on_run_completed: OnRunCompleted | None = None


class CronCount(ApiModel):
    assistant_id: UUID | None = None
    thread_id: UUID | None = None
    metadata: JsonObject | None = None


class CronSearch(CronCount):
    enabled: bool | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: CronSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[CronField] | None = None


class Cron(BaseModel):
    cron_id: UUID
    assistant_id: UUID
    thread_id: UUID | None
    user_id: str | None
    end_time: datetime | None
    schedule: str
    timezone: str | None
    payload: dict[str, Any]
    next_run_date: datetime | None
    metadata: dict[str, Any]
    on_run_completed: OnRunCompleted | None
    enabled: bool
    created_at: datetime
    updated_at: datetime


CronSelection = selection_of(Cron)
# What search answers: whole crons, or the fields `select` names.
CronSearchResult = list[Cron | CronSelection]  # type: ignore[valid-type]
