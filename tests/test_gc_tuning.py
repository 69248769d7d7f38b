"""The server freezes its start-up heap and collects young garbage less often (agent_server.gc_tuning)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from conftest import make_settings, project_config

from agent_server import app as app_module
from agent_server.app import create_app
from agent_server.gc_tuning import YOUNG_GENERATION_THRESHOLD, freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_freezing_moves_live_objects_out_of_collection_and_raises_the_young_threshold(restored_gc: None) -> None:
    before = gc.get_threshold()
    alive = [Node() for _ in range(100)]
    freeze_startup_heap()
    assert gc.get_freeze_count() >= len(alive)
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, before[1], before[2])


def test_cycles_made_after_freezing_are_still_collected(restored_gc: None) -> None:
    freeze_startup_heap()
    first, second = Node(), Node()
    first.other, second.other = second, first
    watcher = weakref.ref(first)
    del first, second
    gc.collect()
    assert watcher() is None


@pytest.mark.parametrize("enabled", [True, False])
async def test_app_start_up_tunes_the_collector_only_when_the_setting_allows(
    enabled: bool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(app_module, "freeze_startup_heap", lambda: calls.append(True))
    settings = make_settings(database_url, OPEN_LANGGRAPH_GC_TUNING=enabled, OPEN_LANGGRAPH_N_JOBS_PER_WORKER=0)
    app = create_app(settings, project_config())
    async with app.router.lifespan_context(app):
        assert calls == ([True] if enabled else [])
