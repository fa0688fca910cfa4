"""Storage: the domain's tables, the database connection and its migrations."""

from chelun.storage.db import Database, open_database

__all__ = ["Database", "open_database"]
