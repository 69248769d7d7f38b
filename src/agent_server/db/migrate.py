"""Schema upgrades: Alembic for our tables, then LangGraph's own setup() for checkpoints and store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

REPO_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_schema(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_schema_async(database_url: str) -> None:
    await asyncio.to_thread(upgrade_schema, database_url)
