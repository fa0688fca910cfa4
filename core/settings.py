"""Settings: environment variables prefixed ``CHELUN_``, or a ``.env`` file in the working dir.

``Settings`` holds what the framework needs (where data lives, which plugins load); each
capability keeps its own settings in its room (``chelun.roster.settings`` ...), built on the same
``ChelunSettings`` base so that every setting is read the same way. docs/operators.md lists them
all, and a test keeps that list complete.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChelunSettings(BaseSettings):
    """Base of every settings class: ``CHELUN_`` variables, then ``.env``, then defaults."""

    model_config = SettingsConfigDict(env_prefix="CHELUN_", env_file=".env", extra="ignore")


class HttpSettings(ChelunSettings):
    """Base of the settings of a capability that talks to outside systems over HTTP."""

    http_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds an outside system has to answer one HTTP request.",
    )


class Settings(ChelunSettings):
    """Where chelun keeps its data and which plugins it loads."""

    home: Path = Field(
        default=Path(".chelun"),
        description="Folder for the embedded database, Prefect's state and generated files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file chelun.db in the home folder.",
    )
    load_plugins: str | None = Field(
        default=None,
        description="Comma-separated allow-list of plugin names; unset loads every plugin.",
    )
    block_plugins: str = Field(
        default="", description="Comma-separated plugin names never to load."
    )
    provinces: str = Field(
        default="",
        description="Comma-separated province codes served besides those that have a plugin "
        "(a province with no plugin of its own yet, e.g. 33).",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'chelun.db').resolve()}"

    @property
    def allowed_plugins(self) -> set[str] | None:
        if self.load_plugins is None:
            return None
        return {name.strip() for name in self.load_plugins.split(",") if name.strip()}

    @property
    def blocked_plugins(self) -> set[str]:
        return {name.strip() for name in self.block_plugins.split(",") if name.strip()}

    @property
    def enabled_provinces(self) -> set[str]:
        return {code.strip() for code in self.provinces.split(",") if code.strip()}
