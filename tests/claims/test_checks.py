"""Core's checks and assessment of claims (pure functions), and Gansu's 车货无忧 as data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chelun.calendar import BEIJING
from chelun.claims.checks import ORDER, assess_claims, check_claims
from chelun.claims.intake import night_of
from chelun.claims.models import REASON_CODES, Assessment, ClaimItem, PriorClaim, Product, money
from chelun.identity.divisions import divisions
from chelun.plugins.gansu.scheme import CHEHUOWUYOU

from .conftest import service_for

DRIVER = "62-0000001"
SITE = "GS-G30-07"


def beijing(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def item(ref: str = "C-1", at: str = "2026-03-10 23:30", **values: object) -> ClaimItem:
    moment = values.pop("incident_time", None) or beijing(at)
    fields: dict[str, object] = {
        "ref": ref,
        "province": "62",
        "product": CHEHUOWUYOU.code,
        "driver": DRIVER,
        "incident_time": moment,
        "night_of": night_of(moment),  # type: ignore[arg-type]
        "site": SITE,
        "loss_type": "fuel",
        "amount_claimed": Decimal("1200.00"),
        "police_report": True,
        "photos": 2,
    }
    fields.update(values)
    return ClaimItem(**fields)  # type: ignore[arg-type]


def prior(
    ref: str,
    status: str,
    payable: str | None = None,
    paid: str | None = None,
    night: dt.date = dt.date(2026, 2, 1),
    site: str | None = SITE,
    policy_no: str | None = "PICC-GS-2026-CHWY",
    driver: str = DRIVER,
) -> PriorClaim:
    return PriorClaim(
        ref=ref,
        driver=driver,
        site=site,
        night_of=night,
        status=status,  # type: ignore[arg-type]
        policy_no=policy_no,
        amount_payable=Decimal(payable) if payable else None,
        amount_paid=Decimal(paid) if paid else None,
    )


def apart(claims: list[ClaimItem]) -> list[ClaimItem]:
    """The claims at different sites, so that none is another's duplicate."""
    sites = [site.code for site in CHEHUOWUYOU.sites]
    return [claim.model_copy(update={"site": sites[n]}) for n, claim in enumerate(claims)]


def codes(claims: list[ClaimItem], earlier: list[PriorClaim] | None = None) -> list[str | None]:
    return [
        None if result.eligible else result.reason_code
        for result in check_claims(CHEHUOWUYOU, claims, earlier or [])
    ]


# --- the checks, one rule at a time, just inside and just outside ---------------------------


def test_a_claim_inside_every_rule_is_eligible_under_the_live_policy() -> None:
    [result] = check_claims(CHEHUOWUYOU, [item()], [])
    assert result.eligible and result.reason_code is None
    assert result.policy_no == "PICC-GS-2026-CHWY"
    assert "GS-G30-07" in result.reason and DRIVER not in result.reason


def test_a_driver_not_on_the_roster_is_refused() -> None:
    assert codes([item(driver=None), item()]) == ["not_on_roster", None]


def test_the_policy_period_covers_the_incidents_beijing_date() -> None:
    claims = [
        item("before", "2025-12-31 23:59"),
        item("first", "2026-01-01 00:00"),
        # 16:30 UTC on New Year's Eve is 00:30 on 1 January in Beijing: covered.
        item("utc", incident_time=dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC)),
        item("last", "2026-12-31 23:59"),
        item("renewal", "2027-01-01 00:30"),
        item("renewal-last", "2027-12-31 23:59"),
        item("after", "2028-01-01 00:00"),
    ]
    results = check_claims(CHEHUOWUYOU, apart(claims), [])
    assert [r.reason_code for r in results] == [
        "no_policy_period",
        None,
        None,
        None,
        None,
        None,
        "no_policy_period",
    ]
    assert [r.policy_no for r in results[1:6]] == [
        "PICC-GS-2026-CHWY",
        "PICC-GS-2026-CHWY",
        "PICC-GS-2026-CHWY",
        "PICC-GS-2027-CHWY",
        "PICC-GS-2027-CHWY",
    ]
    assert "2025-12-31" in results[0].reason


def test_only_a_covered_site_passes() -> None:
    claims = [
        item("none", site=None),
        item("unknown", site="GS-X-99"),
        item("ok", site="GS-G30-18"),
    ]
    results = check_claims(CHEHUOWUYOU, claims, [])
    assert [r.reason_code for r in results] == ["site_not_covered", "site_not_covered", None]
    assert "GS-X-99" in results[1].reason


def test_the_night_window_runs_from_22_00_included_to_06_00_excluded() -> None:
    claims = [
        item("21:59", "2026-03-10 21:59:59"),
        item("22:00", "2026-03-10 22:00"),
        item("midnight", "2026-03-11 00:00"),
        item("05:59", "2026-03-11 05:59:59"),
        item("06:00", "2026-03-11 06:00"),
        item("noon", "2026-03-11 12:00"),
    ]
    assert codes(apart(claims)) == [
        "outside_night_window",
        None,
        None,
        None,
        "outside_night_window",
        "outside_night_window",
    ]


