"""Settings of grievance routing (``CHELUN_`` environment variables or ``.env``)."""

from __future__ import annotations

from pydantic import Field

from chelun.settings import ChelunSettings


class GrievanceSettings(ChelunSettings):
    """The working-day limits of grievance handling, unless a routing decision sets its own."""

    grievance_ack_days: int = Field(
        default=2,
        ge=0,
        le=250,
        description="Working days a joint conference has to acknowledge (受理) a grievance.",
    )
    grievance_resolve_days: int = Field(
        default=15,
        ge=0,
        le=250,
        description="Working days a joint conference has to resolve (办结) a grievance.",
    )
    grievance_batch: int = Field(
        default=1_000, ge=1, description="Grievances classified and routed per hook call."
    )


SETTINGS = GrievanceSettings
