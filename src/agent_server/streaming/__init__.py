"""Run event streams: the broker seam (in-memory, Postgres LISTEN/NOTIFY) and SSE framing."""
