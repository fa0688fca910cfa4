"""The processing run on real databases: evidence, checks and assessment through the hooks,
appeals, plugin decisions and two runs at once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import StatementError

import chelun.plugins.gansu as gansu
from chelun import hookimpl
from chelun.calendar import BEIJING
from chelun.claims.insurer import HttpInsurerClient
from chelun.claims.intake import night_of
from chelun.claims.models import Assessment, CheckResult, ClaimItem, PriorClaim, Product
from chelun.claims.processing import ProcessResult, check_and_assess, process
from chelun.claims.service import ClaimsService
from chelun.claims.settings import ClaimsSettings
from chelun.claims.simulator import InsurerSimulator
from chelun.plugin_manager import PluginError
from chelun.plugins.gansu import scheme
from chelun.storage.db import Database
from chelun.storage.tables import Claim, Driver, Event

from .conftest import service_for

PRODUCT = "gansu-chehuowuyou"
SITE = "GS-G30-07"


def claims_service(
    database: Database, *extra: tuple[str, object], batch: int = 500
) -> ClaimsService:
    """A service for Gansu with its scheme, and ``extra`` plugins after it."""
    # Until plugins/gansu/__init__.py re-exports the scheme's hook, register the module itself.
    wired = hasattr(gansu, "chelun_claim_products")
    plugins = [*([] if wired else [("gansu-scheme", scheme)]), *extra]
    service = service_for(database, extra=plugins)
    service.settings = ClaimsSettings(claims_batch=batch)
    return service


def add_drivers(database: Database, count: int) -> list[int]:
    at = dt.datetime.now(dt.UTC)
    with database.connect() as connection:
        return list(
            connection.execute(
                insert(Driver).returning(Driver.id),
                [
                    {
                        "province": "62",
                        "key": f"driver-{n}",
                        "records": 1,
                        "sources": 1,
                        "phones": 0,
                        "enterprises": 0,
                        "linked_run": "r1",
                        "updated_at": at,
                    }
                    for n in range(count)
                ],
            ).scalars()
        )


def claim(ref: str, driver: int | None, at: str = "2026-03-10 23:30", **values: Any) -> dict:
    moment = dt.datetime.fromisoformat(at).replace(tzinfo=BEIJING)
    row = {
        "province": "62",
        "ref": ref,
        "product": PRODUCT,
        "driver_id": driver,
        "id_number": "620102199001011234",
        "incident_time": moment,
        "night_of": night_of(moment),
        "site": SITE,
        "site_given": SITE,
        "loss_type": "fuel",
        "amount_claimed": Decimal("1200.00"),
        "police_report_no": "甘公(永)警受字2026-001",
        "photos": 2,
        "status": "evidence_complete",
        "appeals": 0,
        "reported_at": dt.datetime.now(dt.UTC),
        "updated_at": dt.datetime.now(dt.UTC),
    }
    row.update(values)
    return row


def add_claims(database: Database, rows: list[dict]) -> None:
    with database.connect() as connection:
        connection.execute(insert(Claim), rows)


def stored(database: Database) -> dict[str, Claim]:
    with database.sessions() as session:
        return {case.ref: case for case in session.scalars(select(Claim))}


def events(database: Database, kind: str | None = None) -> list[Event]:
    query = select(Event).where(Event.entity == "claim").order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    with database.sessions() as session:
        return list(session.scalars(query))


def test_reported_claims_with_complete_evidence_go_on_and_the_others_wait(
    database: Database,
) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(
        database,
        [
            claim("full", driver, status="reported"),
            claim(
                "no-report", driver, "2026-03-11 23:30", status="reported", police_report_no=None
            ),
            claim(
                "blank-report", driver, "2026-03-12 23:30", status="reported", police_report_no=""
            ),
            claim("no-photo", driver, "2026-03-13 23:30", status="reported", photos=0),
            claim("one-photo", driver, "2026-03-14 23:30", status="reported", photos=1),
        ],
    )
    result = check_and_assess(claims_service(database))
    assert result == ProcessResult(
        evidence_complete=2, checked=2, rejected=0, assessed=2, submitted=0, waiting=3
    )
    cases = stored(database)
    assert {ref for ref, case in cases.items() if case.status == "reported"} == {
        "no-report",
        "blank-report",
        "no-photo",
    }
    assert [e.entity_key for e in events(database, "evidence_complete")] == [
        "62:full",
        "62:one-photo",
    ]


def test_claims_are_checked_and_assessed_by_core_with_decimal_amounts(
    database: Database,
) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(
        database,
        [
            claim("pay", driver),
            claim("capped", driver, "2026-03-11 23:30", amount_claimed=Decimal("9000.00")),
            claim("small", driver, "2026-03-12 23:30", amount_claimed=Decimal("150.00")),
            claim("day", driver, "2026-03-13 12:00"),
            claim("nobody", None, "2026-03-14 23:30"),
            claim("nowhere", driver, "2026-03-15 23:30", site=None, site_given="某服务区"),
            claim("old", driver, "2025-12-31 23:30"),
        ],
    )
    result = check_and_assess(claims_service(database))
    assert (result.checked, result.rejected, result.assessed) == (3, 5, 2)
    cases = stored(database)
    assert {ref: (c.status, c.reason_code) for ref, c in cases.items()} == {
        "pay": ("assessed", None),
        "capped": ("assessed", None),
        "small": ("rejected", "nothing_payable"),
        "day": ("rejected", "outside_night_window"),
        "nobody": ("rejected", "not_on_roster"),
        "nowhere": ("rejected", "site_not_covered"),
        "old": ("rejected", "no_policy_period"),
    }
    pay, capped = cases["pay"], cases["capped"]
    assert pay.amount_payable == Decimal("1000.00") and capped.amount_payable == Decimal("5000.00")
    assert type(pay.amount_payable) is Decimal
    assert pay.policy_no == "PICC-GS-2026-CHWY"
    assert {pay.checked_by, pay.assessed_by} == {"chelun.claims.defaults"}
    assert cases["small"].amount_payable == Decimal("0.00")
    assessed = {e.entity_key: e for e in events(database, "assessed")}
    assert assessed["62:pay"].data == {"amount_payable": "1000.00"}
    assert assessed["62:pay"].actor == "plugin:chelun.claims.defaults"
    assert "1200.00 - deductible 200.00" in assessed["62:pay"].reason
    rejected = {e.entity_key: e for e in events(database, "rejected")}
    assert rejected["62:day"].data == {"reason_code": "outside_night_window"}
    # A second run finds nothing left to do.
    assert check_and_assess(claims_service(database)) == ProcessResult()


def test_process_submits_the_assessed_claims_to_the_insurer_once(database: Database) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(
        database,
        [
            claim("S1", driver),
            claim("S2", driver, "2026-03-11 23:30"),
            claim("S3", driver, "2026-03-12 12:00"),
            claim("S4", driver, "2026-03-13 23:30", status="reported", photos=0),
        ],
    )
    service = claims_service(database)
    with InsurerSimulator() as insurer, HttpInsurerClient(insurer.url, attempts=1) as client:
        first = process(service, client=client)
        again = process(service, client=client)
        held = insurer.counts()
    assert first == ProcessResult(
        evidence_complete=0, checked=2, rejected=1, assessed=2, submitted=2, waiting=1
    )
    assert again == ProcessResult(waiting=1)
    assert held == {"S1": 1, "S2": 1}
    assert {ref: case.status for ref, case in stored(database).items()} == {
        "S1": "submitted",
        "S2": "submitted",
        "S3": "rejected",
        "S4": "reported",
    }


def test_a_float_amount_is_refused_by_the_database_layer(database: Database) -> None:
    with pytest.raises(StatementError, match="never float"):
        add_claims(database, [claim("float", None, amount_claimed=1200.5)])
    assert stored(database) == {}


def test_the_annual_limit_holds_across_batches_and_runs(database: Database) -> None:
    [driver, other] = add_drivers(database, 2)
    rows = [
        claim(f"L{n}", driver, f"2026-04-{n + 1:02d} 23:00", amount_claimed=Decimal("5200.00"))
        for n in range(6)
    ]
    rows.append(claim("other", other, amount_claimed=Decimal("5200.00")))
    add_claims(database, rows)
    result = check_and_assess(claims_service(database, batch=2))
    assert (result.assessed, result.rejected) == (5, 2)
    cases = stored(database)
    paid = [cases[f"L{n}"].amount_payable for n in range(4)]
    assert paid == [Decimal("5000.00")] * 4 and cases["other"].amount_payable == Decimal("5000.00")
    assert {cases["L4"].reason_code, cases["L5"].reason_code} == {"annual_limit_reached"}
    # A later claim of the year is refused at the check, one of the next policy year is not.
    add_claims(
        database,
        [
            claim("L6", driver, "2026-05-01 23:00"),
            claim("next-year", driver, "2027-01-02 01:00"),
        ],
    )
    check_and_assess(claims_service(database))
    cases = stored(database)
    assert cases["L6"].reason_code == "annual_limit_reached" and cases["L6"].checked_by
    assert cases["next-year"].status == "assessed"
    assert cases["next-year"].policy_no == "PICC-GS-2027-CHWY"


def test_a_duplicate_is_refused_and_an_appeal_can_set_the_check_aside(
    database: Database,
) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(
        database,
        [
            claim("first", driver, "2026-03-10 23:30"),
            claim("again", driver, "2026-03-11 02:00"),
            claim("next-night", driver, "2026-03-11 23:30"),
        ],
    )
    service = claims_service(database)
    check_and_assess(service)
    cases = stored(database)
    assert cases["again"].reason_code == "duplicate_suspected"
    assert {cases["first"].status, cases["next-night"].status} == {"assessed"}
    service.appeal("again", "two tanks were siphoned that night", override="duplicate_suspected")
    result = check_and_assess(service)
    assert (result.checked, result.assessed) == (1, 1)
    again = stored(database)["again"]
    assert (again.status, again.reason_code, again.appeals) == ("assessed", None, 1)
    checked = [e for e in events(database, "checked") if e.entity_key == "62:again"]
    assert checked[-1].data == {"policy_no": "PICC-GS-2026-CHWY", "override": "duplicate_suspected"}


def test_an_appeal_without_an_override_is_checked_again_in_full(database: Database) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(database, [claim("first", driver), claim("again", driver, "2026-03-11 01:00")])
    service = claims_service(database)
    check_and_assess(service)
    service.appeal("again", "please look again")
    result = check_and_assess(service)
    assert (result.checked, result.rejected) == (0, 1)
    assert stored(database)["again"].reason_code == "duplicate_suspected"
    assert len([e for e in events(database, "rejected") if e.entity_key == "62:again"]) == 2


class _Strict:
    """A province plugin that refuses cargo claims above 3,000 yuan and leaves the rest."""

    PROVINCES = ("62",)

    @hookimpl
    def chelun_check_claims(
        self, province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> list[CheckResult | None]:
        return [
            CheckResult(
                eligible=False, reason_code="loss_not_covered", reason="cargo above 3000 yuan"
            )
            if claim.loss_type == "cargo" and claim.amount_claimed > 3000
            else None
            for claim in claims
        ]


class _Flat:
    """A province plugin that pays a flat 800 yuan on fuel claims and leaves the rest."""

    PROVINCES = ("62",)

    @hookimpl
    def chelun_assess_claims(
        self, province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> list[Assessment | None]:
        return [
            Assessment(payable=Decimal("800.00"), reason="flat rate for fuel")
            if claim.loss_type == "fuel"
            else None
            for claim in claims
        ]


def test_a_plugin_decides_some_claims_and_core_the_rest_each_recorded(
    database: Database,
) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(
        database,
        [
            claim("big-cargo", driver, loss_type="cargo", amount_claimed=Decimal("4000.00")),
            claim("cargo", driver, "2026-03-11 23:30", loss_type="cargo"),
            claim("fuel", driver, "2026-03-12 23:30"),
        ],
    )
    check_and_assess(claims_service(database, ("strict", _Strict()), ("flat", _Flat())))
    cases = stored(database)
    big, cargo, fuel = cases["big-cargo"], cases["cargo"], cases["fuel"]
    assert (big.status, big.reason_code, big.checked_by) == (
        "rejected",
        "loss_not_covered",
        "strict",
    )
    assert big.reason == "cargo above 3000 yuan"
    assert cargo.checked_by == fuel.checked_by == "chelun.claims.defaults"
    assert (fuel.amount_payable, fuel.assessed_by) == (Decimal("800.00"), "flat")
    assert (cargo.amount_payable, cargo.assessed_by) == (
        Decimal("1000.00"),
        "chelun.claims.defaults",
    )
    actors = {(e.entity_key, e.kind): e.actor for e in events(database)}
    assert actors[("62:big-cargo", "rejected")] == "plugin:strict"
    assert actors[("62:fuel", "assessed")] == "plugin:flat"
    assert actors[("62:cargo", "checked")] == "plugin:chelun.claims.defaults"


class _DuplicateHunter:
    """A plugin that refuses every claim as a suspected duplicate."""

    PROVINCES = ("62",)

    @hookimpl
    def chelun_check_claims(
        self, province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> list[CheckResult | None]:
        return [
            CheckResult(eligible=False, reason_code="duplicate_suspected", reason="looks twice")
            for _ in claims
        ]


def test_an_override_sets_aside_a_plugins_refusal_for_that_reason(database: Database) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(database, [claim("one", driver)])
    service = claims_service(database, ("hunter", _DuplicateHunter()))
    check_and_assess(service)
    assert stored(database)["one"].checked_by == "hunter"
    service.appeal("one", "the only claim that night", override="duplicate_suspected")
    check_and_assess(service)
    one = stored(database)["one"]
    assert (one.status, one.checked_by) == ("assessed", "chelun.claims.defaults")


def _plugin(hook: str, answer: Any) -> object:
    def implementation(
        province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> Any:
        return answer(claims)

    plugin = SimpleNamespace(PROVINCES=("62",))
    setattr(plugin, hook, hookimpl(implementation))
    return plugin


@pytest.mark.parametrize(
    ("hook", "answer", "message"),
    [
        ("chelun_check_claims", lambda claims: [None] * (len(claims) + 1), "3 decisions for 2"),
        ("chelun_check_claims", lambda claims: ["yes"] * len(claims), "a str, not a CheckResult"),
        ("chelun_check_claims", lambda claims: "yes", "a str, not a list"),
        ("chelun_assess_claims", lambda claims: [None], "1 decisions for 2"),
        (
            "chelun_assess_claims",
            lambda claims: [CheckResult(eligible=True, reason="x")] * len(claims),
            "not a Assessment",
        ),
    ],
)
def test_a_plugin_answering_wrongly_is_named_and_nothing_changes(
    database: Database, hook: str, answer: Any, message: str
) -> None:
    [driver] = add_drivers(database, 1)
    add_claims(database, [claim("a", driver), claim("b", driver, "2026-03-11 23:30")])
    service = claims_service(database, ("wrong", _plugin(hook, answer)))
    with pytest.raises(PluginError, match=message) as failure:
        check_and_assess(service)
    assert failure.value.plugin == "wrong" and failure.value.hook == hook
    expected = "evidence_complete" if hook == "chelun_check_claims" else "checked"
    assert {case.status for case in stored(database).values()} == {expected}
    assert not events(database, "assessed")


def test_two_runs_at_once_decide_each_claim_once(database: Database) -> None:
    drivers = add_drivers(database, 40)
    add_claims(
        database,
        [
            claim(
                f"R{n}",
                drivers[n % 40],
                f"2026-03-{1 + n // 40:02d} 23:30",
                status="reported" if n % 2 else "evidence_complete",
            )
            for n in range(200)
        ],
    )
    second = Database(database.url)
    services = [claims_service(database, batch=7), claims_service(second, batch=7)]
    start = threading.Barrier(2)
    results: list[ProcessResult] = []

    def run(service: ClaimsService) -> None:
        start.wait(timeout=60)
        results.append(check_and_assess(service))

    threads = [threading.Thread(target=run, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    second.dispose()
    assert len(results) == 2
    assert sum(r.evidence_complete for r in results) == 100
    assert sum(r.checked for r in results) == 200 and sum(r.assessed for r in results) == 200
    with database.engine.connect() as connection:
        per_claim = connection.execute(
            select(Event.kind, func.count(), func.count(func.distinct(Event.entity_key)))
            .where(Event.entity == "claim")
            .group_by(Event.kind)
        ).all()
    assert {kind: (n, distinct) for kind, n, distinct in per_claim} == {
        "evidence_complete": (100, 100),
        "checked": (200, 200),
        "assessed": (200, 200),
    }
    assert {case.status for case in stored(database).values()} == {"assessed"}


def test_a_claim_reported_before_its_driver_was_on_the_roster_is_linked_when_checked(
    database: Database,
) -> None:
    add_claims(database, [claim("LATE", None)])
    # The driver is surveyed after the claim came in, before it is checked.
    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [
                {
                    "province": "62",
                    "key": "620102199001011234",
                    "id_number": "620102199001011234",
                    "records": 1,
                    "sources": 1,
                    "phones": 0,
                    "enterprises": 0,
                    "linked_run": "r1",
                    "updated_at": dt.datetime.now(dt.UTC),
                }
            ],
        )
    result = check_and_assess(claims_service(database))
    case = stored(database)["LATE"]
    assert case.driver_id is not None
    assert (result.assessed, case.status) == (1, "assessed")


def test_a_second_processing_run_while_one_checks_is_refused(database: Database) -> None:
    from chelun.storage.locks import LockBusy, run_lock

    service = claims_service(database)
    with run_lock(database, "claims-check:62", "user:other"), pytest.raises(LockBusy):
        process(service)
