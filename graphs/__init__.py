"""The graphs this repository ships, registered in `open_langgraph.json`; they run offline."""
