"""Names of the boundary conditions, in one place for every cell problem."""

from __future__ import annotations

#: Canonical name -> upper-case alias, in the order of Huet's hierarchy.
BOUNDARY_CONDITIONS = {
    "kinematic": "KUBC",
    "periodic": "PBC",
    "static": "SUBC",
    "mixed": "MUBC",
}

_BY_NAME = {name: name for name in BOUNDARY_CONDITIONS} | {
    alias.lower(): name for name, alias in BOUNDARY_CONDITIONS.items()
}


def canonical_bc(bc: str) -> str:
    """Return the canonical name of a boundary condition.

    Parameters
    ----------
    bc : str
        A canonical name (``"kinematic"``, ``"periodic"``, ``"static"``,
        ``"mixed"``) or its alias (``"KUBC"``, ``"PBC"``, ``"SUBC"``,
        ``"MUBC"``); case is ignored.

    Returns
    -------
    str
        The canonical name, lower case.

    Raises
    ------
    TypeError
        If `bc` is not a string.
    ValueError
        If `bc` names no known boundary condition.

    Examples
    --------
    >>> canonical_bc("PBC")
    'periodic'
    """
    if not isinstance(bc, str):
        raise TypeError(f"bc must be a string, got {type(bc).__name__} {bc!r}")
    name = _BY_NAME.get(bc.lower())
    if name is None:
        valid = ", ".join(f"{name!r} ({alias!r})" for name, alias in BOUNDARY_CONDITIONS.items())
        raise ValueError(f"bc must be one of {valid}, got {bc!r}")
    return name


def implemented_bc(bc: str, implemented: tuple[str, ...], problem: str) -> str:
    """Return ``canonical_bc(bc)`` if the solver `problem` implements it.

    Raises
    ------
    NotImplementedError
        If `bc` is a known boundary condition missing from `implemented`
        (canonical names).
    """
    name = canonical_bc(bc)
    if name not in implemented:
        done = ", ".join(f"{n!r} ({BOUNDARY_CONDITIONS[n]!r})" for n in implemented)
        raise NotImplementedError(
            f"bc={bc!r} is not implemented yet in {problem}; only {done} is implemented so far"
        )
    return name
