"""Administrative divisions: provinces of current and retired codes, counties, province names."""

from __future__ import annotations

import pytest

from chelun.identity.divisions import PILOT_PROVINCES, divisions, resolve_province


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("320104", "32"),  # 南京 秦淮区, current
        ("620102", "62"),  # 兰州 城关区, current
        ("500115", "50"),  # 重庆 长寿区, current
        # Retired, now in another province: Chongqing split from Sichuan in 1997 ...
        ("510221", "50"),  # 长寿县 of Sichuan, retired 1997
        # ... Hainan from Guangdong in 1988.
        ("442101", "46"),  # 海口市 of Guangdong's 海南行政区, retired 1986
        # Retired, still in their province.
        ("320103", "32"),  # 南京 白下区, merged into 秦淮区 2013
        ("622421", "62"),  # 定西县, retired 2003
        ("999999", None),  # no such province
    ],
)
def test_province_of(code: str, province: str | None) -> None:
    assert divisions().province_of(code) == province


def test_retired_codes_are_retired_in_the_table() -> None:
    table = divisions()
    for code in ("510221", "442101", "320103", "622421"):
        division = table.get(code)
        assert division is not None and not division.active
    assert table.get("999999") is None and "999999" not in table


def test_province_of_is_stable_across_calls() -> None:
    table = divisions()
    assert table is divisions()  # parsed once
    assert [table.province_of("510221") for _ in range(3)] == ["50"] * 3


def test_counties_of_gansu() -> None:
    table = divisions()
    counties = table.counties("62")
    codes = [d.code for d in counties]
    assert len(counties) > 50
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    for division in counties:
        assert division.code.startswith("62") and len(division.code) == 6
        assert division.level == "county" and division.active
        assert division.name != "市辖区"  # a prefecture's placeholder, not a county
    # Districts, counties and county-level cities, including those numbered xx01.
    for code in ("620102", "620982", "622901", "623001"):  # 城关区, 敦煌市, 临夏市, 合作市
        assert code in codes
    assert "620101" not in codes  # 兰州 市辖区
    assert "622421" not in codes  # 定西县, retired
    assert "620000" not in codes and "620100" not in codes  # province, city


def test_counties_with_retired() -> None:
    table = divisions()
    current = {d.code for d in table.counties("62")}
    every = {d.code for d in table.counties("62", active_only=False)}
    assert current < every
    assert "622421" in every
    assert all(not table.get(code).active for code in every - current)


@pytest.mark.parametrize("province", sorted(PILOT_PROVINCES))
def test_every_pilot_province_has_counties(province: str) -> None:
    counties = divisions().counties(province)
    assert counties and all(d.code[:2] == province for d in counties)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("gansu", "62"),
        (" Gansu ", "62"),
        ("JIANGSU", "32"),
        ("sichuan", "51"),
        ("guizhou", "52"),
        ("32", "32"),
        ("62", "62"),
        ("11", "11"),  # any province code of the table
    ],
)
def test_resolve_province(value: str, code: str) -> None:
    assert resolve_province(value) == code


@pytest.mark.parametrize("value", ["nowhere", "99", "620", ""])
def test_resolve_province_rejects_unknown(value: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_province(value)
    message = str(info.value)
    assert repr(value) in message
    for code, name in PILOT_PROVINCES.items():
        assert code in message and name in message
