"""Creating a run: resolve the assistant and thread, apply the multitask strategy, insert (= enqueue)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import BadRequest, Conflict, ThreadNotFound, Unprocessable
from agent_server.models.runs import RunCreate
from agent_server.repositories import runs as repo
from agent_server.repositories import threads as threads_repo
from agent_server.services import assistants as assistants_service
from agent_server.services.runs.cancel import cancel_active_run
from agent_server.services.runs.webhooks import WebhookRejected, check_webhook_url
from agent_server.state import AppState


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


async def prepare_thread(session: AsyncSession, state: AppState, thread_id: UUID | None, body: RunCreate,
                         thread_metadata: dict[str, Any]) -> tuple[UUID, bool]:
    """The run's thread (created when stateless or `if_not_exists=create`); applies the multitask strategy."""
    if thread_id is None:
        thread_id = uuid4()
        await threads_repo.insert_new(session, thread_id, thread_metadata)
        return thread_id, True
    if await threads_repo.get(session, thread_id, for_update=True) is None:
        if body.if_not_exists != "create":
            raise ThreadNotFound(thread_id)
        await threads_repo.insert_new(session, thread_id, thread_metadata)
        return thread_id, False
    active = await repo.active_for_thread(session, thread_id)
    if active and body.multitask_strategy == "reject":
        raise Conflict("Thread is busy with another run; multitask_strategy is 'reject'")
    if active and body.multitask_strategy in ("interrupt", "rollback"):
        for run in active:
            await cancel_active_run(session, state, run, body.multitask_strategy)
    return thread_id, False


async def create_run(session: AsyncSession, state: AppState, body: RunCreate, thread_id: UUID | None,
                     auth_user: dict[str, Any] | None = None) -> dict[str, Any]:
    stateless = thread_id is None
    validate_run_request(state, body, stateless)
    assistant = await assistants_service.get_assistant(session, state, body.assistant_id)
    thread_metadata = {"graph_id": assistant["graph_id"], "assistant_id": str(assistant["assistant_id"])}
    thread_id, temporary = await prepare_thread(session, state, thread_id, body, thread_metadata)
    kwargs = run_kwargs(body, temporary)
    if auth_user is not None:
        kwargs["auth_user"] = auth_user
    run = await repo.insert_run(session, {
        "run_id": uuid4(), "thread_id": thread_id, "assistant_id": assistant["assistant_id"],
        "metadata": body.metadata or {}, "kwargs": kwargs, "multitask_strategy": body.multitask_strategy,
        "after_seconds": body.after_seconds,
    })
    await repo.mark_thread_busy(session, thread_id, thread_metadata)
    return run  # workers, ours included, are woken by the run's NOTIFY at commit