def test_the_night_window_is_read_in_beijing_time() -> None:
    # 14:30 UTC is 22:30 in Beijing: inside; 22:30 UTC is 06:30 in Beijing: outside.
    inside = item("in", incident_time=dt.datetime(2026, 3, 10, 14, 30, tzinfo=dt.UTC))
    outside = item("out", incident_time=dt.datetime(2026, 3, 10, 22, 30, tzinfo=dt.UTC))
    assert codes([inside, outside]) == [None, "outside_night_window"]


def test_a_loss_the_product_does_not_cover_is_refused() -> None:
    fuel_only = CHEHUOWUYOU.model_copy(update={"covered": ("fuel",)})
    results = check_claims(fuel_only, [item("c", loss_type="cargo"), item("f")], [])
    assert [r.reason_code for r in results] == ["loss_not_covered", None]
    assert codes([item("c", loss_type="cargo")]) == [None]  # 车货无忧 covers cargo


def test_evidence_needs_a_police_report_and_a_photo() -> None:
    claims = [
        item("no-report", police_report=False),
        item("no-photo", photos=0),
        item("one-photo", photos=1),
    ]
    results = check_claims(CHEHUOWUYOU, claims, [])
    assert [r.reason_code for r in results] == ["evidence_missing", "evidence_missing", None]
    assert "police report" in results[0].reason and "0 photo(s), 1 needed" in results[1].reason


def test_the_annual_limit_counts_assessed_submitted_approved_and_paid_claims() -> None:
    used = [
        prior("P1", "assessed", payable="5000.00"),
        prior("P2", "submitted", payable="5000.00"),
        prior("P3", "approved", payable="5000.00"),
        prior("P4", "paid", payable="5000.00", paid="4999.99"),
    ]
    assert codes([item()], used) == [None]  # 0.01 yuan left
    used[3] = prior("P4", "paid", payable="4000.00", paid="5000.00")  # the amount paid counts
    [result] = check_claims(CHEHUOWUYOU, [item()], used)
    assert result.reason_code == "annual_limit_reached"
    assert "20000.00" in result.reason


def test_refused_claims_and_other_policy_years_do_not_count_against_the_limit() -> None:
    others = [
        prior("R", "rejected", payable="20000.00"),
        prior("Q", "quarantined", payable="20000.00"),
        prior("Y", "paid", paid="20000.00", policy_no="PICC-GS-2027-CHWY"),
        prior("O", "paid", paid="20000.00", driver="62-0000002"),
        prior("N", "paid", paid="20000.00", policy_no=None, night=dt.date(2025, 12, 30)),
    ]
    assert codes([item()], others) == [None]
    undated = prior("N", "paid", paid="20000.00", policy_no=None, night=dt.date(2026, 1, 2))
    assert codes([item()], [undated]) == ["annual_limit_reached"]


def test_the_annual_limit_counts_claims_accepted_earlier_in_the_batch() -> None:
    # Each pays at most 5,000 (the per-incident limit): four use up the 20,000.
    batch = [
        item(f"B{n}", f"2026-03-{10 + n:02d} 23:00", amount_claimed=Decimal("9000.00"))
        for n in range(5)
    ]
    assert codes(batch) == [None, None, None, None, "annual_limit_reached"]
    small = [item("S0", amount_claimed=Decimal("150.00")), *batch[1:]]
    assert codes(small) == [None] * 5  # the first pays nothing (below the deductible)


def test_a_second_claim_the_same_night_at_the_same_site_is_a_suspected_duplicate() -> None:
    first = prior("P1", "checked", night=dt.date(2026, 3, 10))
    [same_night] = check_claims(CHEHUOWUYOU, [item()], [first])
    assert same_night.reason_code == "duplicate_suspected" and "P1" in same_night.reason
    assert codes([item("next", "2026-03-11 23:30")], [first]) == [None]
    assert codes([item("02:00", "2026-03-11 02:00")], [first]) == ["duplicate_suspected"]
    assert codes([item(site="GS-G30-08")], [first]) == [None]
    refused = prior("P1", "rejected", night=dt.date(2026, 3, 10))
    pending = prior("P2", "evidence_complete", night=dt.date(2026, 3, 10))
    assert codes([item()], [refused, pending]) == [None]


def test_duplicates_within_a_batch_keep_the_first_claim() -> None:
    batch = [item("A"), item("B", "2026-03-11 03:00"), item("C", "2026-03-11 23:00")]
    assert codes(batch) == [None, "duplicate_suspected", None]
    refused_first = [item("A", police_report=False), item("B", "2026-03-11 03:00")]
    assert codes(refused_first) == ["evidence_missing", None]


def test_an_appeal_may_set_aside_the_duplicate_check_only() -> None:
    first = prior("P1", "checked", night=dt.date(2026, 3, 10))
    skip = {"C-1": ("duplicate_suspected", "outside_night_window")}
    [result] = check_claims(CHEHUOWUYOU, [item()], [first], skip=skip)
    assert result.eligible and "set aside on appeal: duplicate_suspected" in result.reason
    [late] = check_claims(CHEHUOWUYOU, [item(at="2026-03-11 07:00")], [first], skip=skip)
    assert late.reason_code == "outside_night_window"


