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
        ({"static": True, "periodic": True}, "(it is flagged too)"),
        ({"static": True}, "(it is not flagged)"),
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
