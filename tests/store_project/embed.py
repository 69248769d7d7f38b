"""A deterministic, offline embedding for tests of the store's semantic index.

Each lowercase word is hashed (BLAKE2b) into one of `DIMS` buckets; the counts are L2-normalised. Texts
sharing words have a positive cosine similarity, texts sharing none have 0 (barring bucket collisions,
which the tests check for their own words). A text without words gets a fixed unit vector on its own
bucket, so cosine distance stays defined.
"""

from __future__ import annotations

import hashlib
import math
import re

DIMS = 64
EMPTY_BUCKET = 0


def bucket(word: str) -> int:
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return 1 + int.from_bytes(digest, "big") % (DIMS - 1)  # bucket 0 is kept for texts without words


def vector(text: str) -> list[float]:
    counts = [0.0] * DIMS
    for word in re.findall(r"\w+", text.lower()):
        counts[bucket(word)] += 1.0
    norm = math.sqrt(sum(c * c for c in counts))
    if norm == 0:
        counts[EMPTY_BUCKET] = 1.0
        return counts
    return [c / norm for c in counts]


async def embed(texts: list[str]) -> list[list[float]]:
    return [vector(text) for text in texts]
