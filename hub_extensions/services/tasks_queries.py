"""SQL for the task manager (the only module of it that builds statements): tasks, their tags, dependency edges
and history. Rows come back as plain dicts in the API's field names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agent_server.repositories.common import escape_like
from hub_extensions.tables.tasks import Task, TaskDependency, TaskHistory, TaskTag, TaskTagAssociation

CLOSED_STATUSES = ("done", "cancelled")
LEVEL_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}
# Any transaction that adds a `blocks` edge or sets a parent holds this lock while it checks for cycles, so two
# concurrent changes cannot each pass the check and close a cycle together.
TASK_GRAPH_LOCK = 0x7461736B67726170  # "taskgrap"

Row = dict[str, Any]


def _rank(column: Any) -> ColumnElement[int]:
    """critical > high > normal > low, as a number (the names do not sort that way)."""
    return case(LEVEL_RANK, value=column, else_=-1)


def _assigned_agent() -> Any:
    """The task's holder: the agent of its latest assignment entry (null when unassigned)."""
    return (
        select(TaskHistory.assigned_agent)
        .where(TaskHistory.task_id == Task.id, TaskHistory.event_type == "assignment")
        .order_by(TaskHistory.created_at.desc(), TaskHistory.id.desc())
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )


def _tag_names() -> Any:
    return (
        select(func.array_agg(aggregate_order_by(TaskTag.name, TaskTag.name)))
        .join(TaskTagAssociation, TaskTagAssociation.tag_id == TaskTag.id)
        .where(TaskTagAssociation.task_id == Task.id)
        .correlate(Task)
        .scalar_subquery()
    )


TASK_COLUMNS = (
    Task.id, Task.title, Task.description, Task.acceptance_criteria, Task.status, Task.priority, Task.urgency,
    Task.complexity, Task.queue, Task.parent_task_id, Task.source, Task.external_ref, Task.due_date,
    Task.defer_until, Task.completed_at, Task.result_summary, Task.created_at, Task.updated_at,
)


def _select_tasks() -> Select[*tuple[Any, ...]]:
    return select(*TASK_COLUMNS, _assigned_agent().label("assigned_agent"), _tag_names().label("tags"))


def _as_task(row: Any) -> Row:
    task = dict(row._mapping)
    task["tags"] = task["tags"] or []
    return task


async def database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


# --- tasks -----------------------------------------------------------------------------------------------------

async def insert_task(session: AsyncSession, values: Row) -> None:
    await session.execute(insert(Task).values(**values))


async def get_task(session: AsyncSession, task_id: UUID, *, for_update: bool = False) -> Row | None:
    stmt = _select_tasks().where(Task.id == task_id)
    if for_update:  # FOR NO KEY UPDATE: others may still reference the task meanwhile (FOR KEY SHARE)
        stmt = stmt.with_for_update(of=Task, key_share=True)
    row = (await session.execute(stmt)).first()
    return _as_task(row) if row else None


async def existing_task_ids(session: AsyncSession, task_ids: Iterable[UUID]) -> set[UUID]:
    """The ids that name tasks, key-share locked so that none is deleted before this transaction ends."""
    wanted = set(task_ids)
    if not wanted:
        return set()
    stmt = select(Task.id).where(Task.id.in_(wanted)).with_for_update(read=True, key_share=True)
    return set((await session.execute(stmt)).scalars())


async def set_task_fields(session: AsyncSession, task_id: UUID, fields: Row) -> None:
    """Set the given columns (a value may be an SQL expression) and bump `updated_at`."""
    await session.execute(update(Task).where(Task.id == task_id).values(**fields, updated_at=func.now()))


async def delete_task(session: AsyncSession, task_id: UUID) -> bool:
    """Delete the task; its subtasks (to any depth), tags links, edges and history go with it (ON DELETE CASCADE)."""
    stmt = delete(Task).where(Task.id == task_id).returning(Task.id)
    return (await session.execute(stmt)).first() is not None


async def subtasks_of(session: AsyncSession, task_id: UUID) -> list[Row]:
    stmt = _select_tasks().where(Task.parent_task_id == task_id).order_by(Task.created_at, Task.id)
    return [_as_task(row) for row in (await session.execute(stmt)).all()]


