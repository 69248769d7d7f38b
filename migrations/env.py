"""Alembic environment: our tables only; the checkpointer's and store's tables belong to their setup()."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, text

import hub_extensions.tables  # noqa: F401  (the hub's tables join Base.metadata)
from agent_server.db.tables import Base
from agent_server.settings import to_psycopg_url

# Held for the whole upgrade so that several processes starting at once migrate one at a time.
MIGRATION_LOCK_ID = 7_343_210_991

FOREIGN_TABLE_PREFIXES = ("checkpoint", "store")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if type_ == "table" and name and name.startswith(FOREIGN_TABLE_PREFIXES):
        return False
    table = getattr(obj, "table", None)
    table_name = getattr(table, "name", "")
    return not (table_name and table_name.startswith(FOREIGN_TABLE_PREFIXES))


def database_url() -> str:
    url = context.config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("set DATABASE_URL to migrate")
    return to_psycopg_url(url)


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(), target_metadata=Base.metadata, literal_binds=True, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), connect_args={"prepare_threshold": None})
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(
                connection=connection, target_metadata=Base.metadata, include_object=include_object, compare_type=True
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
