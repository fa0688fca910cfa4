"""The outside contract, through real ``chelun`` processes: sites, import, report, attach, list,
show, export, quarantine, appeal, stats, and the one-line errors of wrong input.

The scheme is the tests' own (province 33), installed the way any third-party plugin is: a
module with an entry point in the group ``chelun``, found on ``PYTHONPATH``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from chelun.settings import Settings
from chelun.storage.db import Database, open_database
from chelun.storage.tables import Claim, Driver

from .test_intake import ID_WANG, PHONE_WANG, PRODUCT, row, write_csv

CHELUN = str(Path(sys.executable).with_name("chelun"))
PLUGIN_SOURCE = '''"""A claims scheme for the command-line tests."""

from chelun import hookimpl
from chelun.claims.models import Product

PROVINCES = ("33",)
PRODUCT = Product.model_validate_json({product!r})


@hookimpl
def chelun_claim_products(province):
    return [PRODUCT]
'''
NAME = "王建国"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``chelun`` process that has the tests' scheme installed."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "chelun_test_scheme.py").write_text(
        PLUGIN_SOURCE.format(product=PRODUCT.model_dump_json()), encoding="utf-8"
    )
    info = folder / "chelun_test_scheme-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: chelun-test-scheme\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[chelun]\ntest-scheme = chelun_test_scheme\n", encoding="utf-8"
    )
    return {**os.environ, "PYTHONPATH": str(folder), "COLUMNS": "200"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHELUN, "claims", *args], capture_output=True, text=True, env=env, timeout=300
    )


def ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    return done


def together(env: dict[str, str], *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Commands that do not depend on each other, run at once (each is a second of start-up)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: run(env, *args), commands))


def set_state(ref: str, **values: object) -> None:
    """Move a claim in the database the commands use, as a processing run would."""
    database = Database(Settings().resolved_database_url)
    try:
        with database.connect() as connection:
            connection.execute(update(Claim).where(Claim.ref == ref).values(**values))
    finally:
        database.dispose()


def test_claims_go_in_and_out_through_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    sites = list(
        csv.DictReader(io.StringIO(ok(env, "sites", "-p", "33", "--format", "csv").stdout))
    )
    assert [(s["code"], s["name"], s["product"]) for s in sites][:2] == [
        ("ZJ01", "长兴服务区", "test-night"),
        ("ZJ02", "嘉兴 服务区", "test-night"),
    ]
    assert set(sites[0]) == {"code", "name", "road", "county", "latitude", "longitude", "product"}

    path = write_csv(
        tmp_path / "claims.csv",
        [
            row("C-1"),
            row("C-2", site="嘉兴服务区", loss_type="货物"),
            row("C-3", amount_claimed="x"),
        ],
        encoding="gbk",
    )
    first = ok(env, "import", "--province", "33", str(path))
    assert "3 rows, 3 new claims (1 quarantined), 0 already imported" in first.stderr
    again = ok(env, "import", "-p", "33", str(path))
    assert "3 rows, 0 new claims (0 quarantined), 3 already imported" in again.stderr

    revealed = tmp_path / "revealed.csv"
    listed, shown, shown_all, exported, _, quarantine = (
        done.stdout
        for done in together(
            env,
            ["list", "-p", "33"],
            ["show", "C-1", "-p", "33"],
            ["show", "C-1", "-p", "33", "--reveal"],
            ["export", "-p", "33", "--format", "CSV"],
            ["export", "-p", "33", "--format", "csv", "--reveal", "-o", str(revealed)],
            ["quarantine", "-p", "33"],
        )
    )
    assert "C-1" in listed and "C-2" in listed and "quarantined" in listed
    assert "ZJ01 长兴服务区" in shown and "reported" in shown and "imported from row 1" in shown
    for secret in (ID_WANG, PHONE_WANG, NAME):
        assert secret not in listed and secret not in shown
    assert ID_WANG in shown_all
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["claim_ref"] for r in rows] == ["C-1", "C-2"]
    assert exported.splitlines()[0].startswith(
        "claim_ref,status,reason_code,amount_payable,insurer_claim_id,amount_paid,payment_ref,"
    )
    assert (rows[1]["site"], rows[1]["loss_type"], rows[1]["amount_claimed"]) == (
        "ZJ02",
        "cargo",
        "1200.00",
    )
    assert ID_WANG not in exported and NAME not in exported
    assert NAME in revealed.read_text(encoding="utf-8")
    assert "row 3: amount_claimed is not an amount of yuan" in quarantine

    reported = ok(
        env, "report", "-p", "33", "--ref", "R-1", "--id-number", ID_WANG, "--name", NAME,
        "--phone", PHONE_WANG, "--incident-time", "2026-11-20 02:30", "--site", "长兴",
        "--loss-type", "fuel", "--amount", "800",
    )  # fmt: skip
    assert "claim R-1: reported" in reported.stderr
    attached = ok(env, "attach", "R-1", "-p", "33", "--police-report-no", "JB-1", "--photos", "2")
    assert "claim R-1: reported" in attached.stderr
    set_state("R-1", status="rejected", reason_code="duplicate_suspected")
    appealed = ok(
        env, "appeal", "R-1", "-p", "33", "--reason", "两次被盗均已报警",
        "--override", "duplicate_suspected",
    )  # fmt: skip
    assert "claim R-1: appealed" in appealed.stderr

    set_state("C-1", status="paid", amount_paid=Decimal("1000"))
    history, stats, table = (
        done.stdout
        for done in together(
            env,
            ["show", "R-1", "-p", "33"],
            ["stats", "-p", "33", "--format", "csv"],
            ["stats", "-p", "33"],
        )
    )
    for kind in ("reported", "evidence_added", "appealed"):
        assert kind in history
    assert "JB-1" not in history
    figures = {r["figure"]: r for r in csv.DictReader(io.StringIO(stats))}
    assert (figures["reported"]["value"], figures["paid"]["value"]) == ("3", "1")
    assert figures["amount_paid"]["value"] == "1000.00"
    assert "median_days_to_payment" in table


def test_wrong_input_ends_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    ok(env, "report", "-p", "33", "--ref", "R-8", "--id-number", ID_WANG,
       "--incident-time", "2026-11-20 02:30", "--site", "ZJ01", "--loss-type", "fuel",
       "--amount", "500")  # fmt: skip
    other = tmp_path / "other.csv"
    other.write_text("ref,text\nA,x\n", encoding="utf-8")
    report = ["report", "-p", "33", "--incident-time", "2026-11-20 02:30", "--site", "ZJ01"]
    cases = [
        (2, ["list", "-p", "99"], "unknown province '99'"),
        (2, ["import", "-p", "33", str(tmp_path / "nowhere.csv")], "does not exist"),
        (2, ["export", "-p", "33", "--format", "xml"], "unknown format 'xml'"),
        (2, ["list", "-p", "33", "--status", "lost"], "unknown status 'lost'"),
        (
            2,
            [
                *report,
                "--ref",
                "R-9",
                "--phone",
                PHONE_WANG,
                "--loss-type",
                "tyres",
                "--amount",
                "-12.5",
            ],  # fmt: skip
            "claim R-9 not stored: --loss-type is not fuel or cargo (燃油 or 货物); --amount is "
            "not an amount of yuan",
        ),
        (1, ["show", "R-9", "-p", "33"], "no claim 'R-9' in province 33"),
        (1, ["import", "-p", "33", str(other)], "no column claim_ref, incident_time, site"),
        (
            1,
            ["appeal", "R-8", "-p", "33", "--reason", "x"],
            "claim R-8 is reported: it cannot be appealed (only from rejected); what an "
            "operator can do now: attach evidence",
        ),
        (
            1,
            [
                *report,
                "--ref",
                "R-8",
                "--id-number",
                ID_WANG,
                "--loss-type",
                "fuel",
                "--amount",
                "500",
            ],  # fmt: skip
            "claim R-8 is already stored in province 33",
        ),
        (2, ["attach", "R-8", "-p", "33"], "give the police report number or"),
    ]
    results = together(env, *(args for _, args, _ in cases))
    for (code, args, expected), done in zip(cases, results, strict=True):
        assert done.returncode == code, (args, done.stderr)
        assert "Traceback" not in done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and expected in errors[0], (args, done.stderr)
        assert "-12.5" not in done.stderr and PHONE_WANG not in done.stderr


def add_driver() -> None:
    """Put the claims' driver on the roster of the database the commands use (creating it)."""
    database = open_database(Settings())
    try:
        with database.connect() as connection:
            connection.execute(
                insert(Driver).values(
                    province="33",
                    key=ID_WANG,
                    id_number=ID_WANG,
                    name=NAME,
                    phone=PHONE_WANG,
                    records=1,
                    sources=1,
                    phones=1,
                    enterprises=0,
                    linked_run="r1",
                    updated_at=dt.datetime.now(dt.UTC),
                )
            )
    finally:
        database.dispose()


