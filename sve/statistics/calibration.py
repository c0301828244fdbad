r"""Calibration of the toolkit's generators to a measured image: fit, bootstrap, checks.

A measured two-phase image (a segmented micro-CT or FIB-SEM scan) is fitted by
the random media of :mod:`generators` whose two-point probability :math:`S_2`
is known exactly: level cuts of Gaussian fields (covariance family Gaussian,
exponential, Matérn or power law; one correlation length per axis where the
image is anisotropic) and Boolean spheres (disks in 2-D) of one radius. The
fitted medium drops into a study spec (:meth:`Calibration.to_medium_toml`), so
an ensemble of statistically equivalent SVEs can go past the image's edge.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike
from scipy import fft, optimize, stats

import generators
from sve._validation import (
    check_bool,
    check_integer,
    check_phases,
    check_positive,
    check_real,
    check_spacing,
    indicator,
    is_integer,
)
from sve.microstructure import Microstructure, labels_and_spacing
from sve.morphology import chord_lengths, lineal_path, specific_surface

__all__ = ["Calibration", "ModelFit", "StatisticCheck", "calibrate"]

#: Covariance families of the level cut, by the names of ``generators.covariance_model``.
LEVEL_CUT_MODELS = ("gaussian", "exponential", "matern", "power_law")
#: The models :func:`calibrate` tries by default.
DEFAULT_MODELS = (*LEVEL_CUT_MODELS, "boolean")
#: Every model :func:`calibrate` fits: the defaults and, on request, Boolean spheres whose
#: radius is log-normal (``"boolean_lognormal"``: median ``radius``, ``radius_sigma`` the
#: standard deviation of ln R).
MODELS = (*DEFAULT_MODELS, "boolean_lognormal")
#: The Boolean models (isotropic, cubic voxels).
BOOLEAN_MODELS = ("boolean", "boolean_lognormal")

LOGNORMAL_SIGMA = (0.01, 1.0)
"""Bounds of the fitted ``radius_sigma`` of ``"boolean_lognormal"`` (sd of ln R): below
0.01 the law is one radius to S2's precision; above 1 the truncated tail (at the
generator's 1 - 1e-6 quantile, a radius 100 times the median) would not fit an image."""

MIN_LAGS = 4
"""Fewest lags per axis the fit of S2 may use: with fewer, a correlation length and a
shape parameter cannot be told apart from the image's noise."""

MIN_BOOTSTRAP = 20
"""Fewest bootstrap images: below 20 the 2.5 % and 97.5 % tails of a band and the
standard deviation of a parameter (relative error 1/sqrt(2(n - 1)) = 16 % at 20) are
too coarse to judge a fit by."""

SIMPLER_MODEL_TOLERANCE = 0.25
"""A model with fewer parameters is chosen over the one of least misfit when its
misfit is at most this much larger (relative): an extra shape parameter (Matérn's
nu, the power law's beta) always lowers the misfit a little by fitting noise, and a
wrong family raises it by factors (measured on 512^2 level cuts: 0.97-1.05 for the
true family against Matérn, 1.8-6 for a wrong one)."""

CANDIDATE_TOLERANCE = 1.0
"""Models whose S2 misfit is within a factor 1 + this of the least are bootstrapped in
turn when the chosen one fails the checks: S2 alone does not tell a Boolean medium
from a level cut (on a 512^2 image of disks of radius 8 at phi = 0.4 the Gaussian level
cut's misfit is 5 % below the Boolean model's), the statistics it did not use do."""

ISOTROPY_LEVEL = 0.99
"""Level of the bootstrap test of isotropy (``isotropic=None``): one correlation length
is kept unless the image's per-axis lengths fall outside this prediction interval of
isotropic images. Stricter than the checks' 95 %: a false anisotropy costs the medium
its place in a study spec (one correlation length there), while a missed one of a few
per cent costs little; at 95 % one 512^2 isotropic image in about 15 was called
anisotropic (20 seeds of a Gaussian level cut, lengths 8: two deviations beyond 2.4
standard deviations)."""

MAX_LAG_FACTOR = 3.0
"""Default ``max_lag`` in units of the lag where the indicator correlation falls to 1/e:
longer lags add more noise than information (bootstrap SD of the length on 512^2 level
cuts 4.2 % at 3, 4.4 % at 4, 4.5 % at 6 for the exponential; likewise for the others)."""

PILOT_FACTOR = 3
PILOT_EXTRA = 10
"""Pilot images of the second stage of the fit: ``PILOT_FACTOR`` per shell of lag length
plus ``PILOT_EXTRA``, so that the sample covariance of the shell means of S2 is well
conditioned (its inverse weighs the fit); with a pilot per shell or fewer it is
singular."""

SHELL_EDGES_UNIT = 3
SHELL_GROWTH = 1.4
"""Shells of the second stage: one voxel wide up to lag ``SHELL_EDGES_UNIT`` (edges at
half-integers), then each ``SHELL_GROWTH`` times as long as the last edge, so that 8 to
12 shells cover lags up to 64 voxels. The long-lag shell means are nearly collinear; fewer
shells need fewer pilots for the same conditioning. Over 40 images of 512^2 (level cuts
of length 8, 80 pilots at the true parameters) the SD of the power law's beta was 9.9 %
with one-voxel shells and 9.2 % with these, its length 3.6 % and 3.3 %; for log-normal
Boolean disks (256^2) sigma 9.6 % and 9.3 %."""

PILOT_SPAWN_KEY = 2**32 - 1
"""Spawn key of the pilot images' seed stream: a child of the root seed that none of the
bootstrap images' children (keys 0, 1, ...) takes."""

_SHAPE_PARAMETER = {"matern": ("nu", 0.05, 19.9), "power_law": ("beta", 0.05, 50.0)}
_STARTS = {"matern": (0.5, 1.5, 5.0), "power_law": (1.0, 3.0, 8.0)}


@dataclass(frozen=True)
class ModelFit:
    """One model fitted to the image's S2 (see :func:`calibrate`)."""

    model: str
    """``"gaussian"``, ``"exponential"``, ``"matern"``, ``"power_law"`` or ``"boolean"``."""
    parameters: Mapping[str, float | tuple[float, ...]]
    """Fitted parameters in the image's length unit: ``volume_fraction`` and, for a level
    cut, ``correlation_length`` (a float, or one per axis) with ``nu`` (Matérn) or
    ``beta`` (power law); for the Boolean model ``radius`` and ``intensity`` (germs per
    unit d-volume)."""
    misfit: float
    """Root-mean-square difference of the model's and the image's S2 over the fitted
    lags, divided by :math:`\\varphi(1 - \\varphi)` (dimensionless)."""
    free_parameters: int
    """Number of parameters fitted to S2 (the volume fraction is the image's)."""


