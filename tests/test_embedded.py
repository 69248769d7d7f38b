"""The embedded PostgreSQL behind `open-langgraph dev`: data survives restarts, and it stops when its users leave."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import ServedApp, make_settings
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from agent_server.app import create_app
from agent_server.config import load_config
from agent_server.db.embedded import DATABASE_NAME, HANDLES_FILE, embedded_postgres, pgdata_dir, postmaster_pid

REPO_CONFIG = Path(__file__).resolve().parents[1] / "open_langgraph.json"

pytestmark = pytest.mark.embedded


@asynccontextmanager
async def server_on(data_dir: Path) -> AsyncIterator[tuple[LangGraphClient, str]]:
    """The repo's app on the embedded PostgreSQL of `data_dir`, as `open-langgraph dev` runs it."""
    with embedded_postgres(data_dir) as url:
        async with ServedApp(create_app(make_settings(url), load_config(REPO_CONFIG))) as served:
            client = get_client(url=served.url, api_key=None)
            try:
                yield client, url
            finally:
                await client.aclose()


def dead_pid() -> int:
    """The pid of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


async def test_start_write_restart_read_back(embedded_data_dir: Path) -> None:
    data_dir = embedded_data_dir
    async with server_on(data_dir) as (client, url):
        assert postmaster_pid(data_dir) is not None
        assert url.endswith(f"/{DATABASE_NAME}?host={pgdata_dir(data_dir)}")
        assistant = await client.assistants.create("chat", name="kept", metadata={"note": "survives"})
        thread = await client.threads.create(metadata={"note": "survives"})
        run_input: dict[str, Any] = {"messages": [{"role": "human", "content": "remember me"}]}
        await client.runs.wait(thread["thread_id"], assistant["assistant_id"], input=run_input)
    assert postmaster_pid(data_dir) is None, "the embedded PostgreSQL must stop with its last user"

    async with server_on(data_dir) as (client, _):
        again = await client.assistants.get(assistant["assistant_id"])
        assert (again["name"], again["metadata"]) == ("kept", {"note": "survives"})
        found = await client.threads.get(thread["thread_id"])
        assert found["metadata"] == {"note": "survives", "graph_id": "chat", "assistant_id": assistant["assistant_id"]}
        values = (await client.threads.get_state(thread["thread_id"]))["values"]
        assert isinstance(values, dict)
        contents = [message["content"] for message in values["messages"]]
        assert contents == ["remember me", "You said: remember me"]
    assert postmaster_pid(data_dir) is None


def test_pgvector_is_available(embedded_data_dir: Path) -> None:
    with embedded_postgres(embedded_data_dir) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = conn.execute("SELECT '[1,2]'::vector <-> '[4,6]'::vector").fetchone()
        assert row is not None
        assert row[0] == 5.0
        version = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert version is not None
        assert version[0] >= 160000


def test_commits_do_not_wait_for_the_disk_on_the_embedded_database(embedded_data_dir: Path) -> None:
    with embedded_postgres(embedded_data_dir) as url, psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW synchronous_commit").fetchone()
        assert row is not None
        assert row[0] == "off"
        server_default = conn.execute("SELECT boot_val FROM pg_settings WHERE name = 'synchronous_commit'").fetchone()
        assert server_default == ("on",), "the setting is the database's, not the whole server's"


def test_handle_of_a_dead_process_does_not_keep_it_running(embedded_data_dir: Path) -> None:
    with embedded_postgres(embedded_data_dir):
        pass
    # A `dev` killed with SIGKILL leaves its handle behind.
    (pgdata_dir(embedded_data_dir) / HANDLES_FILE).write_text(f"[{dead_pid()}]")
    with embedded_postgres(embedded_data_dir):
        assert postmaster_pid(embedded_data_dir) is not None
    assert postmaster_pid(embedded_data_dir) is None


def test_server_keeps_running_while_another_process_uses_it(embedded_data_dir: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from agent_server.db.embedded import embedded_postgres\n"
         f"with embedded_postgres(Path({str(embedded_data_dir)!r})):\n"
         "    print('ready', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with embedded_postgres(embedded_data_dir) as url, psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert postmaster_pid(embedded_data_dir) is not None, "the other process still uses it"
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0
    assert postmaster_pid(embedded_data_dir) is None
