"""The multivariate Gaussian log-density, computed through a Cholesky factor (no explicit inverse)."""

import numpy as np
from scipy.linalg import solve_triangular

from ._checks import check_data, cholesky

LOG_2PI = np.log(2.0 * np.pi)


def gaussian_log_pdf(X, mean, covariance):
    r"""Log-density :math:`\log \mathcal{N}(\mathbf{x}_n \mid \boldsymbol\mu, \boldsymbol\Sigma)` of every row of ``X``.

    Implements :eq:`eq-gaussian-log-pdf`. With :math:`\boldsymbol\Sigma = \mathbf{L}\mathbf{L}^\top`,
    the Mahalanobis term is :math:`\|\mathbf{L}^{-1}(\mathbf{x}_n - \boldsymbol\mu)\|^2` and
    :math:`\log\det\boldsymbol\Sigma = 2\sum_d \log L_{dd}`, so no inverse is ever formed.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The points, one per row.
    mean : array-like of shape (D,)
        The mean :math:`\boldsymbol\mu`.
    covariance : array-like of shape (D, D)
        The covariance :math:`\boldsymbol\Sigma`, symmetric positive definite.

    Returns
    -------
    ndarray of shape (N,)
        The log-density of every row of ``X``.

    Raises
    ------
    ValueError
        If the shapes disagree or the covariance is not symmetric positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> gmmlab.gaussian_log_pdf(np.zeros((1, 2)), np.zeros(2), np.eye(2)).round(4)  # -log(2 pi)
    array([-1.8379])
    """
    X = check_data(X)
    n_features = X.shape[1]
    mean = np.asarray(mean, dtype=np.float64)
    covariance = np.asarray(covariance, dtype=np.float64)
    if mean.shape != (n_features,):
        raise ValueError(f"mean must have shape (D,) = ({n_features},); got shape {mean.shape}")
    if covariance.shape != (n_features, n_features):
        raise ValueError(f"covariance must have shape (D, D) = ({n_features}, {n_features}); got {covariance.shape}")
    L = cholesky(covariance)
    z = solve_triangular(L, (X - mean).T, lower=True)
    mahalanobis = np.sum(z**2, axis=0)
    log_det = 2.0 * np.sum(np.log(np.diag(L)))
    return -0.5 * (n_features * LOG_2PI + log_det + mahalanobis)
