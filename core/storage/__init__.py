"""Storage: the domain's tables (``tables``), the database and its migrations (``db``), the one
event writer (``events``), run locks (``locks``).

Nothing is imported here: ``chelun.storage.private`` must not pull SQLAlchemy and Alembic into
commands that never open the database (``chelun --help``).
"""
