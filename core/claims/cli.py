"""``chelun claims``: insurance claims under a province's scheme (docs/claims.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from chelun.commands import (
    FormatOption,
    ProvinceOption,
    command_group,
    err,
    fail,
    friendly,
    load_settings,
    open_db,
    out,
    output_format,
    province_code,
    warn,
    write_export,
)

if TYPE_CHECKING:
    from chelun.claims.service import ClaimsService

T = TypeVar("T")

claims_app = command_group(
    "Insurance claims under a province's scheme (Gansu's 车货无忧): import, check, assess, "
    "submit to the insurer, follow and reconcile (docs/claims.md)."
)

RefArgument = Annotated[str, typer.Argument(metavar="REF", help="The claim's reference.")]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write to a file, not stdout."),
]
TableFormatOption = Annotated[
    str, typer.Option("--format", metavar="FORMAT", help="table (default) or csv.")
]
RevealOption = Annotated[
    bool,
    typer.Option(help="Add ID numbers, names, phones and police report numbers, unmasked."),
]
PoliceReportOption = Annotated[
    str | None,
    typer.Option(
        "--police-report-no", metavar="NUMBER", help="The police report (报警回执) number."
    ),
]
PhotosOption = Annotated[
    int | None,
    typer.Option("--photos", metavar="N", help="How many photos of the scene the claim has."),
]
#: The option of ``report`` that gives each column of a claim file, for its error messages.
REPORT_OPTIONS = {
    "claim_ref": "--ref",
    "id_number": "--id-number",
    "name": "--name",
    "phone": "--phone",
    "incident_time": "--incident-time",
    "site": "--site",
    "loss_type": "--loss-type",
    "amount_claimed": "--amount",
    "police_report_no": "--police-report-no",
    "photos": "--photos",
}


def register(app: typer.Typer) -> None:
    """Add the claims commands to the ``chelun`` command line."""
    app.add_typer(claims_app, name="claims")


def _service(province: str) -> ClaimsService:
    from chelun.claims.service import ClaimsService
    from chelun.plugin_manager import PluginHost

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    return ClaimsService(database, pm, code, actor="user:cli")


def _run(action: Callable[[], T], *also: type[Exception]) -> T:
    """Turn a claim the user named wrongly, a transition not allowed, a malformed value (exit
    2) or one of ``also`` (an insurer that cannot be reached) into one line."""
    from chelun.claims.service import ClaimError, ClaimInputError

    try:
        return action()
    except ClaimInputError as exc:
        raise fail(str(exc), 2) from None
    except ClaimError as exc:
        raise fail(str(exc)) from None
    except also as exc:
        raise fail(str(exc)) from None


def _table_format(value: str) -> bool:
    """Whether ``--format`` asks for a table (else CSV); a usage error for anything else."""
    chosen = value.strip().lower()
    if chosen not in ("table", "csv"):
        raise fail(f"unknown format {value!r}: table or csv", 2)
    return chosen == "table"


@claims_app.command("sites")
@friendly
def claims_sites(province: ProvinceOption, format: TableFormatOption = "table") -> None:
    """List the covered sites (expressway service areas) of the province's schemes: code, name,
    road, county, latitude, longitude and product."""
    from rich.table import Column, Table

    from chelun.outputs import SafeCsvWriter

    table_format = _table_format(format)
    service = _service(province)
    products = _run(service.products)
    columns = ("code", "name", "road", "county", "latitude", "longitude", "product")
    rows = [
        (site.code, site.name, site.road, site.county, site.latitude, site.longitude, product.code)
        for product in products.values()
        for site in product.sites
    ]
    if not products:
        warn(f"province {service.province} offers no insurance scheme: no covered sites")
    if not table_format:
        writer = SafeCsvWriter(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
        return
    table = Table(
        Column("code", no_wrap=True),
        Column("name", no_wrap=True),
        *columns[2:],
        title=f"Covered sites of province {service.province}",
    )
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    out.print(table)


@claims_app.command("import")
@friendly
def claims_import(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV (any encoding), XLSX or XLS.")],
    province: ProvinceOption,
) -> None:
    """Import claims reported to the scheme.

    Columns: claim_ref, id_number, name, phone, incident_time (YYYY-MM-DD HH:MM, Beijing
    time), site (a covered site's code or name), loss_type (fuel or cargo, 燃油 or 货物),
    amount_claimed (yuan), police_report_no, photos (a count). Importing the same file again
    adds nothing; rows with missing or contradictory data are kept as quarantined claims with
    the reason (`chelun claims quarantine`).
    """
    if not file.is_file():
        raise fail(f"{file} does not exist or is not a file", 2)
    service = _service(province)
    result = _run(lambda: service.import_file(file))
    err.print(
        f"{file.name}: {result.rows:,} rows, {result.added:,} new claims "
        f"({result.quarantined:,} quarantined), {result.already:,} already imported",
        highlight=False,
    )
    if result.quarantined:
        warn(
            f"{result.quarantined:,} claims quarantined: see `chelun claims quarantine -p "
            f"{service.province}`"
        )


@claims_app.command("report")
@friendly
def claims_report(
    province: ProvinceOption,
    ref: Annotated[str, typer.Option("--ref", metavar="REF", help="The claim's reference.")],
    incident_time: Annotated[
        str,
        typer.Option("--incident-time", metavar="TIME", help="YYYY-MM-DD HH:MM, Beijing time."),
    ],
    site: Annotated[
        str, typer.Option("--site", metavar="SITE", help="The covered site's code or name.")
    ],
    loss_type: Annotated[
        str, typer.Option("--loss-type", metavar="TYPE", help="fuel or cargo (燃油 or 货物).")
    ],
    amount: Annotated[
        str, typer.Option("--amount", metavar="YUAN", help="The amount claimed, e.g. 800.")
    ],
    id_number: Annotated[
        str, typer.Option("--id-number", metavar="ID", help="The driver's resident ID number.")
    ] = "",
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The driver's name.")] = "",
    phone: Annotated[
        str, typer.Option("--phone", metavar="PHONE", help="The driver's mobile number.")
    ] = "",
    police_report_no: PoliceReportOption = None,
    photos: PhotosOption = None,
) -> None:
    """Report one claim, as a row of an import file would: the same checks.

    A malformed value is refused (nothing is stored); data that contradicts the roster is kept
    as a quarantined claim with the reason.
    """
    from chelun.claims.service import ClaimError, ClaimInputError

    service = _service(province)
    cells = {
        "claim_ref": ref,
        "id_number": id_number,
        "name": name,
        "phone": phone,
        "incident_time": incident_time,
        "site": site,
        "loss_type": loss_type,
        "amount_claimed": amount,
        "police_report_no": police_report_no or "",
        "photos": "" if photos is None else str(photos),
    }
    try:
        claim = service.report(cells)
    except ClaimInputError as exc:
        said = "; ".join(
            f"{REPORT_OPTIONS.get(column, column)} {what}" for column, what in exc.problems
        )
        raise fail(f"claim {ref} not stored: {said}", 2) from None
    except ClaimError as exc:
        raise fail(str(exc)) from None
    if claim.status == "quarantined":
        warn(f"claim {claim.ref} quarantined: {claim.reason}")
        return
    err.print(
        f"claim {claim.ref}: {claim.status}"
        + ("" if claim.site else " (the site is not a covered site: the check will refuse it)"),
        highlight=False,
    )


@claims_app.command("attach")
@friendly
def claims_attach(
    ref: RefArgument,
    province: ProvinceOption,
    police_report_no: PoliceReportOption = None,
    photos: PhotosOption = None,
) -> None:
    """Add evidence to a claim reported, quarantined for its evidence, or refused for missing
    evidence: it goes (back) to reported and the next `process` checks it again. --photos is
    how many photos the claim has now, not how many more."""
    service = _service(province)
    status = _run(lambda: service.attach(ref, police_report_no=police_report_no, photos=photos))
    err.print(f"claim {ref}: {status}", highlight=False)


@claims_app.command("list")
@friendly
def claims_list(
    province: ProvinceOption,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only claims in this status.")
    ] = None,
) -> None:
    """List claims: ref, site (- when not a covered site), night, loss type, amounts, status,
    reason code (no personal data)."""
    from rich.table import Column, Table
    from sqlalchemy import select

    from chelun.claims.export import amount_text
    from chelun.claims.models import CLAIM_STATUSES
    from chelun.storage.tables import Claim

    if status is not None and status not in CLAIM_STATUSES:
        raise fail(f"unknown status {status!r}: one of {', '.join(CLAIM_STATUSES)}", 2)
    service = _service(province)
    query = select(Claim).where(Claim.province == service.province)
    if status is not None:
        query = query.where(Claim.status == status)
    table = Table(
        Column("ref", no_wrap=True),
        "site",
        "night of",
        "loss",
        "claimed",
        Column("status", no_wrap=True),
        "reason",
        "payable",
        "paid",
        title=f"Claims of province {service.province}",
    )
    count = 0
    with service.database.sessions() as session:
        for claim in session.scalars(query.order_by(Claim.id)).yield_per(1_000):
            table.add_row(
                claim.ref,
                claim.site or "-",
                claim.night_of.isoformat() if claim.night_of else "",
                claim.loss_type or "",
                amount_text(claim.amount_claimed),
                claim.status,
                claim.reason_code or "",
                amount_text(claim.amount_payable),
                amount_text(claim.amount_paid),
            )
            count += 1
    out.print(table)
    if not count:
        err.print(f"no claim{' ' + status if status else ''} in province {service.province}")


@claims_app.command("show")
@friendly
def claims_show(ref: RefArgument, province: ProvinceOption, reveal: RevealOption = False) -> None:
    """Show one claim, where it stands and its history."""
    from chelun.calendar import BEIJING
    from chelun.claims.export import amount_text, beijing_text
    from chelun.claims.models import REASONS
    from chelun.identity.codes import driver_code

    service = _service(province)
    claim = _run(lambda: service.get(ref))
    history = service.history(ref)
    product = service.products().get(claim.product or "")
    site = product.site(claim.site) if product and claim.site else None
    refusal = ""
    if claim.reason_code:
        refusal = f" ({claim.reason_code}: {REASONS.get(claim.reason_code, '')})"
    lines = [
        ("ref", claim.ref),
        ("status", claim.status + refusal),
        ("why", claim.reason or ""),
        ("product", claim.product or ""),
        ("site", f"{site.code} {site.name}" if site else "(not a covered site)"),
        ("site given", claim.site_given or ""),
        ("incident", beijing_text(claim.incident_time)),
        ("night of", claim.night_of.isoformat() if claim.night_of else ""),
        ("loss", claim.loss_type or ""),
        ("claimed", amount_text(claim.amount_claimed)),
        (
            "evidence",
            f"police report {'given' if claim.police_report_no else 'missing'}, "
            f"{claim.photos} photos",
        ),
        ("driver", driver_code(service.province, claim.driver_id) if claim.driver_id else ""),
        ("policy", claim.policy_no or ""),
        ("payable", amount_text(claim.amount_payable)),
        ("insurer", f"{claim.insurer_claim_id or ''} {claim.insurer_status or ''}".strip()),
        ("approved", amount_text(claim.amount_approved)),
        ("paid", f"{amount_text(claim.amount_paid)} {claim.payment_ref or ''}".strip()),
        ("appeals", str(claim.appeals)),
        ("reported", beijing_text(claim.reported_at)),
        ("submitted", beijing_text(claim.submitted_at)),
        ("paid at", beijing_text(claim.paid_at)),
    ]
    if reveal:
        lines += [
            ("id number", claim.id_number or ""),
            ("name", claim.name or ""),
            ("phone", claim.phone or ""),
            ("police report", claim.police_report_no or ""),
        ]
    for label, value in lines:
        out.print(f"{label:>13}: {value}", highlight=False)
    out.print("history:", highlight=False)
    for event in history:
        at = event.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"  {at}  {event.kind:<16} {event.actor}: {event.reason}", highlight=False)


@claims_app.command("export")
@friendly
def claims_export(
    province: ProvinceOption,
    format: FormatOption = "csv",
    reveal: RevealOption = False,
    output: OutputOption = None,
) -> None:
    """Write the claims as CSV, one row each: claim_ref, status, reason_code, amount_payable,
    insurer_claim_id, amount_paid, payment_ref, then the product, site, incident, policy,
    driver's roster code, the reason a driver reads and the times. Quarantined rows are listed
    by `chelun claims quarantine`."""
    from chelun.claims.export import export_claims

    output_format(format)
    service = _service(province)
    write_export(output, lambda stream: export_claims(service, stream, reveal=reveal), "claims")


@claims_app.command("quarantine")
@friendly
def claims_quarantine(
    province: ProvinceOption, format: FormatOption = "csv", output: OutputOption = None
) -> None:
    """Write the quarantined claims as CSV: claim_ref, product, site_given, reason (the column
    and the row that are wrong), reported_at."""
    from chelun.claims.export import export_quarantine

    output_format(format)
    service = _service(province)
    write_export(
        output,
        lambda stream: export_quarantine(service.database, service.province, stream),
        "quarantined claims",
    )


@claims_app.command("appeal")
@friendly
def claims_appeal(
    ref: RefArgument,
    province: ProvinceOption,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why (no personal data).")
    ],
    override: Annotated[
        str | None,
        typer.Option(
            "--override",
            metavar="CODE",
            help="Set aside this refusal in the re-check (duplicate_suspected only), after "
            "looking into it.",
        ),
    ] = None,
) -> None:
    """Appeal a refused claim: the next `process` checks it again."""
    service = _service(province)
    status = _run(lambda: service.appeal(ref, reason, override))
    err.print(f"claim {ref}: {status}", highlight=False)


@claims_app.command("process")
@friendly
def claims_process(province: ProvinceOption) -> None:
    """Check, assess and submit to the insurer every claim ready for it: evidence complete,
    the checks (roster, policy period, covered site, night window, limits, duplicates), the
    assessment, then the submission (exactly once per claim, however often this is run)."""
    from chelun.claims.insurer import InsurerError
    from chelun.claims.processing import process

    service = _service(province)
    result = _run(lambda: process(service), InsurerError)
    err.print(
        f"province {service.province}: {result.evidence_complete:,} evidence complete, "
        f"{result.checked:,} checked, {result.rejected:,} rejected, {result.assessed:,} "
        f"assessed, {result.submitted:,} submitted; {result.waiting:,} waiting for evidence",
        highlight=False,
    )
    if result.insurer_waiting:
        warn(
            f"{result.insurer_waiting:,} assessed claims wait for their insurer (no client "
            "configured, e.g. CHELUN_GANSU_INSURER_URL, or the insurer is unavailable)"
        )
    for problem in result.problems:
        warn(problem)


@claims_app.command("sync")
@friendly
def claims_sync(province: ProvinceOption) -> None:
    """Ask the insurer where each submitted claim stands: approved, rejected, paid."""
    from chelun.claims.insurer import InsurerError, sync

    service = _service(province)
    result = _run(lambda: sync(service), InsurerError)
    err.print(
        f"province {service.province}: {result.asked:,} asked, {result.approved:,} approved, "
        f"{result.rejected:,} rejected, {result.paid:,} paid, {result.unchanged:,} unchanged, "
        f"{result.failed:,} failed",
        highlight=False,
    )
    if result.failed:
        warn(f"{result.failed:,} claims could not be asked about: run sync again later")


@claims_app.command("reconcile")
@friendly
def claims_reconcile(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The insurer's payment statement (CSV).")
    ],
    province: ProvinceOption,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out", "--output", "-o", metavar="FILE", help="Write the mismatches here as CSV."
        ),
    ] = None,
) -> None:
    """Match the insurer's payment statement against the claims. Mismatches are reported
    (as CSV, to --out or stdout), never fixed: nothing is written to the claims."""
    from chelun.claims.reconcile import ReconcileError, reconcile, write_mismatches

    if not file.is_file():
        raise fail(f"{file} does not exist or is not a file", 2)
    service = _service(province)
    result = _run(lambda: reconcile(service, file), ReconcileError)
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(result.by_kind().items()))
    err.print(
        f"{file.name}: {result.lines:,} lines, {result.matched:,} matched, "
        f"{len(result.mismatches):,} mismatches" + (f" ({kinds})" if kinds else ""),
        highlight=False,
    )
    if result.mismatches:
        write_export(output, lambda stream: write_mismatches(result, stream), "mismatches")


@claims_app.command("stats")
@friendly
def claims_stats(
    province: ProvinceOption, format: TableFormatOption = "table", output: OutputOption = None
) -> None:
    """Claims reported, paid and refused (by reason code) with their denominators, the amount
    paid and the median days from report to payment."""
    from rich.table import Table

    from chelun.claims.export import claim_stats, stats_rows, write_stats_csv

    table_format = _table_format(format)
    service = _service(province)
    stats = claim_stats(service.database, service.province)
    if not table_format:
        write_export(output, lambda stream: write_stats_csv(stats, stream), "figures")
        return
    table = Table("figure", "value", "of", title=f"Claims of province {service.province}")
    for figure, value, of, denominator in stats_rows(stats):
        table.add_row(figure, value or "-", f"{denominator} {of}".strip())
    if output is None:
        out.print(table)
        return
    from rich.console import Console

    with output.open("w", encoding="utf-8") as handle:
        Console(file=handle, width=120, color_system=None).print(table)
    err.print(f"claim figures written to {output}", highlight=False)
