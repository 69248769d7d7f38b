"""Creating a run: resolve the assistant and thread, apply the multitask strategy, insert (= enqueue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.unit_of_work import on_commit, on_rollback, unit_of_work
from agent_server.errors import AssistantNotFound, BadRequest, Conflict, ThreadNotFound, Unprocessable
from agent_server.models.runs import RunCreate
from agent_server.repositories import runs as repo
from agent_server.repositories import threads as threads_repo
from agent_server.repositories.common import Scope
from agent_server.services import assistants as assistants_service
from agent_server.services.auth import Actor, equality_fields
from agent_server.services.runs.cancel import cancel_active_run
from agent_server.services.runs.webhooks import WebhookRejected, check_webhook_url
from agent_server.state import AppState

if TYPE_CHECKING:
    from agent_server.workers.worker import Slot


def validate_run_request(state: AppState, body: RunCreate, stateless: bool) -> None:
    if body.input is not None and body.command is not None:
        raise Unprocessable("Give either input or command, not both")
    if stateless and body.command is not None and body.command.resume is not None:
        raise BadRequest("Cannot resume a stateless run: there is no thread with an interrupt to resume")
    if stateless and (body.checkpoint is not None or body.checkpoint_id is not None):
        raise BadRequest("A stateless run has no checkpoint to start from")
    if body.webhook:
        try:
            check_webhook_url(body.webhook, state.config.webhooks.url)
        except WebhookRejected as exc:
            raise Unprocessable(str(exc)) from None


AUTH_CONFIG_KEYS = ("langgraph_auth_user", "langgraph_auth_user_id", "langgraph_auth_permissions")


def config_with_user(config: dict[str, Any] | None, actor: Actor) -> dict[str, Any]:
    """The run's config with the caller as LangGraph Platform passes it to graphs; a client cannot forge it."""
    config = dict(config or {})
    configurable = {k: v for k, v in (config.get("configurable") or {}).items() if k not in AUTH_CONFIG_KEYS}
    user = actor.run_config_user()
    if user is not None:
        configurable.update(langgraph_auth_user=user, langgraph_auth_user_id=user["identity"],
                            langgraph_auth_permissions=user["permissions"])
    if configurable or "configurable" in config:
        config["configurable"] = configurable
    return config


def run_kwargs(body: RunCreate, actor: Actor, temporary: bool) -> dict[str, Any]:
    return {
        "input": body.input,
        "command": body.command.model_dump(exclude_none=True) if body.command else None,
        "config": config_with_user(body.config, actor),
        "context": body.context or {},
        "stream_mode": body.modes,
        "subgraphs": body.stream_subgraphs,
        "resumable": body.stream_resumable,
        "interrupt_before": body.interrupt_before,
        "interrupt_after": body.interrupt_after,
        "checkpoint": body.checkpoint.model_dump(exclude_none=True) if body.checkpoint else None,
        "checkpoint_id": body.checkpoint_id,
        "checkpoint_during": body.checkpoint_during,
        "durability": body.durability,
        "webhook": body.webhook,
        "feedback_keys": body.feedback_keys,
        "temporary": temporary,
        "on_completion": body.on_completion or ("delete" if temporary else "keep"),
        "on_disconnect": body.on_disconnect,
    }


async def prepare_thread(session: AsyncSession, state: AppState, thread_id: UUID | None, thread_exists: bool,
                         body: RunCreate, new_thread_metadata: dict[str, Any]) -> UUID:
    """The run's thread (created when stateless or `if_not_exists=create`); applies the multitask strategy."""
    if thread_id is None:
        thread_id = uuid4()
        await threads_repo.insert_new(session, thread_id, new_thread_metadata)
        return thread_id
    if not thread_exists:
        if body.if_not_exists != "create":
            raise ThreadNotFound(thread_id)
        if await threads_repo.insert_new(session, thread_id, new_thread_metadata) is None:
            raise ThreadNotFound(thread_id)  # it exists, but the caller may not see it
        return thread_id
    if body.multitask_strategy == "enqueue":
        return thread_id  # queued behind the active runs, if any: the insert checks
    active = await repo.active_for_thread(session, thread_id)
    if active and body.multitask_strategy == "reject":
        raise Conflict("Thread is busy with another run; multitask_strategy is 'reject'")
    for run in active:
        await cancel_active_run(session, state, run, body.multitask_strategy)
    return thread_id


def offer_slot(session: AsyncSession, state: AppState, body: RunCreate) -> Slot | None:
    """A slot of this process's worker, reserved to start the run at commit (skipping the queue), if one is free."""
    if state.worker is None or body.after_seconds or session.in_nested_transaction():
        return None  # a savepoint could roll the run back while the transaction commits: leave it to the queue
    return state.worker.reserve()


