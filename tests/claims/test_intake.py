"""Claim intake: files in the formats clerks send, the checks a row passes, the roster link.

The scheme here is a small one of the tests' own, served for province 33 by a plugin passed
in code, so that these tests do not depend on Gansu's data. ``SchemePlugin``, ``PRODUCT`` and
the helpers are shared with the other claims tests of this room.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import insert, select

from chelun import hookimpl
from chelun.calendar import BEIJING
from chelun.claims.intake import COLUMNS, night_of, parse_amount, parse_incident
from chelun.claims.models import PolicyPeriod, Product, Site
from chelun.claims.service import ClaimError, ClaimsService, site_key
from chelun.sources.readers import SourceReadError
from chelun.storage.db import Database
from chelun.storage.tables import Claim, Driver, Event
from tests.identities import resident_id

from .conftest import service_for

PROVINCE = "33"
#: The instant the tests import at: incidents after it are in the future.
AT = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
ID_WANG = resident_id("330102", "19800101", "123")
ID_LI = resident_id("330102", "19850505", "456")
ID_ZHAO = resident_id("330102", "19900909", "789")
#: On nobody's roster entry.
NEW_ID = resident_id("330102", "19700101", "002")
PHONE_WANG = "13900000001"
PHONE_ZHAO = "13900000003"
SHARED_PHONE = "13900000009"


def wrong_check(number: str) -> str:
    """A resident ID number with a check character that does not fit."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def site(code: str, name: str) -> Site:
    return Site(
        code=code,
        name=name,
        road="G25 长深高速",
        county="330522",
        latitude=30.9,
        longitude=119.9,
    )


PRODUCT = Product(
    code="test-night",
    name="夜间车货保障（测试）",
    province=PROVINCE,
    insurer="测试保险公司",
    sites=(site("ZJ01", "长兴服务区"), site("ZJ02", "嘉兴 服务区"), site("ZJ03", "德清停车区")),
    night_start=dt.time(22, 0),
    night_end=dt.time(6, 0),
    covered=("fuel", "cargo"),
    per_incident_limit="5000",
    per_driver_year_limit="20000",
    deductible="200",
    periods=(
        PolicyPeriod(policy_no="TP-2026", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)),
    ),
)
#: A second scheme of the same province, for the choice of product by site.
CARGO = PRODUCT.model_copy(
    update={
        "code": "test-cargo",
        "name": "货物保障（测试）",
        "sites": (site("ZJ09", "湖州服务区"),),
    }
)


class SchemePlugin:
    """A province plugin offering ``products`` for its province."""

    def __init__(self, *products: Product, province: str = PROVINCE) -> None:
        self.PROVINCES = (province,)
        self.products = products

    @hookimpl
    def chelun_claim_products(self, province: str) -> list[Product]:
        return list(self.products)


def claims_service(database: Database, *products: Product) -> ClaimsService:
    plugin = SchemePlugin(*(products or (PRODUCT,)))
    return service_for(database, PROVINCE, extra=[("test-scheme", plugin)])


def add_driver(
    database: Database, key: str, *, id_number: str | None, phone: str | None, name: str | None
) -> int:
    with database.connect() as connection:
        return connection.execute(
            insert(Driver)
            .values(
                province=PROVINCE,
                key=key,
                id_number=id_number,
                phone=phone,
                name=name,
                records=1,
                sources=1,
                phones=1,
                enterprises=0,
                linked_run="r1",
                updated_at=AT,
            )
            .returning(Driver.id)
        ).scalar_one()


def row(ref: str, **values: str) -> dict[str, str]:
    """A good row of a claim file, with ``values`` changed."""
    return {
        "claim_ref": ref,
        "id_number": ID_WANG,
        "name": "王建国",
        "phone": PHONE_WANG,
        "incident_time": "2026-11-20 02:30",
        "site": "ZJ01",
        "loss_type": "fuel",
        "amount_claimed": "1200",
        "police_report_no": "JB330000001",
        "photos": "2",
        **values,
    }


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for values in rows:
            writer.writerow({column: values.get(column, "") for column in COLUMNS})
    return path


def stored(database: Database) -> dict[str, Claim]:
    with database.sessions() as session:
        return {claim.ref: claim for claim in session.scalars(select(Claim))}


def events(database: Database, kind: str | None = None) -> list[Event]:
    query = select(Event).where(Event.entity == "claim").order_by(Event.id)
    if kind is not None:
        query = query.where(Event.kind == kind)
    with database.sessions() as session:
        return list(session.scalars(query))