@dataclass(frozen=True)
class StatisticCheck:
    """A statistic not used in the fit: the image's value against the bootstrap images."""

    name: str
    """``"lineal_path_1"``, ``"chord_mean_1"``, ``"specific_surface"``, ..."""
    value: float
    """The image's value (lengths in the image's unit)."""
    low: float
    """Lower end of the prediction band of the bootstrap images."""
    high: float
    """Upper end of the band."""
    passed: bool
    """Whether ``low <= value <= high``."""
    description: str = ""
    """What the statistic is."""


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`calibrate`: the chosen model, its uncertainties and checks."""

    model: str
    """The chosen model (the least misfit, simpler models preferred)."""
    parameters: Mapping[str, float | tuple[float, ...]]
    """Its fitted parameters (see :attr:`ModelFit.parameters`)."""
    standard_errors: Mapping[str, float | tuple[float, ...]]
    """Parametric-bootstrap standard deviation of every parameter, same keys and units."""
    misfit: float
    """The chosen model's S2 misfit (see :attr:`ModelFit.misfit`)."""
    fits: tuple[ModelFit, ...]
    """Every model tried, least misfit first."""
    checks: tuple[StatisticCheck, ...]
    """Statistics not used in the fit, each against the bootstrap band."""
    consistent: bool
    """Whether every check passes at the family-wise level (Bonferroni): the image
    lies inside each band widened to level ``1 - (1 - confidence) / len(checks)``."""
    ndim: int
    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    unit: str
    max_lag: float
    """Longest lag of the fit, in the image's unit."""
    n_bootstrap: int
    seed: int | None
    confidence: float
    bootstrap_parameters: Mapping[str, np.ndarray] = field(repr=False)
    """Every bootstrap image's refitted parameters (one row per image; per-axis lengths
    as columns)."""
    anisotropy: Mapping = field(default_factory=dict)
    """The bootstrap test of isotropy (``isotropic=None``, a level cut): the image's
    per-axis ``lengths``, the largest studentized deviation ``z`` of their logarithms from
    one length, its ``bound`` and whether the image is ``anisotropic``; empty otherwise."""
    notes: tuple[str, ...] = ()
    """Warnings about the fit (models skipped, a clipped embedding, ...)."""

    @property
    def isotropic(self) -> bool:
        """Whether the chosen model has one correlation length for every axis."""
        return not isinstance(self.parameters.get("correlation_length"), tuple)

    def medium(self) -> dict:
        """The ``[medium]`` table of a study spec for the fitted model (a dict).

        An anisotropic level cut writes one ``correlation_length`` per axis
        (C order, principal axes along the grid axes), which a study's
        ``gaussian_level_cut`` medium accepts.
        """
        p = self.parameters
        if self.model in BOOLEAN_MODELS:
            table = {
                "generator": "boolean_spheres",
                "ndim": self.ndim,
                "radius": p["radius"],
                "volume_fraction": p["volume_fraction"],
            }
            if self.model == "boolean_lognormal":
                table["radius_sigma"] = p["radius_sigma"]
            return table
        table = {
            "generator": "gaussian_level_cut",
            "ndim": self.ndim,
            "covariance": self.model,
            "correlation_length": (
                list(p["correlation_length"]) if not self.isotropic else p["correlation_length"]
            ),
            "volume_fraction": p["volume_fraction"],
            "fraction": "expected",
        }
        for name in ("nu", "beta"):
            if name in p:
                table[name] = p[name]
        return table

    def to_medium_toml(self) -> str:
        """The ``[medium]`` section of a study spec, with the fit's figures as comments.

        Lengths are in the image's unit: the spec's ``sampling.spacing`` must be
        the image's voxel edge in that unit (a comment says so).

        Returns
        -------
        str
            TOML text, ending with a newline.
        """
        table = self.medium()
        lines = [
            f"# Calibrated by sve.calibrate on an image of shape {self.shape}, voxel "
            f"{_format(self.spacing)} {self.unit}",
            f"# model {self.model}: S2 misfit {self.misfit:.3g} (RMS over lags <= "
            f"{self.max_lag:.4g} {self.unit}, relative to phi(1 - phi)); checks on statistics "
            f"not fitted: {'consistent' if self.consistent else 'INCONSISTENT'}",
            f"# standard errors ({self.n_bootstrap} bootstrap images, seed {self.seed}): "
            + ", ".join(f"{k} {_format(v)}" for k, v in self.standard_errors.items()),
            f"# use it with [sampling] spacing = {min(self.spacing):.6g} and length_unit = "
            f'"{self.unit}"',
            "[medium]",
        ]
        for key, value in table.items():
            lines.append(f"{key} = {_toml_value(value)}")
        if self.model in BOOLEAN_MODELS:
            lines.insert(-len(table), f"# intensity {self.parameters['intensity']:.6g} per "
                         f"{self.unit}^{self.ndim}")  # fmt: skip
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """A few lines for a terminal: the model, its parameters, misfits and checks."""
        lines = [f"model: {self.model} (S2 misfit {self.misfit:.3g}, max lag {self.max_lag:.4g})"]
        for key, value in self.parameters.items():
            lines.append(
                f"  {key} = {_format(value)} ± {_format(self.standard_errors[key])} {self.unit}"
                if key in ("correlation_length", "radius")
                else f"  {key} = {_format(value)} ± {_format(self.standard_errors[key])}"
            )
        lines.append("models tried (misfit): " + ", ".join(
            f"{f.model} {f.misfit:.3g}" for f in self.fits))  # fmt: skip
        lines.append(
            f"checks ({self.confidence:.0%} bands of {self.n_bootstrap} bootstrap images):"
        )
        for check in self.checks:
            lines.append(
                f"  {check.name:<18} {check.value:.5g} in [{check.low:.5g}, {check.high:.5g}]: "
                + ("pass" if check.passed else "FAIL")
            )
        lines.append("consistent: " + ("yes" if self.consistent else "no"))
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-friendly dict of the result (no bootstrap rows)."""
        return {
            "model": self.model,
            "parameters": _plain(self.parameters),
            "standard_errors": _plain(self.standard_errors),
            "misfit": self.misfit,
            "fits": [
                {
                    "model": f.model,
                    "parameters": _plain(f.parameters),
                    "misfit": f.misfit,
                    "free_parameters": f.free_parameters,
                }
                for f in self.fits
            ],  # fmt: skip
            "checks": [
                {
                    "name": c.name,
                    "value": c.value,
                    "low": c.low,
                    "high": c.high,
                    "passed": c.passed,
                    "description": c.description,
                }
                for c in self.checks
            ],  # fmt: skip
            "consistent": self.consistent,
            "ndim": self.ndim,
            "shape": list(self.shape),
            "spacing": list(self.spacing),
            "unit": self.unit,
            "max_lag": self.max_lag,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "confidence": self.confidence,
            "anisotropy": _plain(self.anisotropy),  # fmt: skip
            "notes": list(self.notes),
        }


def calibrate(
    image: ArrayLike | Microstructure,
    *,
    phase: int = 1,
    models: Sequence[str] = DEFAULT_MODELS,
    spacing: float | Sequence[float] | None = None,
    max_lag: float | None = None,
    isotropic: bool | None = None,
    nu: float | None = None,
    beta: float | None = None,
    periodic: bool = False,
    n_bootstrap: int = MIN_BOOTSTRAP,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> Calibration:
    r"""Fit the generators' random media to a two-phase image and check the fit.

    Parameters
    ----------
    image : Microstructure, array_like of int or bool, shape (N0, N1) or (N0, N1, N2)
        The measured image: phase labels (the voxels labelled ``phase`` are
        the phase fitted, every other label the rest) or a boolean mask of
        the phase.
    phase : int, default 1
        The label of the phase whose S2 is fitted: the excursion set of a
        level cut, the union of grains of the Boolean model.
    models : sequence of str, default ``DEFAULT_MODELS``
        Models to try: ``"gaussian"``, ``"exponential"``, ``"matern"``,
        ``"power_law"`` (level cuts of a Gaussian field of that covariance)
        and ``"boolean"`` (Boolean spheres of one radius), the defaults;
        on request ``"boolean_lognormal"`` (Boolean spheres of log-normal
        radius: median ``radius`` and ``radius_sigma``, the standard
        deviation of ln R, both fitted).
    spacing : float or sequence of float, optional
        Voxel edge, one or one per axis, in the image's length unit; default
        the microstructure's, else 1.
    max_lag : float, optional
        Longest lag of the fit, in the image's length unit, at most a quarter
        of the shortest image edge and at least ``MIN_LAGS`` voxels along
        every axis. Default: ``MAX_LAG_FACTOR`` (3) times the lag at which
        the image's indicator correlation falls to 1/e along its slowest
        axis, capped at a quarter of the shortest edge (a note says so).
    isotropic : bool, optional
        True: one correlation length; False: one per axis; None (default):
        one per axis when the bootstrap test of isotropy rejects it (Notes).
        The Boolean model is isotropic.
    nu : float, optional
        Matérn's smoothness held at this value instead of fitted, in (0, 20).
    beta : float, optional
        The power law's tail exponent held at this value instead of fitted, > 0.
    periodic : bool, default False
        The image is one period of a periodic medium (a generated one); a
        measured image is a window (False), and its statistics are those of
        a window.
    n_bootstrap : int, default 20
        Synthetic images drawn from the fitted model and refitted, >= 20.
    seed : int or None, default 0
        Root seed of the bootstrap images (image k draws from the k-th child
        of ``numpy.random.SeedSequence(seed)``); None draws fresh entropy.
    confidence : float in (0, 1), default 0.95
        Level of the prediction band of every check.

    Returns
    -------
    Calibration
        The chosen model with its parameters, their bootstrap standard
        deviations, the S2 misfit of every model tried, and the checks on
        statistics the fit did not use.

    Raises
    ------
    ValueError
        One phase only, an image that is not 2-D or 3-D, an unknown model, a
        ``max_lag`` too long for the image or too short for ``MIN_LAGS``
        lags, a Boolean model on non-cubic voxels, fewer than 20 bootstrap
        images.
    TypeError
        An image that is not integer or boolean.

    Notes
    -----
    **Data.** The volume fraction :math:`\hat\varphi` is the image's; the
    two-point probability :math:`\hat S_2(h)` is measured by FFT at every lag
    vector :math:`h` with :math:`|h| \le` ``max_lag`` (the window estimator,
    each lag averaged over the pairs of voxels inside the image [1]_; the
    periodic one when ``periodic``), averaged over the reflections of the
    axes (every model here is symmetric under them).

    **Models.** A level cut of a unit Gaussian field of correlation
    :math:`\rho` at the threshold :math:`\Phi^{-1}(1 - \varphi)` has
    :math:`S_2(h) = \varphi - 2 T(\alpha, \sqrt{(1 - \rho)/(1 + \rho)})`
    (:func:`generators.level_cut_s2`), with :math:`\rho` of the covariance
    family and per-axis lengths :math:`\ell_a` (:mod:`generators.covariance`);
    Boolean spheres of radius :math:`R` and intensity :math:`\lambda =
    -\ln(1 - \varphi) / v(R)` have :math:`S_2(r) = 1 - 2q + q^2 e^{\lambda
    K(r; R)}` (:func:`generators.boolean_s2`) [2]_.

    **Fit.** Weighted least squares on S2 in the logarithms of the
    parameters (``scipy.optimize.least_squares``, three starts for a shape
    parameter): the residuals :math:`(S_2^{model} - \hat S_2) /
    (\hat\varphi (1 - \hat\varphi))` with weights :math:`w(h)` that give
    every shell of lag length (one voxel wide) the same total weight,
    divided within it by :math:`(\hat\varphi - \hat S_2(h)) /
    (\hat\varphi(1 - \hat\varphi))`, since the variance of
    :math:`\hat S_2(h)` grows with the fraction of pairs that straddle the
    interface. The misfit is :math:`(\sum w r^2 / \sum w)^{1/2}`. The
    model of least misfit is chosen, but a model with fewer free parameters
    wins when its misfit is within ``SIMPLER_MODEL_TOLERANCE`` of it
    (Matérn's extra smoothness always fits some noise). The chosen model, if
    isotropic, is then refitted by generalized least squares on the shell
    means of :math:`\hat S_2` (shells one voxel wide up to lag 3, then
    growing geometrically: ``SHELL_GROWTH``), weighted by the inverse sample
    covariance, over ``PILOT_FACTOR`` pilot images per shell plus
    ``PILOT_EXTRA`` drawn from the first fit (their own seed stream), of
    the residuals of those means from the first fit's S2 evaluated at each
    pilot's own fraction. The model is evaluated at the image's fraction, so
    the residuals, not the raw shell means, are what the weight must describe:
    the raw means are dominated by the scatter of the fraction (their first
    principal component), which the model follows. Its parameters are reported, its
    misfit measured as above, and each bootstrap image is refitted alike
    with the same weight. S2 alone does not
    always tell the models apart (a Boolean medium is fitted about as well
    by a Gaussian level cut): when the chosen model fails the checks below,
    the next models within a factor ``1 + CANDIDATE_TOLERANCE`` of the
    least misfit are bootstrapped in turn and the first consistent one is
    chosen; the notes say which were rejected.

    **Uncertainties.** Parametric bootstrap [3]_: ``n_bootstrap`` images of the
    image's shape are drawn from the fitted model (level cuts at the fixed
    threshold, so that their fraction scatters as the medium's does),
    measured and refitted with the same family and the same lags; the
    standard deviation of the refitted parameters is the standard error.

    **Isotropy.** With ``isotropic=None`` a level cut is fitted with one
    length; every bootstrap image of it is refitted with one length per axis
    too, giving the spread of the deviations :math:`\ln \ell_a -
    \overline{\ln \ell}` of an isotropic medium at the image's size. When a
    deviation of the image's own per-axis fit lies outside the prediction
    interval (level ``ISOTROPY_LEVEL``, Bonferroni over the axes), the per-axis
    model is chosen and bootstrapped in turn (a parametric bootstrap test).

    **Checks.** Statistics the fit did not use, measured alike on the image
    and on every bootstrap image: the lineal path :math:`L(z^*)` of each
    phase at :math:`z^*` the image's mean chord of that phase, the mean
    chord length of each phase (every axis pooled), and the specific
    surface (voxel faces: the staircase, compared like with like). The
    band is the normal prediction interval of one more image, :math:`\bar x
    \pm t_{n-1} s \sqrt{1 + 1/n}` [4]_; a check passes when the image lies
    in it. With 5 checks at 95 % a correct model fails one about 23 % of the
    time; the overall verdict ``consistent`` therefore uses bands at level
    :math:`1 - (1 - \text{confidence}) / 5` (Bonferroni).

    **Cost.** Each bootstrap image is drawn, measured (one FFT of the image
    padded by ``max_lag``) and refitted: with 20 images, one family, 3 s for
    a 512^2 image and 20 s for a 128^3 one (2 cores shared at a load
    average of 15); each further model adds one fit of the image.

    References
    ----------
    .. [1] S. Torquato, *Random Heterogeneous Materials*, Springer, 2002,
       chapter 2.
    .. [2] G. Matheron, *Random Sets and Integral Geometry*, Wiley, 1975.
    .. [3] B. Efron and R. J. Tibshirani, *An Introduction to the
       Bootstrap*, Chapman & Hall, 1993, section 6.5.
    .. [4] G. J. Hahn and W. Q. Meeker, *Statistical Intervals*, Wiley,
       1991, section 4.

    Examples
    --------
    >>> import generators
    >>> field = generators.gaussian_field((128, 128), generators.Exponential(4.0), rng=1)
    >>> image = generators.level_cut(field, 0.4, exact=False)
    >>> result = calibrate(image, models=("exponential", "gaussian"), periodic=True, seed=2)
    >>> result.model
    'exponential'
    >>> length = result.parameters["correlation_length"]
    >>> bool(abs(length - 4.0) < 3 * result.standard_errors["correlation_length"])
    True
    >>> print(result.to_medium_toml().split("[medium]")[1].strip().splitlines()[2])
    covariance = "exponential"
    """
    mask, steps, unit = _as_mask(image, phase, spacing)
    models = _check_models(models)
    if isotropic is not None:
        isotropic = check_bool(isotropic, "isotropic")
    fixed = {}
    if nu is not None:
        fixed["nu"] = check_real(nu, "nu", 0.0, 20.0)
    if beta is not None:
        fixed["beta"] = check_positive(beta, "beta")
    periodic = check_bool(periodic, "periodic")
    n_bootstrap = check_integer(n_bootstrap, "n_bootstrap", MIN_BOOTSTRAP)
    if seed is not None and not is_integer(seed):
        raise TypeError(f"seed must be an integer or None, got {seed!r}")
    confidence = check_real(confidence, "confidence", 0.0, 1.0)
    notes: list[str] = []
    cubic = all(s == steps[0] for s in steps)
    if any(m in BOOLEAN_MODELS for m in models) and not cubic:
        if all(m in BOOLEAN_MODELS for m in models):
            raise ValueError(
                f"models: the Boolean model needs cubic voxels (its generator takes one "
                f"spacing), got spacing {steps}"
            )
        skipped = [m for m in models if m in BOOLEAN_MODELS]
        models = tuple(m for m in models if m not in BOOLEAN_MODELS)
        notes.append(f"{', '.join(skipped)} skipped: the voxels are not cubic (spacing {steps})")

    phi = float(mask.mean())
    shortest = min(n * s for n, s in zip(mask.shape, steps, strict=True))
    cap = shortest / 4.0
    if max_lag is None:
        s2 = _s2_box(mask, _lag_box(steps, cap), periodic)
        max_lag, note = _default_max_lag(s2, steps, phi, cap)
        if note:
            notes.append(note)
    else:
        max_lag = check_positive(max_lag, "max_lag")
        if max_lag > cap:
            raise ValueError(
                f"max_lag must be at most a quarter of the shortest image edge "
                f"({cap:.4g} {unit} for shape {mask.shape}), got {max_lag!r}"
            )
        s2 = _s2_box(mask, _lag_box(steps, max_lag), periodic)
    box = _lag_box(steps, max_lag)
    if min(box) < MIN_LAGS:
        raise ValueError(
            f"max_lag = {max_lag:.4g} {unit} holds fewer than {MIN_LAGS} lags along some axis "
            f"(spacing {steps}); the image of shape {mask.shape} is too small for the range "
            "of the fit, or max_lag too short"
        )
    s2 = s2[tuple(slice(0, k + 1) for k in box)]
    data = _Data.from_box(s2, phi, steps, max_lag)

    fits = sorted((_fit(m, data, isotropic is False, fixed) for m in models),
                  key=lambda f: f.misfit)  # fmt: skip
    z_star = _chord_means(mask, steps, periodic)
    observed = _check_statistics(mask, steps, periodic, z_star)
    measure = _Measure(
        mask.shape, steps, box, max_lag, periodic, z_star, fixed, confidence, isotropic is None
    )
    root = np.random.SeedSequence(seed)
    shells = _Shells.of(data)

    def refine_and_bootstrap(fit):
        """The second stage of an isotropic fit, then the bootstrap of what it gives."""
        if isinstance(fit.parameters.get("correlation_length"), tuple):
            return fit, _bootstrap(fit, observed, measure, root, n_bootstrap, None)
        weighted = _pilot_covariance(fit, measure, shells, root)
        refined = _fit_gls(fit, data, weighted, fixed)
        return refined, _bootstrap(refined, observed, measure, root, n_bootstrap, weighted)

    candidates = _candidates(fits)
    for first in candidates:
        chosen, outcome = refine_and_bootstrap(first)
        if outcome.consistent:
            break
        failed = ", ".join(c.name for c in outcome.checks if not c.passed) or "family-wise"
        notes.append(f"{chosen.model} (S2 misfit {chosen.misfit:.3g}) fails the checks ({failed})")
    if not outcome.consistent:
        if len(candidates) > 1:
            chosen, outcome = refine_and_bootstrap(candidates[0])
        notes.append(
            f"none of the models within a factor {1 + CANDIDATE_TOLERANCE:g} of the least S2 "
            f"misfit passes the checks: the image is not a medium of the models tried; "
            f"{chosen.model}, the first choice, is kept"
        )
    anisotropy = {}
    if outcome.spreads is not None:  # the bootstrap test of isotropy (isotropic=None)
        per_axis = _fit(chosen.model, data, True, fixed)
        lengths = per_axis.parameters["correlation_length"]
        z, bound = _isotropy_test(_log_deviations(lengths), outcome.spreads, ISOTROPY_LEVEL)
        anisotropy = {"lengths": lengths, "z": z, "bound": bound, "anisotropic": z > bound}
        if z > bound:
            notes.append(
                f"anisotropic: the per-axis lengths {_format(lengths)} deviate from one length "
                f"by {z:.3g} bootstrap standard deviations, above the bound {bound:.3g} at "
                f"{ISOTROPY_LEVEL:.0%} (isotropic bootstrap images)"
            )
            chosen, outcome = refine_and_bootstrap(per_axis)
    excess = outcome.excess
    if excess > 1e-6:
        notes.append(
            f"the periodic embedding of the fitted covariance is clipped on the image's grid "
            f"(relative variance excess {excess:.2e}): bootstrap images are slightly too rough"
        )
    return Calibration(
        model=chosen.model,
        parameters=chosen.parameters,
        standard_errors=outcome.errors,
        misfit=chosen.misfit,
        fits=tuple(fits),
        checks=outcome.checks,
        consistent=outcome.consistent,
        ndim=mask.ndim,
        shape=mask.shape,
        spacing=steps,
        unit=unit,
        max_lag=float(max_lag),
        n_bootstrap=n_bootstrap,
        seed=seed,
        confidence=confidence,
        bootstrap_parameters=outcome.parameters,
        anisotropy=MappingProxyType(anisotropy),
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- inputs


def _as_mask(image, phase, spacing) -> tuple[np.ndarray, tuple[float, ...], str]:
    """The boolean image of the fitted phase, the voxel edges and the length unit."""
    unit = image.unit if isinstance(image, Microstructure) else "voxel"
    labels, spacing = labels_and_spacing(image, spacing)
    array = np.asarray(labels)
    if array.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D or 3-D, got {array.ndim}-D with shape {array.shape}")
    labels = check_phases(array, ndims=(2, 3), allow_bool=True, nonnegative=False)
    mask = indicator(labels, phase)
    count = int(mask.sum())
    if count == 0 or count == mask.size:
        present = np.unique(labels).tolist()
        raise ValueError(
            f"image must hold two phases, the phase {phase} and the rest; got "
            + (f"no voxel labelled phase={phase}" if count == 0 else "the phase only")
            + f" (labels present: {present[:10]})"
        )
    return mask, check_spacing(spacing, mask.ndim), unit


def _check_models(models) -> tuple[str, ...]:
    if isinstance(models, str):
        models = (models,)
    try:
        models = tuple(models)
    except TypeError:
        raise TypeError(f"models must be a sequence of model names, got {models!r}") from None
    if not models:
        raise ValueError(f"models must name at least one of {MODELS}, got none")
    for model in models:
        if model not in MODELS:
            raise ValueError(f"models must be among {MODELS}, got {model!r}")
    return tuple(dict.fromkeys(models))


# ------------------------------------------------------------------------ measuring S2


def _lag_box(steps: tuple[float, ...], longest: float) -> tuple[int, ...]:
    """Largest lag, in voxels, along every axis within ``longest`` (physical)."""
    return tuple(int(longest / s + 1e-9) for s in steps)


def _s2_box(mask: np.ndarray, box: tuple[int, ...], periodic: bool) -> np.ndarray:
    r"""S2 at every lag vector :math:`|k_a| \le K_a`, folded over the signs of the lags.

    Returns the array of shape ``(K_0 + 1, ..., K_{d-1} + 1)`` whose entry ``k`` is the
    mean of :math:`\hat S_2` over the lag vectors :math:`(\pm k_0, \pm k_1, ...)`: every
    model fitted here is symmetric under the reflection of each axis. A window is padded
    to :math:`N_a + K_a` per axis (no wrap-around at lags up to :math:`K_a`) and each lag
    divided by its number of pairs :math:`\prod_a (N_a - |k_a|)`.
    """
    values = mask.astype(np.float64)
    shape = values.shape
    padded = (
        shape
        if periodic
        else tuple(fft.next_fast_len(n + k, real=True) for n, k in zip(shape, box, strict=True))
    )
    spectrum = fft.rfftn(values, s=padded)
    power = spectrum.real**2
    power += spectrum.imag**2
    del spectrum
    sums = fft.irfftn(power, s=padded)
    del power
    folded = np.zeros(tuple(k + 1 for k in box))
    signs = 0
    for flips in np.ndindex(*(2,) * len(shape)):
        index = np.ix_(*(
            (-np.arange(k + 1)) % p if flip else np.arange(k + 1)
            for flip, k, p in zip(flips, box, padded, strict=True)
        ))  # fmt: skip
        folded += sums[index]
        signs += 1
    folded /= signs
    pairs = np.ones_like(folded)
    for axis, (n, k) in enumerate(zip(shape, box, strict=True)):
        count = np.full(k + 1, float(n)) if periodic else n - np.arange(k + 1.0)
        pairs = pairs * count.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return folded / pairs


@dataclass(frozen=True)
class _Data:
    """The fitted lags of one image: folded lag vectors within ``max_lag``, their S2 and
    weights (each shell of width the smallest voxel edge weighs the same).
    """

    phi: float
    steps: tuple[float, ...]
    vectors: np.ndarray  # (G, d) lag vectors, voxels, components >= 0, not all 0
    s2: np.ndarray  # (G,)
    weight: np.ndarray  # (G,), sums to 1

    @cached_property
    def distance(self) -> np.ndarray:
        return np.sqrt(((self.vectors * np.asarray(self.steps)) ** 2).sum(axis=1))

    @cached_property
    def _unique(self) -> tuple[np.ndarray, np.ndarray]:
        values, index = np.unique(np.round(self.distance, 12), return_inverse=True)
        return values, index.reshape(-1)

    @property
    def unique_distance(self) -> np.ndarray:
        """The distinct lag lengths (an isotropic model is evaluated there only)."""
        return self._unique[0]

    @property
    def unique_index(self) -> np.ndarray:
        """The index of every lag vector's length in :attr:`unique_distance`."""
        return self._unique[1]

    @classmethod
    def from_box(cls, s2: np.ndarray, phi: float, steps, max_lag: float) -> _Data:
        """The lags of a folded S2 box (:func:`_s2_box`) within ``max_lag``."""
        vectors = np.argwhere(np.ones(s2.shape, dtype=bool))
        values = s2.reshape(-1)
        distance = np.sqrt(((vectors * np.asarray(steps)) ** 2).sum(axis=1))
        keep = (distance > 0) & (distance <= max_lag * (1 + 1e-12))
        vectors, values, distance = vectors[keep], values[keep], distance[keep]
        # each shell weighs the same; a folded vector stands for 2^(nonzero components)
        multiplicity = 2.0 ** np.count_nonzero(vectors, axis=1)
        shell = np.rint(distance / min(steps)).astype(np.int64)
        weight = multiplicity / np.bincount(shell, weights=multiplicity)[shell]
        # the variance of S2(h) grows like the fraction of pairs that straddle the
        # interface, phi - S2(h) (a count of crossings), until it saturates at long lags
        gap = np.maximum(phi - values, 1e-3 * phi * (1 - phi)) / (phi * (1 - phi))
        weight = weight / gap
        return cls(phi, tuple(steps), vectors, values, weight / weight.sum())


def _default_max_lag(s2, steps, phi, cap) -> tuple[float, str]:
    """Four times the 1/e lag of the indicator correlation (the longest of the axes), at
    most ``cap``; a note when the cap binds.
    """
    crossings = []
    for axis, step in enumerate(steps):
        line = s2[tuple(slice(None) if a == axis else 0 for a in range(s2.ndim))]
        correlation = (line - phi**2) / (phi * (1.0 - phi))  # from lag 0, where it is 1
        below = np.flatnonzero(correlation < math.exp(-1.0))
        if below.size == 0:
            crossings.append(math.inf)
            continue
        i = below[0]
        t = (correlation[i - 1] - math.exp(-1.0)) / (correlation[i - 1] - correlation[i])
        crossings.append((i - 1 + t) * step)
    crossing = max(crossings)
    if MAX_LAG_FACTOR * crossing <= cap:
        return MAX_LAG_FACTOR * crossing, ""
    return cap, (
        f"max_lag capped at a quarter of the shortest edge ({cap:.4g}), below "
        f"{MAX_LAG_FACTOR:g} times the "
        f"1/e lag of the indicator correlation ({crossing:.4g}): the image spans few "
        "correlation lengths and the fit is uncertain"
    )


# ------------------------------------------------------------------------------ fitting


@dataclass(frozen=True)
class _Problem:
    """One model's least-squares problem on one image's S2, in log parameters."""

    residuals: object  # theta -> weighted residuals at every lag vector (the first stage)
    radial: object  # theta, distances -> model S2 (isotropic models), else None
    low: list
    high: list
    starts: list
    parameters: object  # theta -> the parameters' dict


def _problem(model: str, data: _Data, per_axis: bool, fixed: dict) -> _Problem:
    if model in BOOLEAN_MODELS:
        return _boolean_problem(model, data)
    return _level_cut_problem(model, data, per_axis, fixed)


def _level_cut_problem(model: str, data: _Data, per_axis: bool, fixed: dict) -> _Problem:
    phi = data.phi
    sqrt_weight = np.sqrt(data.weight) / (phi * (1.0 - phi))
    ndim = len(data.steps)
    n_lengths = ndim if per_axis else 1
    physical = data.vectors * np.asarray(data.steps)  # (G, d) lag vectors
    shape_parameter = _SHAPE_PARAMETER.get(model)
    held = {}
    if shape_parameter and shape_parameter[0] in fixed:
        held = {shape_parameter[0]: fixed[shape_parameter[0]]}
        shape_parameter = None

    def unit_model(theta):
        extra = {shape_parameter[0]: float(np.exp(theta[-1]))} if shape_parameter else held
        return generators.covariance_model(model, length=1.0, **extra)

    def residuals(theta):
        lengths = np.exp(theta[:n_lengths])
        if n_lengths == 1:
            model_s2 = radial(theta, data.unique_distance)[data.unique_index]
        else:
            scaled = np.sqrt(((physical / lengths) ** 2).sum(axis=1))
            model_s2 = generators.level_cut_s2(unit_model(theta).correlation(scaled), phi)
        return (model_s2 - data.s2) * sqrt_weight

    def radial(theta, distance):
        scaled = distance / float(np.exp(theta[0]))
        return generators.level_cut_s2(unit_model(theta).correlation(scaled), phi)

    def parameters(theta):
        lengths = tuple(float(v) for v in np.exp(theta[:n_lengths]))
        values: dict = {
            "volume_fraction": phi,
            "correlation_length": lengths if per_axis else lengths[0],
        }
        if shape_parameter:
            values[shape_parameter[0]] = float(np.exp(theta[-1]))
        values.update(held)
        return values

    guess = math.log(_one_over_e(data))
    low = [math.log(min(data.steps) / 20.0)] * n_lengths
    high = [math.log(1e3 * float(data.distance.max()))] * n_lengths
    starts = [[guess] * n_lengths]
    if shape_parameter:
        _, lowest, highest = shape_parameter
        low.append(math.log(lowest))
        high.append(math.log(highest))
        starts = [[guess] * n_lengths + [math.log(v)] for v in _STARTS[model]]
    return _Problem(residuals, None if per_axis else radial, low, high, starts, parameters)


def _boolean_problem(model: str, data: _Data) -> _Problem:
    """Boolean spheres of one radius (log R) or of log-normal radius (log R, log sigma)."""
    ndim = len(data.steps)
    phi = data.phi
    sqrt_weight = np.sqrt(data.weight) / (phi * (1.0 - phi))
    lognormal = model == "boolean_lognormal"

    def law(theta):
        radius = float(np.exp(theta[0]))
        return lognormal_radius(radius, float(np.exp(theta[1]))) if lognormal else radius

    def radial(theta, distance):
        radius = law(theta)
        intensity = generators.boolean_intensity(phi, radius, ndim)
        return generators.boolean_s2(distance, intensity, radius, ndim)

    def residuals(theta):
        model_s2 = radial(theta, data.unique_distance)[data.unique_index]
        return (model_s2 - data.s2) * sqrt_weight

    def parameters(theta):
        values = {"volume_fraction": phi, "radius": float(np.exp(theta[0]))}
        if lognormal:
            values["radius_sigma"] = float(np.exp(theta[1]))
        values["intensity"] = generators.boolean_intensity(phi, law(theta), ndim)
        return values

    low = [math.log(min(data.steps) / 4.0)]
    high = [math.log(float(data.distance.max()))]
    start = min(max(math.log(_one_over_e(data)), low[0]), high[0])
    starts = [[start]]
    if lognormal:
        # median below the one-radius fit by sigma^2 (the mean of R^2 is what S2 sees)
        one = _solve(_boolean_problem("boolean", data))[1]
        low.append(math.log(LOGNORMAL_SIGMA[0]))
        high.append(math.log(LOGNORMAL_SIGMA[1]))
        starts = [[one[0] - sigma**2, math.log(sigma)] for sigma in (0.1, 0.3)]
    return _Problem(residuals, radial, low, high, starts, parameters)


def _solve(problem: _Problem, residuals=None, starts=None) -> tuple[float, np.ndarray]:
    """Least squares from every start: the least cost and its log parameters."""
    residuals = residuals or problem.residuals
    best = None
    for start in starts if starts is not None else problem.starts:
        result = optimize.least_squares(
            residuals, np.clip(start, problem.low, problem.high),
            bounds=(problem.low, problem.high), xtol=1e-10, ftol=1e-12, gtol=1e-12,
        )  # fmt: skip
        if best is None or result.cost < best.cost:
            best = result
    return float(best.cost), best.x


def _model_fit(model: str, problem: _Problem, theta: np.ndarray) -> ModelFit:
    misfit = float(np.sqrt(np.sum(problem.residuals(theta) ** 2)))
    parameters = MappingProxyType(problem.parameters(theta))
    return ModelFit(model, parameters, misfit, len(theta))


def _fit(model: str, data: _Data, per_axis: bool, fixed: dict) -> ModelFit:
    """The first stage: weighted least squares on S2 at every lag vector."""
    problem = _problem(model, data, per_axis, fixed)
    return _model_fit(model, problem, _solve(problem)[1])


@dataclass(frozen=True)
class _Shells:
    """The radial average of S2 over shells of lag length and the GLS weight on it."""

    average: np.ndarray  # (n_shells, G): shell means of the lag vectors' S2
    on_unique: np.ndarray  # (n_shells, U): the same from S2 at the unique distances
    whiten: np.ndarray | None = None  # (n_shells, n_shells): inverse Cholesky factor

    @classmethod
    def of(cls, data: _Data) -> _Shells:
        lag = data.distance / min(data.steps)
        edges = [0.5 + k for k in range(SHELL_EDGES_UNIT + 1)]
        while edges[-1] < lag.max():
            edges.append(edges[-1] * SHELL_GROWTH)
        shell = np.searchsorted(np.asarray(edges), lag) - 1
        shell = np.unique(shell, return_inverse=True)[1].reshape(-1)
        multiplicity = 2.0 ** np.count_nonzero(data.vectors, axis=1)
        average = np.zeros((int(shell.max()) + 1, shell.size))
        average[shell, np.arange(shell.size)] = multiplicity
        average /= average.sum(axis=1, keepdims=True)
        on_unique = np.zeros((average.shape[0], data.unique_distance.size))
        np.add.at(on_unique, (shell, data.unique_index), average[shell, np.arange(shell.size)])
        return cls(average, on_unique)

    @property
    def count(self) -> int:
        return self.average.shape[0]

    def weighted(self, covariance: np.ndarray) -> _Shells:
        """These shells with the weight of the sampling covariance of their S2 means."""
        scale = np.sqrt(np.diag(covariance))
        correlation = covariance / np.outer(scale, scale)
        factor = np.linalg.cholesky(correlation + 1e-10 * np.eye(len(scale)))
        whiten = np.linalg.solve(factor, np.diag(1.0 / scale))
        return _Shells(self.average, self.on_unique, whiten)


def _fit_gls(fit: ModelFit, data: _Data, shells: _Shells, fixed: dict) -> ModelFit:
    """The second stage: generalized least squares on the shell means of S2, from the
    first stage's fit ``fit`` of the same image (isotropic models only).
    """
    problem = _problem(fit.model, data, False, fixed)
    observed = shells.average @ data.s2

    def residuals(theta):
        return shells.whiten @ (shells.on_unique @ problem.radial(theta, data.unique_distance)
                                - observed)  # fmt: skip

    start = _theta(fit)
    return _model_fit(fit.model, problem, _solve(problem, residuals, [start])[1])


def _theta(fit: ModelFit) -> list[float]:
    """The log parameters of a fit, in the order of its problem's."""
    p = fit.parameters
    if fit.model in BOOLEAN_MODELS:
        names = ("radius", "radius_sigma") if fit.model == "boolean_lognormal" else ("radius",)
        return [math.log(p[name]) for name in names]
    theta = [math.log(p["correlation_length"])]
    if fit.free_parameters == 2:
        theta.append(math.log(p[_SHAPE_PARAMETER[fit.model][0]]))
    return theta


def _pilot_covariance(fit: ModelFit, measure: _Measure, shells: _Shells, root) -> _Shells:
    """The shells weighted by the covariance, over ``_pilots(shells)`` images drawn from
    ``fit`` (their own seed stream, apart from the bootstrap's), of the residuals of their
    S2 shell means from ``fit``'s S2 at each pilot's own fraction.
    """
    pilot = np.random.SeedSequence(root.entropy, spawn_key=(PILOT_SPAWN_KEY,))
    theta = _theta(fit)
    residuals = []
    for child in pilot.spawn(_pilots(shells)):
        synthetic, _ = _draw(fit, measure.shape, measure.steps, np.random.default_rng(child))
        s2 = _s2_box(synthetic, measure.box, measure.periodic)
        data = _Data.from_box(s2, float(synthetic.mean()), measure.steps, measure.max_lag)
        model = _problem(fit.model, data, False, measure.fixed).radial(theta, data.unique_distance)
        residuals.append(shells.average @ (data.s2 - model[data.unique_index]))
    return shells.weighted(np.atleast_2d(np.cov(np.asarray(residuals), rowvar=False)))


def _pilots(shells: _Shells) -> int:
    return PILOT_FACTOR * shells.count + PILOT_EXTRA


def lognormal_radius(radius: float, sigma: float):
    """The frozen log-normal law of median ``radius`` and ln-standard deviation ``sigma``."""
    return stats.lognorm(sigma, scale=radius)


def _one_over_e(data: _Data) -> float:
    """Lag (physical) at which the indicator correlation first drops below 1/e."""
    correlation = (data.s2 - data.phi**2) / (data.phi * (1.0 - data.phi))
    below = data.distance[correlation < math.exp(-1.0)]
    return float(below.min()) if below.size else float(data.distance.max())


# -------------------------------------------------------------------------- bootstrap


def _draw(fit: ModelFit, shape, steps, rng) -> tuple[np.ndarray, float]:
    """A synthetic image of the fitted model (mask of the phase) and its embedding excess."""
    p = fit.parameters
    if fit.model in BOOLEAN_MODELS:
        radius = p["radius"]
        if fit.model == "boolean_lognormal":
            radius = lognormal_radius(p["radius"], p["radius_sigma"])
        packing = generators.boolean_spheres(
            shape, radius, intensity=p["intensity"], spacing=steps[0], rng=rng
        )
        return packing.labels.astype(bool), 0.0
    lengths = p["correlation_length"]
    lengths = lengths if isinstance(lengths, tuple) else (lengths,) * len(shape)
    extra = {name: p[name] for name in ("nu", "beta") if name in p}
    # voxel units: per-axis lengths over the per-axis voxel edge
    covariance = generators.covariance_model(
        fit.model, length=tuple(ell / s for ell, s in zip(lengths, steps, strict=True)), **extra
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field(shape, covariance, rng=rng)
    excess = generators.embedding_variance_excess(shape, covariance)
    return generators.level_cut(field, p["volume_fraction"], exact=False) == 1, excess


def _chord_means(mask, steps, periodic) -> tuple[float, float]:
    """The image's mean chord length of phase 1 and phase 0 (every axis pooled)."""
    return tuple(_pooled_chords(mask, label, steps, periodic) for label in (1, 0))


def _pooled_chords(mask, label, steps, periodic) -> float:
    chords = np.concatenate([
        chord_lengths(mask.astype(np.int8), label, axis=a, spacing=steps, periodic=periodic)
        for a in range(mask.ndim)
    ])  # fmt: skip
    return float(chords.mean()) if chords.size else math.nan


def _lineal_at(mask, label, steps, periodic, z) -> float:
    """Lineal path of one phase at length z, linear between grid lengths, axes averaged."""
    values = []
    for a in range(mask.ndim):
        lengths, probability = lineal_path(
            mask.astype(np.int8), label, axis=a, spacing=steps, periodic=periodic
        )
        values.append(float(np.interp(z, lengths, probability)))
    return float(np.mean(values))


_CHECKS = (
    ("lineal_path_1", "lineal path of phase 1 at the image's mean chord of phase 1"),
    ("lineal_path_0", "lineal path of the other phase at the image's mean chord of it"),
    ("chord_mean_1", "mean chord length of phase 1, every axis pooled"),
    ("chord_mean_0", "mean chord length of the other phase, every axis pooled"),
    ("specific_surface", "interface length (2-D) or area (3-D) per unit volume"),
)


def _check_statistics(mask, steps, periodic, z_star) -> list[float]:
    image = mask.astype(np.int8)
    return [
        _lineal_at(mask, 1, steps, periodic, z_star[0]),
        _lineal_at(mask, 0, steps, periodic, z_star[1]),
        _pooled_chords(mask, 1, steps, periodic),
        _pooled_chords(mask, 0, steps, periodic),
        specific_surface(image, 1, spacing=steps, periodic=periodic, method="faces"),
    ]


def _checks(observed, statistics, confidence) -> tuple[tuple[StatisticCheck, ...], bool]:
    n = statistics.shape[0]
    mean = statistics.mean(axis=0)
    sd = statistics.std(axis=0, ddof=1)
    width = sd * math.sqrt(1.0 + 1.0 / n)
    t = stats.t.ppf(0.5 + confidence / 2.0, n - 1)
    t_family = stats.t.ppf(1.0 - (1.0 - confidence) / (2.0 * len(observed)), n - 1)
    checks, consistent = [], True
    for (name, description), value, m, w in zip(_CHECKS, observed, mean, width, strict=True):
        low, high = float(m - t * w), float(m + t * w)
        checks.append(
            StatisticCheck(name, float(value), low, high, bool(low <= value <= high), description)
        )
        consistent &= bool(abs(value - m) <= t_family * w)
    return tuple(checks), consistent


@dataclass(frozen=True)
class _Measure:
    """What every bootstrap image shares with the image: grid, lags, checks' lengths."""

    shape: tuple[int, ...]
    steps: tuple[float, ...]
    box: tuple[int, ...]
    max_lag: float
    periodic: bool
    z_star: tuple[float, float]
    fixed: dict
    confidence: float
    test_isotropy: bool  # refit every bootstrap image with per-axis lengths too


@dataclass(frozen=True)
class _Outcome:
    errors: Mapping
    parameters: Mapping
    checks: tuple
    consistent: bool
    excess: float
    spreads: np.ndarray | None  # (n, d) log-length deviations of isotropic bootstrap images


def _log_deviations(lengths) -> np.ndarray:
    """Logarithm of each per-axis length minus their mean (zero for an isotropic one)."""
    logs = np.log(np.asarray(lengths))
    return logs - logs.mean()


def _isotropy_test(observed: np.ndarray, bootstrap: np.ndarray, confidence: float):
    """Largest studentized deviation of the image's log lengths from the isotropic
    bootstrap images' (prediction of one more image), and its Bonferroni bound.
    """
    n, d = bootstrap.shape
    scale = bootstrap.std(axis=0, ddof=1) * math.sqrt(1.0 + 1.0 / n)
    z = float(np.max(np.abs(observed - bootstrap.mean(axis=0)) / scale))
    bound = float(stats.t.ppf(1.0 - (1.0 - confidence) / (2.0 * d), n - 1))
    return z, bound


def _candidates(fits: list[ModelFit]) -> list[ModelFit]:
    """The models worth a bootstrap, in the order they are tried.

    First the model of least misfit, or one with fewer free parameters within
    ``SIMPLER_MODEL_TOLERANCE`` of it; then every other model within a factor
    ``1 + CANDIDATE_TOLERANCE`` of the least misfit, by misfit.
    """
    best = fits[0].misfit
    first = min(
        (f for f in fits if f.misfit <= best * (1.0 + SIMPLER_MODEL_TOLERANCE)),
        key=lambda f: (f.free_parameters, f.misfit),
    )
    others = [f for f in fits if f is not first and f.misfit <= best * (1 + CANDIDATE_TOLERANCE)]
    return [first, *others]


def _bootstrap(
    fit: ModelFit, observed, measure: _Measure, root, n_bootstrap, shells: _Shells | None
) -> _Outcome:
    """Draw, measure and refit one synthetic image per child of the root seed sequence;
    with ``shells`` the refit is the two-stage one of the image (:func:`_fit_gls`).
    """
    per_axis = isinstance(fit.parameters.get("correlation_length"), tuple)
    test = measure.test_isotropy and fit.model not in BOOLEAN_MODELS and not per_axis
    rows: dict[str, list] = {key: [] for key in fit.parameters}
    statistics, spreads = [], []
    excess = 0.0
    for child in np.random.SeedSequence(root.entropy).spawn(n_bootstrap):
        synthetic, child_excess = _draw(
            fit, measure.shape, measure.steps, np.random.default_rng(child)
        )
        excess = max(excess, child_excess)
        s2 = _s2_box(synthetic, measure.box, measure.periodic)
        data = _Data.from_box(s2, float(synthetic.mean()), measure.steps, measure.max_lag)
        refit = _fit(fit.model, data, per_axis, measure.fixed)
        if shells is not None:
            refit = _fit_gls(refit, data, shells, measure.fixed)
        for key in rows:
            rows[key].append(refit.parameters[key])
        if test:
            lengths = _fit(fit.model, data, True, measure.fixed).parameters["correlation_length"]
            spreads.append(_log_deviations(lengths))
        statistics.append(
            _check_statistics(synthetic, measure.steps, measure.periodic, measure.z_star)
        )
    parameters = {key: np.asarray(values, dtype=np.float64) for key, values in rows.items()}
    errors = {
        key: (
            tuple(float(v) for v in values.std(axis=0, ddof=1))
            if values.ndim == 2
            else float(values.std(ddof=1))
        )
        for key, values in parameters.items()
    }
    checks, consistent = _checks(observed, np.asarray(statistics), measure.confidence)
    return _Outcome(
        MappingProxyType(errors),
        MappingProxyType(parameters),
        checks,
        consistent,
        excess,
        np.asarray(spreads) if test else None,
    )


# ------------------------------------------------------------------------------ output


def _format(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:.4g}" for v in value) + ")"
    return f"{value:.4g}"


def _toml_value(value) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _plain(mapping) -> dict:
    return {
        k: list(v) if isinstance(v, tuple) else bool(v) if isinstance(v, np.bool_) else v
        for k, v in mapping.items()
    }
