"""Covariance structures of the estimator: full, tied, diag and spherical.

Shapes follow scikit-learn: ``full`` (K, D, D), ``tied`` (D, D), ``diag`` (K, D), ``spherical`` (K,).
Every second moment is taken around a mean (centred), never as E[x x^T] - mu mu^T, which loses all
precision for a tight cluster far from the origin.
"""

import numpy as np
from scipy.linalg.blas import dtrmm

from .gaussian import LOG_2PI

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

# Added to N_k so that an empty component divides by a tiny number instead of zero (as scikit-learn does).
NK_FLOOR = 10 * np.finfo(np.float64).eps

SINGULAR_MESSAGE = (
    "the covariance of component {k} is singular or not positive definite: the component has collapsed onto "
    "too few distinct points (for example repeated data points). Increase reg_covar (it is {reg_covar:g}), "
    "use fewer components, or rescale the data."
)


def n_parameters(n_components, n_features, covariance_type):
    """Free parameters of a mixture: K - 1 weights, K D means, and the covariance entries (:eq:`eq-n-parameters`).

    Parameters
    ----------
    n_components : int
        Number of components K.
    n_features : int
        Dimension D.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.

    Returns
    -------
    int
        The number of free parameters P.

    Examples
    --------
    >>> n_parameters(3, 2, "full"), n_parameters(3, 2, "spherical")
    (17, 11)
    """
    D, K = n_features, n_components
    covariance = {"full": K * D * (D + 1) / 2, "tied": D * (D + 1) / 2, "diag": K * D, "spherical": K}
    return int(covariance[covariance_type] + K * D + K - 1)