async def authorize_run(actor: Actor, body: RunCreate, thread_id: UUID | None,
                        kwargs: dict[str, Any]) -> tuple[dict[str, Any], Scope]:
    """`threads.create_run`: the handler may change the run's metadata and returns the filters its thread must pass."""
    value: dict[str, Any] = {
        "thread_id": thread_id, "assistant_id": body.assistant_id, "run_id": None, "status": "pending",
        "metadata": dict(body.metadata or {}), "prevent_insert_if_inflight": body.multitask_strategy == "reject",
        "multitask_strategy": body.multitask_strategy, "if_not_exists": body.if_not_exists,
        "after_seconds": body.after_seconds, "kwargs": kwargs,
    }
    scope = await actor.authorize("threads", "create_run", value)
    return dict(value["metadata"] or {}), scope


async def create_run_committed(state: AppState, actor: Actor, body: RunCreate,
                               thread_id: UUID | None) -> dict[str, Any]:
    """`create_run` in a unit of work of its own, committed on return (a route needs no session of its own for it:
    the common case commits on the pool and never uses the session)."""
    async with unit_of_work(state.sessionmaker) as session:
        return await create_run(session, state, actor, body, thread_id, alone=True)


async def create_run(session: AsyncSession, state: AppState, actor: Actor, body: RunCreate,
                     thread_id: UUID | None, *, alone: bool = False) -> dict[str, Any]:
    """Insert (= enqueue) a run; when this process has a free slot and the run can start now, it starts at commit.

    `alone`: the session's unit of work holds nothing else, before or after, so the run may be committed by
    itself (`commits_alone`). Callers that do more in the same transaction (a batch, a cron tick) leave it False.
    """
    stateless = thread_id is None
    validate_run_request(state, body, stateless)
    assistant_id = assistants_service.parse_assistant_id(body.assistant_id, state.graphs)
    kwargs = run_kwargs(body, actor, stateless)
    metadata, thread_scope = await authorize_run(actor, body, thread_id, kwargs)
    assistant_scope = await assistants_service.run_assistant_scope(actor, assistant_id, state.graphs)
    values = {
        "run_id": uuid4(), "thread_id": thread_id, "assistant_id": assistant_id, "metadata": metadata,
        "kwargs": kwargs, "multitask_strategy": body.multitask_strategy, "after_seconds": body.after_seconds,
    }
    slot = offer_slot(session, state, body)
    try:
        run, assistant, committed = await enqueue(session, state, body, values, slot, alone=alone,
                                                  assistant_scope=assistant_scope, thread_scope=thread_scope)
    except BaseException:
        if slot is not None:
            slot.release()
        raise
    if slot is not None:
        start_when_committed(session, slot, run, assistant, committed)
    return run


def commits_alone(session: AsyncSession, body: RunCreate, thread_id: UUID | None, *, alone: bool,
                  assistant_scope: Scope, thread_scope: Scope) -> bool:
    """The common case: an existing thread, strategy enqueue, no auth filters, and a unit of work that holds
    nothing else (`alone`, and no transaction begun), so the run can be committed on its own, in one round trip."""
    return (alone and thread_id is not None and body.multitask_strategy == "enqueue" and not assistant_scope
            and not thread_scope and not session.in_transaction())


async def enqueue(session: AsyncSession, state: AppState, body: RunCreate, values: dict[str, Any], slot: Slot | None,
                  *, alone: bool, assistant_scope: Scope,
                  thread_scope: Scope) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(the inserted run, its assistant, whether it is committed already). The common case (`commits_alone`) is
    committed on the pool; any other run is inserted in the session's transaction once its thread is checked and
    prepared (created, its active runs cancelled)."""
    worker_id, lease_seconds = (slot.worker_id, state.settings.lease_seconds) if slot else (None, 0.0)
    thread_id = values["thread_id"]
    run = None
    if commits_alone(session, body, thread_id, alone=alone, assistant_scope=assistant_scope,
                     thread_scope=thread_scope):
        assistant, thread_exists, run = await repo.enqueue_committed(state.pool, values, worker_id, lease_seconds)
    else:
        assistant, thread_exists = await repo.assistant_and_locked_thread(
            session, values["assistant_id"], thread_id, assistant_scope=assistant_scope, thread_scope=thread_scope)
    if assistant is None:
        raise AssistantNotFound(body.assistant_id)
    if run is not None:
        return run, assistant, True
    new_thread_metadata = {**equality_fields(thread_scope), "graph_id": assistant["graph_id"],
                           "assistant_id": str(assistant["assistant_id"])}
    values["thread_id"] = await prepare_thread(session, state, thread_id, thread_exists, body, new_thread_metadata)
    return await repo.insert_run(session, values, worker_id, lease_seconds), assistant, False


def start_when_committed(session: AsyncSession, slot: Slot, run: dict[str, Any], assistant: dict[str, Any],
                         committed: bool) -> None:
    """The slot runs the run if it was inserted claimed, once it is committed; else the slot is given back now."""
    if run["status"] != "running":  # the thread has active runs: it waits its turn in the queue
        slot.release()
    elif committed:
        slot.start(dict(run), assistant)
    else:
        on_commit(session, lambda: slot.start(dict(run), assistant))
        on_rollback(session, slot.release)
