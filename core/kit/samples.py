"""Sample data for one province, as the hooks receive it: a plugin author's test inputs, and the
inputs of the conformance checks (``chelun.kit.conformance``).

Everything is made up but shaped like the real thing: drivers by roster code in the province's
own counties, a grievance of every category, claims under a sample insurance scheme,
nominations, care visits. The personal data in it (names, resident ID numbers with valid check
digits, mobile numbers, and grievance texts that quote them) is listed in ``personal``, so that a
check can tell when a plugin logs or repeats it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from chelun.calendar import BEIJING
from chelun.claims.models import ClaimItem, Evidence, PolicyPeriod, PriorClaim, Product, Site
from chelun.grievance.models import CATEGORIES, GrievanceItem, Notice
from chelun.identity.codes import driver_code
from chelun.identity.divisions import divisions
from chelun.recognition.kinds import MOST_BEAUTIFUL_DRIVER
from chelun.recognition.models import (
    AwardKind,
    CampaignInfo,
    ListEntry,
    NominationItem,
    VisitCandidate,
    VisitItem,
)
from chelun.roster.models import (
    Branch,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
    PhoneCheck,
)

#: What each category's sample grievance says (core's classifier files each under its category).
TEXTS: dict[str, str] = {
    "platform_fees": "运满满上的信息费越收越高，平台抽成太狠",
    "fines_enforcement": "在收费站被罚款两千元，执法人员不给开票据",
    "parking_rest": "服务区晚上车位全满，只能停在匝道边上",
    "theft": "晚上在服务区休息，油箱里的柴油被偷了",
    "pay_arrears": "货主拖欠运费三个月没有结算",
    "roads_services": "国道路面坑洼严重，夜里没有路灯",
    "emergency_transport": "运送防汛物资需要通行证，卡在检查站",
    "other": "想了解一下司机之家的开放时间",
}
#: Made-up names of the sample drivers: long enough that no other text holds them by chance.
NAMES = ("欧阳晓峰", "司马青云", "上官明月", "诸葛长风", "东方晨曦", "慕容秋水")
#: Sample drivers: how many, and which are party members (the first three).
DRIVERS = len(NAMES)
MEMBERS = 3
#: A sample fleet's name; its credit code (public by law, so not personal data) is made up for
#: the province.
FLEET_NAME = "示例物流有限公司"


@dataclass(frozen=True)
class PersonalData:
    """The personal data the samples carry, by kind: none of it may appear in a log, on the
    console or in a decision's reason."""

    names: tuple[str, ...]
    id_numbers: tuple[str, ...]
    phones: tuple[str, ...]
    texts: tuple[str, ...]

    def found_in(self, text: str) -> list[str]:
        """The kinds of personal data ``text`` holds (``phone number`` ...), each once."""
        kinds = []
        for kind, values in (
            ("name", self.names),
            ("ID number", self.id_numbers),
            ("phone number", self.phones),
            ("grievance text", self.texts),
        ):
            if any(value in text for value in values):
                kinds.append(kind)
        return kinds

    def redacted(self, text: str) -> str:
        """``text`` with every sample value replaced by its kind, for a report."""
        for kind, values in (
            ("grievance text", self.texts),
            ("ID number", self.id_numbers),
            ("phone number", self.phones),
            ("name", self.names),
        ):
            for value in values:
                text = text.replace(value, f"[{kind}]")
        return text


def _check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID number's first 17 digits."""
    value = (1 - 2 * int(first17, 13)) % 11
    return "X" if value == 10 else str(value)


def _resident_id(county: str, index: int) -> str:
    body = f"{county}1985{index % 12 + 1:02d}{index + 10:02d}{index + 101:03d}"
    return body + _check_digit(body)