def test_process_sync_and_reconcile_through_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "claims.csv",
        [row("P-1"), row("P-2", incident_time="2026-11-20 14:00"), row("P-3", photos="0")],
    )
    add_driver()
    ok(env, "import", "-p", "33", str(path))
    processed = ok(env, "process", "-p", "33")
    assert (
        "province 33: 2 evidence complete, 1 checked, 1 rejected, 1 assessed, 0 submitted; "
        "1 waiting for evidence" in processed.stderr
    )
    paid_at = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    set_state(
        "P-1",
        status="paid",
        insurer_claim_id="INS-1",
        amount_paid=Decimal("1000"),
        payment_ref="PAY-1",
        paid_at=paid_at,
    )
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "insurer_claim_id,claim_ref,amount_paid,payment_ref,paid_at\n"
        "INS-1,P-1,1000.00,PAY-1,2026-11-25 10:00\n"
        "INS-9,P-9,50.00,PAY-9,2026-11-25 11:00\n",
        encoding="utf-8",
    )
    mismatches = tmp_path / "mismatches.csv"
    synced, reconciled, exported = together(
        env,
        ["sync", "-p", "33"],
        ["reconcile", str(statement), "-p", "33", "--out", str(mismatches)],
        ["export", "-p", "33", "--format", "csv"],
    )
    assert synced.returncode == 0, synced.stderr
    assert "province 33: 0 asked, 0 approved, 0 rejected, 0 paid" in synced.stderr
    assert reconciled.returncode == 0, reconciled.stderr
    assert "statement.csv: 2 lines, 1 matched, 1 mismatches (1 unknown_claim)" in reconciled.stderr
    (mismatch,) = csv.DictReader(mismatches.open(encoding="utf-8"))
    assert (mismatch["kind"], mismatch["claim_ref"]) == ("unknown_claim", "P-9")
    rows = {r["claim_ref"]: r for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert (rows["P-2"]["status"], rows["P-2"]["reason_code"]) == (
        "rejected",
        "outside_night_window",
    )
    assert rows["P-3"]["status"] == "reported" and rows["P-1"]["amount_paid"] == "1000.00"
