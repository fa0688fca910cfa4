"""Settings of roster intake (``CHELUN_`` environment variables or ``.env``)."""

from __future__ import annotations

from pydantic import Field

from chelun.settings import ChelunSettings


class RosterSettings(ChelunSettings):
    """How intake stages files and how enrolment pairs drivers."""

    pairing_cap: int = Field(
        default=5, ge=1, description="Most ordinary drivers one member driver is paired with."
    )
    workers: int = Field(
        default=2, ge=1, description="Processes that stage big source files side by side."
    )
    batch_rows: int = Field(
        default=20_000,
        ge=1,
        description="Rows staged per committed batch (smaller: less to redo after a kill).",
    )


SETTINGS = RosterSettings
