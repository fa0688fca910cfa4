"""The files ``chelun plugins new`` writes, as ``string.Template`` texts (``${name}`` ...).

Python code rarely holds a ``$``: the templates stay readable as the code they become.
docs/plugins.md walks through what they become for Zhejiang (``zhejiang``, province 33), and a
test checks that the guide shows them as written.
"""

from __future__ import annotations

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "${dist}"
version = "0.1.0"
description = "chelun plugin for ${province_name} (${province}): the province's own rules"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["chelun>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.chelun]
${name} = "${module}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
chelun_plugin = "${name}"
"""

MODULE = '''\
"""A chelun plugin: the province's own rules, one example hook per capability.

Province: ${province_name} (${province}). Edit the examples, delete them, add others:
chelun's docs/plugins.md and docs/hooks.md say what each hook receives and must return.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from chelun import hookimpl
from chelun.claims.models import CheckResult, ClaimItem, PriorClaim, Product
from chelun.grievance.models import GrievanceItem, Route
from chelun.grievance.routing import department, unit_name
from chelun.recognition.kinds import MOST_BEAUTIFUL_DRIVER
from chelun.recognition.models import AwardKind
from chelun.roster.models import SourceProfile

__version__ = "0.1.0"

#: The provinces this plugin serves: its hooks are called for these provinces only.
PROVINCES = ("${province}",)
#: The versions of chelun's hook API this plugin is written for.
CHELUN_HOOK_API = ">=1,<2"


# Roster intake: the province platform's export of its drivers, recognised by its headers.

PLATFORM_EXPORT = SourceProfile(
    name="${name}-platform",
    description="the ${province_name} freight-driver platform's export",
    columns={
        "name": ("司机姓名",),
        "id_number": ("证件号码",),
        "phone": ("联系电话",),
        "plate": ("车牌号码",),
        "enterprise": ("所属企业",),
        "uscc": ("企业信用代码",),
    },
    required=("name", "id_number"),
    rank=25,
)


@hookimpl
def chelun_source_profiles(register: Callable[[SourceProfile], None]) -> None:
    register(PLATFORM_EXPORT)


# Grievances: parking and rest at expressway service areas is the province's matter.


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    return [
        Route(
            level="province",
            area=province,
            unit=unit_name("province", province),
            lead_department=department("transport", "province"),
            assisting=(department("highways", "province"),),
            reason="service areas are run province-wide: the province's conference takes it",
        )
        if grievance.category == "parking_rest"
        else None  # left to core's routing
        for grievance in grievances
    ]


# Insurance claims: a large claim needs a police report, whatever the scheme asks.

POLICE_REPORT_ABOVE = Decimal("3000.00")


@hookimpl
def chelun_check_claims(
    province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
) -> list[CheckResult | None]:
    return [
        CheckResult(
            eligible=False,
            reason_code="evidence_missing",
            reason=f"a claim above {POLICE_REPORT_ABOVE} yuan needs a police report number",
        )
        if claim.amount_claimed > POLICE_REPORT_ABOVE and not claim.police_report
        else None  # left to core's checks
        for claim in claims
    ]


# Recognition: the most beautiful truck drivers (最美货车司机) are on public notice for longer.


@hookimpl
def chelun_award_kinds(province: str, register: Callable[[AwardKind], None]) -> None:
    register(MOST_BEAUTIFUL_DRIVER.model_copy(update={"notice_days": 10}))
'''

TESTS = '''\
"""Tests of the ${name} plugin, with the fixtures chelun gives plugin authors: ``chelun_pm`` (a
plugin manager for province ${province} holding this plugin and core's defaults only),
``chelun_samples`` (sample data of the province), ``chelun_database`` (a database of the test's
own) and ``ConformanceSuite`` (the checks of ``chelun plugins check``)."""

from __future__ import annotations

from pathlib import Path

from chelun.grievance.models import Route
from chelun.grievance.service import GrievanceService
from chelun.plugin_manager import call_all, call_one, decide_batch
from chelun.testing import ConformanceSuite

PLUGIN = "${name}"


class TestConformance(ConformanceSuite):
    """chelun's conformance checks, one test each."""


def test_intake_recognises_the_platform_export(chelun_pm):
    profiles = []
    call_all(chelun_pm, "chelun_source_profiles", register=profiles.append)
    assert "${name}-platform" in [profile.name for profile in profiles]


def test_service_area_parking_goes_to_the_province(chelun_pm, chelun_samples):
    grievances = chelun_samples.grievances
    routes, plugin = decide_batch(
        chelun_pm,
        "chelun_route_grievances",
        len(grievances),
        Route,
        province=chelun_samples.province,
        grievances=grievances,
    )
    assert plugin == PLUGIN
    for grievance, route in zip(grievances, routes, strict=True):
        if grievance.category == "parking_rest":
            assert (route.level, route.area) == ("province", chelun_samples.province)
        else:
            assert route is None


def test_routing_records_the_plugin(chelun_database, chelun_pm, chelun_samples, tmp_path: Path):
    province = chelun_samples.province
    service = GrievanceService(chelun_database, chelun_pm, province, actor="user:test")
    service.import_file(chelun_samples.write_grievances(tmp_path / "grievances.csv"))
    assert service.route_pending() == len(chelun_samples.received)
    parking = next(g for g in chelun_samples.grievances if g.category == "parking_rest")
    assert service.get(parking.ref).routed_by == PLUGIN


def test_large_claims_need_a_police_report(chelun_pm, chelun_samples):
    arguments = chelun_samples.arguments("chelun_check_claims")
    results = call_one(chelun_pm, PLUGIN, "chelun_check_claims", **arguments)
    for claim, result in zip(arguments["claims"], results, strict=True):
        if claim.amount_claimed > 3000 and not claim.police_report:
            assert result.reason_code == "evidence_missing"
        else:
            assert result is None


def test_most_beautiful_drivers_have_ten_days_of_notice(chelun_pm, chelun_samples):
    kinds = []
    call_all(
        chelun_pm, "chelun_award_kinds", province=chelun_samples.province, register=kinds.append
    )
    # The plugin registers before core, and the first registration of a code is kept.
    first = next(kind for kind in kinds if kind.code == "most_beautiful_driver")
    assert first.notice_days == 10
'''

README = """\
# ${dist}

A chelun plugin for ${province_name} (${province}): the province's own rules for roster intake,
grievance routing, insurance claims and recognition. chelun's guide for plugin authors is its
docs/plugins.md; every hook is in its docs/hooks.md.

## Install, test, check

```bash
pip install -e .                # into the environment chelun is installed in
pytest                          # the plugin's tests, with chelun's fixtures
chelun plugins list --json      # "${name}" serves province ${province}
chelun plugins check ${name}    # the conformance checks, as a report
```

## What is in it

- `pyproject.toml` declares the plugin as the entry point `${name}` of the group `chelun`, which
  is how chelun finds it.
- `src/${module}/__init__.py` is the plugin: `PROVINCES`, `CHELUN_HOOK_API` and one example hook
  per capability. They are examples: edit them, delete them, add others.
- `tests/test_plugin.py` tests each hook with chelun's fixtures, and runs the conformance checks.
"""
