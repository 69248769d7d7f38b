"""The hub: a task manager for coding agents, an AI model registry and HTTP provider profiles.

Mounted into the server through the config's `http.app` (`hub_extensions.app:app`), the same mechanism users have
for their own routes. Its routes reuse the server's database sessions (`agent_server.deps`), authentication and
errors (`agent_server.errors`); its tables live in the server's Alembic history (`tables/`).
"""