def estimate_parameters(X, resp, covariance_type, reg_covar):
    r"""M-step from responsibilities for any covariance type, two passes (means first, then centred moments).

    The weights follow :eq:`eq-weight-update`, the means :eq:`eq-mean-update` and the full covariances
    :eq:`eq-covariance-update`, each plus :math:`\epsilon\mathbf{I}` (:eq:`eq-reg-covar`). The other types
    constrain the same weighted moments: tied pools them over components (divided by N), diag keeps their
    diagonals, spherical the mean of each diagonal.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        The data points.
    resp : ndarray of shape (N, K)
        Responsibilities :math:`r_{nk}`, rows summing to 1.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    reg_covar : float
        The :math:`\epsilon` added to every variance (the diagonal), :eq:`eq-reg-covar`.

    Returns
    -------
    weights : ndarray of shape (K,)
        The weights :math:`\pi_k = N_k / N`.
    means : ndarray of shape (K, D)
        The responsibility-weighted means :math:`\boldsymbol\mu_k`.
    covariances : ndarray
        Shape (K, D, D), (D, D), (K, D) or (K,) for full, tied, diag and spherical.

    Examples
    --------
    Hard responsibilities reduce the update to each cluster's sample mean and (biased) variance.

    >>> import numpy as np
    >>> X = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> weights, means, covariances = estimate_parameters(X, resp, "spherical", reg_covar=0.0)
    >>> weights.round(3), means.ravel().round(3), covariances.round(3)
    (array([0.5, 0.5]), array([ 1., 11.]), array([1., 1.]))
    """
    nk = resp.sum(axis=0) + NK_FLOOR
    means = (resp.T @ X) / nk[:, None]
    K, D = means.shape
    if covariance_type in ("full", "tied"):
        own = np.empty((K, D, D))
        for k in range(K):
            diff = X - means[k]
            own[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
    else:
        own = np.stack([resp[:, k] @ (X - means[k]) ** 2 for k in range(K)]) / nk[:, None]
    return nk / nk.sum(), means, finish_covariances(own, nk, covariance_type, reg_covar)


def finish_covariances(own, nk, covariance_type, reg_covar):
    r"""The last step of every M-step: each component's own covariance estimate, constrained to
    ``covariance_type``, plus :math:`\epsilon` on the diagonal (:eq:`eq-reg-covar`).

    The one place where tied covariances are pooled (:math:`\sum_k N_k\boldsymbol\Sigma_k / \sum_k N_k`),
    diagonal ones keep their diagonal, spherical ones the mean of it, and ``reg_covar`` is added; the
    in-memory iterations, the chunked (Dask) one and the initialisation all end here.

    Parameters
    ----------
    own : ndarray
        Each component's weighted centred second moment divided by :math:`N_k`: shape (K, D, D) for full
        and tied, (K, D) (the diagonals) for diag and spherical.
    nk : ndarray of shape (K,)
        The soft counts :math:`N_k` (:eq:`eq-n-k`).
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    reg_covar : float
        The :math:`\epsilon` added to every variance.

    Returns
    -------
    covariances : ndarray
        Shape (K, D, D), (D, D), (K, D) or (K,) for full, tied, diag and spherical (a new array).

    Examples
    --------
    >>> import numpy as np
    >>> finish_covariances(np.array([[1.0, 3.0], [2.0, 2.0]]), np.array([1.0, 3.0]), "spherical", 0.5)
    array([2.5, 2.5])
    """
    if covariance_type == "tied":
        covariances = np.tensordot(nk, own, axes=1) / nk.sum()
        covariances.flat[:: covariances.shape[0] + 1] += reg_covar
    elif covariance_type == "full":
        covariances = own.copy()
        D = own.shape[1]
        covariances[:, np.arange(D), np.arange(D)] += reg_covar
    elif covariance_type == "diag":
        covariances = own + reg_covar
    else:
        covariances = own.mean(axis=1) + reg_covar
    return covariances


def precisions_cholesky(covariances, covariance_type, reg_covar=0.0):
    r"""Cholesky factors of the precisions, as scikit-learn stores them (``precisions_cholesky_``).

    For full and tied, the upper-triangular :math:`\mathbf{P}` with
    :math:`\mathbf{P}\mathbf{P}^\top = \boldsymbol\Sigma^{-1} = \boldsymbol\Lambda`, the precision matrix; for
    diag and spherical, :math:`1/\sqrt{\sigma^2}` elementwise. They are what :eq:`eq-gaussian-log-pdf` needs:
    its quadratic form is a squared norm after multiplying by :math:`\mathbf{P}`, and its log-determinant the
    sum of the logs of :math:`\mathbf{P}`'s diagonal.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    reg_covar : float, default=0.0
        Only quoted in the error message.

    Returns
    -------
    ndarray
        The precision Cholesky factors, in the shape of ``covariances``.

    Raises
    ------
    ValueError
        Naming the collapsed component, when a covariance is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> P = precisions_cholesky(np.array([[[4.0, 0.0], [0.0, 0.25]]]), "full")
    >>> P[0]
    array([[0.5, 0. ],
           [0. , 2. ]])
    >>> precisions_cholesky(np.array([4.0, 0.0]), "spherical")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the covariance of component 1 is singular or not positive definite: ...
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[None]
        try:
            lower = np.linalg.cholesky(stack)  # all components at once
        except np.linalg.LinAlgError:
            for k, cov in enumerate(stack):  # name the first that failed
                try:
                    np.linalg.cholesky(cov)
                except np.linalg.LinAlgError:
                    raise ValueError(SINGULAR_MESSAGE.format(k=k, reg_covar=reg_covar)) from None
            raise
        # The inverse of a lower-triangular factor is lower triangular; tril removes rounding above the diagonal.
        chol = np.swapaxes(np.tril(np.linalg.inv(lower)), -1, -2)
        return chol if covariance_type == "full" else chol[0]
    covariances = np.asarray(covariances)
    bad = np.argwhere(~(covariances > 0))
    if bad.size:
        raise ValueError(SINGULAR_MESSAGE.format(k=int(bad[0, 0]), reg_covar=reg_covar))
    return 1.0 / np.sqrt(covariances)


def check_not_degenerate(covariances, covariance_type, variance_floor, reg_covar):
    """Raise the collapse message if a covariance's smallest variance is below ``variance_floor``.

    A component that has collapsed onto repeated points gets a covariance of rounding-error size (say
    1e-31), which a Cholesky factorisation may still accept; relative to the data's own spread it is
    singular, and the likelihood it reports is meaningless: the singularity of :eq:`eq-ml-singularity`.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    variance_floor : float
        The smallest variance (eigenvalue, for full and tied) that counts as non-degenerate.
    reg_covar : float
        Only quoted in the error message.

    Returns
    -------
    None
        Returns only if every component is non-degenerate.

    Raises
    ------
    ValueError
        Naming the first component whose smallest variance is at or below ``variance_floor`` (or NaN).

    Examples
    --------
    >>> import numpy as np
    >>> check_not_degenerate(np.array([[1.0, 2.0], [1e-31, 1.0]]), "diag", 1e-12, 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the covariance of component 1 is singular or not positive definite: ...
    """
    if covariance_type in ("full", "tied"):
        stack = covariances if covariance_type == "full" else covariances[None]
        smallest = np.linalg.eigvalsh(stack)[:, 0]
    else:
        smallest = covariances.min(axis=1) if covariance_type == "diag" else covariances
    bad = np.flatnonzero(~(smallest > variance_floor))
    if bad.size:
        raise ValueError(SINGULAR_MESSAGE.format(k=int(bad[0]), reg_covar=reg_covar))


def checked_precisions_cholesky(covariances, covariance_type, variance_floor, reg_covar):
    r""":func:`check_not_degenerate`, then :func:`precisions_cholesky`: the same result and the same error, but the
    eigenvalues of full and tied covariances are computed only when a cheap bound cannot rule a collapse out.

    The smallest variance of a covariance :math:`\boldsymbol\Sigma_k` (with ``reg_covar``, :eq:`eq-reg-covar`)
    is the inverse of its precision's largest eigenvalue, which is at most the precision's trace, the sum
    of the factor's squares: when every ``1 / trace`` is above ``variance_floor``, no component is
    degenerate.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    variance_floor : float
        The smallest variance (eigenvalue, for full and tied) that counts as non-degenerate.
    reg_covar : float
        Only quoted in the error message.

    Returns
    -------
    ndarray
        The precision Cholesky factors, in the shape of ``covariances``.

    Raises
    ------
    ValueError
        As :func:`check_not_degenerate` and then :func:`precisions_cholesky` raise it.

    Examples
    --------
    >>> import numpy as np
    >>> checked_precisions_cholesky(np.array([[[4.0, 0.0], [0.0, 0.25]]]), "full", 1e-12, 0.0)[0]
    array([[0.5, 0. ],
           [0. , 2. ]])
    """
    if covariance_type not in ("full", "tied"):
        check_not_degenerate(covariances, covariance_type, variance_floor, reg_covar)
        return precisions_cholesky(covariances, covariance_type, reg_covar)
    try:
        prec_chol = precisions_cholesky(covariances, covariance_type, reg_covar)
    except ValueError:
        check_not_degenerate(covariances, covariance_type, variance_floor, reg_covar)  # its message first
        raise
    if not np.all(1.0 / np.sum(prec_chol**2, axis=(-2, -1)) > variance_floor):
        check_not_degenerate(covariances, covariance_type, variance_floor, reg_covar)
    return prec_chol


def precisions_from_cholesky(prec_chol, covariance_type):
    r"""The precision matrices :math:`\boldsymbol\Lambda = \mathbf{P}\mathbf{P}^\top` (or vectors) from their Cholesky factors.

    The inverse of :func:`precisions_cholesky`'s map up to the factorisation: the precisions
    :math:`\boldsymbol\Sigma^{-1}` of :eq:`eq-gaussian-log-pdf`.

    Parameters
    ----------
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.

    Returns
    -------
    ndarray
        The precisions, in the shape of ``prec_chol``.

    Examples
    --------
    >>> import numpy as np
    >>> precisions_from_cholesky(np.array([0.5, 2.0]), "spherical")
    array([0.25, 4.  ])
    """
    if covariance_type == "full":
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def covariances_from_cholesky(prec_chol, covariance_type):
    r"""The covariances :math:`\boldsymbol\Sigma = (\mathbf{P}\mathbf{P}^\top)^{-1}` implied by precision Cholesky factors.

    Used when only precisions are given; the inverse of :func:`precisions_cholesky`, so that
    :eq:`eq-gaussian-log-pdf` can be evaluated either way.

    Parameters
    ----------
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.

    Returns
    -------
    ndarray
        The covariances, in the shape of ``prec_chol``.

    Examples
    --------
    >>> import numpy as np
    >>> covariances = np.array([[[2.0, 0.5], [0.5, 1.0]]])
    >>> np.allclose(covariances_from_cholesky(precisions_cholesky(covariances, "full"), "full"), covariances)
    True
    """
    if covariance_type == "full":
        inverse = np.linalg.inv(prec_chol)
        return np.swapaxes(inverse, 1, 2) @ inverse
    if covariance_type == "tied":
        inverse = np.linalg.inv(prec_chol)
        return inverse.T @ inverse
    return 1.0 / prec_chol**2


def log_det_cholesky(prec_chol, covariance_type, n_features):
    r"""The log-determinant of the precision's Cholesky factor, :math:`-\tfrac12\log\det\boldsymbol\Sigma_k`.

    The normalising term of :eq:`eq-gaussian-log-pdf`, computed from the factor's diagonal without forming
    a determinant (which would overflow or underflow in high dimensions).

    Parameters
    ----------
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    n_features : int
        Dimension D (a spherical factor is one number per component for all D dimensions).

    Returns
    -------
    ndarray of shape (K,) or float
        One value per component; a single shared value for tied.

    Examples
    --------
    >>> import numpy as np
    >>> log_det_cholesky(np.array([0.5]), "spherical", 2).round(4)  # Sigma = 4 I in 2-D: -1/2 log 16
    array([-1.3863])
    """
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(prec_chol)))
    if covariance_type == "diag":
        return np.sum(np.log(prec_chol), axis=1)
    return n_features * np.log(prec_chol)


def factor_triangles(prec_chol, covariance_type):
    r"""Which triangle each precision factor fills, so that :func:`whiten` multiplies by the triangle only.

    The quadratic form of :eq:`eq-gaussian-log-pdf` is :math:`\lVert(\mathbf{x}-\boldsymbol\mu_k)\mathbf{P}_k\rVert^2`
    with a triangular factor :math:`\mathbf{P}_k`: upper as :func:`precisions_cholesky` makes it, lower when
    it comes from ``precisions_init`` (as scikit-learn makes it).

    Parameters
    ----------
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.

    Returns
    -------
    list or None
        ``"upper"``, ``"lower"`` or None (neither) per component (one entry for tied); None for diag and
        spherical.

    Examples
    --------
    >>> import numpy as np
    >>> factor_triangles(np.array([[[1.0, 2.0], [0.0, 3.0]], [[1.0, 0.0], [2.0, 3.0]]]), "full")
    ['upper', 'lower']
    """
    if covariance_type not in ("full", "tied"):
        return None
    factors = prec_chol if covariance_type == "full" else prec_chol[None]
    return [
        "upper" if not np.any(np.tril(f, -1)) else "lower" if not np.any(np.triu(f, 1)) else None for f in factors
    ]


def whiten(diff, prec_chol, covariance_type, k, *, out=None, triangle=None):
    r"""Map centred data by component k's precision factor, so squared row norms are Mahalanobis terms.

    The rows of the result have squared norms
    :math:`(\mathbf{x}-\boldsymbol\mu_k)^\top\boldsymbol\Sigma_k^{-1}(\mathbf{x}-\boldsymbol\mu_k)`, the quadratic
    form of :eq:`eq-gaussian-log-pdf`.

    Parameters
    ----------
    diff : ndarray of shape (N, D)
        Centred data :math:`\mathbf{x}_n - \boldsymbol\mu_k`.
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.
    k : int
        The component whose factor to use (ignored for tied, whose factor is shared).
    out : ndarray of shape (N, D), float64 and C-contiguous, optional
        Scratch for the result (full and tied): with ``triangle``, the product is then BLAS's triangular
        one, in place, half the multiplications of a dense product.
    triangle : {"upper", "lower"}, optional
        The triangle the factor fills (:func:`factor_triangles`).

    Returns
    -------
    ndarray of shape (N, D)
        The whitened differences.

    Examples
    --------
    >>> import numpy as np
    >>> whiten(np.array([[2.0, 2.0]]), np.array([0.5]), "spherical", 0)  # Sigma = 4 I: one unit each way
    array([[1., 1.]])
    >>> factor = np.array([[[0.5, 1.0], [0.0, 2.0]]])
    >>> whiten(np.array([[2.0, 1.0]]), factor, "full", 0, out=np.empty((1, 2)), triangle="upper")
    array([[1., 4.]])
    """
    if covariance_type not in ("full", "tied"):
        return diff * prec_chol[k]
    factor = prec_chol[k] if covariance_type == "full" else prec_chol
    if out is None or triangle is None:
        return diff @ factor
    out[...] = diff
    # (diff @ factor)^T = factor^T diff^T, computed in the Fortran view of out's rows
    return dtrmm(1.0, factor, out.T, side=0, lower=triangle == "lower", trans_a=1, overwrite_b=1).T


def log_gaussian_prob(X, means, prec_chol, covariance_type):
    r"""The Gaussian log-densities :math:`\log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`, :eq:`eq-gaussian-log-pdf`.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        The data points.
    means : ndarray of shape (K, D)
        Component means :math:`\boldsymbol\mu_k`.
    prec_chol : ndarray
        Precision Cholesky factors in the shape of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The covariance structure.

    Returns
    -------
    ndarray of shape (N, K)
        The log-density of every point under every component.

    Examples
    --------
    >>> import numpy as np
    >>> log_gaussian_prob(np.zeros((1, 1)), np.zeros((1, 1)), np.array([1.0]), "spherical").round(4)
    array([[-0.9189]])
    """
    N, D = X.shape
    K = means.shape[0]
    log_det = log_det_cholesky(prec_chol, covariance_type, D)
    mahalanobis = np.empty((N, K))
    for k in range(K):
        y = whiten(X - means[k], prec_chol, covariance_type, k)
        mahalanobis[:, k] = np.einsum("ij,ij->i", y, y)
    return -0.5 * (D * LOG_2PI + mahalanobis) + log_det
