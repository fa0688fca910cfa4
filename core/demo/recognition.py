"""The demo's recognition: an award campaign and a month of care visits in one province.

After its roster and grievances, a province runs an "outstanding member truck driver" campaign
that opened six weeks ago: its branches nominate member drivers from the roster, three reviewers
score them, the campaign goes through eligibility, rank and quotas and its public notice, an
objection to the first in rank is upheld (the next in rank takes the place), and the final list
is published. Then the month's care visits are planned and most are recorded as done. What it
says is counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from sqlalchemy import select

from chelun.calendar import BEIJING, beijing_date
from chelun.identity.codes import driver_code
from chelun.recognition.service import AwardService
from chelun.recognition.visits import VisitService
from chelun.settings import Settings
from chelun.storage.events import now
from chelun.storage.tables import Driver

KIND = "outstanding_member_driver"
#: Nominations a branch makes at most in the demo (the award allows three).
PER_BRANCH = 3
#: Branches that nominate at most, so that a large province stays quick.
BRANCHES = 40
REVIEWERS = ("reviewer-1", "reviewer-2", "reviewer-3")


def run_recognition(settings: Settings, province: str, *, seed: int, folder: Path) -> str:
    """Run the province's demo campaign and visits; returns a line of what happened."""
    from chelun.flows import open_province

    rng = random.Random(seed)
    database, pm = open_province(province)
    try:
        awards = AwardService(database, pm, province, actor="user:demo")
        campaign, line = _campaign(awards, rng, folder)
        visits = VisitService(database, pm, province, actor="user:demo")
        planned, done = _visits(visits, rng, folder)
    finally:
        database.dispose()
    return f"campaign {campaign}: {line}; care visits: {planned} planned, {done} done"


def _day(days_ago: int, hour: int = 10) -> dt.datetime:
    today = beijing_date(now())
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour), BEIJING)


def _campaign(service: AwardService, rng: random.Random, folder: Path) -> tuple[int, str]:
    with service.database.engine.connect() as connection:
        members = connection.execute(
            select(Driver.id, Driver.branch)
            .where(
                Driver.province == service.province,
                Driver.status == "active",
                Driver.member.is_(True),
                Driver.branch.is_not(None),
            )
            .order_by(Driver.id)
        ).all()
    by_branch: dict[str, list[int]] = {}
    for key, branch in members:
        by_branch.setdefault(branch, []).append(key)
    branches = sorted(by_branch)[:BRANCHES]
    rows = []
    for branch in branches:
        for key in rng.sample(by_branch[branch], min(PER_BRANCH, len(by_branch[branch]))):
            rows.append(
                (driver_code(service.province, key), branch, "长期结对联系司机，积极反映诉求")
            )
    year = _day(0).year
    opened = _day(42)
    campaign = service.open(
        KIND,
        f"{year}年度优秀党员货车司机（演示）",
        beijing_date(_day(35)),
        at=opened,
    )
    folder.mkdir(parents=True, exist_ok=True)
    nominations = _write(folder / "nominations.csv", ("nominee", "unit", "reason"), rows)
    nominated = service.nominate(campaign, nominations, at=_day(38))
    kind = service.rules(service.get(campaign))
    marks = [
        (nomination.nominee, criterion.code, reviewer, rng.randint(60, 100))
        for nomination in service.nominations(campaign)
        for criterion in kind.criteria
        for reviewer in REVIEWERS
    ]
    service.record_scores(
        campaign,
        _write(folder / "scores.csv", ("nominee", "criterion", "reviewer", "score"), marks),
    )
    for _ in range(4):  # closed, checked, scored, shortlisted
        service.advance(campaign, at=_day(34))
    checked = service.nominations(campaign)
    eligible = sum(1 for n in checked if n.status != "excluded")
    service.advance(campaign, at=_day(33))  # the public notice
    shortlisted = sorted((n for n in checked if n.status == "shortlisted"), key=lambda n: n.rank)
    promoted: list[str] = []
    if shortlisted:
        first = shortlisted[0].nominee
        service.object(campaign, first, "群众来信反映（演示）", at=_day(32))
        promoted = service.decide_objection(campaign, first, True, "经核查属实（演示）")
    notice_end = service.get(campaign).notice_end
    assert notice_end is not None
    after = dt.datetime.combine(notice_end + dt.timedelta(days=1), dt.time(10), BEIJING)
    service.advance(campaign, at=after)
    result = service.publish(campaign, at=after)
    return campaign, (
        f"{nominated.accepted} nominated ({len(nominated.refused)} refused), {eligible} "
        f"eligible, {result.counts.get('awarded', 0)} awarded after an upheld objection "
        f"({len(promoted)} promoted)"
    )


def _visits(service: VisitService, rng: random.Random, folder: Path) -> tuple[int, int]:
    today = beijing_date(now())
    period = today.strftime("%Y-%m")
    service.plan(period)
    planned = service.visits(period)
    outcomes = []
    for visit in planned:
        if visit.status != "planned":
            continue
        roll = rng.random()
        if roll < 0.75:
            visited = today - dt.timedelta(days=rng.randint(0, today.day - 1))
            outcomes.append(
                (driver_code(service.province, visit.driver_id), period, "done", visited, "")
            )
        elif roll < 0.85:
            outcomes.append(
                (driver_code(service.province, visit.driver_id), period, "missed", "", "")
            )
    path = _write(
        folder / "visits.csv", ("driver", "period", "outcome", "visited_on", "note"), outcomes
    )
    service.record_outcomes(path)
    done = sum(1 for visit in service.visits(period) if visit.status == "done")
    return len(planned), done


def _write(path: Path, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    return path
