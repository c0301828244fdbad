"""Every interpretive sentence of a report is computed from its dataset (STYLE rule 19).

Each statement is checked on a synthetic study dataset where the sentence the
report used to print unconditionally is false: the real schema
(``empty_dataset`` of a spec) filled with scalar apparent conductivities drawn
from a known law, no solver. Seeds are pinned; the laws are chosen so that
every verdict is many standard errors from its threshold.
"""

import json

import numpy as np
import pytest
from scipy import stats

from sve.report import key_numbers
from sve.report._document import build, to_markdown
from sve.report._numbers import infinite_range_reason
from sve.study import StudySpec, load_spec
from sve.study.store import empty_dataset
from tests._intervals import sd_factor_range

SIZES = [8, 16, 32, 64]
BCS = ["kinematic", "periodic", "static"]


def _spec(medium=None, bc=BCS, realizations=40):
    medium = medium or {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "exponential",
        "correlation_length": 1.0,
        "volume_fraction": 0.5,
    }
    return load_spec(
        {
            "name": "synthetic",
            "seed": 1,
            "medium": medium,
            "property": {"name": "conductivity", "phases": [1.0, 10.0]},
            "sampling": {"sizes": SIZES, "realizations": realizations},
            "solver": {"bc": list(bc)},
        }
    )


def _study(spec, mean, sd, rng, components=(1.0, 1.0)):
    """Study dataset whose scalar for (size L, bc) is mean(bc, L) + sd(L) N(0, 1), written as
    the diagonal tensor diag(components) times it (tr(K)/d is then the scalar when the
    components average to 1)."""
    ds = empty_dataset(spec)
    lengths = np.asarray(SIZES, float)
    bcs = [str(b) for b in ds["bc"].values]
    noise = rng.standard_normal((len(SIZES), spec.realizations))
    # one noise for every bc: the same microstructure under each condition, as in a study
    scalar = np.stack([mean(bc, lengths)[:, None] + sd(lengths)[:, None] * noise for bc in bcs])
    scalar = np.moveaxis(scalar, 0, -1)
    tensor = np.zeros(ds["conductivity"].shape)
    for k, c in enumerate(components):
        tensor[..., k, k] = c * scalar
    ds["conductivity"].values[:] = tensor
    ds["status"].values[:] = 1
    ds["residual"].values[:] = 1e-9
    ds.attrs["runs"] = json.dumps([])
    return ds


def _text(ds):
    numbers = key_numbers(ds)
    return numbers, to_markdown(build(ds, numbers, StudySpec.from_json(ds.attrs["spec"])))


def _short_range_sd(lengths):
    return 2.0 / lengths  # variance ~ L^-2 = L^-d in 2-D: Kanit's alpha = 1


# ---------------------------------------------------------------- size effect on the means


def test_the_trend_of_the_means_is_read_from_the_data():
    """KUBC means that *increase* and SUBC means that *decrease* with L (the opposite of
    the sentence the report used to print), PBC flat: each verdict as the data say."""
    slope = {"kinematic": -4.0, "periodic": 0.0, "static": 4.0}  # mean = 5 + slope / L

    def mean(bc, lengths):
        return 5.0 + slope[bc] / lengths

    # the drift 8 -> 64 is |4 (1/8 - 1/64)| = 0.44 against a standard error of
    # sqrt(0.25^2 + 0.03^2)/sqrt(40) = 0.04: eleven standard errors from 0
    numbers, text = _text(_study(_spec(), mean, _short_range_sd, np.random.default_rng(0)))
    trend = {str(bc): str(numbers["trend"].sel(bc=bc).item()) for bc in numbers["bc"].values}
    assert trend == {
        "kinematic": "increasing",
        "periodic": "no significant change",
        "static": "decreasing",
    }
    assert "kinematic: increasing" in text and "static: decreasing" in text
    assert "means decrease" not in text and "means increase" not in text
    assert "toward the effective" not in text


def test_the_trend_is_decreasing_for_kubc_where_the_data_show_it():
    slope = {"kinematic": 4.0, "periodic": 0.0, "static": -4.0}
    numbers, text = _text(
        _study(_spec(), lambda bc, x: 5.0 + slope[bc] / x, _short_range_sd,
               np.random.default_rng(1))
    )  # fmt: skip
    assert "kinematic: decreasing" in text and "static: increasing" in text
    drift = numbers.sel(bc="kinematic")
    truth = 4.0 * (1 / 8 - 1 / 64)
    assert float(drift["trend_drift_low"]) < truth < float(drift["trend_drift_high"])
    # its width: t_39 times the standard error of two independent means of 40 values of
    # standard deviation 2/L, within the chi-square range of the sample deviations
    se = np.sqrt((2 / 8) ** 2 / 40 + (2 / 64) ** 2 / 40)
    low, high = sd_factor_range(40)
    half = float(drift["trend_drift_high"] - drift["trend_drift_low"]) / 2
    assert low * stats.t.ppf(0.975, 39) * se < half < high * stats.t.ppf(0.975, 39) * se