async def open_subtasks(session: AsyncSession, task_id: UUID) -> list[Row]:
    """Direct subtasks not done or cancelled, share-locked: none can change status until this transaction ends."""
    stmt = (
        select(Task.id, Task.title, Task.status)
        .where(Task.parent_task_id == task_id)
        .order_by(Task.created_at, Task.id)
        .with_for_update(read=True)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all() if row.status not in CLOSED_STATUSES]


# --- search, ready, claim --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskFilters:
    statuses: Sequence[str] = ()
    queues: Sequence[str] = ()
    priorities: Sequence[str] = ()
    urgencies: Sequence[str] = ()
    complexities: Sequence[str] = ()
    sources: Sequence[str] = ()
    tags: Sequence[str] = ()
    parent_task_id: UUID | None = None
    top_level: bool = False
    assigned_agent: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    text: str | None = None


def _in(column: Any, values: Sequence[str]) -> list[ColumnElement[bool]]:
    return [column.in_(values)] if values else []


def _conditions(f: TaskFilters) -> list[ColumnElement[bool]]:
    conditions = [
        *_in(Task.status, f.statuses), *_in(Task.queue, f.queues), *_in(Task.priority, f.priorities),
        *_in(Task.urgency, f.urgencies), *_in(Task.complexity, f.complexities), *_in(Task.source, f.sources),
    ]
    if f.tags:
        conditions.append(exists().where(
            TaskTagAssociation.task_id == Task.id, TaskTagAssociation.tag_id == TaskTag.id, TaskTag.name.in_(f.tags)
        ))
    if f.parent_task_id is not None:
        conditions.append(Task.parent_task_id == f.parent_task_id)
    if f.top_level:
        conditions.append(Task.parent_task_id.is_(None))
    if f.assigned_agent is not None:
        conditions.append(_assigned_agent() == f.assigned_agent)
    if f.due_before is not None:
        conditions.append(Task.due_date < f.due_before)
    if f.due_after is not None:
        conditions.append(Task.due_date > f.due_after)
    if f.text:
        pattern = f"%{escape_like(f.text)}%"
        conditions.append(or_(*(column.ilike(pattern, escape="\\") for column in (
            Task.title, Task.description, Task.acceptance_criteria, Task.result_summary, Task.external_ref,
        ))))
    return conditions


SORT_KEYS: dict[str, Any] = {
    "priority": _rank(Task.priority), "urgency": _rank(Task.urgency), "due_date": Task.due_date,
    "created_at": Task.created_at, "updated_at": Task.updated_at,
}


def _sorted(stmt: Select[Any], sort_by: str, sort_order: str) -> Select[Any]:
    """Ties are broken by creation (then id) in the same direction; a task without a due date sorts last."""
    keys = (SORT_KEYS[sort_by], Task.created_at, Task.id)
    if sort_order == "asc":
        return stmt.order_by(*(key.asc().nulls_last() for key in keys))
    return stmt.order_by(*(key.desc().nulls_last() for key in keys))


async def search_tasks(session: AsyncSession, filters: TaskFilters, *, sort_by: str, sort_order: str,
                       limit: int, offset: int) -> tuple[list[Row], int]:
    """One page and the number of matching tasks."""
    conditions = _conditions(filters)
    total = (await session.execute(select(func.count()).select_from(Task).where(*conditions))).scalar_one()
    stmt = _sorted(_select_tasks().where(*conditions), sort_by, sort_order).limit(limit).offset(offset)
    return [_as_task(row) for row in (await session.execute(stmt)).all()], int(total)


def _ready() -> list[ColumnElement[bool]]:
    """Pending, not deferred, and no `blocks` edge to a task that is still open (not done or cancelled)."""
    blocker = aliased(Task)
    open_blocker = (
        select(literal(1))
        .select_from(TaskDependency)
        .join(blocker, blocker.id == TaskDependency.depends_on_task_id)
        .where(TaskDependency.task_id == Task.id, TaskDependency.kind == "blocks",
               blocker.status.not_in(CLOSED_STATUSES))
        .correlate(Task)
    )
    return [
        Task.status == "pending",
        or_(Task.defer_until.is_(None), Task.defer_until <= func.now()),
        ~exists(open_blocker),
    ]


READY_ORDER = (
    _rank(Task.priority).desc(), _rank(Task.urgency).desc(), Task.due_date.asc().nulls_last(),
    Task.created_at.asc(), Task.id.asc(),
)


