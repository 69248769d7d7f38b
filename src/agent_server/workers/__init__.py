"""Background workers that execute runs."""
