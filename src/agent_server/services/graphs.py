"""The graphs a project registers: import them once, then build a runnable per use.

A registered attribute may be a compiled graph, a `StateGraph`, or a sync/async factory that takes a
`RunnableConfig` (called for every use, as LangGraph Platform does).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from agent_server.config import ProjectConfig
from agent_server.errors import GraphNotFound

# The namespace LangGraph Platform derives default assistant ids from (uuid5 of the graph id).
ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
DEFAULT_GRAPH_NAME = "LangGraph"


def default_assistant_id(graph_id: str) -> uuid.UUID:
    return uuid.uuid5(ASSISTANT_NAMESPACE, graph_id)


def add_dependencies_to_path(config: ProjectConfig) -> None:
    """`dependencies` become importable before anything imports user code (graphs, store embed, http.app)."""
    for dep in reversed(config.dependencies):
        if str(dep) not in sys.path:
            sys.path.insert(0, str(dep))


def import_object(ref: str) -> Any:
    """Import `module.path:attr` or `/abs/file.py:attr` (attr may be dotted)."""
    module_ref, _, attr = ref.rpartition(":")
    if not module_ref or not attr:
        raise ValueError(f"expected 'module:attribute', got {ref!r}")
    if module_ref.endswith(".py"):
        module = _import_file(Path(module_ref))
    else:
        module = importlib.import_module(module_ref)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _import_file(path: Path) -> Any:
    name = f"_olg_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@dataclass
class RegisteredGraph:
    graph_id: str
    target: Any
    description: str | None = None

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.target, Pregel | StateGraph) and callable(self.target)


class GraphRegistry:
    """Graph id -> importable graph; `build` attaches the checkpointer and store.

    A compiled graph is shared by every run of its id (LangGraph graphs keep no state between invocations), so
    it is attached once; a factory's graph is built and attached for each use.
    """

    def __init__(self, checkpointer: BaseCheckpointSaver | None, store: BaseStore | None) -> None:
        self._graphs: dict[str, RegisteredGraph] = {}
        self._attached: dict[str, Pregel] = {}
        self.checkpointer = checkpointer
        self.store = store

    @classmethod
    def from_config(
        cls, config: ProjectConfig, checkpointer: BaseCheckpointSaver | None, store: BaseStore | None
    ) -> GraphRegistry:
        registry = cls(checkpointer, store)
        add_dependencies_to_path(config)
        for spec in config.graphs:
            try:
                target = import_object(config.resolve_path(spec.path))
            except Exception as exc:
                raise RuntimeError(f"graph {spec.graph_id!r} failed to load from {spec.path}: {exc}") from exc
            registry.register(spec.graph_id, target, spec.description)
        return registry

    def register(self, graph_id: str, target: Any, description: str | None = None) -> None:
        if isinstance(target, StateGraph):
            target = target.compile()
        if not isinstance(target, Pregel) and not callable(target):
            raise TypeError(f"graph {graph_id!r} is neither a graph nor a factory: {type(target).__name__}")
        self._graphs[graph_id] = RegisteredGraph(graph_id, target, description)
        self._attached.pop(graph_id, None)

    @property
    def graph_ids(self) -> list[str]:
        return list(self._graphs)

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._graphs

    def description(self, graph_id: str) -> str | None:
        return self._registered(graph_id).description

    def _registered(self, graph_id: str) -> RegisteredGraph:
        try:
            return self._graphs[graph_id]
        except KeyError:
            raise GraphNotFound(graph_id) from None

    async def build(self, graph_id: str, config: RunnableConfig | None = None) -> Pregel:
        """A graph ready to run or inspect, with our checkpointer and store."""
        registered = self._registered(graph_id)
        if not registered.is_factory:
            if graph_id not in self._attached:
                self._attached[graph_id] = self._attach(graph_id, registered.target)
            return self._attached[graph_id]
        graph: Any = registered.target
        graph = graph(config or {}) if _takes_argument(graph) else graph()
        if inspect.isawaitable(graph):
            graph = await graph
        if isinstance(graph, StateGraph):
            graph = graph.compile()
        if not isinstance(graph, Pregel):
            raise TypeError(f"factory of graph {graph_id!r} returned {type(graph).__name__}")
        return self._attach(graph_id, graph)

    def _attach(self, graph_id: str, graph: Pregel) -> Pregel:
        update: dict[str, Any] = {"checkpointer": self.checkpointer, "store": self.store}
        if graph.name == DEFAULT_GRAPH_NAME:  # unnamed graphs take their id, as on LangGraph Platform
            update["name"] = graph_id
        return graph.copy(update=update)


def _takes_argument(factory: Any) -> bool:
    try:
        return len(inspect.signature(factory).parameters) >= 1
    except (TypeError, ValueError):
        return False