async def ready_tasks(session: AsyncSession, queue: str | None, limit: int) -> list[Row]:
    """Ready tasks in the order claims take them."""
    stmt = _select_tasks().where(*_ready(), *([Task.queue == queue] if queue is not None else []))
    stmt = stmt.order_by(*READY_ORDER).limit(limit)
    return [_as_task(row) for row in (await session.execute(stmt)).all()]


async def lock_next_ready(session: AsyncSession, queue: str) -> UUID | None:
    """Lock the queue's first ready task, skipping tasks other transactions hold (FOR NO KEY UPDATE SKIP LOCKED).

    Postgres rechecks a locked row against the conditions, so a task claimed and committed meanwhile is passed
    over; the lock lasts until the caller commits, so each task is claimed once.
    """
    stmt = (
        select(Task.id).where(*_ready(), Task.queue == queue).order_by(*READY_ORDER).limit(1)
        .with_for_update(skip_locked=True, of=Task, key_share=True)
    )
    found: UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


# --- tags of a task --------------------------------------------------------------------------------------------

async def ensure_tags(session: AsyncSession, names: Sequence[str], new_ids: Iterable[UUID]) -> dict[str, UUID]:
    """The ids of the named tags, creating the missing ones (with the ids given, one per name)."""
    if not names:
        return {}
    rows = [{"id": tag_id, "name": name} for name, tag_id in zip(names, new_ids, strict=False)]
    await session.execute(pg_insert(TaskTag).values(rows).on_conflict_do_nothing(index_elements=["name"]))
    found = await session.execute(select(TaskTag.name, TaskTag.id).where(TaskTag.name.in_(names)))
    return {name: tag_id for name, tag_id in found.tuples()}


async def set_tag_links(session: AsyncSession, task_id: UUID, tag_ids: Iterable[UUID]) -> None:
    await session.execute(delete(TaskTagAssociation).where(TaskTagAssociation.task_id == task_id))
    rows = [{"task_id": task_id, "tag_id": tag_id} for tag_id in tag_ids]
    if rows:
        await session.execute(insert(TaskTagAssociation).values(rows))


# --- dependency edges ------------------------------------------------------------------------------------------

async def lock_task_graph(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(TASK_GRAPH_LOCK)))


async def dependencies_of(session: AsyncSession, task_id: UUID) -> list[Row]:
    """The edges from the task, with the other task's title and status."""
    other = aliased(Task)
    stmt = (
        select(TaskDependency.depends_on_task_id.label("task_id"), TaskDependency.kind, other.title, other.status)
        .join(other, other.id == TaskDependency.depends_on_task_id)
        .where(TaskDependency.task_id == task_id)
        .order_by(TaskDependency.created_at, TaskDependency.depends_on_task_id)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all()]


async def dependents_of(session: AsyncSession, task_id: UUID) -> list[Row]:
    """The edges to the task, with the depending task's title and status."""
    other = aliased(Task)
    stmt = (
        select(TaskDependency.task_id, TaskDependency.kind, other.title, other.status)
        .join(other, other.id == TaskDependency.task_id)
        .where(TaskDependency.depends_on_task_id == task_id)
        .order_by(TaskDependency.created_at, TaskDependency.task_id)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all()]


async def delete_edges(session: AsyncSession, task_id: UUID, depends_on: Iterable[UUID]) -> None:
    targets = list(depends_on)
    if targets:
        await session.execute(delete(TaskDependency).where(
            TaskDependency.task_id == task_id, TaskDependency.depends_on_task_id.in_(targets)
        ))


async def upsert_edges(session: AsyncSession, task_id: UUID, edges: dict[UUID, str]) -> None:
    """Add edges from the task, or change the kind of those that exist."""
    if not edges:
        return
    rows = [{"task_id": task_id, "depends_on_task_id": target, "kind": kind} for target, kind in edges.items()]
    stmt = pg_insert(TaskDependency).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["task_id", "depends_on_task_id"],
                                      set_={"kind": stmt.excluded.kind})
    await session.execute(stmt)


