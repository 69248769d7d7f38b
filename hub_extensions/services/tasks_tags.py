"""Task tags: unique names with an optional description and #RRGGBB color. A tag is named in paths by its id or
its name; tasks name tags by name (and create the ones they name)."""

from __future__ import annotations

from typing import Any

from langchain_core.utils.uuid import uuid7
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import BadRequest, Conflict, NotFound
from hub_extensions.models.tasks import TagCreate, TagPatch
from hub_extensions.services import tasks_queries as q


def tag_not_found(tag: str) -> NotFound:
    return NotFound(f"Tag '{tag}' not found")


def name_taken(name: str) -> Conflict:
    return Conflict(f"A tag named '{name}' exists")


async def create_tag(session: AsyncSession, body: TagCreate) -> dict[str, Any]:
    tag_id = uuid7()
    if not await q.insert_tag(session, {"id": tag_id, **body.model_dump()}):
        raise name_taken(body.name)
    return await get_tag(session, str(tag_id))


async def get_tag(session: AsyncSession, tag: str) -> dict[str, Any]:
    found = await q.get_tag(session, tag)
    if found is None:
        raise tag_not_found(tag)
    return found


async def list_tags(session: AsyncSession) -> list[dict[str, Any]]:
    return await q.list_tags(session)


async def update_tag(session: AsyncSession, tag: str, body: TagPatch) -> dict[str, Any]:
    fields = body.model_dump(include=body.model_fields_set)
    if not fields:
        raise BadRequest("Nothing to update: give name, description or color")
    tag_id = await q.lock_tag(session, tag)
    if tag_id is None:
        raise tag_not_found(tag)
    if not await q.set_tag_fields(session, tag_id, fields):
        raise name_taken(fields["name"])
    return await get_tag(session, str(tag_id))


async def delete_tag(session: AsyncSession, tag: str) -> None:
    """The tag goes, and with it its links to tasks (the tasks stay)."""
    tag_id = await q.lock_tag(session, tag)
    if tag_id is None:
        raise tag_not_found(tag)
    await q.delete_tag(session, tag_id)
