r"""Probabilistic PCA: EM with a continuous, Gaussian latent variable.

The model is :math:`\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I}_M)` and
:math:`\mathbf{x} \mid \mathbf{z} \sim \mathcal{N}(\mathbf{W}\mathbf{z} + \boldsymbol\mu, \sigma^2\mathbf{I}_D)`
(:eq:`eq-bey2-ppca-model`), so that :math:`\mathbf{x} \sim \mathcal{N}(\boldsymbol\mu, \mathbf{W}\mathbf{W}^\top +
\sigma^2\mathbf{I})`. The E-step is the Gaussian posterior of :math:`\mathbf{z}` (:eq:`eq-bey2-ppca-posterior`), the
M-step updates :math:`\mathbf{W}` and :math:`\sigma^2` (:eq:`eq-bey2-ppca-m-step-w`, :eq:`eq-bey2-ppca-m-step-sigma`),
and :func:`ppca_closed_form` gives the maximum-likelihood solution that EM converges to
(:eq:`eq-bey2-ppca-closed-form`).
"""

from typing import NamedTuple

import numpy as np

from ._checks import check_data
from .gaussian import LOG_2PI


def _check_ppca(X, mean, W, sigma2):
    X = check_data(X)
    D = X.shape[1]
    mean = np.asarray(mean, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if mean.shape != (D,):
        raise ValueError(f"mean must have shape (D,) = ({D},); got shape {mean.shape}")
    if W.ndim != 2 or W.shape[0] != D or not 1 <= W.shape[1] <= D:
        raise ValueError(f"W must have shape (D, M) with D = {D} and 1 <= M <= D; got shape {W.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(W))):
        raise ValueError("mean or W contains NaN or infinite values")
    if not np.isfinite(sigma2) or sigma2 <= 0:
        raise ValueError(f"sigma2, the noise variance, must be positive; got {sigma2!r}")
    return X, mean, W, float(sigma2)


def _check_n_components(n_components, n_features):
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ValueError(f"the latent dimension M must be an integer; got {n_components!r}")
    if not 1 <= n_components < n_features:
        raise ValueError(
            f"the latent dimension M must satisfy 1 <= M < D = {n_features}, so that some variance is left "
            f"for the noise; got M = {n_components}"
        )


def ppca_log_likelihood(X, mean, W, sigma2):
    r"""Log-likelihood of probabilistic PCA, :math:`\sum_n \log\mathcal{N}(\mathbf{x}_n \mid \boldsymbol\mu, \mathbf{C})`.

    Implements :eq:`eq-bey2-ppca-marginal` with :math:`\mathbf{C} = \mathbf{W}\mathbf{W}^\top + \sigma^2\mathbf{I}`,
    through a Cholesky factor of :math:`\mathbf{C}`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    mean : array-like of shape (D,)
        The mean :math:`\boldsymbol\mu`.
    W : array-like of shape (D, M)
        The loading matrix.
    sigma2 : float
        The noise variance :math:`\sigma^2 > 0`.

    Returns
    -------
    float
        The total log-likelihood.

    Raises
    ------
    ValueError
        If the shapes disagree or ``sigma2`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.latent_gaussian as lg
    >>> round(lg.ppca_log_likelihood(np.zeros((1, 2)), np.zeros(2), np.zeros((2, 1)), 1.0), 4)  # -log(2 pi)
    -1.8379
    """
    X, mean, W, sigma2 = _check_ppca(X, mean, W, sigma2)
    D = X.shape[1]
    C = W @ W.T + sigma2 * np.eye(D)
    L = np.linalg.cholesky(C)
    u = np.linalg.solve(L, (X - mean).T)
    log_det = 2.0 * np.sum(np.log(np.diag(L)))
    return float(-0.5 * (X.shape[0] * (D * LOG_2PI + log_det) + np.sum(u**2)))


def ppca_e_step(X, mean, W, sigma2):
    r"""E-step of probabilistic PCA: the Gaussian posterior :math:`p(\mathbf{z}_n \mid \mathbf{x}_n)` of every point.

    Implements :eq:`eq-bey2-ppca-posterior`: with :math:`\mathbf{V} = \mathbf{W}^\top\mathbf{W} + \sigma^2\mathbf{I}_M`,
    the posterior mean is :math:`\mathbf{m}_n = \mathbf{V}^{-1}\mathbf{W}^\top(\mathbf{x}_n - \boldsymbol\mu)` and the
    posterior covariance :math:`\sigma^2\mathbf{V}^{-1}`, the same for every point.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    mean : array-like of shape (D,)
        The mean :math:`\boldsymbol\mu`.
    W : array-like of shape (D, M)
        The loading matrix.
    sigma2 : float
        The noise variance :math:`\sigma^2 > 0`.

    Returns
    -------
    posterior_means : ndarray of shape (N, M)
        Row n is :math:`\mathbf{m}_n = \mathbb{E}[\mathbf{z}_n \mid \mathbf{x}_n]`.
    posterior_covariance : ndarray of shape (M, M)
        :math:`\sigma^2\mathbf{V}^{-1}`, shared by all points.

    Raises
    ------
    ValueError
        If the shapes disagree or ``sigma2`` is not positive.

    Examples
    --------
    With one latent dimension along the first axis, the posterior mean shrinks the first coordinate:

    >>> import numpy as np
    >>> import gmmlab.latent_gaussian as lg
    >>> m, S = lg.ppca_e_step(np.array([[2.0, 5.0]]), np.zeros(2), np.array([[1.0], [0.0]]), 1.0)
    >>> m, S
    (array([[1.]]), array([[0.5]]))
    """
    X, mean, W, sigma2 = _check_ppca(X, mean, W, sigma2)
    V = W.T @ W + sigma2 * np.eye(W.shape[1])
    posterior_means = np.linalg.solve(V, W.T @ (X - mean).T).T
    posterior_covariance = sigma2 * np.linalg.inv(V)
    return posterior_means, posterior_covariance


def ppca_m_step(X, mean, posterior_means, posterior_covariance):
    r"""M-step of probabilistic PCA: the loading matrix and noise variance that maximise the expected log-joint.

    Implements :eq:`eq-bey2-ppca-m-step-w`,
    :math:`\mathbf{W} = \bigl[\sum_n (\mathbf{x}_n - \boldsymbol\mu)\mathbf{m}_n^\top\bigr]`
    :math:`\bigl[\sum_n \mathbb{E}[\mathbf{z}_n\mathbf{z}_n^\top]\bigr]^{-1}` with
    :math:`\mathbb{E}[\mathbf{z}_n\mathbf{z}_n^\top] = \sigma^2\mathbf{V}^{-1} + \mathbf{m}_n\mathbf{m}_n^\top`, then
    :eq:`eq-bey2-ppca-m-step-sigma` for :math:`\sigma^2` with the *new* :math:`\mathbf{W}`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    mean : array-like of shape (D,)
        The mean :math:`\boldsymbol\mu` (the sample mean: it is the maximum-likelihood value, whatever W).
    posterior_means : array-like of shape (N, M)
        The :math:`\mathbf{m}_n` of :func:`ppca_e_step`.
    posterior_covariance : array-like of shape (M, M)
        The shared posterior covariance of :func:`ppca_e_step`.

    Returns
    -------
    W : ndarray of shape (D, M)
        The new loading matrix.
    sigma2 : float
        The new noise variance.

    Raises
    ------
    ValueError
        If the shapes disagree.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.latent_gaussian as lg
    >>> X = np.array([[-2.0, 0.1], [2.0, -0.1], [-1.0, -0.1], [1.0, 0.1]])
    >>> W, sigma2 = lg.ppca_m_step(X, np.zeros(2), *lg.ppca_e_step(X, np.zeros(2), np.array([[1.0], [0.0]]), 1.0))
    >>> W.round(3), round(sigma2, 3)
    (array([[ 1.111],
           [-0.022]]), 0.56)
    """
    X = check_data(X)
    mean = np.asarray(mean, dtype=np.float64)
    posterior_means = np.asarray(posterior_means, dtype=np.float64)
    posterior_covariance = np.asarray(posterior_covariance, dtype=np.float64)
    N, D = X.shape
    if mean.shape != (D,):
        raise ValueError(f"mean must have shape (D,) = ({D},); got shape {mean.shape}")
    if posterior_means.ndim != 2 or posterior_means.shape[0] != N:
        raise ValueError(f"posterior_means must have shape (N, M) with N = {N}; got shape {posterior_means.shape}")
    M = posterior_means.shape[1]
    if posterior_covariance.shape != (M, M):
        raise ValueError(f"posterior_covariance must have shape (M, M) = ({M}, {M}); got {posterior_covariance.shape}")
    centred = X - mean
    sum_zz = N * posterior_covariance + posterior_means.T @ posterior_means  # sum_n E[z_n z_n^T]
    W = np.linalg.solve(sum_zz, posterior_means.T @ centred).T  # sum_zz is symmetric
    sigma2 = (
        np.sum(centred**2) - 2.0 * np.sum((posterior_means @ W.T) * centred) + np.trace(sum_zz @ W.T @ W)
    ) / (N * D)
    return W, float(sigma2)


def ppca_closed_form(X, n_components):
    r"""The maximum-likelihood probabilistic PCA of Tipping and Bishop, from the eigenvectors of the covariance.

    Implements :eq:`eq-bey2-ppca-closed-form`: with the eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_D`
    of the sample covariance :math:`\hat{\boldsymbol\Sigma} = \frac{1}{N}\sum_n(\mathbf{x}_n - \bar{\mathbf{x}})(\mathbf{x}_n -
    \bar{\mathbf{x}})^\top` and the eigenvectors :math:`\mathbf{U}_M` of the largest :math:`M`,
    :math:`\sigma^2 = \frac{1}{D-M}\sum_{j>M}\lambda_j` and
    :math:`\mathbf{W} = \mathbf{U}_M(\mathbf{D}_M - \sigma^2\mathbf{I})^{1/2}`, unique up to a rotation
    :math:`\mathbf{W}\mathbf{R}` of the latent space.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    n_components : int
        The latent dimension :math:`M`, with :math:`1 \le M < D`.

    Returns
    -------
    mean : ndarray of shape (D,)
        The sample mean.
    W : ndarray of shape (D, M)
        The loading matrix (with the rotation :math:`\mathbf{R} = \mathbf{I}`).
    sigma2 : float
        The noise variance, the mean of the discarded eigenvalues.

    Raises
    ------
    ValueError
        If ``n_components`` is not an integer with :math:`1 \le M < D`, or the discarded eigenvalues are all zero.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.latent_gaussian as lg
    >>> X = np.array([[-2.0, 0.1], [2.0, -0.1], [-1.0, -0.1], [1.0, 0.1]])
    >>> mean, W, sigma2 = lg.ppca_closed_form(X, 1)
    >>> np.abs(W).round(3), round(sigma2, 4)  # W is defined up to its sign here
    (array([[1.578],
           [0.032]]), 0.009)
    """
    X = check_data(X)
    N, D = X.shape
    _check_n_components(n_components, D)
    mean = X.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh((X - mean).T @ (X - mean) / N)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]  # largest first
    sigma2 = float(np.mean(eigenvalues[n_components:]))
    if sigma2 <= 0:
        raise ValueError(
            f"the data have no variance outside {n_components} directions, so the noise variance would be 0; "
            "use a smaller latent dimension M"
        )
    scale = np.sqrt(np.maximum(eigenvalues[:n_components] - sigma2, 0.0))
    return mean, eigenvectors[:, :n_components] * scale, sigma2


class PPCAResult(NamedTuple):
    """What :func:`run_ppca_em` returns: the final parameters and the log-likelihood of every iteration."""

    mean: np.ndarray
    """The sample mean, shape (D,), which is the maximum-likelihood mean."""
    W: np.ndarray
    """The final loading matrix, shape (D, M)."""
    sigma2: float
    """The final noise variance."""
    log_likelihoods: list
    """Log-likelihood of the initial parameters (index 0) and after every iteration."""
    n_iter: int
    """Number of iterations run (E-step and M-step pairs)."""
    converged: bool
    """Whether an iteration raised the log-likelihood by less than ``tol`` before ``max_iter`` ran out."""


def run_ppca_em(X, n_components, *, W_init=None, sigma2_init=None, random_state=None, max_iter=1000, tol=1e-6):
    r"""Fit probabilistic PCA by EM: alternate :func:`ppca_e_step` and :func:`ppca_m_step`.

    The mean is set once to the sample mean, its maximum-likelihood value. By the monotonicity theorem of EM,
    no iteration lowers :eq:`eq-bey2-ppca-marginal`; the loop stops when an iteration raises it by less
    than ``tol`` or after ``max_iter`` iterations.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    n_components : int
        The latent dimension :math:`M`, with :math:`1 \le M < D`.
    W_init : array-like of shape (D, M), default=None
        The initial loading matrix; None draws standard normal entries from ``random_state``.
    sigma2_init : float, default=None
        The initial noise variance; None uses the average variance of the coordinates.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for ``W_init``.
    max_iter : int, default=1000
        Largest number of iterations.
    tol : float, default=1e-6
        Stop when an iteration raises the total log-likelihood by less than this.

    Returns
    -------
    PPCAResult
        The final parameters and the log-likelihood after every iteration (index 0 is the start).

    Raises
    ------
    ValueError
        If ``n_components`` is out of range, the initial parameters are invalid, or ``max_iter`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.latent_gaussian as lg
    >>> X = np.random.default_rng(0).normal(size=(200, 3)) * [3.0, 1.0, 0.5]
    >>> fit = lg.run_ppca_em(X, 1, random_state=0, tol=1e-9)
    >>> _, W, sigma2 = lg.ppca_closed_form(X, 1)
    >>> bool(np.allclose(fit.W @ fit.W.T, W @ W.T, atol=1e-3)), bool(abs(fit.sigma2 - sigma2) < 1e-4)
    (True, True)
    """
    X = check_data(X)
    N, D = X.shape
    _check_n_components(n_components, D)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    mean = X.mean(axis=0)
    W = np.random.default_rng(random_state).standard_normal((D, n_components)) if W_init is None else W_init
    sigma2 = float(np.mean(X.var(axis=0))) if sigma2_init is None else sigma2_init
    X, mean, W, sigma2 = _check_ppca(X, mean, W, sigma2)
    if W.shape[1] != n_components:
        raise ValueError(f"W_init must have shape (D, M) = ({D}, {n_components}); got shape {W.shape}")
    log_likelihoods = [ppca_log_likelihood(X, mean, W, sigma2)]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        W, sigma2 = ppca_m_step(X, mean, *ppca_e_step(X, mean, W, sigma2))
        log_likelihoods.append(ppca_log_likelihood(X, mean, W, sigma2))
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            converged = True
            break
    return PPCAResult(mean, W, sigma2, log_likelihoods, n_iter, converged)
