"""chelun's test kit for plugin authors.

pytest loads ``chelun.testing.plugin`` by itself wherever chelun is installed (the ``pytest11``
entry point): its fixtures give a plugin's tests a plugin manager for one province with only
that plugin and core's defaults, a database of their own and the province's sample data. Name
the plugin under test in the project's pytest settings::

    [tool.pytest.ini_options]
    chelun_plugin = "zhejiang"

``ConformanceSuite`` turns the checks of ``chelun plugins check`` into tests: subclass it in a
test module (``class TestConformance(ConformanceSuite): ...``) for one test per check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from chelun.kit.conformance import ConformanceReport

__all__ = ["ConformanceSuite"]


def _assert_check(report: ConformanceReport, check: str) -> None:
    if not report.of(check):
        pytest.fail(report.text(("loads",)), pytrace=False)
    if report.of(check, "fail"):
        pytest.fail(report.text((check,)), pytrace=False)


class ConformanceSuite:
    """The conformance checks of the plugin under test, one test each (``chelun.kit.conformance``
    says what each checks). They share one run of the checks per test session."""

    def test_loads(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "loads")

    def test_hook_api(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "hook API")

    def test_signatures(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "signatures")

    def test_return_types(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "return types")

    def test_deterministic(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "deterministic")

    def test_province_isolation(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "province isolation")

    def test_personal_data(self, chelun_conformance: ConformanceReport) -> None:
        _assert_check(chelun_conformance, "personal data")
