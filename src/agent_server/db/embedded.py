"""The embedded PostgreSQL 16 (+ pgvector) that `open-langgraph dev` starts when no DATABASE_URL is set.

pgserver runs a server from a data folder and lets several processes share it: each process holds a
handle (its pid, in `pgdata/.handle_pids.json`) and the last one to leave stops the server. On top of that
we keep our tables in a database of their own, and drop the handles of processes that died without
leaving (a killed `dev`), which would otherwise keep the server from ever being stopped again.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DATABASE_NAME = "open_langgraph"
HANDLES_FILE = ".handle_pids.json"


def pgdata_dir(data_dir: Path) -> Path:
    """Where PostgreSQL keeps its files inside our data folder."""
    return (data_dir / "pgdata").resolve()


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the embedded server of `data_dir` if it is running, else None."""
    try:
        first_line = (pgdata_dir(data_dir) / "postmaster.pid").read_text().split("\n", 1)[0]
        pid = int(first_line)
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _prune_dead_handles(pgdata: Path, lock: AbstractContextManager[object]) -> None:
    handles = pgdata / HANDLES_FILE
    with lock:  # pgserver's inter-process lock, the one that guards this file
        if not handles.is_file():
            return
        pids: list[int] = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            logger.info("dropping handles of exited processes on %s: %s", pgdata, sorted(set(pids) - set(alive)))
            handles.write_text(json.dumps(alive))


# The embedded database is a development database: a commit returns before its WAL reaches the disk. A crash of
# the machine (not of the server) can lose the last fraction of a second of commits, never consistency; each
# commit is ~0.1-1 ms faster, which is most of a short run's latency. A DATABASE_URL server keeps its own setting.
EMBEDDED_SETTINGS = {"synchronous_commit": "off"}


def _ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        for setting, value in EMBEDDED_SETTINGS.items():
            conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)))


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the Postgres whose files live in `data_dir/pgdata`; yield the URL of our database.

    Leaving the block stops the server unless another process still uses it. The data stays.
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI)
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import PostgresServer, get_server  # heavy: only when wanted

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = pgdata_dir(data_dir)
    _prune_dead_handles(pgdata, PostgresServer._lock)
    server = get_server(pgdata, cleanup_mode="stop")
    try:
        _ensure_database(server.get_uri(), DATABASE_NAME)
        logger.info("embedded PostgreSQL running with data in %s", pgdata)
        yield server.get_uri(database=DATABASE_NAME)
    finally:
        server.cleanup()
