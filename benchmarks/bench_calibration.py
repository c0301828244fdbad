"""Precision of the calibration: the spread of the fitted parameters over independent
images against the bootstrap standard errors that ``calibrate`` reports.

Run as ``.venv/bin/python benchmarks/bench_calibration.py`` (every family, 20 images
of 512^2 each; ``--families power_law --images 12 --edge 1024`` for one family at
another size). For each family and parameter it prints and records:

- the mean of the fitted values over the images against the true value;
- the relative standard deviation of the fitted values over the images (the
  estimator's own precision, the figure the tests' 5 % bound is about);
- the mean bootstrap standard error of one image (``Calibration.standard_errors``,
  20 bootstrap images each) over that spread: near 1 when the reported errors are
  honest;
- the fraction of images whose truth lies within 3 of their own standard errors.

The images are those of ``tests/sve/statistics/test_calibration.py``: level cuts
(rank cut at 0.4) of correlation length 8 voxels (Matérn nu 1.5, power law beta 3),
Boolean disks of radius 8 at 0.4, log-normal disks (median 5, sigma 0.3) at 0.35.
A figure over 20 images is itself uncertain by about 16 % (a standard deviation's
relative error is about 1/sqrt(2(n - 1))).

``--limit`` measures instead what S2 can tell of the power law's tail exponent beta
(length 8, beta 3), record ``calibration_limit``: over ``--images`` independent images
of ``--edge``^2, the spread of (a) the first stage, (b) the second stage with its
weight taken at the TRUE parameters over 80 pilot images (an efficient S2 estimator,
which ``calibrate`` can only approach), and (c) Whittle's likelihood of the indicator's
whole periodogram, whose model spectrum is the FFT of the level cut's exact S2 on the
torus. Run ``--limit --images 40`` at 512 and ``--limit --images 24 --edge 1024``.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.stats

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import Record, arguments  # noqa: E402

import generators  # noqa: E402
from sve import calibrate  # noqa: E402
from sve.statistics import calibration as fit  # noqa: E402

FAMILIES = ("gaussian", "exponential", "matern", "power_law", "boolean", "boolean_lognormal")
SHAPE = {"matern": {"nu": 1.5}, "power_law": {"beta": 3.0}}


def image_and_truth(family: str, edge: int, rng: np.random.Generator) -> tuple:
    """One image of ``family`` and the true values of its fitted parameters."""
    shape = (edge, edge)
    if family == "boolean":
        labels = generators.boolean_spheres(shape, 8.0, volume_fraction=0.4, rng=rng).labels
        return labels, {"radius": 8.0, "intensity": generators.boolean_intensity(0.4, 8.0, 2)}
    if family == "boolean_lognormal":
        law = scipy.stats.lognorm(0.3, scale=5.0)
        labels = generators.boolean_spheres(shape, law, volume_fraction=0.35, rng=rng).labels
        return labels, {"radius": 5.0, "radius_sigma": 0.3}
    covariance = generators.covariance_model(family, length=8.0, **SHAPE.get(family, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field(shape, covariance, rng=rng)
    return generators.level_cut(field, 0.4, exact=True), {
        "correlation_length": 8.0,
        **SHAPE.get(family, {}),
    }


def _whittle(mask: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Log (length, beta) of the power law maximizing Whittle's likelihood of the 2-D
    indicator's periodogram, the model spectrum the FFT of the exact S2 on the torus."""
    n0, n1 = mask.shape
    i0 = np.minimum(np.arange(n0), n0 - np.arange(n0)).astype(float)
    i1 = np.minimum(np.arange(n1), n1 - np.arange(n1)).astype(float)
    distance, inverse = np.unique(np.hypot(i0[:, None], i1[None, :]), return_inverse=True)
    inverse = inverse.reshape(mask.shape)
    phi = float(mask.mean())
    periodogram = np.abs(np.fft.rfft2(mask - phi)) ** 2 / mask.size
    weight = np.full(periodogram.shape, 2.0)
    weight[:, 0] = weight[:, -1] = 1.0
    weight[0, 0] = 0.0

    def negative_log_likelihood(theta):
        unit = generators.covariance_model("power_law", length=1.0, beta=math.exp(theta[1]))
        s2 = generators.level_cut_s2(unit.correlation(distance / math.exp(theta[0])), phi)
        spectrum = np.maximum(np.fft.rfft2(s2[inverse] - phi**2).real, 1e-300)
        return float(np.sum(weight * (np.log(spectrum) + periodogram / spectrum)))

    options = {"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000}
    return scipy.optimize.minimize(
        negative_log_likelihood, start, method="Nelder-Mead", options=options
    ).x


def limit(images: int, edge: int) -> None:
    """The spread of beta's estimators over independent images (``--limit``)."""
    from types import MappingProxyType

    shape, steps = (edge, edge), (1.0, 1.0)
    truth = {"volume_fraction": 0.4, "correlation_length": 8.0, "beta": 3.0}
    true_fit = fit.ModelFit("power_law", MappingProxyType(truth), 0.0, 2)

    def measured(mask, max_lag):
        s2 = fit._s2_box(mask, fit._lag_box(steps, max_lag), True)
        return fit._Data.from_box(s2, float(mask.mean()), steps, max_lag)

    def draw(seed):
        return fit._draw(true_fit, shape, steps, np.random.default_rng(seed))[0]

    masks = [draw(child) for child in np.random.SeedSequence([2026, 99]).spawn(images)]
    mask = masks[0]
    box = fit._s2_box(mask, fit._lag_box(steps, edge / 4), True)
    max_lag = fit._default_max_lag(box, steps, float(mask.mean()), edge / 4)[0]
    shells = fit._Shells.of(measured(mask, max_lag))
    residuals = []
    for child in np.random.SeedSequence([2026, 98]).spawn(80):
        data = measured(draw(child), max_lag)
        model = fit._problem("power_law", data, False, {}).radial(
            fit._theta(true_fit), data.unique_distance
        )
        residuals.append(shells.average @ (data.s2 - model[data.unique_index]))
    weighted = shells.weighted(np.cov(np.asarray(residuals), rowvar=False))
    rows = {"first stage": [], "GLS, weight at the truth": [], "Whittle": []}
    for mask in masks:
        data = measured(mask, max_lag)
        first = fit._fit("power_law", data, False, {})
        rows["first stage"].append(fit._theta(first))
        rows["GLS, weight at the truth"].append(
            fit._theta(fit._fit_gls(first, data, weighted, {}))
        )
        rows["Whittle"].append(_whittle(mask.astype(float), np.asarray(fit._theta(first))))
    record = Record("calibration_limit" + ("" if edge == 512 else f"_{edge}"))
    table = record.table(
        f"What S2 tells of the power law's beta: spread over {images} images of {edge}² "
        "(length 8, beta 3)",
        ["estimator", "length spread [%]", "beta spread [%]", "mean beta"],
        note=f"max lag {max_lag:.3g} voxels, {shells.count} shells, 80 pilot images at "
        "the true parameters; each spread uncertain by about "
        f"{100 / math.sqrt(2 * (images - 1)):.0f} %",
    )
    for name, thetas in rows.items():
        values = np.exp(np.asarray(thetas))
        spread = values.std(axis=0, ddof=1) / np.array([8.0, 3.0])
        table.add(name, 100 * spread[0], 100 * spread[1], values[:, 1].mean())
        print(f"{name:26s} length {100 * spread[0]:.2f} % beta {100 * spread[1]:.2f} %")
    best = min(np.exp(np.asarray(v))[:, 1].std(ddof=1) / 3.0 for v in rows.values())
    record.headline(f"power-law beta from S2 at {edge}²: at best {100 * best:.1f} % spread")
    record.write()


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--edge", type=int, default=512)
    parser.add_argument("--limit", action="store_true", help="beta's estimators (docstring)")
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        parser.error(f"--families: unknown {unknown}; choose from {', '.join(FAMILIES)}")
    if args.images < 3:
        parser.error("--images must be at least 3")
    if args.limit:
        limit(args.images, args.edge)
        return

    variant = "" if (args.edge, tuple(families)) == (512, FAMILIES) else f"_{args.edge}"
    record = Record("calibration" + variant)
    table = record.table(
        f"Calibration of {args.edge}^2 images: the spread of the fitted parameters over "
        f"{args.images} independent images against the bootstrap standard errors "
        "(20 bootstrap images each)",
        [
            "family",
            "parameter",
            "truth",
            "mean fit",
            "spread [%]",
            "bootstrap SE [%]",
            "SE / spread",
            "truth within 3 SE",
        ],  # fmt: skip
        note="spread: standard deviation of the fitted values over the images, relative "
        "to the truth; bootstrap SE: the mean over the images of the reported standard "
        "error, relative to the truth; each figure uncertain by about 16 %",
    )
    worst = []
    for family in families:
        start = time.perf_counter()
        seeds = np.random.SeedSequence([2026, FAMILIES.index(family)]).spawn(args.images)
        fitted: dict[str, list] = {}
        errors: dict[str, list] = {}
        truth = {}
        for k, child in enumerate(seeds):
            image, truth = image_and_truth(family, args.edge, np.random.default_rng(child))
            result = calibrate(image, models=(family,), periodic=True, seed=k)
            for name in truth:
                fitted.setdefault(name, []).append(result.parameters[name])
                errors.setdefault(name, []).append(result.standard_errors[name])
        seconds = time.perf_counter() - start
        for name, value in truth.items():
            values, se = np.asarray(fitted[name]), np.asarray(errors[name])
            spread = values.std(ddof=1) / value
            mean_se = se.mean() / value
            covered = float(np.mean(np.abs(values - value) <= 3 * se))
            table.add(family, name, value, values.mean(), 100 * spread, 100 * mean_se,
                      mean_se / spread, covered)  # fmt: skip
            print(
                f"{family:18s} {name:18s} truth {value:.4g} mean {values.mean():.4g} "
                f"spread {100 * spread:.2f} % bootstrap SE {100 * mean_se:.2f} % "
                f"ratio {mean_se / spread:.2f} within 3 SE {covered:.0%}"
            )
            worst.append((spread, family, name))
        print(f"  ({args.images} images in {seconds:.0f} s)")
    spread, family, name = max(worst)
    record.headline(
        f"calibration of {args.edge}² images: parameters to {100 * min(worst)[0]:.1f} to "
        f"{100 * spread:.1f} % ({family} {name} the least precise) over {args.images} images"
    )
    record.write()


if __name__ == "__main__":
    main()
