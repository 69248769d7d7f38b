"""Threads: create (optionally seeded with supersteps), read, patch, delete, search, count, copy, prune.

State reads and writes live in `services.thread_state`. The runs engine updates a thread through
`set_thread_status` (status, and optionally values/interrupts) or `thread_state.record_snapshot`.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from langchain_core.utils.uuid import uuid7
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.tables import THREAD_STATUSES
from agent_server.errors import Conflict, GraphNotFound, ThreadNotFound, Unprocessable
from agent_server.models.threads import ThreadCreate, ThreadFilter, ThreadPatch, ThreadPrune, ThreadSearch
from agent_server.repositories import crons as crons_repo
from agent_server.repositories import threads as repo
from agent_server.services import thread_state
from agent_server.services.auth import Actor
from agent_server.services.pagination import page_with_headers
from agent_server.state import AppState

_UNSET: Any = object()


def _metadata_of(body: ThreadCreate) -> dict[str, Any]:
    metadata = dict(body.metadata or {})
    if body.graph_id:
        metadata["graph_id"] = body.graph_id
    return metadata


async def get_thread(session: AsyncSession, actor: Actor, thread_id: UUID) -> dict[str, Any]:
    return await thread_state.authorized_thread(session, actor, "read", thread_id)


async def create_thread(state: AppState, actor: Actor, body: ThreadCreate) -> dict[str, Any]:
    """Insert the thread; with `supersteps`, seed its history through its graph (all or nothing).

    The `threads.create` handler may change the metadata (e.g. add an owner); the thread gets the changed one.
    """
    thread_id = body.thread_id or uuid7()
    value: dict[str, Any] = {"thread_id": thread_id, "metadata": _metadata_of(body), "if_exists": body.if_exists}
    await actor.authorize("threads", "create", value)
    metadata = dict(value["metadata"] or {})
    if not body.supersteps:
        created = await repo.create(state.pool, thread_id, metadata)
        if created is not None:
            return created
        async with state.read_sessionmaker() as session:
            return await _existing(session, actor, thread_id, body.if_exists)
    graph_id = metadata.get("graph_id")
    if not isinstance(graph_id, str) or not graph_id:
        raise Unprocessable("supersteps need a graph: pass graph_id (or metadata.graph_id)")
    if graph_id not in state.graphs:
        raise GraphNotFound(graph_id)
    async with state.sessionmaker.begin() as session:
        created = await repo.insert_new(session, thread_id, metadata)
        if created is None:
            return await _existing(session, actor, thread_id, body.if_exists)
        return await thread_state.apply_supersteps(session, state, created, body.supersteps)


async def _existing(session: AsyncSession, actor: Actor, thread_id: UUID, if_exists: str | None) -> dict[str, Any]:
    """The thread that was there already: returned with `if_exists=do_nothing`, else a conflict."""
    if if_exists == "do_nothing":
        with contextlib.suppress(ThreadNotFound):  # another user's thread: it still exists
            return await get_thread(session, actor, thread_id)
    raise Conflict(f"Thread '{thread_id}' already exists")


async def patch_thread(session: AsyncSession, actor: Actor, thread_id: UUID, body: ThreadPatch) -> dict[str, Any]:
    """Metadata is merged key by key (top level); `updated_at` moves."""
    value: dict[str, Any] = {"thread_id": thread_id, "metadata": dict(body.metadata or {})}
    scope = await actor.authorize("threads", "update", value)
    updated = await repo.merge_metadata(session, thread_id, value["metadata"] or {}, scope=scope)
    if updated is None:
        raise ThreadNotFound(thread_id)
    return updated


async def delete_thread(session: AsyncSession, state: AppState, actor: Actor, thread_id: UUID) -> None:
    """The row (and, by cascade, its runs and crons) and every checkpoint of the thread."""
    scope = await actor.authorize("threads", "delete", {"thread_id": thread_id})
    await crons_repo.lock_thread_crons(session, thread_id)
    if not await repo.delete_one(session, thread_id, scope=scope):
        raise ThreadNotFound(thread_id)
    await session.flush()
    await state.checkpointer.adelete_thread(str(thread_id))


async def search_threads(session: AsyncSession, actor: Actor,
                         body: ThreadSearch) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page and the reference's pagination headers."""
    scope = await actor.authorize("threads", "search", search_value(body, body.limit, body.offset))
    found = await repo.search(
        session, metadata=body.metadata, values=body.values, status=body.status, ids=body.ids,
        limit=body.limit + 1, offset=body.offset, sort_by=body.sort_by, sort_order=body.sort_order, scope=scope,
    )
    return page_with_headers(found, body.limit, body.offset, body.select)


