"""The physics-free core shared by every cell problem (private).

Boundary-condition names (``bc``), material stacks and their averages
(``materials``), preconditioned conjugate gradients and their kernels
(``pcg``, ``pcg_kernels``), reference-medium preconditioners diagonalised by
fast transforms (``transforms``), clusters of a voided image and their kernels
(``clusters``, ``cluster_kernels``), the corner geometry of Q1 voxel
elements (``q1_geometry``) and the voxel edges per axis (``spacing``).
Nothing here imports a physics package (``sve.solvers.conductivity``,
``sve.solvers.elasticity``): the architecture test checks it.
"""