def test_the_trend_is_not_measured_with_one_size():
    ds = _study(_spec(), lambda bc, x: 5.0 + 0 * x, _short_range_sd, np.random.default_rng(2))
    ds["status"].values[1:] = 0  # only the smallest size solved
    numbers = key_numbers(ds)
    assert (numbers["trend"] == "not measured").all()


# ---------------------------------------------------------------- the per-realization order


def test_the_order_of_the_conditions_is_counted_not_asserted():
    offset = {"kinematic": 1.0, "periodic": 0.0, "static": -1.0}
    ds = _study(_spec(), lambda bc, x: 5.0 + offset[bc] + 0 * x, _short_range_sd,
                np.random.default_rng(3))  # fmt: skip
    numbers, text = _text(ds)
    assert int(numbers["bracket_held"]) == int(numbers["bracket_checked"]) == 4 * 40
    assert "static ≤ periodic ≤ kinematic holds for all 160" in text
    # periodic above kinematic in 7 realizations at the largest size: said, and counted
    k = ds["bc"].values.tolist().index("periodic")
    ds["conductivity"].values[-1, :7, k] += 10.0
    numbers, text = _text(ds)
    assert int(numbers["bracket_held"]) == 160 - 7
    assert "**fails for 7 of 160**" in text and "holds for all" not in text


def test_the_order_is_not_checked_with_a_single_condition():
    ds = _study(_spec(bc=["periodic"]), lambda bc, x: 5.0 + 0 * x, _short_range_sd,
                np.random.default_rng(4))  # fmt: skip
    numbers, text = _text(ds)
    assert int(numbers["bracket_checked"]) == 0
    assert "not checked: it needs at least two" in text


# ---------------------------------------------------------------- components


@pytest.mark.parametrize(
    ("components", "expected"),
    [((1.0, 1.0), "they agree within their 95 % intervals under kinematic, periodic, static"),
     ((1.5, 0.5), "they differ beyond their 95 % intervals under kinematic, periodic, static")],
)  # fmt: skip
def test_component_agreement_is_tested(components, expected):
    """K11 = 1.5 Z, K22 = 0.5 Z with Z ~ 5: they differ by 5 against intervals of
    +-0.03 each (sd 2/64 * 1.5, n = 40); equal components agree exactly."""
    ds = _study(_spec(), lambda bc, x: 5.0 + 0 * x, _short_range_sd, np.random.default_rng(5),
                components=components)  # fmt: skip
    _, text = _text(ds)
    assert expected in text
    assert "in a laminate or a textured medium" not in text


# ---------------------------------------------------------------- Kanit's alpha


def test_alpha_against_one_is_read_from_its_interval():
    """Variance ~ L^-1 in 2-D (alpha = 1/2, as for long-range correlation) against
    variance ~ L^-2 (alpha = 1)."""
    rng = np.random.default_rng(6)
    flat = lambda bc, x: 5.0 + 0 * x  # noqa: E731
    numbers, text = _text(_study(_spec(), flat, lambda x: 1.0 / np.sqrt(x), rng))
    assert (numbers["alpha_high"] < 1).all()
    assert "excludes 1 under kinematic, periodic, static" in text
    assert "holds 1" not in text
    numbers, text = _text(_study(_spec(), flat, _short_range_sd, rng))
    assert ((numbers["alpha_low"] < 1) & (1 < numbers["alpha_high"])).all()
    assert "holds 1 under kinematic, periodic, static" in text


# ---------------------------------------------------------------- infinite integral range


def test_infinite_integral_range_is_explained_by_the_medium():
    long_range = {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "power_law",
        "correlation_length": 1.0,
        "beta": 1.5,
        "volume_fraction": 0.5,
    }
    ds = _study(_spec(long_range), lambda bc, x: 5.0 + 0 * x, lambda x: 1.0 / np.sqrt(x),
                np.random.default_rng(7))  # fmt: skip
    numbers, text = _text(ds)
    note = numbers.attrs["integral_range"]
    assert "laminate" not in note and "layers" not in note
    assert "power_law covariance" in note and "r^-1.5" in note and "≤ d = 2" in note
    assert "no finite integral range" in text
    laminate = {"generator": "random_laminate", "ndim": 2, "cell_size": 2,
                "volume_fraction": 0.5}  # fmt: skip
    assert "laminate" in infinite_range_reason(laminate)
    assert "power_law" not in infinite_range_reason(laminate)
    assert "voronoi" in infinite_range_reason({"generator": "voronoi", "ndim": 3})


def test_finite_integral_range_gets_no_such_note():
    numbers, text = _text(
        _study(_spec(), lambda bc, x: 5.0 + 0 * x, _short_range_sd, np.random.default_rng(8))
    )
    assert "integral_range" not in numbers.attrs
    assert "no finite integral range" not in text