def test_the_first_failed_check_in_the_documented_order_is_the_refusal() -> None:
    assert ORDER == tuple(code for code in REASON_CODES if code in ORDER)
    broken = item(site="GS-X-1", at="2026-03-11 12:00", police_report=False, driver=None)
    assert codes([broken]) == ["not_on_roster"]
    assert codes([broken.model_copy(update={"driver": DRIVER})]) == ["site_not_covered"]
    late = item(at="2026-03-11 12:00", police_report=False, loss_type="cargo")
    assert codes([late]) == ["outside_night_window"]


# --- the assessment ---------------------------------------------------------------------------


def payables(claims: list[ClaimItem], earlier: list[PriorClaim] | None = None) -> list[Decimal]:
    results = assess_claims(CHEHUOWUYOU, claims, earlier or [])
    for result in results:
        assert type(result.payable) is Decimal and result.payable.as_tuple().exponent == -2
    return [result.payable for result in results]


def test_the_deductible_comes_off_and_nothing_is_payable_below_it() -> None:
    amounts = ["1200.00", "200.00", "150.00", "200.01", "0.00"]
    claims = [item(f"C{n}", amount_claimed=Decimal(a)) for n, a in enumerate(amounts)]
    assert payables(claims) == [Decimal(x) for x in ("1000.00", "0", "0", "0.01", "0")]


def test_the_per_incident_limit_caps_the_payable_amount() -> None:
    claims = [
        item("at", amount_claimed=Decimal("5200.00")),
        item("over", "2026-03-11 23:00", amount_claimed=Decimal("5200.01")),
        item("under", "2026-03-12 23:00", amount_claimed=Decimal("5199.99")),
    ]
    assert payables(claims) == [Decimal("5000.00"), Decimal("5000.00"), Decimal("4999.99")]


def test_the_payable_amount_is_at_most_what_is_left_of_the_annual_limit() -> None:
    earlier = [prior("P", "paid", payable="9000.00", paid="17000.00")]
    [result] = assess_claims(CHEHUOWUYOU, [item(amount_claimed=Decimal("5200.00"))], earlier)
    assert result.payable == Decimal("3000.00")
    assert "3000.00 left" in result.reason and "(17000.00 used)" in result.reason
    approved = [prior("P", "approved", payable="19999.50")]
    assert payables([item()], approved) == [Decimal("0.50")]


def test_the_annual_limit_counts_what_was_assessed_earlier_in_the_batch() -> None:
    earlier = [prior("P", "assessed", payable="12000.00")]
    batch = [
        item(f"B{n}", f"2026-04-{10 + n:02d} 23:00", amount_claimed=Decimal("5200.00"))
        for n in range(3)
    ]
    assert payables(batch, earlier) == [Decimal("5000.00"), Decimal("3000.00"), Decimal("0")]
    other = item("O", driver="62-0000002", amount_claimed=Decimal("5200.00"))
    assert payables([*batch, other], earlier)[-1] == Decimal("5000.00")


def test_money_is_never_a_float() -> None:
    with pytest.raises(ValueError, match="never float"):
        money(1000.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Assessment(payable=1000.5, reason="a float")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Assessment(payable=Decimal("1.005"), reason="three places")
    assert Assessment(payable="1000.5", reason="text").payable == Decimal("1000.50")


# --- Gansu's 车货无忧 --------------------------------------------------------------------------


def _gansu_counties() -> set[str]:
    table = divisions()
    counties = {division.code for division in table.counties("62")}
    # A prefecture-level city without counties (嘉峪关) is its own county-level area.
    with_districts = {code[:4] for code in counties}
    return counties | {c.code for c in table.cities("62") if c.code[:4] not in with_districts}


def test_every_gansu_site_lies_in_a_real_gansu_county_and_inside_the_province() -> None:
    counties = _gansu_counties()
    assert "620200" in counties and "620100" not in counties
    assert len(CHEHUOWUYOU.sites) >= 25
    for site in CHEHUOWUYOU.sites:
        assert site.county in counties, site.code
        assert 32.5 <= site.latitude <= 42.8 and 92.0 <= site.longitude <= 108.8, site.code
        assert site.name.endswith("服务区") and site.code.startswith("GS-G")
    assert len({site.name for site in CHEHUOWUYOU.sites}) == len(CHEHUOWUYOU.sites)


def test_gansu_offers_chehuowuyou_live_today_with_its_renewal(database: object) -> None:
    products = service_for(database).products()  # type: ignore[arg-type]
    assert list(products) == ["gansu-chehuowuyou"]
    product = products["gansu-chehuowuyou"]
    assert isinstance(product, Product) and product.name == "车货无忧"
    assert product.period(dt.date(2026, 6, 1)) is not None
    assert product.period(dt.date(2027, 6, 1)) is not None
    assert (product.night_start, product.night_end) == (dt.time(22), dt.time(6))
    assert set(product.covered) == {"fuel", "cargo"}
    assert product.evidence.police_report and product.evidence.min_photos == 1
    assert service_for(database, "32").products() == {}  # type: ignore[arg-type]