async def count_threads(session: AsyncSession, actor: Actor, body: ThreadFilter) -> int:
    scope = await actor.authorize("threads", "search", search_value(body, 0, 0))
    return await repo.count(session, metadata=body.metadata, values=body.values, status=body.status, scope=scope)


def search_value(body: ThreadFilter, limit: int, offset: int) -> dict[str, Any]:
    return {"metadata": body.metadata, "values": body.values, "status": body.status, "limit": limit,
            "offset": offset}


async def copy_thread(session: AsyncSession, actor: Actor, thread_id: UUID) -> dict[str, Any]:
    """A new thread with the same metadata, values and checkpoint history; the two then diverge."""
    source = await get_thread(session, actor, thread_id)
    status = "idle" if source["status"] == "busy" else source["status"]
    value: dict[str, Any] = {"thread_id": uuid7(), "metadata": dict(source["metadata"]), "if_exists": "raise"}
    await actor.authorize("threads", "create", value)
    copy = await repo.insert_new(
        session, value["thread_id"], value["metadata"], status=status, values=source["values"],
        interrupts=source["interrupts"], config=source["config"],
    )
    assert copy is not None, "a fresh uuid7 cannot collide"
    await repo.copy_checkpoints(session, thread_id, copy["thread_id"])
    return copy


async def prune_threads(session: AsyncSession, state: AppState, actor: Actor, body: ThreadPrune) -> dict[str, int]:
    """`delete`: threads and checkpoints go; `keep_latest`: only each thread's latest checkpoints stay.

    Unknown ids (and threads the user's filters hide) are skipped; `pruned_count` counts the threads pruned.
    """
    thread_ids = list(dict.fromkeys(body.thread_ids))
    if not thread_ids:
        return {"pruned_count": 0}
    scope = await actor.authorize("threads", "delete", {"thread_id": None, "thread_ids": thread_ids})
    if body.strategy == "delete":
        pruned = await repo.delete_many(session, thread_ids, scope=scope)
        await session.flush()
    else:
        pruned = await repo.existing_ids(session, thread_ids, scope=scope)
    if pruned:
        try:
            await state.checkpointer.aprune([str(t) for t in pruned], strategy=body.strategy)
        except NotImplementedError as exc:
            raise Unprocessable(f"keep_latest cannot prune these threads: {exc}") from exc
    return {"pruned_count": len(pruned)}


async def set_thread_status(
    session: AsyncSession, thread_id: UUID, status: str, *, values: Any = _UNSET, interrupts: Any = _UNSET
) -> dict[str, Any]:
    """For the runs engine: set a thread's status, and its `values`/`interrupts` when given."""
    if status not in THREAD_STATUSES:
        raise ValueError(f"thread status must be one of {THREAD_STATUSES}, got {status!r}")
    fields: dict[str, Any] = {"status": status}
    if values is not _UNSET:
        fields["values"] = thread_state.to_jsonable(values)
    if interrupts is not _UNSET:
        fields["interrupts"] = thread_state.to_jsonable(interrupts or {})
    updated = await repo.set_fields(session, thread_id, fields)
    if updated is None:
        raise ThreadNotFound(thread_id)
    return updated


async def sweep_expired_threads(state: AppState) -> int:
    """Apply `checkpointer.ttl`: threads idle for longer than `default_ttl` minutes go, checkpoints too."""
    ttl = state.config.checkpointer.ttl
    if ttl is None or not ttl.default_ttl:
        return 0
    async with state.sessionmaker.begin() as session:
        expired = await repo.delete_idle_since(session, ttl.default_ttl)
    for thread_id in expired:
        await state.checkpointer.adelete_thread(str(thread_id))
    return len(expired)
