"""Open LangGraph Server: the Agent Protocol / LangGraph Platform API on PostgreSQL."""

__version__ = "0.1.0"
