"""Threads: the conversation record (metadata, status, latest values) and the shapes of its state API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from agent_server.models.common import (
    ApiModel,
    IfExists,
    Limit,
    Offset,
    SortOrder,
    StorableObject,
    check_storable,
    selection_of,
)

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
# The reference accepts `state_updated_at`; the SDK also offers `context` (absent from our threads).
ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
ThreadField = Literal[
    "thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "config", "context", "status",
    "values", "interrupts",
]
PruneStrategy = Literal["delete", "keep_latest"]


JsonObject = StorableObject
JsonValues = Annotated[dict[str, Any] | list[Any] | None, AfterValidator(check_storable)]
HistoryLimit = Annotated[int, Field(ge=1, le=1000, description="states to return (1-1000)")]


class TTL(ApiModel):
    """Accepted for compatibility; threads do not expire yet."""

    strategy: PruneStrategy = "delete"
    ttl: float | None = Field(default=None, ge=0)


class CheckpointRef(ApiModel):
    """A checkpoint as clients name it (`CheckpointConfig` in the reference's schema)."""

    thread_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None

    def configurable(self) -> dict[str, Any]:
        """The non-empty keys, ready to merge into a `configurable` (thread_id is always the path's)."""
        return {k: v for k, v in self.model_dump(exclude={"thread_id"}).items() if v is not None}


class Command(ApiModel):
    update: dict[str, Any] | list[Any] | None = None
    resume: Any = None
    goto: Any = None


class SuperstepUpdate(ApiModel):
    values: JsonValues = None
    command: Command | None = None
    as_node: str


class Superstep(ApiModel):
    updates: list[SuperstepUpdate]


class ThreadCreate(ApiModel):
    thread_id: UUID | None = None
    metadata: JsonObject | None = None
    if_exists: IfExists = "raise"
    graph_id: str | None = Field(default=None, min_length=1, description="stored as metadata.graph_id")
    supersteps: list[Superstep] | None = None
    ttl: TTL | None = None


class ThreadPatch(ApiModel):
    metadata: JsonObject | None = None
    ttl: TTL | None = None


class ThreadFilter(ApiModel):
    metadata: JsonObject | None = None
    values: JsonObject | None = None
    status: ThreadStatus | None = None


class ThreadSearch(ThreadFilter):
    ids: list[UUID] | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: ThreadSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[ThreadField] | None = None


class ThreadPrune(ApiModel):
    thread_ids: list[UUID]
    strategy: PruneStrategy = "delete"


class StateAtCheckpoint(ApiModel):
    checkpoint: CheckpointRef
    subgraphs: bool = False


class StateUpdate(ApiModel):
    values: JsonValues = None
    as_node: str | None = None
    checkpoint: CheckpointRef | None = None
    checkpoint_id: str | None = None


class HistoryBefore(ApiModel):
    """`before` as a checkpoint config: `{"configurable": {"checkpoint_id": ...}}` (JS SDK, Studio)."""

    configurable: CheckpointRef


class HistorySearch(ApiModel):
    limit: HistoryLimit = 1
    before: str | HistoryBefore | CheckpointRef | None = Field(default=None, union_mode="left_to_right")
    metadata: JsonObject | None = None
    checkpoint: CheckpointRef | None = None

    def before_id(self) -> str | None:
        """`before` in any of its three spellings: an id, a checkpoint, or a checkpoint config."""
        if isinstance(self.before, HistoryBefore):
            return self.before.configurable.checkpoint_id
        if isinstance(self.before, CheckpointRef):
            return self.before.checkpoint_id
        return self.before or None


class Thread(BaseModel):
    thread_id: UUID
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    status: ThreadStatus
    config: dict[str, Any]
    values: dict[str, Any] | list[Any] | None
    interrupts: dict[str, list[dict[str, Any]]]


ThreadSelection = selection_of(Thread)
# What search answers: whole threads, or the fields `select` names.
ThreadSearchResult = list[Thread | ThreadSelection]  # type: ignore[valid-type]


class Checkpoint(BaseModel):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_map: dict[str, Any] | None = None


class ThreadTask(BaseModel):
    id: str
    name: str
    path: list[Any] | None = None
    error: Any = None
    interrupts: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None
    state: ThreadState | None
    result: Any = None


class ThreadState(BaseModel):
    values: dict[str, Any] | list[Any]
    next: list[str]
    tasks: list[ThreadTask]
    checkpoint: Checkpoint | None
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[dict[str, Any]]


ThreadTask.model_rebuild()


class StateUpdateResult(BaseModel):
    checkpoint: dict[str, Any]


class PruneResult(BaseModel):
    pruned_count: int