@pytest.fixture
def roster(database: Database) -> dict[str, int]:
    return {
        "wang": add_driver(database, ID_WANG, id_number=ID_WANG, phone=PHONE_WANG, name="王建国"),
        "li": add_driver(database, ID_LI, id_number=ID_LI, phone=SHARED_PHONE, name="李四"),
        "zhao": add_driver(database, ID_ZHAO, id_number=ID_ZHAO, phone=PHONE_ZHAO, name="赵六"),
        "other": add_driver(database, "alias:x", id_number=None, phone=SHARED_PHONE, name="钱七"),
    }


#: Each bad row, and the column its quarantine reason must name.
BAD_ROWS = {
    "no ref": (row("", amount_claimed="300"), "claim_ref is empty"),
    "time": (row("B-TIME", incident_time="昨晚两点"), "incident_time is not a date"),
    "future": (row("B-FUTURE", incident_time="2027-01-05 23:00"), "incident_time is in the future"),
    "loss": (row("B-LOSS", loss_type="轮胎"), "loss_type is not fuel or cargo"),
    "amount": (row("B-AMOUNT", amount_claimed="12.345"), "amount_claimed has more than two"),
    "negative": (row("B-NEG", amount_claimed="-50"), "amount_claimed is not an amount"),
    "id": (
        row("B-ID", id_number=wrong_check(ID_WANG)),
        "id_number is not a valid",
    ),
    "long name": (row("B-NAME", name="王" * 101), "name is longer than 100"),
    "photos": (row("B-PHOTOS", photos="三张"), "photos is not a count"),
    "nobody": (row("B-NOBODY", id_number="", phone=""), "id_number is missing"),
    "roster name": (
        row("B-ROSTER", name="王建军"),
        "name is not the roster's name for this id_number",
    ),
}


def test_a_gbk_file_keeps_good_rows_and_quarantines_each_bad_kind_without_quoting(
    database: Database, roster: dict[str, int], tmp_path: Path
) -> None:
    good = [
        row("G-CODE", site="zj01"),
        row("G-NAME", site="长兴", loss_type="燃油", amount_claimed="1,200.50"),
        row("G-SPACES", site="嘉兴服务区", loss_type="货物", amount_claimed="￥800"),
        row("G-DIESEL", site=" 德清停车区 ", loss_type="柴油", photos=""),
        row("G-OUTSIDE", site="杭州东站", loss_type="cargo"),
    ]
    path = write_csv(
        tmp_path / "claims.csv", good + [bad for bad, _ in BAD_ROWS.values()], encoding="gbk"
    )
    result = claims_service(database).import_file(path, at=AT)
    assert (result.rows, result.added, result.quarantined) == (16, 16, 11)
    claims = stored(database)
    assert claims["G-CODE"].site == "ZJ01" and claims["G-NAME"].site == "ZJ01"
    assert claims["G-SPACES"].site == "ZJ02" and claims["G-DIESEL"].site == "ZJ03"
    assert claims["G-NAME"].amount_claimed == Decimal("1200.50")
    assert claims["G-SPACES"].amount_claimed == Decimal("800.00")
    assert (claims["G-NAME"].loss_type, claims["G-SPACES"].loss_type) == ("fuel", "cargo")
    assert claims["G-DIESEL"].loss_type == "fuel" and claims["G-DIESEL"].photos == 0
    outside = claims["G-OUTSIDE"]
    assert (outside.status, outside.site, outside.site_given) == ("reported", None, "杭州东站")
    assert all(claims[values["claim_ref"]].status == "reported" for values in good)
    assert {claims[ref].product for ref in claims} == {"test-night"}
    assert claims["G-CODE"].driver_id == roster["wang"]
    assert claims["G-CODE"].incident_time == dt.datetime(2026, 11, 19, 18, 30, tzinfo=dt.UTC)

    quarantined = {ref: claim for ref, claim in claims.items() if claim.status == "quarantined"}
    assert len(quarantined) == len(BAD_ROWS)
    reasons = {claim.reason for claim in quarantined.values()}
    for number, (values, expected) in enumerate(BAD_ROWS.values(), start=len(good) + 1):
        reason = next(reason for reason in reasons if reason.startswith(f"row {number}:"))
        assert expected in reason, reason
        for column in ("id_number", "name", "phone", "incident_time", "amount_claimed"):
            if values[column]:
                assert values[column] not in reason
    stand_in = next(ref for ref in quarantined if ref.startswith("~"))
    assert stand_in.endswith(f"-{len(good) + 1}")
    assert quarantined["B-ROSTER"].driver_id is None
    assert quarantined["B-LOSS"].amount_claimed == Decimal("1200.00")
    assert quarantined["B-NOBODY"].driver_id is None

    kinds = [event.kind for event in events(database)]
    assert kinds.count("reported") == 5 and kinds.count("quarantined") == 11
    report = next(e for e in events(database, "quarantined") if e.entity_key == "33:B-PHOTOS")
    assert report.data == {"row": len(good) + 9, "columns": ["photos"]}
    assert all(
        ID_WANG not in event.reason and "王建国" not in event.reason for event in events(database)
    )


