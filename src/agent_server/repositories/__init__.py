"""The data-access layer: the only place that builds SQL for our tables."""
