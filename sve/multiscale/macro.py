r"""Macro boundary-value problems of conductivity and linear elasticity on scikit-fem meshes.

The material is one effective tensor, one tensor per element (a mesoscale
random field), or a cell model evaluated at every Gauss point (FE²,
:mod:`sve.multiscale.fe2`). The solver is Newton's method on the weak form; with a
linear material (every case but a nonlinear cell model) it ends after one linear solve.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem

from sve._validation import SYMMETRY_TOLERANCE, check_choice, check_integer, check_real

__all__ = ["MacroResult", "solve_macro", "PHYSICS", "mandel_size"]

#: The physics of a macro problem.
PHYSICS = ("conductivity", "elasticity")

SQRT2 = math.sqrt(2.0)

_ELEMENTS = {
    "quad": skfem.ElementQuad1,
    "tri": skfem.ElementTriP1,
    "hex": skfem.ElementHex1,
    "tet": skfem.ElementTetP1,
}
#: Default quadrature order per mesh kind: 2**d Gauss points for Q1 cells (exact for the
#: stiffness of a parallelogram), 3 (4) points for simplices (exact for a P2 integrand).
_INTORDER = {"quad": 3, "hex": 3, "tri": 2, "tet": 2}


def mandel_size(ndim: int) -> int:
    """Number of Mandel components of a symmetric tensor in `ndim` dimensions (3 or 6)."""
    return ndim * (ndim + 1) // 2


def _kind(mesh: skfem.Mesh) -> str:
    """The element kind of a linear mesh; TypeError for any other mesh."""
    kinds = {
        skfem.MeshQuad1: "quad",
        skfem.MeshTri1: "tri",
        skfem.MeshHex1: "hex",
        skfem.MeshTet1: "tet",
    }
    if type(mesh) not in kinds:
        raise TypeError(
            "mesh must be a linear scikit-fem MeshTri, MeshQuad, MeshTet or MeshHex, "
            f"got {type(mesh).__name__}"
        )
    return kinds[type(mesh)]


def _mandel(eps: np.ndarray) -> np.ndarray:
    """Mandel vector (m, ...) of a symmetric tensor field (d, d, ...)."""
    if eps.shape[0] == 2:
        return np.stack([eps[0, 0], eps[1, 1], SQRT2 * eps[0, 1]])
    return np.stack(
        [eps[0, 0], eps[1, 1], eps[2, 2], SQRT2 * eps[1, 2], SQRT2 * eps[0, 2], SQRT2 * eps[0, 1]]
    )


def _measure(u, physics: str) -> np.ndarray:
    """The macro gradient of a field: grad u (d, ...) or the Mandel strain (m, ...)."""
    if physics == "conductivity":
        return np.asarray(u.grad)
    grad = np.asarray(u.grad)
    return _mandel(0.5 * (grad + np.swapaxes(grad, 0, 1)))


@skfem.BilinearForm
def _tangent_conductivity(u, v, w):
    return np.einsum("ij...,j...,i...->...", w.T, u.grad, v.grad)


@skfem.BilinearForm
def _tangent_elasticity(u, v, w):
    return np.einsum(
        "ij...,j...,i...->...", w.T, _measure(u, "elasticity"), _measure(v, "elasticity")
    )


@skfem.LinearForm
def _internal_conductivity(v, w):
    return np.einsum("i...,i...->...", w.S, v.grad)


@skfem.LinearForm
def _internal_elasticity(v, w):
    return np.einsum("i...,i...->...", w.S, _measure(v, "elasticity"))


@skfem.LinearForm
def _scalar_load(v, w):
    return w.g * v


@skfem.LinearForm
def _vector_load(v, w):
    return np.einsum("i...,i...->...", w.g, v)


@dataclass(frozen=True, eq=False)
class MacroResult:
    """The solution of a macro problem.

    Attributes
    ----------
    physics : str
        ``"conductivity"`` or ``"elasticity"``.
    mesh : skfem.Mesh
        The macro mesh.
    basis : skfem.CellBasis
        The finite-element basis (Q1 or P1 nodal elements; vector-valued for
        elasticity) with its quadrature.
    dofs : ndarray of shape (n_dofs,), float64
        The solution's degrees of freedom in the order of `basis`.
    field : ndarray of shape (n_nodes,) or (d, n_nodes), float64
        The potential (conductivity) or displacement (elasticity) at the mesh
        nodes.
    gradient : ndarray of shape (n_elements, n_points, m), float64
        At every Gauss point, the gradient of the potential (``m = d``) or the
        strain in Mandel notation (``m = 3`` in 2-D, 6 in 3-D).
    flux : ndarray of shape (n_elements, n_points, m), float64
        At every Gauss point, the flux ``q = K grad u`` (the sign convention
        of ``sve.apparent_conductivity``: conductivity times gradient,
        without the minus sign of Fourier's law) or the stress in Mandel
        notation.
    tangent : ndarray of shape (n_elements, n_points, m, m), float64
        The material tensor at every Gauss point (the consistent tangent of
        the last Newton step for a nonlinear cell model).
    weights : ndarray of shape (n_elements, n_points), float64
        Quadrature weights times the Jacobian: the volume each point stands for.
    energy : float
        ``1/2 int grad u . q dV``, the stored energy (per unit thickness in
        2-D). At the solution of a problem with prescribed fluxes or
        tractions only, it equals the complementary energy
        ``1/2 int q . K^-1 q dV``.
    reactions : ndarray of shape (n_dofs,), float64
        ``A u - f_source``: at a Dirichlet degree of freedom the consistent
        nodal flux or force ``int (q . n) N_a dS`` that holds it.
    iterations : int
        Newton iterations (1 for a linear material).
    residual : float
        Final relative residual of the free degrees of freedom.
    cell_solves : int
        Cell problems solved by this call (FE²; 0 otherwise).
    cache_hits : int
        Gauss points whose cell problem came from the cache or from another
        point with the same problem (FE²; 0 otherwise).
    wall_time : float
        Seconds spent in the call.
    """

    physics: str
    mesh: skfem.Mesh
    basis: skfem.CellBasis
    dofs: np.ndarray
    field: np.ndarray
    gradient: np.ndarray
    flux: np.ndarray
    tangent: np.ndarray
    weights: np.ndarray
    energy: float
    reactions: np.ndarray
    iterations: int
    residual: float
    cell_solves: int = 0
    cache_hits: int = 0
    wall_time: float = 0.0
    _neumann: dict = field(default_factory=dict, repr=False)

    @property
    def element_gradient(self) -> np.ndarray:
        """Volume average per element of `gradient`, shape (n_elements, m)."""
        return np.einsum("ep,epi->ei", self.weights, self.gradient) / self.weights.sum(1)[:, None]

    @property
    def element_flux(self) -> np.ndarray:
        """Volume average per element of `flux`, shape (n_elements, m)."""
        return np.einsum("ep,epi->ei", self.weights, self.flux) / self.weights.sum(1)[:, None]

    def boundary_flux(self, name: str) -> float | np.ndarray:
        """Total flux (conductivity) or force (elasticity) through a boundary part.

        Parameters
        ----------
        name : str
            A named boundary of the mesh (``"xmax"``, ...).

        Returns
        -------
        float or ndarray of shape (d,)
            ``int_B q . n dS`` (``n`` the outward normal, ``q = K grad u``) or
            the resultant traction ``int_B sigma n dS``. Per component: where
            the part holds Dirichlet data, the sum of the consistent nodal
            `reactions` of its nodes (exact for the discrete problem; a node
            shared with another Dirichlet part counts in both); elsewhere the
            integral of the prescribed flux or traction on the part (0 where
            none is prescribed).

        Raises
        ------
        ValueError
            If the mesh has no boundary of that name.
        """
        if not isinstance(name, str) or name not in self.mesh.boundaries:
            raise ValueError(
                f"name must be a named boundary of the mesh {sorted(self.mesh.boundaries)}, "
                f"got {name!r}"
            )
        nodes = np.unique(self.mesh.facets[:, self.mesh.boundaries[name]])
        components = self.basis.nodal_dofs[:, nodes]  # (ncomp, n)
        constrained = self._neumann["constrained"]
        prescribed = self._neumann["loads"].get(name)
        totals = []
        for c, dofs in enumerate(components):
            if constrained[dofs].any():
                totals.append(float(self.reactions[dofs].sum()))
            elif prescribed is not None:
                totals.append(float(prescribed[c]))
            else:
                totals.append(0.0)
        return totals[0] if self.physics == "conductivity" else np.array(totals)


def _check_tensor(tensor: np.ndarray, name: str) -> None:
    """Finite, symmetric and positive definite, every matrix of a stack (..., m, m)."""
    if not np.all(np.isfinite(tensor)):
        raise ValueError(f"{name} must be finite")
    asym = np.abs(tensor - np.swapaxes(tensor, -1, -2)).max()
    scale = np.abs(tensor).max()
    if asym > SYMMETRY_TOLERANCE * max(scale, np.finfo(float).tiny):
        raise ValueError(f"{name} must be symmetric, got an asymmetry {asym:.3g}")
    lowest = np.linalg.eigvalsh(tensor).min()
    if lowest <= 0:
        raise ValueError(
            f"{name} must be positive definite, got an eigenvalue {lowest:.3g} "
            "(remove void elements with a mask instead)"
        )


def _material_tensors(material, physics: str, ndim: int, shape: tuple[int, int]) -> np.ndarray:
    """One tensor, or one per element, broadcast to (n_el, n_pts, m, m)."""
    m = ndim if physics == "conductivity" else mandel_size(ndim)
    n_el, n_pts = shape
    if isinstance(material, numbers.Real) and not isinstance(material, bool):
        if physics != "conductivity":
            raise TypeError(
                "material must be a stiffness matrix (Mandel notation) for elasticity, "
                f"got the number {material!r}"
            )
        material = float(material) * np.eye(m)
    if not isinstance(material, np.ndarray | list | tuple):
        raise TypeError(
            "material must be a number, an ndarray of tensors or a CellModel, "
            f"got {type(material).__name__}"
        )
    tensor = np.asarray(material, dtype=np.float64)
    if tensor.ndim == 1 and physics == "conductivity" and tensor.shape == (n_el,):
        tensor = tensor[:, None, None] * np.eye(m)
    if tensor.shape == (m, m):
        _check_tensor(tensor, "material")
        return np.broadcast_to(tensor, (n_el, n_pts, m, m)).copy()
    if tensor.shape == (n_el, m, m):
        _check_tensor(tensor, "material")
        return np.repeat(tensor[:, None], n_pts, axis=1)
    if tensor.shape == (n_el, n_pts, m, m):
        _check_tensor(tensor, "material")
        return tensor.copy()
    raise ValueError(
        f"material must be one ({m}, {m}) tensor, one per element ({n_el}, {m}, {m}) "
        f"or one per Gauss point ({n_el}, {n_pts}, {m}, {m}), got shape {tensor.shape}"
    )


def _values(value, x: np.ndarray, ncomp: int, name: str) -> np.ndarray:
    """Evaluate boundary data (a number, a sequence per component or a callable) at x."""
    n = x.shape[1:]
    if callable(value):
        out = np.asarray(value(x), dtype=np.float64)
        want = n if ncomp == 1 else (ncomp, *n)
        try:
            out = np.broadcast_to(out, want)
        except ValueError:
            raise ValueError(
                f"{name}: the callable must return an array of shape {want}, got {out.shape}"
            ) from None
        return out if ncomp > 1 else out[None]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.full((ncomp, *n), float(value))  # every component
    if isinstance(value, list | tuple | np.ndarray) and len(value) == ncomp:
        rows = []
        for entry in value:
            if entry is None:
                rows.append(np.full(n, np.nan))
            elif isinstance(entry, numbers.Real) and not isinstance(entry, bool):
                rows.append(np.full(n, float(entry)))
            elif callable(entry):
                rows.append(np.broadcast_to(np.asarray(entry(x), dtype=np.float64), n))
            else:
                raise TypeError(f"{name}: each component must be a number, None or a callable")
        return np.stack(rows)
    kind = "a number or a callable" if ncomp == 1 else f"a number, {ncomp} entries or a callable"
    raise TypeError(f"{name} must be {kind}, got {value!r}")


def _check_parts(data, mesh: skfem.Mesh, name: str) -> dict:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a dict of boundary name -> data, got {data!r}")
    for part in data:
        if part not in mesh.boundaries:
            raise ValueError(
                f"{name}: {part!r} is not a named boundary of the mesh {sorted(mesh.boundaries)}"
            )
    return dict(data)


def _rigid_modes(basis: skfem.CellBasis, physics: str) -> np.ndarray:
    """The null space of the stiffness without Dirichlet data, (n_dofs, r)."""
    if physics == "conductivity":
        return np.ones((basis.N, 1))
    p = basis.doflocs  # (d, n_dofs): each dof's node coordinates
    dofs = basis.nodal_dofs  # (d, n_nodes)
    ndim = dofs.shape[0]
    x = p[:, dofs[0]]
    modes = []
    for c in range(ndim):
        mode = np.zeros(basis.N)
        mode[dofs[c]] = 1.0
        modes.append(mode)
    for a, b in ((0, 1), (1, 2), (0, 2))[: 1 if ndim == 2 else 3]:
        mode = np.zeros(basis.N)
        mode[dofs[a]] = -x[b]
        mode[dofs[b]] = x[a]
        modes.append(mode)
    return np.stack(modes, axis=1)


def solve_macro(
    mesh: skfem.Mesh,
    material,
    *,
    physics: str = "conductivity",
    dirichlet: Mapping | None = None,
    flux: Mapping | None = None,
    source: Callable | float | None = None,
    intorder: int | None = None,
    tol: float = 1e-10,
    maxiter: int = 20,
    client=None,
    workers: int | None = None,
    cache=None,
) -> MacroResult:
    r"""Solve a macro problem of conductivity or linear elasticity with finite elements.

    Parameters
    ----------
    mesh : skfem.Mesh
        A linear scikit-fem mesh (``MeshTri``, ``MeshQuad``, ``MeshTet``,
        ``MeshHex``), e.g. from :func:`box_mesh` or :func:`read_mesh`, with
        named boundaries.
    material : float, ndarray or CellModel
        One of

        * one tensor: a conductivity ``(d, d)`` (or a number, isotropic), or
          a stiffness ``(m, m)`` in Mandel notation (module
          ``sve.solvers.moduli``; 2-D is plane strain, ``m = 3``);
        * one tensor per element, ``(n_elements, m, m)`` (a mesoscale random
          field, :func:`mesoscale_tensors`), or per Gauss point
          ``(n_elements, n_points, m, m)``;
        * a :class:`CellModel`: a cell problem per Gauss point (FE²), solved
          on Dask (see `client`).

        Tensors are finite, symmetric and positive definite, in any unit.
    physics : {"conductivity", "elasticity"}, default "conductivity"
        Scalar potential with flux ``q = K grad u`` and ``div q + f = 0``, or
        displacement with ``sigma = C : eps(u)`` and ``div sigma + f = 0``.
    dirichlet : dict, optional
        Boundary name -> prescribed potential or displacement: a number, a
        callable ``g(x)`` with ``x`` of shape (d, n) returning (n,) (or
        (d, n) for displacements), or for elasticity a sequence of d entries
        (number, callable or None for a free component, e.g. ``(0.0, None)``
        for a roller).
    flux : dict, optional
        Boundary name -> prescribed normal flux ``q . n`` (``n`` outward; a
        number or a callable of the facet quadrature points ``x`` of shape
        (d, n_facets, n_points)), or traction ``sigma n`` (a sequence of d
        numbers or a callable returning (d, n_facets, n_points)). Parts with
        neither Dirichlet nor flux data carry no flux (natural condition).
    source : float or callable, optional
        Volume source ``f`` (conductivity: a number or ``f(x)`` of shape
        (n_elements, n_points)) or body force (elasticity: d numbers or a
        callable returning (d, n_elements, n_points)).
    intorder : int, optional
        Order of the quadrature rule. Default: 3 for quadrilaterals and
        hexahedra (2**d Gauss points per element), 2 for triangles and
        tetrahedra (3 and 4 points).
    tol : float, default 1e-10
        Newton's method stops when the residual of the free degrees of
        freedom, relative to the largest of the load and the internal force,
        is at most `tol`. In (0, 1).
    maxiter : int, default 20
        Largest number of Newton iterations, >= 1.
    client, workers, cache
        FE² only (a `CellModel` as `material`), passed to
        :func:`evaluate_cells`: a ``distributed.Client``, a scheduler
        address, ``None`` (a local cluster of `workers` processes) or
        ``"serial"`` (no Dask); the :class:`CellCache` that keeps the cell
        results between calls.

    Returns
    -------
    MacroResult
        The field, gradients and fluxes per Gauss point, the energy, the
        reactions, and ``boundary_flux(name)``.

    Raises
    ------
    TypeError, ValueError
        For a bad argument (the message names it); a problem without
        Dirichlet data whose loads are not balanced (the flux or the forces
        and moments do not sum to zero).
    RuntimeError
        If Newton's method does not reach `tol` in `maxiter` iterations
        (nonlinear cell models only).

    Notes
    -----
    Weak form: find ``u = g`` on the Dirichlet parts such that
    ``int grad v . q(grad u) dV = int f v dV + int_N t v dS`` for every
    ``v`` vanishing there. The linear systems are solved directly
    (SuperLU). Without Dirichlet data the problem is solved with Lagrange
    multipliers on its null space (constants; rigid motions), so the
    potential has zero sum over the nodes and the displacement no net
    translation or rotation.

    For a linear cell model, FE² is exactly the macro problem with one
    apparent tensor per Gauss point (the cell's tensor does not depend on
    the macro gradient), and Newton's method ends after one step.

    Examples
    --------
    >>> from sve.multiscale import box_mesh
    >>> mesh = box_mesh((4, 4))
    >>> result = solve_macro(mesh, 2.0, dirichlet={"xmin": 0.0, "xmax": 1.0})
    >>> round(result.boundary_flux("xmax"), 12), round(result.energy, 12)
    (2.0, 1.0)
    """
    with ExitStack() as stack:
        return _solve_macro(
            stack, mesh, material, physics=physics, dirichlet=dirichlet, flux=flux,
            source=source, intorder=intorder, tol=tol, maxiter=maxiter, client=client,
            workers=workers, cache=cache,
        )  # fmt: skip


def _solve_macro(
    stack: ExitStack,
    mesh,
    material,
    *,
    physics,
    dirichlet,
    flux,
    source,
    intorder,
    tol,
    maxiter,
    client,
    workers,
    cache,
) -> MacroResult:
    """The body of `solve_macro`; `stack` holds a Dask client it opens (FE2)."""
    from sve.multiscale.fe2 import (
        CellCache,
        CellModel,
        GaussPoint,
        _check_client,
        _dask_client,
        _make_cells,
        evaluate_cells,
    )

    if not isinstance(mesh, skfem.Mesh):
        raise TypeError(f"mesh must be a scikit-fem Mesh, got {type(mesh).__name__}")
    kind = _kind(mesh)
    check_choice(physics, "physics", PHYSICS)
    ndim = mesh.dim()
    intorder = _INTORDER[kind] if intorder is None else check_integer(intorder, "intorder", 1)
    tol = check_real(tol, "tol", 0.0, 1.0)
    maxiter = check_integer(maxiter, "maxiter", 1)
    dirichlet = _check_parts(dirichlet, mesh, "dirichlet")
    flux = _check_parts(flux, mesh, "flux")
    both = sorted(set(dirichlet) & set(flux))
    if both:
        raise ValueError(f"flux: {both} also hold Dirichlet data")

    import time

    start = time.perf_counter()
    element = _ELEMENTS[kind]()
    if physics == "elasticity":
        element = skfem.ElementVector(element)
    basis = skfem.Basis(mesh, element, intorder=intorder)
    ncomp = 1 if physics == "conductivity" else ndim
    n_el, n_pts = basis.nelems, basis.X.shape[1]
    m = ndim if physics == "conductivity" else mandel_size(ndim)

    # Loads: source and fluxes or tractions.
    b_source = np.zeros(basis.N)
    if source is not None:
        x = np.asarray(basis.global_coordinates())
        g = _values(source, x, ncomp, "source")
        b_source = (_scalar_load if ncomp == 1 else _vector_load).assemble(
            basis, g=g[0] if ncomp == 1 else g
        )
    b_flux = np.zeros(basis.N)
    totals = {}
    for part, value in flux.items():
        facet_basis = skfem.FacetBasis(
            mesh, element, facets=mesh.boundaries[part], intorder=intorder
        )
        x = np.asarray(facet_basis.global_coordinates())
        g = _values(value, x, ncomp, f"flux[{part!r}]")
        if np.isnan(g).any():
            raise ValueError(f"flux[{part!r}] must give every component (no None)")
        load = (_scalar_load if ncomp == 1 else _vector_load).assemble(
            facet_basis, g=g[0] if ncomp == 1 else g
        )
        b_flux += load
        totals[part] = np.array([load[row].sum() for row in basis.nodal_dofs])
    b = b_source + b_flux

    # Dirichlet data at the nodes.
    u = np.zeros(basis.N)
    constrained = np.zeros(basis.N, dtype=bool)
    for part, value in dirichlet.items():
        nodes = np.unique(mesh.facets[:, mesh.boundaries[part]])
        x = mesh.p[:, nodes]
        g = _values(value, x, ncomp, f"dirichlet[{part!r}]")
        for c in range(ncomp):
            keep = ~np.isnan(g[c])
            dofs = basis.nodal_dofs[c, nodes[keep]]
            u[dofs] = g[c][keep]
            constrained[dofs] = True
    free = np.flatnonzero(~constrained)
    modes = None
    if not constrained.any():
        modes = _rigid_modes(basis, physics)
        unbalanced = np.abs(modes.T @ b).max()
        if unbalanced > 1e-9 * max(np.abs(b).sum(), 1.0):
            raise ValueError(
                "flux: without Dirichlet data the fluxes (forces and moments) must balance, "
                f"got a net {unbalanced:.3g}"
            )

    # The material at the Gauss points.
    model = None
    cells_stats = [0, 0]
    if isinstance(material, CellModel):
        model = material
        if model.physics != physics:
            raise ValueError(
                f"material: the cell model's physics is {model.physics!r}, "
                f"the macro problem's {physics!r}"
            )
        if model.ndim != ndim:
            raise ValueError(f"material: the cell model is {model.ndim}-D, the mesh {ndim}-D")
        x = np.asarray(basis.global_coordinates())  # (d, n_el, n_pts)
        points = [GaussPoint(e, q, x[:, e, q].copy()) for e in range(n_el) for q in range(n_pts)]
        _check_client(client)
        if cache is not None and not isinstance(cache, CellCache):
            raise TypeError(f"cache must be a CellCache or None, got {type(cache).__name__}")
        cache = CellCache() if cache is None else cache
        if client != "serial":  # one client for the draws and every Newton iteration
            client = _dask_client(stack, client, workers)
        cells = _make_cells(model, points, client=client)
        tangent = None
    else:
        tangent = _material_tensors(material, physics, ndim, (n_el, n_pts))

    if model is not None and model.linear:
        # The tangent of a linear cell does not depend on the gradient: one solve per cell.
        _, tangent, solved, hits = evaluate_cells(
            model, cells, np.zeros((len(cells), m)), client=client, workers=workers, cache=cache
        )
        cells_stats = [solved, hits]
        tangent = tangent.reshape(n_el, n_pts, m, m)
    linear = model is None or model.linear

    tangent_form = _tangent_conductivity if physics == "conductivity" else _tangent_elasticity
    internal_form = _internal_conductivity if physics == "conductivity" else _internal_elasticity
    iterations, residual = 0, np.inf
    for step in range(maxiter + 1):
        gradient = np.moveaxis(_measure(basis.interpolate(u), physics), 0, -1)  # (n_el,n_pts,m)
        if linear:
            response = np.einsum("epij,epj->epi", tangent, gradient)
        else:
            response, tangent, solved, hits = evaluate_cells(
                model, cells, gradient.reshape(-1, m), client=client, workers=workers, cache=cache
            )
            cells_stats[0] += solved
            cells_stats[1] += hits
            response = response.reshape(n_el, n_pts, m)
            tangent = tangent.reshape(n_el, n_pts, m, m)
        internal = internal_form.assemble(basis, S=np.moveaxis(response, -1, 0))
        scale = max(np.linalg.norm(b), np.linalg.norm(internal), 1e-300)
        residual = np.linalg.norm((internal - b)[free]) / scale
        if step > 0 and (linear or residual <= tol):
            break  # a linear problem is solved by its one step (up to round-off)
        if step == maxiter:
            raise RuntimeError(
                f"Newton's method did not converge in maxiter={maxiter} iterations "
                f"(relative residual {residual:.3g} > tol={tol:g})"
            )
        A = tangent_form.assemble(basis, T=np.moveaxis(tangent, (2, 3), (0, 1)))
        u = u + _linear_solve(A, b - internal, free, modes)
        iterations += 1
    reactions = internal - b_source
    weights = np.asarray(basis.dx)
    energy = 0.5 * float(np.einsum("ep,epi,epi->", weights, gradient, response))
    if ncomp == 1:
        nodal = u[basis.nodal_dofs[0]]
    else:
        nodal = u[basis.nodal_dofs]
    return MacroResult(
        physics=physics,
        mesh=mesh,
        basis=basis,
        dofs=u,
        field=nodal,
        gradient=gradient,
        flux=response,
        tangent=tangent,
        weights=weights,
        energy=energy,
        reactions=reactions,
        iterations=iterations,
        residual=float(residual),
        cell_solves=cells_stats[0],
        cache_hits=cells_stats[1],
        wall_time=time.perf_counter() - start,
        _neumann={"constrained": constrained, "loads": totals},
    )


def _linear_solve(
    A: sp.spmatrix, rhs: np.ndarray, free: np.ndarray, modes: np.ndarray | None
) -> np.ndarray:
    """Solve ``A du = rhs`` on the free dofs (du = 0 on the others), or with Lagrange
    multipliers on `modes` when every dof is free (a pure Neumann problem).
    """
    du = np.zeros(A.shape[0])
    if modes is None:
        Aff = A.tocsr()[free][:, free].tocsc()
        du[free] = spla.spsolve(Aff, rhs[free])
        return du
    r = modes.shape[1]
    M = sp.bmat([[A, sp.csr_matrix(modes)], [sp.csr_matrix(modes.T), None]], format="csc")
    solution = spla.spsolve(M, np.concatenate([rhs, np.zeros(r)]))
    return solution[: A.shape[0]]
