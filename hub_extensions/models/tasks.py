"""The task manager's API shapes: tasks (with subtasks, tags and dependency edges), their history, tags.

Request bodies refuse unknown fields (a misspelt field is a 422, not silently ignored). Times without an offset
are read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, model_validator

from agent_server.models.common import MAX_OFFSET, ApiModel

TaskStatus = Literal["pending", "in_progress", "review", "done", "cancelled"]
Level = Literal["low", "normal", "high", "critical"]
Complexity = Literal["simple", "moderate", "complex"]
Source = Literal["user", "host_agent", "gateway", "workflow", "system"]
DependencyKind = Literal["blocks", "related"]
HistoryEvent = Literal[
    "created", "status_change", "assignment", "queue_change", "priority_change", "urgency_change",
    "complexity_change", "field_change", "comment",
]
TaskSortBy = Literal["priority", "urgency", "due_date", "created_at", "updated_at"]
SortOrder = Literal["asc", "desc"]

MAX_TEXT = 100_000
MAX_SUBTASKS = 100
MAX_TAGS = 50
MAX_DEPENDENCIES = 100


def _as_utc(value: datetime | None) -> datetime | None:
    """A time without an offset is UTC; every time is answered in UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


Title = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]
LongText = Annotated[str, Field(max_length=MAX_TEXT)]
Queue = Annotated[str, Field(
    min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
    description="any queue name (letters, digits and . _ : / -), e.g. default, host-agent, local-agent, workflow",
)]
ExternalRef = Annotated[str, Field(min_length=1, max_length=255, description="e.g. a GitHub issue URL")]
AgentName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S",
                                 description="a worker id or an agent's name")]
ChangedBy = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
Comment = Annotated[str, Field(max_length=10_000)]
Time = Annotated[datetime, AfterValidator(_as_utc)]
TagName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s,]+$",
                               description="no whitespace or commas")]
TagColor = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$", description="#RRGGBB")]


class HubModel(ApiModel):
    model_config = ConfigDict(extra="forbid")


class DependencyEdge(HubModel):
    """This task depends on `task_id`: `blocks` (it is not ready until that task is done or cancelled) or
    `related` (a link only)."""

    task_id: UUID
    kind: DependencyKind = "blocks"


class ChangeNote(HubModel):
    """Who makes a change and why, written into each history entry it causes."""

    changed_by: ChangedBy | None = Field(default=None, description="defaults to the authenticated user, else 'api'")
    comment: Comment | None = None


class TaskFields(HubModel):
    """What a task is created with (a subtask too)."""

    title: Title
    description: LongText | None = None
    acceptance_criteria: LongText | None = None
    status: TaskStatus = "pending"
    priority: Level = "normal"
    urgency: Level = "normal"
    complexity: Complexity = "simple"
    queue: Queue = Field(default="default", description="a subtask inherits its parent's queue unless given")
    source: Source = Field(default="user", description="a subtask inherits its parent's source unless given")
    external_ref: ExternalRef | None = None
    due_date: Time | None = None
    defer_until: Time | None = Field(default=None, description="not ready (nor claimable) before this time")
    result_summary: LongText | None = None
    assigned_agent: AgentName | None = None
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS,
                                description="tag names; unknown names are created")
    dependencies: list[DependencyEdge] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    subtasks: list[TaskFields] = Field(default_factory=list, max_length=MAX_SUBTASKS)

    def subtask_count(self) -> int:
        return sum(1 + subtask.subtask_count() for subtask in self.subtasks)


class TaskCreate(TaskFields, ChangeNote):
    """A task and, in the same transaction, its subtasks (nested to any depth, at most 100 in all), its tags and
    its dependency edges."""

    parent_task_id: UUID | None = None

    @model_validator(mode="after")
    def _bounded_subtasks(self) -> TaskCreate:
        if self.subtask_count() > MAX_SUBTASKS:
            raise ValueError(f"subtasks: at most {MAX_SUBTASKS} in one request (nested ones included)")
        return self


REQUIRED_IF_GIVEN = ("title", "status", "priority", "urgency", "complexity", "queue", "tags", "dependencies")


