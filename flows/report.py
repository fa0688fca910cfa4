"""The report flow: a province's report (``chelun.ops.report``, what ``chelun report`` runs)
computed, written under CHELUN_HOME/reports/<province>/<period>/ and published as Prefect
artifacts, so that operators see the figures and the charts in the Prefect UI.

Each table is a table artifact, each chart an image artifact whose URL is the PNG itself (a
``data:`` URI: the UI shows it with no file server), and a markdown artifact sums the report up
and says where its files are. Keys are ``report-<province>-<period>-<name>``; a run for the same
province and period adds a version under the same keys. Everything published is counts, rates,
amounts and codes: nothing personal.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from chelun.flows.intake import retry_transient
from chelun.ops.report import (
    Report,
    build_report,
    default_folder,
    figure_table,
    parse_period,
    report_tables,
    write_report,
)
from chelun.settings import Settings

#: What each chart shows, for its artifact's description.
CHART_DESCRIPTIONS = {
    "grievance_resolution_rate": "Resolution rate (办结率) of the grievances received each month: "
    "resolved / accepted, each bar labelled with both; the pilot's 94% drawn beside.",
    "grievances_by_category": "Grievances received in the period by category: resolved, open, "
    "rejected or merged, with each category's resolution rate.",
    "intake_funnel": "Source records, drivers on the roster, drivers verified (by match, phone "
    "check, home visit), members, members in a branch, drivers paired: the roster as of the "
    "report's day.",
    "claims_by_outcome": "Claims reported in the period: paid (and the amount), in progress, "
    "refused by reason.",
}


@task(
    name="build-report",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
)
def build(province: str, period: str | None) -> Report:
    """Read the province's figures for the period from the database (retried when the
    database fails for a moment)."""
    from chelun.storage.db import open_database

    database = open_database(Settings())
    try:
        return build_report(database, province, parse_period(period))
    finally:
        database.dispose()


@task(name="write-report", cache_policy=NO_CACHE, persist_result=False)
def write(report: Report, folder: Path) -> list[Path]:
    """Write the tables (CSV) and draw the charts (PNG) into the report's folder."""
    return write_report(report, folder)


def artifact_key(report: Report, name: str) -> str:
    """``report-<province>-<period>-<name>``: lowercase letters, digits and dashes only, as
    Prefect wants them."""
    return f"report-{report.province}-{report.period.label}-{name}".lower().replace("_", "-")


def publish_report(report: Report, folder: Path) -> dict[str, str]:
    """Publish the report's tables, charts and summary as artifacts of the current run; the
    key of each, by table or chart name (``summary`` for the markdown)."""
    keys: dict[str, str] = {}
    where = f"province {report.province}, period {report.period.label}"
    for name, rows in report_tables(report).items():
        keys[name] = artifact_key(report, name)
        create_table_artifact(
            key=keys[name],
            table=rows,
            description=f"Report of {where}: {name.replace('_', ' ')} ({name}.csv in {folder}).",
        )
    for path in report.files:
        if path.suffix != ".png":
            continue
        keys[path.stem] = artifact_key(report, f"chart-{path.stem}")
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        create_image_artifact(
            image_url=f"data:image/png;base64,{encoded}",
            key=keys[path.stem],
            description=f"{CHART_DESCRIPTIONS.get(path.stem, path.stem)} Report of {where}; "
            f"the file: {path}",
        )
    keys["summary"] = artifact_key(report, "summary")
    create_markdown_artifact(
        key=keys["summary"], markdown=summary_markdown(report, folder), description=where
    )
    return keys


def summary_markdown(report: Report, folder: Path) -> str:
    """The report's figures as a markdown table, the scope of each, and where its files are."""
    lines = [
        f"# Report of province {report.province} {report.province_name}, period "
        f"{report.period.label}",
        "",
        f"Period: {report.period.describe()}. The roster's figures are as of {report.day} "
        "(the roster has no history); the period filters grievances by the day received, "
        "claims by the day reported, care visits by their month, awards by the day their list "
        "was published.",
        "",
        "| 指标 | figure | value | of | rate |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for row in figure_table(report):
        rate = "" if row["rate"] is None else f"{row['rate']:.1%}"
        of = f"{row['of']} ({row['denominator']:,})" if row["of"] else ""
        value = row["value"] if isinstance(row["value"], str) else f"{row['value']:,}"
        lines.append(f"| {row['label']} | {row['figure']} | {value} | {of} | {rate} |")
    lines += ["", f"Files (CSV tables, PNG charts) in `{folder}`:", ""]
    lines += [f"- `{path.name}`" for path in report.files]
    return "\n".join(lines) + "\n"


@flow(name="report", log_prints=False, persist_result=False)
def report_flow(province: str, period: str | None = None) -> dict[str, Any]:
    """Compute a province's report for a period (``2026``, ``2026-Q3``, ``2026-11``; default
    all time), write its tables and charts under CHELUN_HOME/reports/<province>/<period>/ and
    publish them as artifacts; run weekly. Returns the folder, the files and the artifact keys."""
    chosen = parse_period(period)  # a period that is not one fails the run before any work
    report = build(province, period)
    folder = default_folder(Settings().home, province, chosen)
    files = write(report, folder)
    keys = publish_report(report, folder)
    return {
        "province": province,
        "period": report.period.label,
        "folder": str(folder),
        "files": [path.name for path in files],
        "artifacts": keys,
    }
