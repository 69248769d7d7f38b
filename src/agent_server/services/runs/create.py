"""Creating a run: resolve the assistant and thread, apply the multitask strategy, insert (= enqueue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.db.unit_of_work import on_commit, on_rollback
from agent_server.errors import AssistantNotFound, BadRequest, Conflict, ThreadNotFound, Unprocessable
from agent_server.models.runs import RunCreate
from agent_server.repositories import runs as repo
from agent_server.repositories import threads as threads_repo
from agent_server.services import assistants as assistants_service
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


def run_kwargs(body: RunCreate, temporary: bool) -> dict[str, Any]:
    return {
        "input": body.input,
        "command": body.command.model_dump(exclude_none=True) if body.command else None,
        "config": body.config or {},
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
                         body: RunCreate, thread_metadata: dict[str, Any]) -> tuple[UUID, bool]:
    """The run's thread (created when stateless or `if_not_exists=create`); applies the multitask strategy."""
    if thread_id is None:
        thread_id = uuid4()
        await threads_repo.insert_new(session, thread_id, thread_metadata)
        return thread_id, True
    if not thread_exists:
        if body.if_not_exists != "create":
            raise ThreadNotFound(thread_id)
        await threads_repo.insert_new(session, thread_id, thread_metadata)
        return thread_id, False
    if body.multitask_strategy == "enqueue":
        return thread_id, False  # queued behind the active runs, if any: the insert checks
    active = await repo.active_for_thread(session, thread_id)
    if active and body.multitask_strategy == "reject":
        raise Conflict("Thread is busy with another run; multitask_strategy is 'reject'")
    for run in active:
        await cancel_active_run(session, state, run, body.multitask_strategy)
    return thread_id, False


def offer_slot(session: AsyncSession, state: AppState, body: RunCreate) -> Slot | None:
    """A slot of this process's worker, reserved to start the run at commit (skipping the queue), if one is free."""
    if state.worker is None or body.after_seconds or session.in_nested_transaction():
        return None  # a savepoint could roll the run back while the transaction commits: leave it to the queue
    return state.worker.reserve()


async def create_run(session: AsyncSession, state: AppState, body: RunCreate, thread_id: UUID | None,
                     auth_user: dict[str, Any] | None = None) -> dict[str, Any]:
    """Insert (= enqueue) a run; when this process has a free slot and the run can start now, it starts at commit."""
    stateless = thread_id is None
    validate_run_request(state, body, stateless)
    assistant_id = assistants_service.parse_assistant_id(body.assistant_id, state.graphs)
    assistant, thread_exists = await repo.assistant_and_locked_thread(session, assistant_id, thread_id)
    if assistant is None:
        raise AssistantNotFound(body.assistant_id)
    thread_metadata = {"graph_id": assistant["graph_id"], "assistant_id": str(assistant["assistant_id"])}
    thread_id, temporary = await prepare_thread(session, state, thread_id, thread_exists, body, thread_metadata)
    kwargs = run_kwargs(body, temporary)
    if auth_user is not None:
        kwargs["auth_user"] = auth_user
    values = {
        "run_id": uuid4(), "thread_id": thread_id, "assistant_id": assistant["assistant_id"],
        "metadata": body.metadata or {}, "kwargs": kwargs, "multitask_strategy": body.multitask_strategy,
        "after_seconds": body.after_seconds,
    }
    slot = offer_slot(session, state, body)
    if slot is None:
        return await repo.insert_run(session, values, thread_metadata)
    try:
        run = await repo.insert_run(session, values, thread_metadata, slot.worker_id, state.settings.lease_seconds)
    except BaseException:
        slot.release()
        raise
    if run["status"] != "running":  # the thread has active runs: it waits its turn in the queue
        slot.release()
        return run
    on_commit(session, lambda: slot.start(dict(run), assistant))
    on_rollback(session, slot.release)
    return run
