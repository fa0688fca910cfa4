"""Settings of recognition: award campaigns and care visits (``CHELUN_`` variables or ``.env``)."""

from __future__ import annotations

from pydantic import Field

from chelun.settings import HttpSettings


class RecognitionSettings(HttpSettings):
    """How campaigns look back, how publications are sent, and how visits are planned."""

    awards_period_days: int = Field(
        default=365,
        ge=1,
        le=3_660,
        description="Days before a campaign opens that its eligibility looks at, unless the "
        "campaign sets its own period.",
    )
    awards_batch: int = Field(
        default=500, ge=1, le=10_000, description="Nominations checked or scored per hook call."
    )
    awards_publish_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Attempts to send one publication of a final list in one publish run.",
    )
    visits_member_interval_days: int = Field(
        default=365,
        ge=1,
        le=3_660,
        description="Days after a member driver's last visit before core plans another.",
    )
    visits_claim_days: int = Field(
        default=90,
        ge=1,
        le=3_660,
        description="Days back a rejected insurance claim puts a driver in hardship.",
    )
    visits_grievance_days: int = Field(
        default=30,
        ge=1,
        le=3_660,
        description="Days a driver's grievance waits unresolved before the driver is in hardship.",
    )


SETTINGS = RecognitionSettings