def test_importing_a_file_twice_adds_nothing(database: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "claims.csv", [row("A"), row("B", loss_type="x"), row("")])
    service = claims_service(database)
    first = service.import_file(path, at=AT)
    second = service.import_file(path, at=AT)
    assert (first.added, first.quarantined) == (3, 2)
    assert (second.rows, second.added, second.already) == (3, 0, 3)
    assert len(stored(database)) == 3
    assert len(events(database)) == 3


def test_a_ref_repeated_is_one_claim_or_two_contradictory_ones(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "claims.csv",
        [row("SAME"), row("SAME"), row("TWICE"), row("TWICE", amount_claimed="900")],
    )
    result = claims_service(database).import_file(path, at=AT)
    claims = stored(database)
    assert (result.rows, result.added, result.quarantined) == (3, 3, 2)
    assert claims["SAME"].status == "reported"
    assert claims["TWICE"].status == "quarantined"
    assert claims["TWICE"].amount_claimed == Decimal("1200.00")
    assert "row 3: claim_ref is repeated with other data (contradictory)" in claims["TWICE"].reason
    later = next(claim for ref, claim in claims.items() if ref.startswith("~"))
    assert later.ref.endswith("-4") and later.amount_claimed == Decimal("900.00")
    assert later.reason == "row 4: claim_ref is also on row 3 with other data (contradictory)"


def test_an_xlsx_file_with_date_and_number_cells(database: Database, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    sheet.append(
        [
            "X-1",
            ID_WANG,
            "王建国",
            PHONE_WANG,
            dt.datetime(2026, 11, 20, 23, 15),
            "长兴服务区",
            "fuel",
            1200.5,
            "JB1",
            3,
        ]
    )
    sheet.append(
        [
            "X-2",
            ID_WANG,
            "王建国",
            PHONE_WANG,
            "2026/11/21 01:05:30",
            "ZJ02",
            "cargo",
            800,
            "",
            None,
        ]
    )
    sheet.append(["X-3", ID_WANG, "王建国", "", "2026-11-21", "ZJ02", "cargo", 0, "", 1])
    path = tmp_path / "claims.xlsx"
    workbook.save(path)
    result = claims_service(database).import_file(path, at=AT)
    claims = stored(database)
    assert (result.added, result.quarantined) == (3, 1)
    first, second, third = claims["X-1"], claims["X-2"], claims["X-3"]
    assert (first.site, first.amount_claimed, first.photos) == ("ZJ01", Decimal("1200.50"), 3)
    assert first.incident_time == dt.datetime(2026, 11, 20, 15, 15, tzinfo=dt.UTC)
    assert (second.status, second.photos, second.police_report_no) == ("reported", 0, None)
    assert second.incident_time == dt.datetime(2026, 11, 20, 17, 5, 30, tzinfo=dt.UTC)
    assert first.night_of == second.night_of == dt.date(2026, 11, 20)
    assert third.status == "quarantined"
    assert "incident_time is not a date and time" in third.reason
    assert "amount_claimed is not positive" in third.reason


@pytest.mark.parametrize(
    ("local", "night"),
    [
        ("2026-11-20 22:00", "2026-11-20"),
        ("2026-11-20 23:59", "2026-11-20"),
        ("2026-11-21 00:00", "2026-11-20"),
        ("2026-11-21 05:59", "2026-11-20"),
        ("2026-11-21 11:59", "2026-11-20"),
        ("2026-11-21 12:00", "2026-11-21"),
        ("2026-01-01 03:00", "2025-12-31"),
    ],
)
def test_the_night_of_an_incident_began_the_evening_before_noon(local: str, night: str) -> None:
    incident = parse_incident(local)
    assert incident is not None and incident.tzinfo is not None
    assert night_of(incident) == dt.date.fromisoformat(night)


def test_incident_times_are_beijing_times() -> None:
    expected = dt.datetime(2026, 11, 20, 18, 30, tzinfo=dt.UTC)
    for text in (
        "2026-11-21 02:30",
        "2026/11/21 02:30",
        "2026-11-21 02:30:00",
        "2026-11-21T02:30:00",
        "2026-11-20T18:30:00+00:00",
    ):
        assert parse_incident(text) == expected, text
    for text in ("2026-11-21", "02:30", "", "2026-13-01 02:30", "明天"):
        assert parse_incident(text) is None, text
    local = parse_incident("2026-11-21 02:30")
    assert local is not None and local.astimezone(BEIJING).hour == 2


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1200", "1200.00"),
        ("1,200.50", "1200.50"),
        ("￥800", "800.00"),
        ("¥ 800.5", "800.50"),
        ("800元", "800.00"),
        ("１２００", "1200.00"),
        ("9999999.99", "9999999.99"),
    ],
)
def test_amounts_people_write(text: str, amount: str) -> None:
    assert parse_amount(text) == (Decimal(amount), None)