# Who waits for whom: a task waits for the tasks its `blocks` edges name, and a parent waits for its subtasks
# (it cannot be done before them). A change that lets a task wait for itself would deadlock both.
WAITS_FOR = text("""
    WITH RECURSIVE waits(task_id, via) AS (
        SELECT start, NULL::uuid FROM unnest(CAST(:starts AS uuid[])) AS start
        UNION
        SELECT edge.target, waits.task_id
        FROM waits
        JOIN LATERAL (
            SELECT d.depends_on_task_id AS target FROM task_dependencies d
            WHERE d.task_id = waits.task_id AND d.kind = 'blocks'
            UNION ALL
            SELECT t.id FROM tasks t WHERE t.parent_task_id = waits.task_id
        ) AS edge ON true
    )
    SELECT task_id, via FROM waits
""")


async def waiting_path(session: AsyncSession, starts: Sequence[UUID], goal: UUID) -> list[UUID] | None:
    """A chain of waits from one of `starts` to `goal` (both included), or None if `goal` cannot be reached."""
    rows = (await session.execute(WAITS_FOR, {"starts": list(starts)})).tuples().all()
    came_from: dict[UUID, UUID | None] = {}
    for task_id, via in rows:
        came_from.setdefault(task_id, via)
    if goal not in came_from:
        return None
    path, node = [goal], came_from[goal]
    while node is not None:
        path.append(node)
        node = came_from[node]
    return path[::-1]


# --- history ---------------------------------------------------------------------------------------------------

async def insert_history(session: AsyncSession, entries: Sequence[Row]) -> None:
    if entries:
        await session.execute(insert(TaskHistory).values(list(entries)))


HISTORY_COLUMNS = (
    TaskHistory.id, TaskHistory.task_id, TaskHistory.event_type, TaskHistory.field, TaskHistory.previous_value,
    TaskHistory.new_value, TaskHistory.assigned_agent, TaskHistory.changed_by, TaskHistory.comment,
    TaskHistory.created_at,
)


async def history_of(session: AsyncSession, task_id: UUID, *, limit: int | None = None,
                     offset: int = 0) -> list[Row]:
    """Oldest first; entries of one transaction in the order they were written (their ids are uuid7s)."""
    stmt = (
        select(*HISTORY_COLUMNS).where(TaskHistory.task_id == task_id)
        .order_by(TaskHistory.created_at, TaskHistory.id).limit(limit).offset(offset)
    )
    return [dict(row._mapping) for row in (await session.execute(stmt)).all()]


async def task_exists(session: AsyncSession, task_id: UUID) -> bool:
    return bool((await session.execute(select(exists().where(Task.id == task_id)))).scalar())


# --- tags ------------------------------------------------------------------------------------------------------

def _select_tag() -> Select[Any]:
    task_count = (
        select(func.count()).select_from(TaskTagAssociation).where(TaskTagAssociation.tag_id == TaskTag.id)
        .correlate(TaskTag).scalar_subquery()
    )
    return select(TaskTag.id, TaskTag.name, TaskTag.description, TaskTag.color,
                  task_count.label("task_count"), TaskTag.created_at)


async def insert_tag(session: AsyncSession, values: Row) -> bool:
    """False if a tag of that name exists."""
    stmt = pg_insert(TaskTag).values(**values).on_conflict_do_nothing(index_elements=["name"]).returning(TaskTag.id)
    return (await session.execute(stmt)).first() is not None


def _tag_key(tag: str) -> ColumnElement[bool]:
    """A tag named by its id or by its name."""
    try:
        return or_(TaskTag.id == UUID(tag), TaskTag.name == tag)
    except ValueError:
        return TaskTag.name == tag


async def get_tag(session: AsyncSession, tag: str) -> Row | None:
    row = (await session.execute(_select_tag().where(_tag_key(tag)))).first()
    return dict(row._mapping) if row else None


async def list_tags(session: AsyncSession) -> list[Row]:
    return [dict(row._mapping) for row in (await session.execute(_select_tag().order_by(TaskTag.name))).all()]


async def set_tag_fields(session: AsyncSession, tag_id: UUID, fields: Row) -> bool:
    """False if the new name is another tag's (nothing changed)."""
    try:
        async with session.begin_nested():
            await session.execute(update(TaskTag).where(TaskTag.id == tag_id).values(**fields))
    except IntegrityError:
        return False
    return True


async def lock_tag(session: AsyncSession, tag: str) -> UUID | None:
    found: UUID | None = (await session.execute(
        select(TaskTag.id).where(_tag_key(tag)).with_for_update()
    )).scalars().first()
    return found


async def delete_tag(session: AsyncSession, tag_id: UUID) -> None:
    await session.execute(delete(TaskTag).where(TaskTag.id == tag_id))