class TaskPatch(ChangeNote):
    """Given fields are changed, each change recorded in the history; `null` clears an optional field.
    `tags` and `dependencies` replace the whole set. A closed task (done, cancelled) goes back to pending only
    through POST /hub/tasks/{id}/reopen."""

    title: Title | None = None
    description: LongText | None = None
    acceptance_criteria: LongText | None = None
    status: TaskStatus | None = None
    priority: Level | None = None
    urgency: Level | None = None
    complexity: Complexity | None = None
    queue: Queue | None = None
    parent_task_id: UUID | None = Field(default=None, description="null makes the task a top-level task")
    external_ref: ExternalRef | None = None
    due_date: Time | None = None
    defer_until: Time | None = None
    result_summary: LongText | None = None
    assigned_agent: AgentName | None = Field(default=None, description="null unassigns")
    tags: list[TagName] | None = Field(default=None, max_length=MAX_TAGS)
    dependencies: list[DependencyEdge] | None = Field(default=None, max_length=MAX_DEPENDENCIES)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> TaskPatch:
        nulls = [name for name in REQUIRED_IF_GIVEN if name in self.model_fields_set and getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)}: may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The given fields other than the change note, in the order the model declares them."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name in self.model_fields_set and name not in ChangeNote.model_fields}


class TaskReopen(ChangeNote):
    pass


class TaskClaim(HubModel):
    queue: Queue = "default"
    agent: AgentName = Field(validation_alias=AliasChoices("agent", "worker"),
                             description="who claims the task (a worker id or an agent name; `worker` is accepted)")


class DependencyAdd(ChangeNote, DependencyEdge):
    pass


class Task(BaseModel):
    id: UUID
    title: str
    description: str | None
    acceptance_criteria: str | None
    status: TaskStatus
    priority: Level
    urgency: Level
    complexity: Complexity
    queue: str
    parent_task_id: UUID | None
    source: Source
    external_ref: str | None
    due_date: datetime | None
    defer_until: datetime | None
    completed_at: datetime | None
    result_summary: str | None
    assigned_agent: str | None = Field(description="who holds the task: the latest assignment in its history")
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class LinkedTask(BaseModel):
    """One end of a dependency edge, with the other task's title and status."""

    task_id: UUID
    kind: DependencyKind
    title: str
    status: TaskStatus


class HistoryEntry(BaseModel):
    id: UUID
    task_id: UUID
    event_type: HistoryEvent
    field: str | None = Field(description="the changed field (for field_change: title, tags, dependencies, ...)")
    previous_value: str | None
    new_value: str | None
    assigned_agent: str | None
    changed_by: str
    comment: str | None
    created_at: datetime


class TaskDetail(Task):
    subtasks: list[Task] = Field(description="direct subtasks, oldest first")
    dependencies: list[LinkedTask] = Field(description="tasks this one depends on")
    dependents: list[LinkedTask] = Field(description="tasks that depend on this one")
    history: list[HistoryEntry] = Field(description="oldest first")


class TaskPage(BaseModel):
    tasks: list[Task]
    total: int = Field(description="tasks matching the filters, on all pages")
    limit: int
    offset: int


class TaskQuery(HubModel):
    """Filters of GET /hub/tasks: a repeated parameter matches any of its values (`status=pending&status=review`),
    different parameters must all match."""

    status: list[TaskStatus] = Field(default_factory=list, max_length=10)
    queue: list[Queue] = Field(default_factory=list, max_length=50)
    priority: list[Level] = Field(default_factory=list, max_length=10)
    urgency: list[Level] = Field(default_factory=list, max_length=10)
    complexity: list[Complexity] = Field(default_factory=list, max_length=10)
    source: list[Source] = Field(default_factory=list, max_length=10)
    tag: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS, description="has any of these tags")
    parent_task_id: UUID | None = Field(default=None, description="subtasks of this task")
    top_level: bool = Field(default=False, description="only tasks without a parent")
    assigned_agent: AgentName | None = None
    due_before: Time | None = None
    due_after: Time | None = None
    q: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="text in the title, description, acceptance criteria, result or external ref"
    )
    sort_by: TaskSortBy = "created_at"
    sort_order: SortOrder | None = Field(
        default=None, description="default: asc for due_date, desc otherwise (priority desc: critical first)"
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 50
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class ReadyQuery(HubModel):
    queue: Queue | None = Field(default=None, description="one queue; every queue if absent")
    limit: Annotated[int, Field(ge=1, le=1000)] = 50


class TagCreate(HubModel):
    name: TagName
    description: Annotated[str, Field(max_length=255)] | None = None
    color: TagColor | None = None


class TagPatch(HubModel):
    """Given fields are changed; `null` clears the description or color."""

    name: TagName | None = None
    description: Annotated[str, Field(max_length=255)] | None = None
    color: TagColor | None = None

    @model_validator(mode="after")
    def _name_not_null(self) -> TagPatch:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name: may not be null")
        return self


class Tag(BaseModel):
    id: UUID
    name: str
    description: str | None
    color: str | None
    task_count: int
    created_at: datetime
