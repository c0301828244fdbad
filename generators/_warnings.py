"""Warning classes of the generators.

``generators`` never imports ``sve``, so it keeps its own. Filter or test a
warning by its class (``warnings.filterwarnings("ignore",
category=ClippedEmbeddingWarning)``, ``pytest.warns(ClippedEmbeddingWarning)``),
never by its wording.
"""

from __future__ import annotations

__all__ = ["ClippedEmbeddingWarning"]


class ClippedEmbeddingWarning(UserWarning):
    """The periodic embedding of a covariance is not positive definite.

    Raised by :func:`generators.gaussian_field` (and the fields built on it)
    when the box is too small for the correlation length: clipping the
    negative eigenvalues of the embedding raises the field variance by the
    relative amount ``excess`` (:func:`generators.embedding_variance_excess`).
    """

    def __init__(self, message: str, excess: float = float("nan")) -> None:
        super().__init__(message)
        self.excess = excess
