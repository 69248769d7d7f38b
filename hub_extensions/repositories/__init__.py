"""The hub's SQL: services call these modules rather than build statements."""
