"""Checks shared by the interval tests: two-sided coverage and a bound on the width.

An interval test that checks coverage alone passes an estimator whose intervals
are ten times too wide; one that checks a single side passes a shifted one.
Every interval test therefore checks both sides of the coverage and bounds the
mean width against the width that theory gives for the estimator, each band
derived from the sampling error of what it compares (seeds pinned by the
callers).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special, stats

#: Half-width of every band, in standard errors: a pinned seed fails by chance with
#: probability below 1e-4 per comparison (normal approximation).
N_SIGMA = 4.0


def check_coverage(low, high, truth, confidence: float) -> float:
    """Coverage of independent intervals ``[low, high]`` of ``truth``, checked two-sided.

    The fraction covered is within ``N_SIGMA`` binomial standard errors of
    ``confidence`` (above and below), and the misses on each side (truth
    below ``low``, truth above ``high``) are each within ``N_SIGMA`` binomial
    standard errors of ``(1 - confidence) / 2``: a shifted interval fails even
    when its total coverage is right. Returns the fraction covered.
    """
    low, high = np.asarray(low, float).ravel(), np.asarray(high, float).ravel()
    truth = np.broadcast_to(np.asarray(truth, float), low.shape)
    trials = low.size
    covered = float(np.mean((low < truth) & (truth < high)))
    band = N_SIGMA * np.sqrt(confidence * (1 - confidence) / trials)
    assert abs(covered - confidence) < band, (covered, confidence, band)
    tail = (1 - confidence) / 2
    tail_band = N_SIGMA * np.sqrt(tail * (1 - tail) / trials)
    for name, missed in (("below", truth <= low), ("above", high <= truth)):
        rate = float(np.mean(missed))
        assert abs(rate - tail) < tail_band, (f"truth {name} the interval", rate, tail)
    return covered


def check_mean_width(half_widths, expected: float, sd: float | None = None) -> float:
    """The mean of ``half_widths`` (independent, one per interval) is within ``N_SIGMA``
    standard errors ``sd / sqrt(count)`` of the ``expected`` mean half-width; ``sd`` is
    the theoretical standard deviation of one half-width, or, where theory gives only
    the mean, None: their sample standard deviation (a t test of the mean width; an
    estimator ten times too wide is off by 9 expected widths, against a tolerance of
    ``N_SIGMA`` times its own spread over the square root of the count). Returns the mean."""
    half_widths = np.asarray(half_widths, float).ravel()
    mean = float(half_widths.mean())
    if sd is None:
        sd = float(half_widths.std(ddof=1))
    tolerance = N_SIGMA * sd / np.sqrt(half_widths.size)
    assert abs(mean - expected) < tolerance, (mean, expected, tolerance)
    return mean


def c4(n: int) -> float:
    """E[s] / sigma for the sample standard deviation s of n normal values."""
    log_ratio = special.gammaln(n / 2) - special.gammaln((n - 1) / 2)
    return float(np.sqrt(2 / (n - 1)) * np.exp(log_ratio))


def student_half_width(sigma: float, n: int, confidence: float) -> tuple[float, float]:
    """Mean and standard deviation of the Student half-width t s / sqrt(n) of n normal
    values of standard deviation sigma (s / sigma ~ sqrt(chi2_{n-1} / (n - 1)))."""
    t = stats.t.ppf(0.5 + confidence / 2, n - 1) * sigma / np.sqrt(n)
    return t * c4(n), t * np.sqrt(1 - c4(n) ** 2)


def chi2_inflation(dof: int) -> tuple[float, float]:
    """Mean and standard deviation of sqrt(max(X / dof, 1)), X ~ chi2_dof: the factor by
    which a weighted fit widens its interval when the points scatter more than their
    weights say (``sve.statistics.ensemble.weighted_line``)."""
    law = stats.chi2(dof)

    def moment(power):
        def integrand(x):
            return max(x / dof, 1.0) ** (power / 2) * law.pdf(x)

        return integrate.quad(integrand, 0, dof)[0] + integrate.quad(integrand, dof, np.inf)[0]

    mean = moment(1)
    return mean, float(np.sqrt(moment(2) - mean**2))


def fit_half_width_range(se0: float, dof: int, confidence: float) -> tuple[float, float]:
    """Range of the half-width z se₀ √max(χ²/dof, 1) of one weighted-fit interval: from
    z se₀ (the inflation never narrows it) to the 1 - 1e-4 quantile of the inflation."""
    z = stats.norm.ppf(0.5 + confidence / 2)
    return z * se0, z * se0 * np.sqrt(max(stats.chi2.ppf(1 - 1e-4, dof) / dof, 1.0))


def sd_factor_range(n: int) -> tuple[float, float]:
    """Range of s / sigma for the sample standard deviation of n normal values, from the
    1e-4 and 1 - 1e-4 quantiles of chi2_{n-1}: a half-width t s / sqrt(n) lies within
    this range times t sigma / sqrt(n) but for a 2e-4 chance."""
    law = stats.chi2(n - 1)
    return float(np.sqrt(law.ppf(1e-4) / (n - 1))), float(np.sqrt(law.ppf(1 - 1e-4) / (n - 1)))
