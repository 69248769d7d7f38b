"""The config file: the three graph forms, env, relative paths, unknown and malformed keys, graph factories."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from agent_server.config import ConfigError, ProjectConfig, load_config
from agent_server.services.graphs import GraphRegistry

GRAPHS_PY = '''
from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

CALLS: list[dict[str, Any]] = []


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


def _builder(name: str) -> StateGraph:
    builder = StateGraph(State)
    builder.add_node(name, lambda state: {"steps": [name]})
    builder.add_edge(START, name)
    builder.add_edge(name, END)
    return builder


compiled = _builder("compiled").compile()
uncompiled = _builder("uncompiled")


def sync_factory(config: RunnableConfig) -> Any:
    CALLS.append(dict(config))
    return _builder(config["configurable"]["node"]).compile()


async def async_factory(config: RunnableConfig) -> Any:
    CALLS.append(dict(config))
    return _builder(config["configurable"]["node"])


def no_arg_factory() -> Any:
    return _builder("no_arg").compile()


not_a_graph = 42
'''


def write_config(folder: Path, content: dict[str, Any] | str, name: str = "langgraph.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: graphs as a file and as a package module, and a .env file."""
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "defs.py").write_text(GRAPHS_PY)
    package = tmp_path / "src" / f"pkg_{tmp_path.name.replace('-', '_')}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(GRAPHS_PY)
    (tmp_path / ".env").write_text("FROM_DOTENV=yes\nQUOTED='two words'\n")
    return tmp_path


def package_name(project: Path) -> str:
    return next((project / "src").iterdir()).name


# --- graph forms and paths -------------------------------------------------------------------------------------


def three_graph_forms(project: Path) -> dict[str, Any]:
    """A file path, a module path, and a described entry."""
    return {
        "dependencies": ["./src"],
        "graphs": {
            "file": "./graphs/defs.py:compiled",
            "module": f"{package_name(project)}.mod:compiled",
            "described": {"path": "./graphs/defs.py:uncompiled", "description": "a StateGraph"},
        },
    }


def test_three_graph_forms(project: Path) -> None:
    config = load_config(write_config(project, three_graph_forms(project)))
    specs = {spec.graph_id: spec for spec in config.graphs}
    assert list(specs) == ["file", "module", "described"]
    assert specs["described"].description == "a StateGraph"
    assert specs["file"].description is None
    assert config.resolve_path(specs["file"].path) == f"{(project / 'graphs' / 'defs.py').resolve()}:compiled"
    assert config.resolve_path(specs["module"].path) == f"{package_name(project)}.mod:compiled"


async def test_every_form_loads_and_runs(project: Path) -> None:
    config = load_config(write_config(project, three_graph_forms(project)))
    registry = GraphRegistry.from_config(config, None, None)
    assert registry.graph_ids == ["file", "module", "described"]
    assert registry.description("described") == "a StateGraph"
    for graph_id, node in (("file", "compiled"), ("module", "compiled"), ("described", "uncompiled")):
        graph = await registry.build(graph_id)
        assert isinstance(graph, Pregel)
        assert await graph.ainvoke({"steps": []}) == {"steps": [node]}


async def test_a_compiled_graph_is_attached_once_and_shared_by_concurrent_runs(project: Path) -> None:
    config = load_config(write_config(project, three_graph_forms(project)))
    saver = InMemorySaver()
    registry = GraphRegistry.from_config(config, saver, None)
    graph = await registry.build("file", {"configurable": {"thread_id": "a"}})
    assert await registry.build("file") is graph
    assert (graph.checkpointer, graph.name) == (saver, "file")
    threads = [f"t{i}" for i in range(8)]
    results = await asyncio.gather(*(graph.ainvoke({"steps": [t]}, {"configurable": {"thread_id": t}})
                                     for t in threads))
    assert results == [{"steps": [t, "compiled"]} for t in threads]
    for t in threads:  # each thread's checkpoint holds its own run only
        state = await graph.aget_state({"configurable": {"thread_id": t}})
        assert state.values == {"steps": [t, "compiled"]}
    registry.register("file", (await registry.build("described")).copy(update={"checkpointer": None}))
    assert await registry.build("file") is not graph  # registering again drops the attached copy


def test_relative_paths_resolve_against_the_config_folder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(project / "conf", {
        "dependencies": ["..", "../src"],
        "graphs": {"g": "../graphs/defs.py:compiled"},
        "env": "../.env",
        "auth": {"path": "./auth.py:auth"},
        "http": {"app": "../app.py:app"},
    })
    monkeypatch.chdir(project / "graphs")  # the working directory must not matter
    config = load_config(path)
    assert config.base_dir == (project / "conf").resolve()
    assert config.dependencies == [project.resolve(), (project / "src").resolve()]
    assert config.resolve_path(config.graphs[0].path) == f"{(project / 'graphs' / 'defs.py').resolve()}:compiled"
    assert config.env["FROM_DOTENV"] == "yes"
    assert config.auth.path is not None
    assert config.http.app is not None
    assert config.resolve_path(config.auth.path) == f"{(project / 'conf' / 'auth.py').resolve()}:auth"
    assert config.resolve_path(config.http.app) == f"{(project / 'app.py').resolve()}:app"


def test_config_path_relative_to_working_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(project, {"graphs": {"g": "./graphs/defs.py:compiled"}})
    monkeypatch.chdir(project)
    config = load_config(Path("langgraph.json"))
    assert config.base_dir == project.resolve()


# --- env -------------------------------------------------------------------------------------------------------


