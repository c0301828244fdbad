"""The report's caution when a non-periodic condition is flagged anomalous."""

import pytest

from sve.report import key_numbers
from sve.report._document import _variance_section
from sve.study import load_spec


@pytest.fixture(scope="module")
def numbers_and_spec(tiny_spec_data, solve_study):
    spec = load_spec(tiny_spec_data(solver={"bc": ["kinematic", "periodic", "static"]}))
    return key_numbers(solve_study(spec)), spec


def _text(numbers, spec):
    return " ".join(str(block.text) for block in _variance_section(numbers, spec))


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"kinematic": True}, "Flagged under kinematic conditions"),
        ({"static": True, "periodic": True}, "is flagged too: the slow decay is the medium's"),
        ({"static": True}, "is not flagged: the slower decay is the boundary condition's"),
    ],
)
def test_boundary_flags_are_explained(numbers_and_spec, flags, expected):
    numbers, spec = numbers_and_spec
    numbers = numbers.copy(deep=True)
    numbers["anomalous"][:] = [flags.get(str(bc), False) for bc in numbers["bc"].values]
    assert expected in _text(numbers, spec)


def test_no_note_when_only_periodic_or_nothing_is_flagged(numbers_and_spec):
    numbers, spec = numbers_and_spec
    for flags in ({}, {"periodic": True}):
        numbers = numbers.copy(deep=True)
        numbers["anomalous"][:] = [flags.get(str(bc), False) for bc in numbers["bc"].values]
        assert "Flagged under" not in _text(numbers, spec)


def test_the_note_reads_the_variances_and_needs_periodic(numbers_and_spec):
    numbers, spec = numbers_and_spec
    numbers = numbers.copy(deep=True)
    numbers["anomalous"][:] = [str(bc) == "kinematic" for bc in numbers["bc"].values]
    ratio = numbers["variance"].sel(bc="kinematic") / numbers["variance"].sel(bc="periodic")
    text = _text(numbers, spec)
    assert f"kinematic {float(ratio.isel(size=0)):.3g} at L = 6" in text
    assert f"{float(ratio.isel(size=-1)):.3g} at L = 18" in text
    without = numbers.sel(bc=["kinematic", "static"])
    text = _text(without, spec)
    assert "no periodic condition" in text and "boundary condition's" not in text
