"""Runs: creation, execution, streaming, cancellation."""
