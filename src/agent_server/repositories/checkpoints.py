"""SQL on the checkpointer's own tables, for what its API lacks (deleting one run's checkpoints)."""

from __future__ import annotations

from uuid import UUID

from agent_server.db.engine import DictRowPool


async def delete_for_run(pool: DictRowPool, thread_id: UUID, run_id: UUID) -> None:
    """Remove the checkpoints (and their pending writes) that one run wrote on a thread."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM checkpoint_writes w USING checkpoints c "
            "WHERE c.thread_id = %s AND c.metadata->>'run_id' = %s AND w.thread_id = c.thread_id "
            "AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id",
            (str(thread_id), str(run_id)),
        )
        await conn.execute(
            "DELETE FROM checkpoints WHERE thread_id = %s AND metadata->>'run_id' = %s",
            (str(thread_id), str(run_id)),
        )
