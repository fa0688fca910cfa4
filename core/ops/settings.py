"""Settings of the scheduled flows (``CHELUN_`` environment variables or ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from chelun.settings import ChelunSettings

#: The word that turns a job's schedule off in ``CHELUN_FLOW_SCHEDULES``.
OFF = "off"


def parse_schedules(value: str) -> dict[str, str]:
    """``job=cron; job=off`` as a mapping of job name to cron expression (or ``off``).

    Raises ``ValueError`` saying which pair is wrong: not ``job=cron``, a job named twice, or
    a job that does not exist (the message lists the jobs). Cron expressions themselves are
    checked by Prefect when the deployments are built.
    """
    from chelun.ops.deployments import JOB_NAMES

    schedules: dict[str, str] = {}
    for pair in value.split(";"):
        if not pair.strip():
            continue
        job, sep, cron = (part.strip() for part in pair.partition("="))
        if not sep or not job or not cron:
            raise ValueError(
                f"{pair.strip()!r} is not job=cron (e.g. claims-batch=*/15 * * * *, or report=off)"
            )
        if job not in JOB_NAMES:
            raise ValueError(f"no job is named {job!r}; the jobs are {', '.join(JOB_NAMES)}")
        if job in schedules:
            raise ValueError(f"job {job!r} is given twice")
        schedules[job] = OFF if cron.lower() == OFF else " ".join(cron.split())
    return schedules


class OpsSettings(ChelunSettings):
    """Where the daily roster intake finds its files, and schedules that replace the defaults."""

    drop_folder: Path | None = Field(
        default=None,
        description="Folder holding one drop folder per province (<folder>/<code>), whose roster "
        "files the daily intake takes; default: drop in the home folder.",
    )
    flow_schedules: str = Field(
        default="",
        description="Schedules that replace the defaults, as job=cron pairs (Beijing time) "
        "separated by ';', or job=off: e.g. 'claims-batch=*/15 * * * *; report=off'.",
    )

    @field_validator("flow_schedules")
    @classmethod
    def _known_jobs(cls, value: str) -> str:
        parse_schedules(value)
        return value

    @property
    def schedules(self) -> dict[str, str]:
        """Job name to the cron expression that replaces its default, or ``off``."""
        return parse_schedules(self.flow_schedules)

    def drop_folder_of(self, province: str, home: Path) -> Path:
        """The folder where a province's roster files wait for the daily intake."""
        return (self.drop_folder or home / "drop") / province


SETTINGS = OpsSettings
