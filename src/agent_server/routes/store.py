"""/store (filled in by its own slice)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
