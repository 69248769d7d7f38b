"""Tasks: create (with subtasks, tags and dependency edges in one transaction), read, update (every change written
to the history in the same transaction), reopen, delete, search, the ready set and claiming from it.

Tasks are the hub's shared to-do list: every authenticated caller sees and changes all of them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.utils.uuid import uuid7
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import BadRequest, Conflict, NotFound, Unprocessable
from agent_server.services.auth import Actor
from hub_extensions.models.tasks import (
    ChangeNote,
    DependencyAdd,
    ReadyQuery,
    TaskClaim,
    TaskCreate,
    TaskFields,
    TaskPatch,
    TaskQuery,
    TaskReopen,
)
from hub_extensions.services import tasks_queries as q
from hub_extensions.services.tasks_rules import (
    CLOSED,
    History,
    author,
    check_edges,
    check_parent,
    check_subtasks_done,
    check_transition,
    edge_map,
    edges_text,
    tags_text,
    task_not_found,
    unique_tags,
)

# Columns a create or a patch sets as given (tags, edges, the parent and the holder have their own handling).
PLAIN_FIELDS = (
    "title", "description", "acceptance_criteria", "status", "priority", "urgency", "complexity", "queue",
    "external_ref", "due_date", "defer_until", "result_summary",
)
INHERITED_FIELDS = ("queue", "source")


async def task_detail(session: AsyncSession, task_id: UUID) -> dict[str, Any]:
    """The task with its direct subtasks, its edges both ways and its history."""
    task = await q.get_task(session, task_id)
    if task is None:
        raise task_not_found(task_id)
    return {
        **task,
        "subtasks": await q.subtasks_of(session, task_id),
        "dependencies": await q.dependencies_of(session, task_id),
        "dependents": await q.dependents_of(session, task_id),
        "history": await q.history_of(session, task_id),
    }


# --- create ----------------------------------------------------------------------------------------------------

async def set_tags(session: AsyncSession, task_id: UUID, names: list[str]) -> None:
    ids = await q.ensure_tags(session, names, (uuid7() for _ in names))
    await q.set_tag_links(session, task_id, (ids[name] for name in names))


async def insert_task_tree(session: AsyncSession, fields: TaskFields, parent_id: UUID | None,
                           inherited: dict[str, Any], changed_by: str, comment: str | None) -> UUID:
    """Insert the task, then its subtasks under it (each inheriting the queue and source it does not set)."""
    task_id = uuid7()
    values = {name: getattr(fields, name) for name in (*PLAIN_FIELDS, "source")}
    values.update({name: inherited[name] for name in INHERITED_FIELDS
                   if name in inherited and name not in fields.model_fields_set})
    if fields.status == "done":
        values["completed_at"] = func.now()
    await q.insert_task(session, {"id": task_id, "parent_task_id": parent_id, **values})
    history = History(task_id, changed_by, comment)
    history.add("created", field_name="status", new=fields.status)
    if fields.assigned_agent is not None:
        history.change("assigned_agent", None, fields.assigned_agent)
    await history.write(session)
    await set_tags(session, task_id, unique_tags(fields.tags))
    edges = edge_map(fields.dependencies)
    await check_edges(session, task_id, edges)
    await q.upsert_edges(session, task_id, edges)
    for subtask in fields.subtasks:
        await insert_task_tree(session, subtask, task_id, values, changed_by, comment)
    if fields.status == "done":
        await check_subtasks_done(session, task_id)
    return task_id


async def create_task(session: AsyncSession, actor: Actor, body: TaskCreate) -> dict[str, Any]:
    if body.parent_task_id is not None and not await q.existing_task_ids(session, [body.parent_task_id]):
        raise Unprocessable(f"parent_task_id: no task '{body.parent_task_id}'")
    task_id = await insert_task_tree(session, body, body.parent_task_id, {}, author(body, actor), body.comment)
    return await task_detail(session, task_id)


# --- update ----------------------------------------------------------------------------------------------------

async def apply_status(session: AsyncSession, task: dict[str, Any], new_status: str,
                       columns: dict[str, Any]) -> None:
    check_transition(task, new_status)
    if new_status == "done":
        await check_subtasks_done(session, task["id"])
        columns["completed_at"] = func.now()


async def apply_tags(session: AsyncSession, task: dict[str, Any], names: list[str], history: History) -> None:
    wanted = unique_tags(names)
    if set(wanted) != set(task["tags"]):
        await set_tags(session, task["id"], wanted)
        history.change("tags", tags_text(task["tags"]), tags_text(wanted))


async def apply_edges(session: AsyncSession, task_id: UUID, wanted: dict[UUID, str], history: History) -> bool:
    """Make the task's edges exactly `wanted`; True if anything changed."""
    current = {edge["task_id"]: edge["kind"] for edge in await q.dependencies_of(session, task_id)}
    if wanted == current:
        return False
    changed = {target: kind for target, kind in wanted.items() if current.get(target) != kind}
    await check_edges(session, task_id, changed)
    await q.delete_edges(session, task_id, set(current) - set(wanted))
    await q.upsert_edges(session, task_id, changed)
    history.change("dependencies", edges_text(current), edges_text(wanted))
    return True


