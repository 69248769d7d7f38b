"""Database access: ORM tables, the engine, and the embedded PostgreSQL."""
