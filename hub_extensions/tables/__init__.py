"""The hub's tables, on the server's declarative `Base` so that Alembic (migrations/env.py) sees them."""

from hub_extensions.tables import profiles as profiles
from hub_extensions.tables import registry as registry
from hub_extensions.tables import tasks as tasks
