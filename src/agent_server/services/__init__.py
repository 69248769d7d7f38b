"""Business logic, one module per resource."""
