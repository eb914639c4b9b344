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
    X : array of shape (N, D)
    mean : array of shape (D,)
    covariance : array of shape (D, D), symmetric positive definite

    Returns
    -------
    array of shape (N,)
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
