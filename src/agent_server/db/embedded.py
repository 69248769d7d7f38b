"""The embedded PostgreSQL 16 (+ pgvector) that `open-langgraph dev` starts when no DATABASE_URL is set."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) a Postgres whose data lives in `data_dir/pgdata`; yield its URL; stop it on exit."""
    import pgserver  # heavy import, only when the embedded database is wanted

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    url = server.get_uri()
    logger.info("embedded PostgreSQL running with data in %s", pgdata)
    try:
        yield url
    finally:
        server.cleanup()