class Samples:
    """Sample inputs of every hook for one province (two-digit code). Building twice gives
    equal samples: a deterministic plugin answers them the same."""

    def __init__(self, province: str) -> None:
        table = divisions()
        self.province = province
        self.province_name = table.province_names.get(province, province)
        cities = table.cities(province)
        counties = table.counties(province)
        self.fleet = f"91{province}0000MA2B3C4D5X"
        #: Counties of the province's first city, then of its second (for drivers and sites).
        self.counties = _spread(counties, cities) or [f"{province}0101"]
        self.city = cities[0].code if cities else f"{province}0100"
        self.personal = PersonalData(
            names=NAMES,
            id_numbers=tuple(_resident_id(self._county(index), index) for index in range(DRIVERS)),
            phones=tuple(f"138{province}{index:06d}" for index in range(DRIVERS)),
            texts=tuple(self._quoting(category, index) for index, category in _numbered()),
        )
        self.drivers = [
            DriverProfile(
                driver=driver_code(province, index + 1),
                province=province,
                home_county=self._county(index),
                member=index < MEMBERS,
                enterprise_uscc=self.fleet if index % 2 == 0 else None,
                enterprise=FLEET_NAME if index % 2 == 0 else None,
            )
            for index in range(DRIVERS)
        ]
        self.enterprises = [
            EnterpriseSummary(
                uscc=self.fleet,
                name=FLEET_NAME,
                county=self.fleet[2:8],
                drivers=sum(1 for d in self.drivers if d.enterprise_uscc),
                members=sum(1 for d in self.drivers if d.enterprise_uscc and d.member),
            )
        ]
        self.branches = BranchDirectory(self._core_branches())
        self.received = [
            GrievanceItem(
                ref=f"{province}-G{index + 1}",
                province=province,
                received_at=dt.datetime(2026, 11, 2, 9, index, tzinfo=BEIJING),
                text=self.personal.texts[index],
                channel="hotline" if index % 2 else "platform",
                county=self._county(index),
                driver=self.drivers[index % DRIVERS].driver if index % 3 else None,
                home_county=self._county(index) if index % 3 else None,
            )
            for index, _ in _numbered()
        ]
        self.product = Product(
            code=f"sample-{province}",
            name="示例夜间停车保险",
            province=province,
            insurer="示例保险公司",
            sites=tuple(
                Site(
                    code=f"S{province}-{number}",
                    name=f"示例{number}号服务区",
                    road="G60 沪昆高速",
                    county=self._county(number),
                    latitude=30.0,
                    longitude=120.0,
                )
                for number in (1, 2)
            ),
            night_start=dt.time(22, 0),
            night_end=dt.time(6, 0),
            covered=("fuel", "cargo"),
            per_incident_limit=Decimal("5000.00"),
            per_driver_year_limit=Decimal("20000.00"),
            deductible=Decimal("200.00"),
            periods=(
                PolicyPeriod(
                    policy_no=f"SAMPLE-{province}-2026",
                    start=dt.date(2026, 1, 1),
                    end=dt.date(2026, 12, 31),
                ),
            ),
            evidence=Evidence(police_report=True, min_photos=1),
        )
        self.claims = [
            self._claim(1, "fuel", "1200.00", police_report=True, photos=2),
            self._claim(2, "cargo", "4800.00", police_report=False, photos=3),
            self._claim(3, "fuel", "150.00", police_report=True, photos=1),
            self._claim(4, "cargo", "2600.00", police_report=True, photos=0),
        ]
        self.prior = [
            PriorClaim(
                ref=f"{province}-C0",
                driver=self.drivers[0].driver,
                site=self.product.sites[0].code,
                night_of=dt.date(2026, 3, 1),
                status="paid",
                policy_no=f"SAMPLE-{province}-2026",
                amount_payable=Decimal("800.00"),
                amount_paid=Decimal("800.00"),
            )
        ]
        self.award_kind: AwardKind = MOST_BEAUTIFUL_DRIVER
        self.campaign = CampaignInfo(
            id=1,
            province=province,
            kind=self.award_kind.code,
            name=f"2026年{self.province_name}最美货车司机",
            status="checking",
            period_start=dt.date(2026, 1, 1),
            period_end=dt.date(2026, 12, 31),
        )
        self.nominations = [self._nomination(index) for index in range(4)]
        self.entries = [
            ListEntry(
                rank=rank,
                nominee=item.nominee,
                nominee_kind="driver",
                unit=item.unit,
                unit_kind=item.unit_kind,
                city=item.city,
                total_score=Decimal("88.50") - rank,
                branch=item.branch,
            )
            for rank, item in enumerate(self.nominations[:2], start=1)
        ]
        self.visit_candidates = [
            VisitCandidate(
                driver=d.driver,
                member=d.member,
                home_county=d.home_county,
                branch=self._branch_of(d),
                rejected_claims=1 if index == 4 else 0,
                open_grievance_days=40 if index == 5 else None,
                last_visit=dt.date(2026, 3, 1) if index == 0 else None,
            )
            for index, d in enumerate(self.drivers)
        ]
        self.visits = [
            VisitItem(
                driver=c.driver,
                kind="member" if c.member else "hardship",
                home_county=c.home_county,
                branch=c.branch,
            )
            for c in self.visit_candidates
        ]
        self.notices = [
            Notice(
                event_id=100 + index,
                ref=item.ref,
                province=province,
                kind="routed",
                recipient="driver",
                message="您反映的问题已转交联席会议办理",
                channel=item.channel,
                driver=item.driver,
                level="county",
                area=item.county,
            )
            for index, item in enumerate(self.received[:3])
        ]
        self.phone_checks = [
            PhoneCheck(driver=d.driver, phone=self.personal.phones[index])
            for index, d in enumerate(self.drivers)
        ]

    # --- what each hook receives -----------------------------------------------------------

    @property
    def grievances(self) -> list[GrievanceItem]:
        """The grievances as routing receives them: each with its category set."""
        return [
            item.model_copy(update={"category": category})
            for item, (_, category) in zip(self.received, _numbered(), strict=True)
        ]

    @property
    def members(self) -> list[DriverProfile]:
        return [d for d in self.drivers if d.member]

    @property
    def ordinary(self) -> list[DriverProfile]:
        return [d for d in self.drivers if not d.member]

    def arguments(self, hook: str, register: Callable[[Any], None] | None = None) -> dict[str, Any]:
        """The keyword arguments of one call of ``hook`` for this province (every hook of
        docs/hooks.md); ``register`` is passed to the contribution hooks that take one."""
        province = self.province
        callback = register or (lambda item: None)
        batch = {
            "chelun_source_profiles": {"register": callback},
            "chelun_branches": {
                "province": province,
                "enterprises": self.enterprises,
                "register": callback,
            },
            "chelun_assign_branch": {"driver": self.members[0], "branches": self.branches},
            "chelun_pair_drivers": {
                "province": province,
                "members": self.members,
                "drivers": self.ordinary,
                "loads": {m.driver: 0 for m in self.members},
                "cap": 5,
            },
            "chelun_check_phones": {"province": province, "checks": self.phone_checks},
            "chelun_home_visits": {
                "province": province,
                "drivers": [d.driver for d in self.drivers],
            },
            "chelun_classify_grievances": {"province": province, "grievances": self.received},
            "chelun_route_grievances": {"province": province, "grievances": self.grievances},
            "chelun_grievance_platform": {"province": province},
            "chelun_grievance_deliveries": {"province": province, "notices": self.notices},
            "chelun_claim_products": {"province": province},
            "chelun_check_claims": self._claims_batch(),
            "chelun_assess_claims": self._claims_batch(),
            "chelun_insurer_client": {"province": province, "product": self.product},
            "chelun_award_kinds": {"province": province, "register": callback},
            "chelun_safety_records": {
                "province": province,
                "nominees": [item.nominee for item in self.nominations],
                "since": self.campaign.period_start,
                "until": self.campaign.period_end,
            },
            "chelun_check_nominations": self._nominations_batch(scored=False),
            "chelun_score_nominations": self._nominations_batch(scored=True),
            "chelun_award_publications": {
                "province": province,
                "campaign": self.campaign,
                "entries": self.entries,
            },
            "chelun_select_for_visits": {
                "province": province,
                "period": "2026-12",
                "candidates": self.visit_candidates,
            },
            "chelun_assign_visits": {"province": province, "visits": self.visits},
        }
        if hook not in batch:
            raise KeyError(f"no sample arguments for {hook}")
        return batch[hook]

    def write_grievances(self, path: Path) -> Path:
        """The sample grievances as a grievance file (CSV, the columns ``chelun grievance
        import`` reads, personal data included), for tests through the grievance service."""
        columns = ("ref", "received_at", "text", "id_number", "phone", "name", "county", "channel")
        with Path(path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for index, item in enumerate(self.received):
                writer.writerow(
                    {
                        "ref": item.ref,
                        "received_at": item.received_at.strftime("%Y-%m-%d %H:%M"),
                        "text": item.text,
                        "id_number": self.personal.id_numbers[index % DRIVERS],
                        "phone": self.personal.phones[index % DRIVERS],
                        "name": self.personal.names[index % DRIVERS],
                        "county": item.county or "",
                        "channel": item.channel or "",
                    }
                )
        return Path(path)

    # --- building ----------------------------------------------------------------------------

    def _county(self, index: int) -> str:
        return self.counties[index % len(self.counties)]

    def _quoting(self, category: str, index: int) -> str:
        """A grievance's text; every other one quotes the driver's name and phone, as drivers
        do."""
        text = TEXTS[category]
        if index % 2 == 0:
            who = index % DRIVERS
            return f"我是{NAMES[who]}，电话138{self.province}{who:06d}。{text}"
        return text

    def _core_branches(self) -> list[Branch]:
        from chelun.roster.defaults import chelun_branches

        found: list[Branch] = []
        chelun_branches(self.province, self.enterprises, found.append)
        return found

    def _branch_of(self, driver: DriverProfile) -> str | None:
        if not driver.member:
            return None
        branch = self.branches.for_enterprise(driver.enterprise_uscc) or self.branches.mobile_for(
            driver.home_county
        )
        return branch.code if branch else None

    def _claim(
        self, number: int, loss: str, amount: str, *, police_report: bool, photos: int
    ) -> ClaimItem:
        night = dt.date(2026, 6, number)
        return ClaimItem(
            ref=f"{self.province}-C{number}",
            province=self.province,
            product=self.product.code,
            driver=self.drivers[number % DRIVERS].driver,
            incident_time=dt.datetime.combine(night, dt.time(23, 30), tzinfo=BEIJING),
            night_of=night,
            site=self.product.sites[number % 2].code,
            loss_type=loss,  # type: ignore[arg-type]
            amount_claimed=Decimal(amount),
            police_report=police_report,
            photos=photos,
        )

    def _claims_batch(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "product": self.product,
            "claims": self.claims,
            "prior": self.prior,
        }

    def _nomination(self, index: int) -> NominationItem:
        driver = self.drivers[index]
        return NominationItem(
            nominee=driver.driver,
            nominee_kind="driver",
            unit=self._branch_of(self.members[0]) or f"MOB-{self.province}",
            unit_kind="branch",
            unit_branch_kind="mobile",
            city=(driver.home_county or self.city)[:4] + "00",
            on_roster=True,
            verified=index != 3,
            member=driver.member,
            branch=self._branch_of(driver),
            enterprise=driver.enterprise_uscc,
            fraud_claims=1 if index == 2 else 0,
            fraud_claims_ever=1 if index == 2 else 0,
            paired=index,
            relayed=index * 2,
        )

    def _nominations_batch(self, *, scored: bool) -> dict[str, Any]:
        nominations = self.nominations
        if scored:
            nominations = [
                item.model_copy(
                    update={
                        "scores": {"deeds": Decimal("80.00") + index, "esteem": Decimal("75.50")},
                        "reviewers": {"deeds": 3, "esteem": 3},
                    }
                )
                for index, item in enumerate(nominations)
            ]
        return {
            "province": self.province,
            "kind": self.award_kind,
            "campaign": self.campaign,
            "nominations": nominations,
        }


def _numbered() -> list[tuple[int, str]]:
    return list(enumerate(CATEGORIES))


def _spread(counties: list[Any], cities: list[Any]) -> list[str]:
    """Up to three counties of the first city and one of the second, as codes."""
    if not cities:
        return [county.code for county in counties[:4]]
    first = [c.code for c in counties if c.code.startswith(cities[0].code[:4])][:3]
    second = [c.code for c in counties if len(cities) > 1 and c.code.startswith(cities[1].code[:4])]
    return first + second[:1] or [county.code for county in counties[:4]]
