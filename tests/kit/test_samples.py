"""The sample data of the kit: a whole call's arguments for every hook, for every province,
holding the made-up personal data the checks look for."""

from __future__ import annotations

import inspect

import pytest

from chelun.capabilities import spec_classes
from chelun.identity.divisions import divisions
from chelun.kit.samples import Samples

HOOKS = {
    name: function
    for spec in spec_classes()
    for name, function in vars(spec).items()
    if name.startswith("chelun_")
}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_sample_arguments_named_as_its_specification(hook: str) -> None:
    expected = [name for name in inspect.signature(HOOKS[hook]).parameters if name != "self"]
    assert list(Samples("33").arguments(hook)) == expected


def test_every_province_has_samples_of_its_own() -> None:
    for code in divisions().province_names:
        samples = Samples(code)
        assert {driver.driver[:3] for driver in samples.drivers} == {f"{code}-"}
        assert all(county.startswith(code) for county in samples.counties)
        assert all(site.county.startswith(code) for site in samples.product.sites)
        assert samples.branches.province == code


def test_samples_are_equal_when_built_twice_and_carry_personal_data() -> None:
    first, second = Samples("33"), Samples("33")
    assert first.grievances == second.grievances and first.claims == second.claims
    texts = [item.text for item in first.received]
    assert any(
        first.personal.found_in(text) == ["name", "phone number", "grievance text"]
        for text in texts
    )
    assert first.personal.redacted(texts[0]) == "[grievance text]"
    assert len(set(first.personal.id_numbers)) == len(first.drivers)


def test_the_sample_grievance_file_is_what_the_grievance_service_reads(tmp_path) -> None:
    from chelun.grievance.intake import read_grievances

    rows = list(read_grievances(Samples("33").write_grievances(tmp_path / "g.csv")))
    assert len(rows) == 8 and all(row.problem is None for row in rows)
    assert all(row.values["id_number"] and row.values["phone"] for row in rows)
