"""A province's report: the figures the pilot report quotes, as tables (CSV) and charts (PNG).

Drivers surveyed, members and their share, branches by kind, pairings, grievances collected and
their resolution rate with its denominator, claims paid and the amount, awards, care visits:
each computed from stored data through the capability that owns it (``roster_summary``,
``grouped_stats``, the claims' and visits' figures), never kept as a counter.

A period (a year ``2026``, a quarter ``2026-Q3`` or a month ``2026-11``, in Beijing time)
filters what has a date: grievances by the day received, claims by the day reported, care
visits by their month, awards by the day their campaign's list was published. The roster has
no history: its figures are as of now, whatever the period, and the report says so.

Everything here is counts, amounts and codes: no name, ID number, phone or text of a grievance
reaches a table, a chart or an artifact. ``chelun report`` (``register_report``) and the
scheduled report flow (``chelun.flows.report``) run the same ``build_report`` and
``write_report``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chelun.commands import (
    ProvinceOption,
    err,
    fail,
    friendly,
    load_settings,
    open_db,
    out,
    province_code,
)

if TYPE_CHECKING:
    from rich.console import Console

    from chelun.claims.export import ClaimStats
    from chelun.grievance.stats import Figures
    from chelun.recognition.visits import VisitFigures
    from chelun.roster.service import RosterSummary
    from chelun.storage.db import Database

#: What ``--period`` accepts: a year, a quarter or a month.
PERIOD_PATTERN = re.compile(
    r"^(?P<year>\d{4})(?:-(?:[Qq](?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$"
)
#: The period of a report that filters nothing.
ALL_TIME = "all"
#: The pilot's closure rate (办结率), drawn beside the province's.
PILOT_RESOLUTION_RATE = 0.94

#: Chinese names of the grievance categories, for the tables and the charts.
CATEGORY_LABELS = {
    "platform_fees": ("平台收费", "platform fees"),
    "fines_enforcement": ("罚款执法", "fines, enforcement"),
    "parking_rest": ("停车休息", "parking, rest"),
    "theft": ("盗窃", "theft"),
    "pay_arrears": ("拖欠运费", "pay arrears"),
    "roads_services": ("道路服务", "roads, services"),
    "emergency_transport": ("应急运输", "emergency transport"),
    "other": ("其他", "other"),
    "unclassified": ("未分类", "unclassified"),
}
#: Short Chinese names of the reasons a claim is refused (``chelun.claims.models.REASONS``
#: says each in full to the driver).
REFUSAL_LABELS = {
    "not_on_roster": ("不在名册", "not on roster"),
    "no_policy_period": ("不在保险期", "no policy period"),
    "site_not_covered": ("非承保地点", "site not covered"),
    "outside_night_window": ("非夜间时段", "outside night window"),
    "loss_not_covered": ("损失不在保障内", "loss not covered"),
    "evidence_missing": ("缺少证据", "evidence missing"),
    "annual_limit_reached": ("达年度限额", "annual limit reached"),
    "duplicate_suspected": ("疑似重复", "duplicate suspected"),
    "nothing_payable": ("无可赔金额", "nothing payable"),
    "insurer_rejected": ("保险公司拒赔", "insurer rejected"),
    "fraud": ("虚假报案", "fraud"),
    "unknown": ("原因未记录", "reason not recorded"),
}
#: The stages of the intake and verification funnel, in order: code, Chinese, English.
FUNNEL_STAGES = (
    ("records", "源数据记录", "source records"),
    ("drivers", "摸排司机", "drivers on the roster"),
    ("verified", "已核实", "verified"),
    ("members", "党员司机", "member drivers"),
    ("enrolled", "编入支部", "members in a branch"),
    ("paired", "结对联系", "drivers paired"),
)
#: How each verification stage confirms a driver: code, Chinese, English.
VERIFICATION_STAGES = (
    ("match", "数据比对", "cross-source match"),
    ("phone", "电话核实", "phone check"),
    ("visit", "上门走访", "home visit"),
)
#: The kinds of branch: Chinese, English.
BRANCH_LABELS = {
    "enterprise": ("企业党支部", "enterprise branches"),
    "mobile": ("流动党员党支部", "mobile member branches"),
    "grid": ("网格化党支部", "grid branches"),
}
#: The columns of the tables this module makes (``table_columns`` gives every table's).
FIGURE_COLUMNS = ("figure", "label", "value", "of", "denominator", "rate", "scope")
CATEGORY_COLUMNS = (
    "category",
    "label",
    "collected",
    "accepted",
    "resolved",
    "resolution_rate",
    "rejected_or_merged",
    "quarantined",
)
FUNNEL_COLUMNS = ("stage", "label", "count", "share_of_drivers")
AWARD_COLUMNS = ("award", "label", "campaigns", "nominated", "awarded")


class ReportError(ValueError):
    """A report that cannot be made as asked (a period that is not one); one line for users."""


@dataclass(frozen=True)
class Period:
    """The days a report covers, in Beijing time: ``start`` included, ``end`` excluded; both
    None for all time."""

    label: str
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def everything(self) -> bool:
        return self.start is None

    def instants(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The first instant of the period and the first after it (Beijing midnights)."""
        if self.start is None or self.end is None:
            return None
        from chelun.calendar import BEIJING

        return (
            dt.datetime.combine(self.start, dt.time(), BEIJING),
            dt.datetime.combine(self.end, dt.time(), BEIJING),
        )

    def months(self) -> list[str] | None:
        """The months of the period (``YYYY-MM``); None for all time."""
        if self.start is None or self.end is None:
            return None
        months = []
        year, month = self.start.year, self.start.month
        while dt.date(year, month, 1) < self.end:
            months.append(f"{year}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def describe(self) -> str:
        if self.start is None or self.end is None:
            return "all time"
        last = self.end - dt.timedelta(days=1)
        return f"{self.start.isoformat()} to {last.isoformat()}, Beijing time"


def parse_period(value: str | None) -> Period:
    """The period a ``--period`` names: ``2026``, ``2026-Q3`` or ``2026-11``; None (or
    ``all``) for all time. ``ReportError`` for anything else."""
    if value is None or value.strip().lower() == ALL_TIME:
        return Period(ALL_TIME)
    match = PERIOD_PATTERN.match(value.strip())
    if match is None or not 2000 <= int(match["year"]) <= 2100:
        raise ReportError(
            f"--period {value!r} is not a period: a year (2026), a quarter (2026-Q3) or a "
            "month (2026-11), from 2000 to 2100"
        )
    year = int(match["year"])
    if match["quarter"]:
        quarter = int(match["quarter"])
        start = dt.date(year, 3 * quarter - 2, 1)
        end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
        return Period(f"{year}-Q{quarter}", start, end)
    if match["month"]:
        month = int(match["month"])
        end = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
        return Period(f"{year}-{month:02d}", dt.date(year, month, 1), end)
    return Period(str(year), dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


@dataclass(frozen=True)
class AwardFigures:
    """The campaigns of one award kind whose list was published in the period."""

    kind: str
    name: str
    campaigns: int
    nominated: int
    awarded: int
    #: Awarded collectives (a fleet, an enterprise) rather than drivers.
    collectives: int


@dataclass
class Report:
    """A province's report for a period, as of ``at``: every figure the tables and charts
    show, and nothing personal."""

    province: str
    period: Period
    at: dt.datetime
    roster: RosterSummary
    #: The grievances received in the period, and those of each month received.
    grievances: Figures
    months: dict[str, Figures]
    categories: dict[str, Figures]
    claims: ClaimStats
    awards: list[AwardFigures]
    visits: VisitFigures
    files: list[Path] = field(default_factory=list)

    @property
    def province_name(self) -> str:
        from chelun.identity.divisions import divisions

        return divisions().province_names.get(self.province, "")

    @property
    def day(self) -> str:
        """The Beijing day the report is as of (``YYYY-MM-DD``)."""
        from chelun.calendar import beijing_date

        return beijing_date(self.at).isoformat()

    @property
    def roster_scope(self) -> str:
        return f"roster as of {self.day}"

    @property
    def records(self) -> int:
        """Rows read from the province's sources (on the roster or quarantined)."""
        return sum(account.rows_in for account in self.roster.accounts)

    def verified(self, stage: str) -> int:
        return self.roster.verification.get(f"{stage}:confirmed", 0)

    @property
    def enrolled(self) -> int:
        return sum(self.roster.enrolled.values())

    def funnel(self) -> dict[str, int]:
        """The count at each stage of ``FUNNEL_STAGES``."""
        roster = self.roster
        return {
            "records": self.records,
            "drivers": roster.drivers,
            "verified": sum(self.verified(stage) for stage, _, _ in VERIFICATION_STAGES),
            "members": roster.members,
            "enrolled": self.enrolled,
            "paired": roster.paired,
        }


def _fraction(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _add(total: Figures, figures: Figures) -> None:
    """Add one group's figures to a total: counts add up, days to resolve join."""
    for item in dataclasses.fields(total):
        value = getattr(figures, item.name)
        if isinstance(value, list):
            getattr(total, item.name).extend(value)
        else:
            setattr(total, item.name, getattr(total, item.name) + value)


def grievance_figures(
    database: Database, province: str, period: Period, at: dt.datetime
) -> tuple[Figures, dict[str, Figures], dict[str, Figures]]:
    """The grievances received in the period: in all, by month received and by category.

    The totals and months are ``grouped_stats`` by month, the months of the period kept (all
    of them, and the grievances whose time received is unknown, for all time). The categories
    count the same grievances by category with the same rules (accepted: collected less
    rejected and merged; resolved: resolved or closed), so they add up to the total.
    """
    from sqlalchemy import select

    from chelun.grievance.stats import DONE, UNCLASSIFIED, Figures, grouped_stats
    from chelun.storage.tables import Grievance

    everything, by_month = grouped_stats(database, province, at, "period")
    wanted = period.months()
    if wanted is None:
        total, months = everything, by_month
    else:
        months = {month: figures for month, figures in by_month.items() if month in wanted}
        total = Figures()
        for figures in months.values():
            _add(total, figures)
    query = select(Grievance.category, Grievance.status).where(Grievance.province == province)
    bounds = period.instants()
    if bounds is not None:
        query = query.where(Grievance.received_at >= bounds[0], Grievance.received_at < bounds[1])
    categories: dict[str, Figures] = {}
    with database.engine.connect() as connection:
        for category, status in connection.execute(query):
            figures = categories.setdefault(category or UNCLASSIFIED, Figures())
            if status == "quarantined":
                figures.quarantined += 1
                continue
            figures.collected += 1
            figures.rejected_or_merged += status in ("rejected", "merged")
            figures.resolved += status in DONE
    return total, months, categories


def claim_figures(database: Database, province: str, period: Period) -> ClaimStats:
    """The claims reported in the period, counted as ``chelun.claims.export.claim_stats``
    counts them all: paid, refused by reason, open, quarantined, the amounts."""
    from chelun.claims.export import claim_stats

    return claim_stats(database, province, period.instants())


def visit_figures(database: Database, province: str, period: Period) -> VisitFigures:
    """The care visits of the period's months, and the drivers visited (each counted once in
    the period), as ``chelun.recognition.visits.visit_stats`` counts them."""
    from sqlalchemy import select

    from chelun.recognition.visits import VisitFigures
    from chelun.storage.tables import CareVisit

    figures = VisitFigures()
    query = select(CareVisit.driver_id, CareVisit.kind, CareVisit.status).where(
        CareVisit.province == province
    )
    months = period.months()
    if months is not None:
        query = query.where(CareVisit.period.in_(months))
    with database.engine.connect() as connection:
        for driver, kind, status in connection.execute(query):
            figures.planned += 1
            if status in ("done", "missed", "cancelled"):
                setattr(figures, status, getattr(figures, status) + 1)
            if status == "done":
                figures.drivers.add(driver)
                (figures.members if kind == "member" else figures.hardship).add(driver)
    return figures


def award_figures(database: Database, province: str, period: Period) -> list[AwardFigures]:
    """The award campaigns whose final list was published in the period, by award kind: how
    many campaigns, nominations and awards (collectives among them)."""
    from sqlalchemy import func, select

    from chelun.storage.tables import AwardCampaign, AwardNomination

    query = select(AwardCampaign.id, AwardCampaign.kind, AwardCampaign.rules).where(
        AwardCampaign.province == province, AwardCampaign.status == "published"
    )
    bounds = period.instants()
    if bounds is not None:
        query = query.where(
            AwardCampaign.published_at >= bounds[0], AwardCampaign.published_at < bounds[1]
        )
    with database.engine.connect() as connection:
        campaigns = connection.execute(query).all()
        counts = connection.execute(
            select(
                AwardNomination.campaign_id,
                AwardNomination.nominee_kind,
                AwardNomination.status,
                func.count(),
            )
            .where(AwardNomination.campaign_id.in_([campaign.id for campaign in campaigns]))
            .group_by(
                AwardNomination.campaign_id, AwardNomination.nominee_kind, AwardNomination.status
            )
        ).all()
    kind_of = {campaign.id: campaign.kind for campaign in campaigns}
    names: dict[str, str] = {}
    tally: dict[str, dict[str, int]] = {}
    for campaign in campaigns:
        # The award's name as the campaign opened with it (its rules): the operator's own
        # title for the campaign is not shown.
        names.setdefault(campaign.kind, str((campaign.rules or {}).get("name") or campaign.kind))
        figures = tally.setdefault(
            campaign.kind, {"campaigns": 0, "nominated": 0, "awarded": 0, "collectives": 0}
        )
        figures["campaigns"] += 1
    for campaign_id, nominee_kind, status, count in counts:
        figures = tally[kind_of[campaign_id]]
        figures["nominated"] += count
        if status == "awarded":
            figures["awarded"] += count
            figures["collectives"] += count if nominee_kind == "enterprise" else 0
    return [AwardFigures(kind, names[kind], **figures) for kind, figures in sorted(tally.items())]


def build_report(
    database: Database, province: str, period: Period, at: dt.datetime | None = None
) -> Report:
    """The province's report for the period, as of ``at`` (default now: it decides what is
    overdue, and the roster is as it stands)."""
    from chelun.roster.service import roster_summary
    from chelun.storage.events import now

    at = at or now()
    total, months, categories = grievance_figures(database, province, period, at)
    return Report(
        province=province,
        period=period,
        at=at,
        roster=roster_summary(database, province),
        grievances=total,
        months=months,
        categories=categories,
        claims=claim_figures(database, province, period),
        awards=award_figures(database, province, period),
        visits=visit_figures(database, province, period),
    )


def _figure(
    figure: str,
    label: str,
    value: int | Decimal,
    scope: str,
    of: str = "",
    denominator: int | None = None,
) -> dict[str, Any]:
    rate = None
    if denominator is not None and isinstance(value, int):
        rate = _fraction(value, denominator)
    return {
        "figure": figure,
        "label": label,
        "value": f"{value:.2f}" if isinstance(value, Decimal) else value,
        "of": of,
        "denominator": denominator,
        "rate": rate,
        "scope": scope,
    }


def figure_table(report: Report) -> list[dict[str, Any]]:
    """The figures the pilot report quotes, one row each: what, its Chinese name, the value,
    what it is a part of and that denominator, the rate (0 to 1), and its scope (the roster as
    of a day, or the period)."""
    roster, grievances, claims, visits = (
        report.roster,
        report.grievances,
        report.claims,
        report.visits,
    )
    now_scope, period = report.roster_scope, report.period.label
    funnel = report.funnel()
    rows = [
        _figure("drivers_surveyed", "摸排司机", roster.drivers, now_scope),
        _figure(
            "members", "党员司机", roster.members, now_scope, "drivers_surveyed", roster.drivers
        ),
        _figure(
            "drivers_verified",
            "已核实司机",
            funnel["verified"],
            now_scope,
            "drivers_surveyed",
            roster.drivers,
        ),
    ]
    rows += [
        _figure(f"branches_{kind}", zh, roster.branches.get(kind, 0), now_scope)
        for kind, (zh, _) in BRANCH_LABELS.items()
    ]
    rows += [
        _figure(
            "members_in_branches",
            "编入支部的党员",
            report.enrolled,
            now_scope,
            "members",
            roster.members,
        ),
        _figure(
            "drivers_paired",
            "结对联系的司机",
            roster.paired,
            now_scope,
            "drivers_surveyed",
            roster.drivers,
        ),
        _figure("grievances_collected", "收集诉求", grievances.collected, period),
        _figure(
            "grievances_accepted",
            "受理诉求",
            grievances.accepted,
            period,
            "grievances_collected",
            grievances.collected,
        ),
        _figure(
            "grievances_resolved",
            "办结（办结率）",
            grievances.resolved,
            period,
            "grievances_accepted",
            grievances.accepted,
        ),
        _figure(
            "grievances_timely",
            "及时处办",
            grievances.timely,
            period,
            "grievances_routed",
            grievances.routed,
        ),
        _figure(
            "grievances_satisfied",
            "满意（满意率）",
            grievances.satisfied,
            period,
            "grievance_answers",
            grievances.answers,
        ),
        _figure("claims_reported", "理赔报案", claims.reported, period),
        _figure("claims_paid", "已赔付", claims.paid, period, "claims_reported", claims.reported),
        _figure(
            "claims_refused", "拒赔", claims.refused, period, "claims_reported", claims.reported
        ),
        _figure(
            "claims_amount_paid",
            "赔付金额（元）",
            claims.amount_paid,
            period,
            "claims_paid",
            claims.paid,
        ),
        _figure("awards", "获表彰", sum(a.awarded for a in report.awards), period),
        _figure(
            "awards_collectives", "获表彰集体", sum(a.collectives for a in report.awards), period
        ),
        _figure(
            "care_visits_done",
            "走访慰问次数",
            visits.done,
            period,
            "care_visits_due",
            visits.planned - visits.cancelled,
        ),
        _figure("drivers_visited", "走访慰问司机", len(visits.drivers), period),
        _figure(
            "members_visited",
            "走访党员司机",
            len(visits.members),
            period,
            "drivers_visited",
            len(visits.drivers),
        ),
    ]
    return rows


def category_table(report: Report) -> list[dict[str, Any]]:
    """The period's grievances by category, the most collected first, the total last."""
    from chelun.grievance.stats import Figures

    total = Figures()
    rows = []
    order = sorted(report.categories.items(), key=lambda item: (-item[1].collected, item[0]))
    for category, figures in [*order, ("all", None)]:
        if figures is None:
            figures = total
        else:
            _add(total, figures)
        rows.append(
            {
                "category": category,
                "label": CATEGORY_LABELS.get(category, ("合计", ""))[0],
                "collected": figures.collected,
                "accepted": figures.accepted,
                "resolved": figures.resolved,
                "resolution_rate": _fraction(figures.resolved, figures.accepted),
                "rejected_or_merged": figures.rejected_or_merged,
                "quarantined": figures.quarantined,
            }
        )
    return rows


def funnel_table(report: Report) -> list[dict[str, Any]]:
    """The intake and verification funnel: the count at each stage, and its share of the
    drivers on the roster (none for the source records: rows, not drivers); the verified stage
    split by how drivers were confirmed."""
    funnel = report.funnel()
    drivers = report.roster.drivers
    rows = []
    for stage, zh, _ in FUNNEL_STAGES:
        rows.append(
            {
                "stage": stage,
                "label": zh,
                "count": funnel[stage],
                "share_of_drivers": None
                if stage == "records"
                else _fraction(funnel[stage], drivers),
            }
        )
        if stage == "verified":
            rows += [
                {
                    "stage": f"verified:{how}",
                    "label": f"{zh}：{how_zh}",
                    "count": report.verified(how),
                    "share_of_drivers": _fraction(report.verified(how), drivers),
                }
                for how, how_zh, _ in VERIFICATION_STAGES
            ]
    return rows


def award_table(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "award": award.kind,
            "label": award.name,
            "campaigns": award.campaigns,
            "nominated": award.nominated,
            "awarded": award.awarded,
        }
        for award in report.awards
    ]


def report_tables(report: Report) -> dict[str, list[dict[str, Any]]]:
    """Every table of the report by name (its CSV file is ``<name>.csv``): rows of counts,
    rates, amounts and codes."""
    from chelun.claims.export import STATS_COLUMNS, stats_rows
    from chelun.grievance.stats import figure_rows

    return {
        "figures": figure_table(report),
        "grievances_by_month": figure_rows(report.grievances, report.months),
        "grievances_by_category": category_table(report),
        "intake_funnel": funnel_table(report),
        "claims": [dict(zip(STATS_COLUMNS, row, strict=True)) for row in stats_rows(report.claims)],
        "awards": award_table(report),
        "care_visits": [report.visits.row(report.province, report.period.label)],
    }


def table_columns() -> dict[str, tuple[str, ...]]:
    """The columns of each table of ``report_tables``, in order."""
    from chelun.claims.export import STATS_COLUMNS
    from chelun.grievance.stats import COLUMNS
    from chelun.recognition.visits import STAT_COLUMNS

    return {
        "figures": FIGURE_COLUMNS,
        "grievances_by_month": COLUMNS,
        "grievances_by_category": CATEGORY_COLUMNS,
        "intake_funnel": FUNNEL_COLUMNS,
        "claims": STATS_COLUMNS,
        "awards": AWARD_COLUMNS,
        "care_visits": STAT_COLUMNS,
    }


def write_tables(tables: dict[str, list[dict[str, Any]]], folder: Path) -> list[Path]:
    """Write each table as ``<name>.csv`` in ``folder``: UTF-8 with a byte-order mark, so that
    Excel and WPS show the Chinese labels; an empty cell for a rate whose denominator is 0.
    Every cell goes through the writer that neutralises formulas."""
    from chelun.outputs import SafeCsvWriter

    columns_of = table_columns()
    written = []
    for name, rows in tables.items():
        columns = columns_of[name]
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = SafeCsvWriter(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow("" if row[column] is None else row[column] for column in columns)
        written.append(path)
    return written


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write the report's tables (CSV) and charts (PNG) into ``folder``, created if need be;
    the files written, tables first. Sets ``report.files``."""
    from chelun.ops.charts import draw_charts

    folder.mkdir(parents=True, exist_ok=True)
    report.files = write_tables(report_tables(report), folder) + draw_charts(report, folder)
    return report.files


def default_folder(home: Path, province: str, period: Period) -> Path:
    """Where a report goes unless told: ``CHELUN_HOME/reports/<province>/<period>``."""
    return home / "reports" / province / period.label


def _rate_text(part: int, whole: int) -> str:
    return f"{part / whole:.1%} ({part:,}/{whole:,})" if whole else f"- ({part:,}/0)"


def print_report(console: Console, report: Report) -> None:
    """The report's figures as a table on the terminal: the roster's as of the day, then the
    period's, each rate beside its part and denominator."""
    from rich.table import Table

    table = Table(
        title=f"Report of province {report.province} {report.province_name} · period "
        f"{report.period.label} ({report.period.describe()})",
    )
    table.add_column("指标")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("rate (part/of)")
    scope = None
    for row in figure_table(report):
        if row["scope"] != scope:
            scope = row["scope"]
            roster = scope == report.roster_scope
            table.add_section()
            table.add_row(
                "[bold]名册[/]" if roster else "[bold]期间[/]",
                f"[bold]roster as of {report.day}[/]" if roster else f"[bold]period {scope}[/]",
            )
        if row["figure"] == "claims_amount_paid":
            value, rate = f"¥{Decimal(row['value']):,.2f}", f"over {row['denominator']:,} paid"
        else:
            value = f"{row['value']:,}"
            rate = "" if not row["of"] else _rate_text(row["value"], row["denominator"] or 0)
        table.add_row(row["label"], row["figure"], value, rate)
    table.caption = (
        "The roster has no history: its figures are as of the day. The period filters "
        "grievances by the day received, claims by the day reported, care visits by their "
        "month, awards by the day their list was published. 办结率 = resolved / accepted "
        "(collected less rejected and merged; the pilot closed 94%); 及时处办率 = timely / "
        "routed; 满意率 = satisfied / answers."
    )
    console.print(table)


def register_report(app: typer.Typer) -> None:
    """Add ``chelun report`` to the ``chelun`` command line."""
    app.command("report")(report_command)


@friendly
def report_command(
    province: ProvinceOption,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            metavar="PERIOD",
            help="A year (2026), a quarter (2026-Q3) or a month (2026-11), Beijing time; "
            "default: all time. Filters what has a date; the roster is as of now.",
        ),
    ] = None,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Folder for the CSV tables and PNG charts (created if missing); default: "
            "CHELUN_HOME/reports/<province>/<period>.",
        ),
    ] = None,
) -> None:
    """The province's report: the figures the pilot report quotes, printed as a table,
    written as CSV tables and drawn as PNG charts.

    Drivers surveyed, members and their share, branches by kind, pairings, grievances collected
    and the resolution rate with its denominator, claims paid and the amount, awards, care
    visits. Charts: the resolution rate by month, grievances by category, the intake and
    verification funnel, claims by outcome. No personal data in any of them (docs/reports.md).
    """
    try:
        chosen = parse_period(period)
    except ReportError as exc:
        raise fail(str(exc), 2) from None
    current = load_settings()
    code = province_code(province, current)
    target = folder if folder is not None else default_folder(current.home, code, chosen)
    if target.exists() and not target.is_dir():
        raise fail(f"--out {target} is a file, not a folder", 2)
    database = open_db(current)
    try:
        report = build_report(database, code, chosen)
    finally:
        database.dispose()
    try:
        files = write_report(report, target)
    except OSError as exc:
        raise fail(f"cannot write the report into {target}: {exc.strerror or exc}") from None
    print_report(out, report)
    tables = sum(path.suffix == ".csv" for path in files)
    charts = sum(path.suffix == ".png" for path in files)
    err.print(
        f"{tables} tables (CSV) and {charts} charts (PNG) written to {target}", highlight=False
    )
