"""Crons: create, read, patch, delete, search, count, and firing one due tick as a normal run.

A cron stores the run request it was created with (`payload`, as the reference server stores it) and the
next time it is due. A tick claims the cron, moves `next_run_date` past the database's `now` and creates the
run in one transaction, so any number of schedulers fire each tick at most once.

Its creator (`user_id`, and the whole user inside the payload's config, which responses leave out) is who every
tick runs as: the graph sees them as `langgraph_auth_user`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter  # type: ignore[import-untyped]
from langchain_core.utils.uuid import uuid7
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import ApiError, AssistantNotFound, BadRequest, NotFound, ThreadNotFound, Unprocessable
from agent_server.models.crons import CronCount, CronCreate, CronPatch, CronSearch
from agent_server.models.runs import RunCreate
from agent_server.repositories import crons as repo
from agent_server.repositories import threads as threads_repo
from agent_server.services import assistants as assistants_service
from agent_server.services.auth import SYSTEM, Actor, AuthEngine, AuthUser
from agent_server.services.pagination import page_with_headers
from agent_server.services.runs import create as runs_create
from agent_server.state import AppState

logger = logging.getLogger(__name__)


def cron_not_found(cron_id: UUID) -> NotFound:
    return NotFound(f"Cron '{cron_id}' not found")


def zone(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo("UTC" if timezone is None else timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"Invalid timezone: {timezone!r}. Use an IANA timezone name (e.g. 'America/New_York')."
        ) from None


def next_tick(schedule: str, timezone: str | None, after: datetime) -> datetime | None:
    """The first time strictly after `after` that `schedule` matches in `timezone`, in UTC; None if none is left.

    Raises ValueError (croniter's CroniterBadCronError) when the expression is not a cron schedule.
    """
    try:
        found: datetime = croniter(schedule, after.astimezone(zone(timezone))).get_next(datetime)
    except CroniterBadDateError:
        return None
    return found.astimezone(UTC)


def checked_next_tick(schedule: str, timezone: str | None, after: datetime) -> datetime:
    """`next_tick`, or a 422 for a schedule croniter rejects or one that never matches again."""
    try:
        found = next_tick(schedule, timezone, after)
    except (ValueError, OverflowError) as exc:
        raise Unprocessable(f"Invalid cron schedule: {schedule!r}. Reason: {exc}") from None
    if found is None:
        raise Unprocessable(f"Invalid cron schedule: {schedule!r}. Reason: it never matches after {after:%Y-%m-%d}")
    return found


CREATOR_KEY = "langgraph_auth_user"


def with_identity(payload: dict[str, Any], assistant_id: UUID, cron_id: UUID,
                  creator: dict[str, Any] | None) -> dict[str, Any]:
    """The payload naming its resolved assistant, with `config.configurable.cron_id` as every tick's run gets it,
    and the creator every tick runs as (`CREATOR_KEY`); auth keys a client put in the config are dropped."""
    config = dict(payload.get("config") or {})
    configurable = {k: v for k, v in (config.get("configurable") or {}).items()
                    if k not in runs_create.AUTH_CONFIG_KEYS}
    configurable["cron_id"] = str(cron_id)
    if creator is not None:
        configurable[CREATOR_KEY] = creator
    config["configurable"] = configurable
    return {**payload, "assistant_id": str(assistant_id), "config": config}


def creator_of(cron: dict[str, Any]) -> dict[str, Any] | None:
    """The user who created the cron, as `Actor.run_config_user` gave it; None for a cron made without auth."""
    creator = ((cron["payload"].get("config") or {}).get("configurable") or {}).get(CREATOR_KEY)
    return creator if isinstance(creator, dict) else None


def creator_actor(engine: AuthEngine | None, cron: dict[str, Any]) -> Actor:
    """Who a tick runs as: the creator, through the handlers as if they made the run now (so a stateless tick's
    thread gets the creator's owner metadata, and a handler may refuse a tick)."""
    creator = creator_of(cron)
    return Actor(engine=engine, user=AuthUser.from_dict(creator)) if creator is not None else SYSTEM


def public(cron: dict[str, Any]) -> dict[str, Any]:
    """The cron as responses show it: the payload without the stored creator."""
    config = cron["payload"].get("config")
    if not isinstance(config, dict) or CREATOR_KEY not in (config.get("configurable") or {}):
        return cron
    configurable = {k: v for k, v in config["configurable"].items() if k != CREATOR_KEY}
    return {**cron, "payload": {**cron["payload"], "config": {**config, "configurable": configurable}}}


def run_request(cron: dict[str, Any]) -> RunCreate:
    """The run one tick creates: the stored payload, the cron's metadata under the payload's own."""
    payload = cron["payload"]
    fields = {**payload, "metadata": {**cron["metadata"], **(payload.get("metadata") or {})}}
    if cron["thread_id"] is None:
        fields["on_completion"] = cron["on_run_completed"] or "delete"
    return RunCreate.model_validate(fields)


def check_run_request(state: AppState, cron: dict[str, Any]) -> None:
    """Reject now what would make every tick fail (a webhook the policy refuses, for one)."""
    runs_create.validate_run_request(state, run_request(cron), stateless=cron["thread_id"] is None)


async def resolve_assistant(session: AsyncSession, state: AppState, actor: Actor, assistant_id: str) -> UUID:
    """A graph id is every user's; an assistant id must pass `assistants.read`, as for a run."""
    try:
        assistant = await assistants_service.assistant_for_runs(session, state, actor, assistant_id)
    except Unprocessable:
        raise AssistantNotFound(assistant_id) from None  # an unknown graph id: 404, as the reference answers
    found: UUID = assistant["assistant_id"]
    return found


async def require_thread(session: AsyncSession, actor: Actor, cron: dict[str, Any]) -> None:
    """A thread cron's thread must pass the `threads.create_run` filters, as each tick's run would (else 404)."""
    body = run_request(cron)
    kwargs = runs_create.run_kwargs(body, actor, temporary=False)
    _, scope = await runs_create.authorize_run(actor, body, cron["thread_id"], kwargs)
    if await threads_repo.get(session, cron["thread_id"], scope=scope) is None:
        raise ThreadNotFound(cron["thread_id"])


async def authorize_create(actor: Actor, body: CronCreate, cron_id: UUID, thread_id: UUID | None,
                           payload: dict[str, Any]) -> dict[str, Any]:
    """`crons.create` (CronsCreate, plus the metadata as the reference passes it) -> the metadata the handler left.

    The payload's metadata is the same dict, so a handler that changes either changes both.
    """
    given = "metadata" in payload
    metadata = payload["metadata"] = dict(body.metadata or {})
    value: dict[str, Any] = {
        "payload": payload, "schedule": body.schedule, "cron_id": cron_id, "thread_id": thread_id,
        "user_id": actor.identity, "end_time": body.end_time, "metadata": metadata,
    }
    await actor.authorize("crons", "create", value)
    if not given and not payload.get("metadata"):
        del payload["metadata"]
    return dict(value.get("metadata") or {})


async def create_cron(session: AsyncSession, state: AppState, actor: Actor, body: CronCreate,
                      thread_id: UUID | None) -> dict[str, Any]:
    now = await repo.database_now(session)
    next_run_date = checked_next_tick(body.schedule, body.timezone, now)
    cron_id = uuid7()
    payload = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    metadata = await authorize_create(actor, body, cron_id, thread_id, payload)
    assistant_id = await resolve_assistant(session, state, actor, body.assistant_id)
    cron = {
        "cron_id": cron_id, "assistant_id": assistant_id, "thread_id": thread_id, "user_id": actor.identity,
        "schedule": body.schedule, "timezone": body.timezone, "end_time": body.end_time,
        "next_run_date": next_run_date, "metadata": metadata, "enabled": body.enabled,
        "payload": with_identity(payload, assistant_id, cron_id, actor.run_config_user()),
        "on_run_completed": None if thread_id is not None else body.on_run_completed or "delete",
    }
    if thread_id is not None:
        await require_thread(session, actor, cron)
    check_run_request(state, cron)
    return public(await repo.insert_cron(session, cron))


async def get_cron(session: AsyncSession, actor: Actor, cron_id: UUID) -> dict[str, Any]:
    scope = await actor.authorize("crons", "read", {"cron_id": cron_id})
    cron = await repo.get(session, cron_id, scope=scope)
    if cron is None:
        raise cron_not_found(cron_id)
    return public(cron)


def patched_fields(cron: dict[str, Any], body: CronPatch, now: datetime) -> dict[str, Any]:
    """The columns a patch changes. A null (or absent) field keeps its value, except `end_time: null`."""
    given = body.model_dump(mode="json", exclude_unset=True)
    payload = with_identity({**cron["payload"], **given}, cron["assistant_id"], cron["cron_id"], creator_of(cron))
    fields: dict[str, Any] = {"payload": payload}
    for key in ("schedule", "timezone", "enabled"):
        if given.get(key) is not None:
            fields[key] = getattr(body, key)
    if "end_time" in given:
        fields["end_time"] = body.end_time
    if body.on_run_completed is not None and cron["thread_id"] is None:
        fields["on_run_completed"] = body.on_run_completed
    if body.metadata is not None:
        fields["metadata"] = {**cron["metadata"], **body.metadata}
    # A tick missed while the cron was disabled does not fire when it is enabled again.
    if "schedule" in fields or "timezone" in fields or (body.enabled and not cron["enabled"]):
        schedule, timezone = fields.get("schedule", cron["schedule"]), fields.get("timezone", cron["timezone"])
        fields["next_run_date"] = checked_next_tick(schedule, timezone, now)
    return fields


async def update_cron(session: AsyncSession, state: AppState, actor: Actor, cron_id: UUID,
                      body: CronPatch) -> dict[str, Any]:
    if not body.model_fields_set:
        raise BadRequest("Request body cannot be empty")
    value = {"cron_id": cron_id, "payload": body.model_dump(mode="json", exclude_unset=True),
             "schedule": body.schedule}
    scope = await actor.authorize("crons", "update", value)
    cron = await repo.get(session, cron_id, scope=scope, for_update=True)
    if cron is None:
        raise cron_not_found(cron_id)
    fields = patched_fields(cron, body, await repo.database_now(session))
    check_run_request(state, {**cron, **fields})
    updated = await repo.set_fields(session, cron_id, fields, scope=scope)
    assert updated is not None, "the row is locked by this transaction"
    return public(updated)


async def delete_cron(session: AsyncSession, actor: Actor, cron_id: UUID) -> None:
    scope = await actor.authorize("crons", "delete", {"cron_id": cron_id})
    if not await repo.delete_one(session, cron_id, scope=scope):
        raise cron_not_found(cron_id)


def search_value(body: CronCount, limit: int, offset: int) -> dict[str, Any]:
    """`crons.search`'s value (CronsSearch)."""
    return {"assistant_id": body.assistant_id, "thread_id": body.thread_id, "limit": limit, "offset": offset}


async def search_crons(session: AsyncSession, actor: Actor,
                       body: CronSearch) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page and the reference's pagination headers."""
    scope = await actor.authorize("crons", "search", search_value(body, body.limit, body.offset))
    found = await repo.search(
        session, assistant_id=body.assistant_id, thread_id=body.thread_id, metadata=body.metadata,
        enabled=body.enabled, limit=body.limit + 1, offset=body.offset, sort_by=body.sort_by,
        sort_order=body.sort_order, scope=scope,
    )
    return page_with_headers([public(cron) for cron in found], body.limit, body.offset, body.select)


async def count_crons(session: AsyncSession, actor: Actor, body: CronCount) -> int:
    scope = await actor.authorize("crons", "search", search_value(body, 0, 0))
    return await repo.count(session, assistant_id=body.assistant_id, thread_id=body.thread_id,
                            metadata=body.metadata, scope=scope)


async def fire_due_cron(session: AsyncSession, state: AppState) -> bool:
    """Claim one due cron, schedule its next tick and create this tick's run; False when nothing is due.

    The run acts for the cron's creator. The caller commits. A run that cannot be created (its thread busy under
    `reject`, ...) is logged and skipped: the tick still counts, so a failing cron does not fire in a loop.
    """
    cron = await repo.claim_due(session)
    if cron is None:
        return False
    try:
        following = next_tick(cron["schedule"], cron["timezone"], cron["now"])
    except Exception:
        logger.exception("cron %s has no next tick any more", cron["cron_id"])
        following = None
    await repo.set_next_run_date(session, cron["cron_id"], following)
    try:
        async with session.begin_nested():
            run = await runs_create.create_run(session, state, creator_actor(state.auth, cron), run_request(cron),
                                               cron["thread_id"])
    except ApiError as exc:
        logger.warning("cron %s skipped a tick: %s", cron["cron_id"], exc.detail)
    except Exception:
        logger.exception("cron %s could not create its run", cron["cron_id"])
    else:
        logger.info("cron %s created run %s on thread %s", cron["cron_id"], run["run_id"], run["thread_id"])
    return True