async def apply_changes(session: AsyncSession, task: dict[str, Any], changes: dict[str, Any],
                        history: History) -> None:
    """Check and write the changes that differ from the task, each noted in `history`."""
    columns = {name: value for name, value in changes.items()
               if name in (*PLAIN_FIELDS, "parent_task_id") and value != task[name]}
    if "status" in columns:
        await apply_status(session, task, columns["status"], columns)
    if columns.get("parent_task_id") is not None:
        await check_parent(session, task["id"], columns["parent_task_id"])
    for name in (name for name in changes if name in columns):
        history.change(name, task[name], columns[name])
    if "assigned_agent" in changes and changes["assigned_agent"] != task["assigned_agent"]:
        history.change("assigned_agent", task["assigned_agent"], changes["assigned_agent"])
    if "tags" in changes:
        await apply_tags(session, task, changes["tags"], history)
    if "dependencies" in changes:
        await apply_edges(session, task["id"], edge_map(changes["dependencies"]), history)
    if history.entries:  # every changed column has its entry
        await q.set_task_fields(session, task["id"], columns)


async def locked_task(session: AsyncSession, task_id: UUID) -> dict[str, Any]:
    task = await q.get_task(session, task_id, for_update=True)
    if task is None:
        raise task_not_found(task_id)
    return task


async def update_task(session: AsyncSession, actor: Actor, task_id: UUID, body: TaskPatch) -> dict[str, Any]:
    """Every change writes its history entry; a comment with no change (a progress note) is a `comment` entry."""
    changes = body.changes()
    if not changes and not body.comment:
        raise BadRequest("Nothing to update: give a field to change or a comment")
    task = await locked_task(session, task_id)
    history = History(task_id, author(body, actor), body.comment)
    await apply_changes(session, task, changes, history)
    if not history.entries and body.comment:
        history.add("comment")
        await q.set_task_fields(session, task_id, {})
    await history.write(session)
    return await task_detail(session, task_id)


async def reopen_task(session: AsyncSession, actor: Actor, task_id: UUID, body: TaskReopen) -> dict[str, Any]:
    """done or cancelled -> pending, clearing completed_at."""
    task = await locked_task(session, task_id)
    if task["status"] not in CLOSED:
        raise Conflict(f"Task '{task_id}' is {task['status']}: only a done or cancelled task can be reopened")
    await q.set_task_fields(session, task_id, {"status": "pending", "completed_at": None})
    history = History(task_id, author(body, actor), body.comment)
    history.change("status", task["status"], "pending")
    await history.write(session)
    return await task_detail(session, task_id)


async def add_dependency(session: AsyncSession, actor: Actor, task_id: UUID, body: DependencyAdd) -> dict[str, Any]:
    """Add an edge, or change the kind of the one to that task."""
    await locked_task(session, task_id)
    history = History(task_id, author(body, actor), body.comment)
    current = {edge["task_id"]: edge["kind"] for edge in await q.dependencies_of(session, task_id)}
    if await apply_edges(session, task_id, {**current, body.task_id: body.kind}, history):
        await q.set_task_fields(session, task_id, {})
        await history.write(session)
    return await task_detail(session, task_id)


async def remove_dependency(session: AsyncSession, actor: Actor, task_id: UUID,
                            depends_on: UUID) -> dict[str, Any]:
    await locked_task(session, task_id)
    current = {edge["task_id"]: edge["kind"] for edge in await q.dependencies_of(session, task_id)}
    if depends_on not in current:
        raise NotFound(f"Task '{task_id}' has no dependency on '{depends_on}'")
    history = History(task_id, author(ChangeNote(), actor), None)
    await apply_edges(session, task_id, {t: k for t, k in current.items() if t != depends_on}, history)
    await q.set_task_fields(session, task_id, {})
    await history.write(session)
    return await task_detail(session, task_id)


async def delete_task(session: AsyncSession, task_id: UUID) -> None:
    if not await q.delete_task(session, task_id):
        raise task_not_found(task_id)


# --- reading ---------------------------------------------------------------------------------------------------

async def search_tasks(session: AsyncSession, query: TaskQuery) -> dict[str, Any]:
    filters = q.TaskFilters(
        statuses=query.status, queues=query.queue, priorities=query.priority, urgencies=query.urgency,
        complexities=query.complexity, sources=query.source, tags=query.tag, parent_task_id=query.parent_task_id,
        top_level=query.top_level, assigned_agent=query.assigned_agent, due_before=query.due_before,
        due_after=query.due_after, text=query.q,
    )
    sort_order = query.sort_order or ("asc" if query.sort_by == "due_date" else "desc")
    tasks, total = await q.search_tasks(session, filters, sort_by=query.sort_by, sort_order=sort_order,
                                        limit=query.limit, offset=query.offset)
    return {"tasks": tasks, "total": total, "limit": query.limit, "offset": query.offset}


async def ready_tasks(session: AsyncSession, query: ReadyQuery) -> list[dict[str, Any]]:
    return await q.ready_tasks(session, query.queue, query.limit)


async def task_history(session: AsyncSession, task_id: UUID) -> list[dict[str, Any]]:
    if not await q.task_exists(session, task_id):
        raise task_not_found(task_id)
    return await q.history_of(session, task_id)


# --- claim -----------------------------------------------------------------------------------------------------

async def claim_task(session: AsyncSession, body: TaskClaim) -> dict[str, Any] | None:
    """The queue's next ready task, now in_progress and assigned to the claimer; None if none is ready."""
    task_id = await q.lock_next_ready(session, body.queue)
    if task_id is None:
        return None
    task = await locked_task(session, task_id)
    await q.set_task_fields(session, task_id, {"status": "in_progress"})
    history = History(task_id, body.agent, None)
    history.change("assigned_agent", task["assigned_agent"], body.agent)
    history.change("status", "pending", "in_progress")
    await history.write(session)
    return await task_detail(session, task_id)
