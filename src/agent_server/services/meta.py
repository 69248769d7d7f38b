"""What `/info` reports: version and which capabilities this server has."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from agent_server import __version__
from agent_server.state import AppState


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def server_info(state: AppState) -> dict[str, Any]:
    return {
        "version": __version__,
        "server": "open-langgraph-server",
        "langgraph_py_version": _package_version("langgraph"),
        "flags": {
            "assistants": True,
            "crons": True,
            "langsmith": False,
            "store": True,
            "semantic_search": state.config.store.index is not None,
        },
        "host": {"python": platform.python_version()},
        "graphs": state.graphs.graph_ids,
    }
