"""Recognition flows: a campaign step (run daily, it takes each campaign of a province one step
on when that step is due) and a month's care-visit plan. Thin orchestration over
``chelun.recognition``, the same code ``chelun awards advance`` and ``chelun visits plan`` run.

A task wraps a whole step of every campaign, or a whole plan, never one nominee or visit. Tasks
take no cache key and persist no result; only transient failures are retried, and a retry is
safe: a step is a conditional update of the campaign's status, a plan adds only drivers not
planned yet. Artifacts hold campaign IDs, statuses and counts only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from chelun.calendar import beijing_date
from chelun.flows import open_province
from chelun.flows.intake import retry_transient
from chelun.recognition.service import AwardError, AwardService
from chelun.recognition.visits import PlanResult, VisitService
from chelun.storage.events import now


@task(
    name="advance-campaigns",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
)
def advance_campaigns(
    service: AwardService, campaigns: list[int] | None, at: dt.datetime | None
) -> list[dict[str, Any]]:
    """Take each campaign (every unpublished one of the province by default) one step on; a
    campaign whose next step is not due yet waits."""
    if campaigns is None:
        campaigns = [c.id for c in service.campaigns() if c.status != "published"]
    outcomes = []
    for campaign in campaigns:
        before = service.get(campaign).status
        try:
            result = service.advance(campaign, at=at)
        except AwardError:
            outcomes.append(
                {"campaign": campaign, "before": before, "after": before, "outcome": "waiting"}
            )
            continue
        outcomes.append(
            {
                "campaign": campaign,
                "before": result.before,
                "after": result.after,
                "outcome": "advanced",
            }
        )
    return outcomes


@task(
    name="plan-visits",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
)
def plan_visits(service: VisitService, period: str, at: dt.datetime | None) -> PlanResult:
    return service.plan(period, at=at)


@flow(name="award-campaign-step", log_prints=False, persist_result=False)
def award_campaign_step_flow(
    province: str,
    campaign: int | None = None,
    at: str | None = None,
    actor: str = "flow:award-campaign-step",
) -> list[dict[str, Any]]:
    """Take a campaign (or every unpublished campaign of the province) one step on, as of
    ``at`` (ISO, default now). Scheduled daily, a campaign closes the day after its window,
    is checked, scored and shortlisted on the following days, and leaves its public notice the
    day after the notice's last working day; it is published once every objection is decided."""
    database, pm = open_province(province)
    service = AwardService(database, pm, province, actor=actor)
    try:
        outcomes = advance_campaigns(
            service, [campaign] if campaign is not None else None, _when(at)
        )
    finally:
        database.dispose()
    create_table_artifact(
        key=f"award-campaign-step-{province}",
        table=outcomes or [{"campaign": "", "before": "", "after": "", "outcome": "none open"}],
        description=f"Award campaigns of province {province}, one step each.",
    )
    return outcomes


@flow(name="care-visits-plan", log_prints=False, persist_result=False)
def care_visits_plan_flow(
    province: str,
    period: str | None = None,
    at: str | None = None,
    actor: str = "flow:care-visits-plan",
) -> dict[str, int]:
    """Plan a month's care visits (``YYYY-MM``, default the current month in Beijing) for the
    province's member drivers and drivers in hardship."""
    when = _when(at)
    month = period or beijing_date(when or now()).strftime("%Y-%m")
    database, pm = open_province(province)
    service = VisitService(database, pm, province, actor=actor)
    try:
        result = plan_visits(service, month, when)
    finally:
        database.dispose()
    create_table_artifact(
        key=f"care-visits-plan-{province}",
        table=[{"period": month, **vars(result)}],
        description=f"Care visits planned for province {province}, {month}.",
    )
    return vars(result)


def _when(at: str | None) -> dt.datetime | None:
    if at is None:
        return None
    instant = dt.datetime.fromisoformat(at)
    if instant.tzinfo is None:
        from chelun.calendar import BEIJING

        instant = instant.replace(tzinfo=BEIJING)
    return instant