@pytest.mark.parametrize(
    "text", ["", "abc", "1,2", "12.345", "0", "0.00", "-5", "10000000", "1e3", "NaN", "1.2.3"]
)
def test_amounts_that_are_refused(text: str) -> None:
    amount, problem = parse_amount(text)
    assert amount is None and problem


def test_the_roster_driver_is_found_by_id_number_or_by_a_phone_only_one_has(
    database: Database, roster: dict[str, int], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "claims.csv",
        [
            row("BY-ID", phone="", name="王 建國"),
            row("BY-PHONE", id_number="", phone=PHONE_ZHAO, name="赵六"),
            row("SHARED", id_number="", phone=SHARED_PHONE, name=""),
            row("UNKNOWN", id_number=resident_id("330102", "19700101", "001"), phone="", name="孙"),
            row("OTHER-ID", id_number=ID_WANG, phone=PHONE_ZHAO, name=""),
            row("PHONE-ID", id_number=NEW_ID, phone=PHONE_ZHAO, name=""),
            row("PHONE-NAME", id_number="", phone=PHONE_ZHAO, name="钱七"),
            row("BAD-ID", id_number=wrong_check(ID_ZHAO), phone=PHONE_ZHAO, name="赵六"),
        ],
    )
    claims_service(database).import_file(path, at=AT)
    claims = stored(database)
    assert (claims["BY-ID"].status, claims["BY-ID"].driver_id) == ("reported", roster["wang"])
    assert claims["BY-PHONE"].driver_id == roster["zhao"]
    assert claims["BY-PHONE"].id_number == ID_ZHAO
    assert (claims["SHARED"].status, claims["SHARED"].driver_id) == ("reported", None)
    assert (claims["UNKNOWN"].status, claims["UNKNOWN"].driver_id) == ("reported", None)
    assert claims["OTHER-ID"].driver_id == roster["wang"]
    contradicted = claims["PHONE-ID"]
    assert (contradicted.status, contradicted.driver_id) == ("quarantined", None)
    assert contradicted.reason == (
        "row 6: id_number is not that of the roster's driver with this phone (contradictory)"
    )
    assert claims["PHONE-NAME"].status == "quarantined"
    assert "name is not the roster's name for this phone" in claims["PHONE-NAME"].reason
    bad_id = claims["BAD-ID"]
    assert (bad_id.status, bad_id.driver_id, bad_id.id_number) == (
        "quarantined",
        roster["zhao"],
        None,
    )
    assert NEW_ID not in contradicted.reason and PHONE_ZHAO not in contradicted.reason


def test_with_two_schemes_a_claim_falls_under_the_one_covering_its_site(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "claims.csv",
        [row("NIGHT", site="长兴"), row("CARGO", site="湖州服务区"), row("NONE", site="杭州")],
    )
    claims_service(database, PRODUCT, CARGO).import_file(path, at=AT)
    claims = stored(database)
    assert (claims["NIGHT"].product, claims["NIGHT"].site) == ("test-night", "ZJ01")
    assert (claims["CARGO"].product, claims["CARGO"].site) == ("test-cargo", "ZJ09")
    assert (claims["NONE"].product, claims["NONE"].site) == ("test-night", None)


def test_a_name_two_sites_share_is_no_covered_site(database: Database) -> None:
    twins = PRODUCT.model_copy(
        update={"sites": (site("E", "永登服务区（东区）"), site("W", "永登 服务区（东区）"))}
    )
    service = claims_service(database, twins)
    assert service.locate("永登服务区（东区）") == ("test-night", None)
    assert service.locate("e") == ("test-night", "E")
    assert site_key("嘉兴 服务区") == site_key("嘉兴") == "嘉兴"


def test_more_rows_than_one_batch(database: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "claims.csv", [row(f"N-{n}") for n in range(1_201)])
    result = claims_service(database).import_file(path, at=AT)
    assert (result.rows, result.added, result.quarantined) == (1_201, 1_201, 0)
    assert len(events(database, "reported")) == 1_201


def test_a_file_without_claim_columns_is_refused(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("ref,received_at,text\nA,2026-11-20 09:00,x\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match="no column claim_ref, incident_time, site"):
        claims_service(database).import_file(path, at=AT)
    assert stored(database) == {}


def test_a_province_without_a_scheme_has_no_claims(database: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "claims.csv", [row("A")])
    service = service_for(database, "32")
    with pytest.raises(ClaimError, match="province 32 offers no insurance scheme"):
        service.import_file(path, at=AT)
    assert stored(database) == {}
