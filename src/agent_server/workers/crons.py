"""The cron scheduler job (`cron.tick`): every worker polls for due crons and fires each in its own transaction.

Claims use FOR UPDATE SKIP LOCKED and move `next_run_date` before committing, so schedulers in any number of
processes share the work and fire every tick at most once.
"""

from __future__ import annotations

import asyncio
import logging

from agent_server.db.unit_of_work import commit
from agent_server.services.crons import fire_due_cron
from agent_server.state import AppState

logger = logging.getLogger(__name__)

# Bounds one poll, so a backlog of due crons cannot keep a scheduler from sleeping (and shutting down) for long.
MAX_TICKS_PER_POLL = 100


async def fire_due_crons(state: AppState, limit: int = MAX_TICKS_PER_POLL) -> int:
    """Fire due crons one transaction each until none is due (or `limit`); returns how many ticks fired."""
    fired = 0
    while fired < limit:
        async with state.sessionmaker() as session:
            if not await fire_due_cron(session, state):
                return fired
            await commit(session)
        fired += 1
    return fired


async def cron_loop(state: AppState) -> None:
    while True:
        try:
            await fire_due_crons(state)
        except Exception:
            logger.exception("cron.tick failed")
        await asyncio.sleep(state.settings.cron_interval_seconds)
