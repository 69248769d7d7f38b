"""The migrations are the only way the schema changes: they must build exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import scratch_database
from sqlalchemy import create_engine

import hub_extensions.tables  # noqa: F401  (the hub's tables join Base.metadata)
from agent_server.db.migrate import upgrade_schema_async
from agent_server.db.tables import Base
from agent_server.settings import to_psycopg_url


async def test_the_migrated_schema_matches_the_models() -> None:
    with scratch_database("olg_test_schema") as url:
        await upgrade_schema_async(url)
        engine = create_engine(to_psycopg_url(url))
        try:
            with engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        finally:
            engine.dispose()
    assert differences == []
