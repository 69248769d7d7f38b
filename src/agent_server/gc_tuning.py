"""Python's cyclic garbage collector, tuned for a long-running server process.

After start-up the heap holds ~230,000 long-lived objects (graphs, LangChain and Pydantic classes, SQLAlchemy
metadata) that every older-generation collection walks again, and the default first-generation threshold (700
allocations) starts a collection every few requests. Under load the collector took 7-8 % of the server's CPU
(measured with `gc.callbacks` during bench/run.py's throughput and store scenarios). Freezing the start-up heap
takes it out of the collector's sight, and a larger first-generation threshold makes young collections rarer:
the collector then costs ~1 %. Garbage cycles are still collected; only objects alive at start-up are exempt.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

YOUNG_GENERATION_THRESHOLD = 20_000


def freeze_startup_heap() -> None:
    """Call once the process has started (graphs imported, connections open), before it takes load."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
    logger.debug("garbage collector: %d start-up objects frozen, thresholds %s", gc.get_freeze_count(),
                 gc.get_threshold())
