r"""Numerics shared by the atomistic models of ``sve.atoms`` (private).

The stress-free spacing of a lattice (the root of its virial next to the
pair minimum), and the quasi-static loading of a clamped system: argument
checks and damped Newton relaxation with the exact banded Hessian. A system
for :func:`relax` has ``energy_gradient(free, clamped)`` (energy and the
gradient over the free coordinates) and ``hessian_banded(free, clamped)``
(the Hessian of the free coordinates in upper banded storage).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize

from sve._validation import check_integer, check_positive, check_real
from sve.atoms._checks import check_stretch


def stress_free_spacing(virial, start: float, hint: str = "") -> float:
    """The root of ``virial(a)`` next to ``start`` (the pair minimum), to 1e-15 relative.

    Scans outwards in steps of 2 % of `start` (down to 0.2, then up to 1.8
    times it) for a sign change and refines it by Brent's method; a
    ValueError (its message ending in `hint`) if there is none.
    """
    if virial(start) == 0.0:
        return float(start)
    for factors in 1.0 - 0.02 * np.arange(1, 40), 1.0 + 0.02 * np.arange(1, 40):
        low = start
        for factor in factors:
            high = start * factor
            if np.sign(virial(high)) != np.sign(virial(low)):
                a, b = sorted((low, high))
                return float(optimize.brentq(virial, a, b, xtol=1e-15 * start, rtol=1e-15))
            low = high
    raise ValueError(f"no stress-free spacing within a factor 0.2 to 1.8 of r_min={start!r}{hint}")


def check_loading(stretches, perturbation, gtol, max_iterations):
    """The checked quasi-static loading: increasing stretches (1-D), perturbation >= 0,
    gtol > 0 and max_iterations >= 1.
    """
    stretches = check_stretch(stretches, "stretches")
    if stretches.ndim != 1 or stretches.size < 1:
        raise ValueError(f"stretches must be a 1-D sequence, got shape {stretches.shape}")
    if np.any(np.diff(stretches) <= 0):
        raise ValueError(f"stretches must increase, got {stretches.tolist()!r}")
    perturbation = check_real(perturbation, "perturbation", -np.inf, np.inf)
    if perturbation < 0:
        raise ValueError(f"perturbation must be >= 0, got {perturbation!r}")
    gtol = check_positive(gtol, "gtol")
    max_iterations = check_integer(max_iterations, "max_iterations", 1)
    return stretches, perturbation, gtol, max_iterations


def lowest_mode(system, free, clamped) -> tuple[float, np.ndarray]:
    """The lowest eigenvalue of the Hessian of the free coordinates and its eigenvector."""
    lowest, vector = linalg.eig_banded(
        system.hessian_banded(free, clamped), select="i", select_range=(0, 0)
    )
    return float(lowest[0]), vector[:, 0]


def relax(system, start, clamped, gtol, max_iterations, scale, unit):
    r"""Damped Newton descent from `start` to a minimum (positive definite Hessian).

    Returns (free coordinates, largest force, iterations, stable). Each step solves
    :math:`(H + \mu I) p = -g` with the exact banded Hessian, :math:`\mu \ge 0` the
    smallest of a geometric ladder that makes the matrix positive definite and the
    energy decrease, the step capped at ``5 unit`` per coordinate (Levenberg–Marquardt
    damping: Newton's quadratic convergence near a minimum, descent elsewhere). A
    stationary point that is not a minimum (the uniform state past its stability
    limit) is left downhill along its negative-curvature mode. Converged: the largest
    force within ``gtol * scale``.
    """
    free = start.copy()
    energy, gradient = system.energy_gradient(free, clamped)
    mu = 0.0
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007
        residual = float(np.max(np.abs(gradient)))
        if residual <= gtol * scale:
            lowest, vector = lowest_mode(system, free, clamped)
            if lowest > 0:
                return free, residual, iteration - 1, True
            trials = [free + sign * unit * np.sqrt(free.size) * vector for sign in (1, -1)]
            values = [system.energy_gradient(t, clamped) for t in trials]
            best = int(np.argmin([v[0] for v in values]))
            free, (energy, gradient) = trials[best], values[best]
            continue
        H = system.hessian_banded(free, clamped)
        top = float(np.max(np.abs(H[-1])))
        for _ in range(60):
            damped = H.copy()
            damped[-1] += mu
            try:
                # Cholesky then two triangular solves (solveh_banded is far slower here
                # when BLAS threads compete for the cores)
                factor = linalg.cholesky_banded(damped)  # LinAlgError: not positive definite
                step = -linalg.cho_solve_banded((factor, False), gradient)
            except linalg.LinAlgError:
                mu = max(4.0 * mu, 1e-6 * top)
                continue
            largest = float(np.max(np.abs(step)))
            if largest > 5.0 * unit:
                step *= 5.0 * unit / largest
            trial = free + step
            new_energy, new_gradient = system.energy_gradient(trial, clamped)
            # downhill, or (near a minimum, where the energy change drowns in round-off)
            # level within round-off with smaller forces
            level = new_energy <= energy + 1e-13 * (abs(energy) + 1.0)
            smaller = np.max(np.abs(new_gradient)) < np.max(np.abs(gradient))
            if new_energy <= energy or (level and smaller):
                free, energy, gradient = trial, new_energy, new_gradient
                mu = 0.0 if mu < 1e-8 * top else mu / 4.0
                break
            mu = max(4.0 * mu, 1e-6 * top)
        else:
            break
    return free, float(np.max(np.abs(gradient))), iteration, False