def test_env_as_object_stringifies_scalars(project: Path) -> None:
    config = load_config(write_config(project, {"env": {"A": "x", "N": 3, "F": 1.5, "B": True}}))
    assert config.env == {"A": "x", "N": "3", "F": "1.5", "B": "True"}


def test_env_as_dotenv_file(project: Path) -> None:
    config = load_config(write_config(project, {"env": ".env"}))
    assert config.env == {"FROM_DOTENV": "yes", "QUOTED": "two words"}


def test_env_file_missing_is_an_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="'env'.*missing"):
        load_config(write_config(project, {"env": "./nope.env"}))


# --- the other sections --------------------------------------------------------------------------------------


def test_store_checkpointer_http_and_webhooks_sections(project: Path) -> None:
    config = load_config(write_config(project, {
        "store": {
            "index": {"embed": "openai:text-embedding-3-small", "dims": 1536, "fields": ["text"]},
            "ttl": {"default_ttl": 60, "sweep_interval_minutes": 5},
        },
        "checkpointer": {"ttl": {"default_ttl": 1440, "strategy": "delete"}},
        "http": {"cors": {"allow_origins": ["https://example.com"]}, "disable_store": True},
        "webhooks": {"url": {"require_https": True, "allowed_domains": ["hooks.example.com"]}},
    }))
    assert config.store.index is not None
    assert config.store.index.dims == 1536
    assert config.store.index.fields == ["text"]
    assert config.store.ttl is not None
    assert config.store.ttl.sweep_interval_minutes == 5
    assert config.checkpointer.ttl is not None
    assert config.checkpointer.ttl.default_ttl == 1440
    assert config.http.cors is not None
    assert config.http.cors.allow_origins == ["https://example.com"]
    assert config.http.disable_store is True
    assert config.webhooks.url.require_https is True


def test_empty_config_has_defaults(project: Path) -> None:
    config = load_config(write_config(project, {}))
    assert config == ProjectConfig(base_dir=project.resolve())


# --- unknown and malformed keys ------------------------------------------------------------------------------


def test_unknown_keys_warn_and_known_langgraph_keys_do_not(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent_server.config"):
        load_config(write_config(project, {"graphs": {}, "python_version": "3.11", "grahps": {}, "extra": 1}))
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "'grahps'" in warned
    assert "'extra'" in warned
    assert "python_version" not in warned


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ({"graphs": ["./a.py:g"]}, "'graphs'"),
        ({"graphs": {"broken": 3}}, "'graphs.broken'"),
        ({"graphs": {"broken": {"description": "no path"}}}, "'graphs.broken'"),
        ({"graphs": {"nocolon": "./graphs/defs.py"}}, "'graphs.nocolon'"),
        ({"dependencies": "."}, "'dependencies'"),
        ({"env": ["A=1"]}, "'env'"),
        ({"env": {"A": {"nested": 1}}}, "'env'"),
        ({"store": []}, "'store'"),
        ({"store": {"index": {"embed": "x", "dims": 0}}}, "'store.index.dims'"),
        ({"store": {"index": {"dims": 3}}}, "'store.index.embed'"),
        ({"store": {"ttl": {"default_ttl": -1}}}, "'store.ttl.default_ttl'"),
        ({"checkpointer": {"ttl": {"sweep_interval_minutes": "often"}}}, "'checkpointer.ttl.sweep_interval_minutes'"),
        ({"http": {"cors": {"allow_origins": "*"}}}, "'http.cors.allow_origins'"),
        ({"auth": {"path": 3}}, "'auth.path'"),
        ({"webhooks": {"url": {"allowed_ports": ["eighty"]}}}, "'webhooks.url.allowed_ports.0'"),
    ],
)
def test_malformed_keys_fail_naming_the_key(project: Path, content: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(project, content))
    assert key in str(caught.value)


def test_missing_and_invalid_files(project: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(project / "missing.json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(write_config(project, "{ graphs: }"))
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(write_config(project, "[]"))


# --- factories -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["sync_factory", "async_factory"])
async def test_graph_factory_is_called_with_the_run_config(project: Path, attribute: str) -> None:
    config = load_config(write_config(project, {"graphs": {"made": f"./graphs/defs.py:{attribute}"}}))
    registry = GraphRegistry.from_config(config, None, None)
    module = _loaded_module(config)
    calls_before = len(module.CALLS)
    for node in ("alpha", "beta"):
        graph = await registry.build("made", {"configurable": {"node": node, "thread_id": "t"}})
        assert await graph.ainvoke({"steps": []}) == {"steps": [node]}
    new_calls = module.CALLS[calls_before:]
    assert [call["configurable"]["node"] for call in new_calls] == ["alpha", "beta"]


async def test_factory_without_parameters_and_non_graph_attributes(project: Path) -> None:
    config = load_config(write_config(project, {"graphs": {"plain": "./graphs/defs.py:no_arg_factory"}}))
    graph = await GraphRegistry.from_config(config, None, None).build("plain", {"configurable": {"x": 1}})
    assert await graph.ainvoke({"steps": []}) == {"steps": ["no_arg"]}
    bad = load_config(write_config(project, {"graphs": {"bad": "./graphs/defs.py:not_a_graph"}}))
    with pytest.raises(TypeError, match="'bad'"):
        GraphRegistry.from_config(bad, None, None)
    missing = load_config(write_config(project, {"graphs": {"gone": "./graphs/defs.py:nothing_here"}}))
    with pytest.raises(RuntimeError, match="'gone'"):
        GraphRegistry.from_config(missing, None, None)


def _loaded_module(config: ProjectConfig) -> Any:
    """The module the registry imported for the config's first graph (file imports are cached by path)."""
    path = config.resolve_path(config.graphs[0].path).rpartition(":")[0]
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == path)

