"""`python -m agent_server` is `open-langgraph`."""

from agent_server.cli import app

app(prog_name="open-langgraph")
