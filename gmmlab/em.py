"""The EM algorithm for Gaussian mixtures with full covariances, written to mirror the book's equations.

These are the teaching functions: plain, vectorised, in log space. The estimator
:class:`gmmlab.GaussianMixture` runs the same mathematics through a fused fast path
(``gmmlab._fast``); the test suite proves the two agree.
"""

from typing import NamedTuple

import numpy as np

from ._checks import check_data, check_mixture, check_responsibilities
from .likelihood import log_joint, log_likelihood, logsumexp


def e_step(X, weights, means, covariances):
    r"""E-step: the responsibilities :math:`r_{nk} = p(z_{nk}=1\mid\mathbf{x}_n, \boldsymbol\theta)`.

    Implements :eq:`eq-responsibilities` in log space,

    .. math::

        \begin{aligned}
        \log r_{nk} &= \log\pi_k + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k) \\
        &\quad - \log\sum_j \pi_j\,\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_j,\boldsymbol\Sigma_j),
        \end{aligned}

    the normaliser computed with :func:`gmmlab.logsumexp` (:eq:`eq-logsumexp`), so a point far from every component still
    gets finite responsibilities that sum to 1.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Mixture weights :math:`\pi_k`, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Component means :math:`\boldsymbol\mu_k`.
    covariances : array-like of shape (K, D, D)
        Component covariances :math:`\boldsymbol\Sigma_k`, each symmetric positive definite.

    Returns
    -------
    responsibilities : ndarray of shape (N, K)
        Each row is a probability vector over the K components.

    Raises
    ------
    ValueError
        If the shapes disagree, a weight is negative or the weights do not sum to 1, or a covariance
        is not symmetric positive definite.

    Examples
    --------
    The running example of the book: the point at -1 is shared by the first two components.

    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> R = gmmlab.e_step(X, *initial)
    >>> R.shape
    (7, 3)
    >>> R[2].round(3)
    array([0.057, 0.943, 0.   ])
    """
    log_r = log_joint(X, weights, means, covariances)
    log_r -= logsumexp(log_r, axis=1, keepdims=True)
    return np.exp(log_r)


def n_k(responsibilities):
    r"""Effective number of points of each component, :math:`N_k = \sum_n r_{nk}`.

    Implements :eq:`eq-n-k`.

    Parameters
    ----------
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, for example from :func:`e_step`.

    Returns
    -------
    ndarray of shape (K,)
        The column sums; they add up to N when every row sums to 1.

    Examples
    --------
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> gmmlab.n_k(gmmlab.e_step(X, *initial)).round(3)
    array([2.057, 2.009, 2.934])
    """
    resp = np.asarray(responsibilities, dtype=np.float64)
    if resp.ndim != 2:
        raise ValueError(f"responsibilities must have shape (N, K); got shape {resp.shape}")
    return resp.sum(axis=0)


def m_step(X, responsibilities, *, reg_covar=0.0):
    r"""M-step: the parameters that maximise the lower bound for fixed responsibilities.

    Implements, in this order, the mean update :eq:`eq-mean-update`
    :math:`\boldsymbol\mu_k = \frac{1}{N_k}\sum_n r_{nk}\mathbf{x}_n`, the covariance update
    :eq:`eq-covariance-update`
    :math:`\boldsymbol\Sigma_k` :math:`= \frac{1}{N_k}\sum_n r_{nk}(\mathbf{x}_n-\boldsymbol\mu_k)(\mathbf{x}_n-\boldsymbol\mu_k)^\top`
    around the *new* means, and the weight update :eq:`eq-weight-update` :math:`\pi_k = N_k / N`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, each row summing to 1.
    reg_covar : float, default=0.0
        Added to the diagonal of every covariance (:eq:`eq-reg-covar`); 0 gives the plain update, the
        exact maximiser of the lower bound.

    Returns
    -------
    weights : ndarray of shape (K,)
        :math:`\pi_k = N_k / N`.
    means : ndarray of shape (K, D)
        The responsibility-weighted means.
    covariances : ndarray of shape (K, D, D)
        The responsibility-weighted covariances around the new means, plus ``reg_covar`` on the diagonal.

    Raises
    ------
    ValueError
        If a component has no responsibility at all (:math:`N_k = 0`), or the shapes disagree.

    Examples
    --------
    One M-step of the book's running example reproduces the published means.

    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> weights, means, covariances = gmmlab.m_step(X, gmmlab.e_step(X, *initial))
    >>> means.ravel().round(1)
    array([-2.7, -0.4,  3.7])
    """
    X = check_data(X)
    resp = check_responsibilities(responsibilities, X.shape[0])
    nk = n_k(resp)
    empty = np.flatnonzero(nk <= 0)
    if empty.size:
        raise ValueError(
            f"component {empty[0]} has no responsibility (N_k = 0), so its mean and covariance are undefined; "
            "re-initialise it or use fewer components"
        )
    means = (resp.T @ X) / nk[:, None]
    n_features = X.shape[1]
    covariances = np.empty((nk.shape[0], n_features, n_features))
    for k in range(nk.shape[0]):
        diff = X - means[k]
        covariances[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
        covariances[k].flat[:: n_features + 1] += reg_covar
    weights = nk / X.shape[0]
    return weights, means, covariances


def lower_bound(X, weights, means, covariances, responsibilities):
    r"""The evidence lower bound :math:`\mathcal{L}(q, \boldsymbol\theta)` for responsibilities :math:`q`.

    Implements :eq:`eq-lower-bound`,

    .. math::

        \begin{aligned}
        \mathcal{L}(q,\boldsymbol\theta) = \sum_n\sum_k r_{nk}\bigl[&\log\pi_k
        + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k) \\
        &- \log r_{nk}\bigr],
        \end{aligned}

    with :math:`0\log 0 = 0`. By :eq:`eq-log-likelihood-decomposition` it equals
    :func:`gmmlab.log_likelihood` minus a KL divergence, so it is never larger and is equal exactly when
    the responsibilities are the posterior returned by :func:`e_step`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.
    responsibilities : array-like of shape (N, K)
        Any distribution :math:`q` over the components for every point: rows on the probability simplex.

    Returns
    -------
    float
        The value of the bound.

    Examples
    --------
    At the posterior the bound equals the log-likelihood.

    >>> import math
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> bound = gmmlab.lower_bound(X, *initial, gmmlab.e_step(X, *initial))
    >>> math.isclose(bound, gmmlab.log_likelihood(X, *initial))
    True
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    resp = check_responsibilities(responsibilities, X.shape[0], weights.shape[0])
    joint = log_joint(X, weights, means, covariances)
    positive = resp > 0  # terms with r_nk = 0 contribute 0, even where log pi_k = -inf
    with np.errstate(divide="ignore"):
        terms = np.where(positive, resp * (joint - np.log(np.where(positive, resp, 1.0))), 0.0)
    return float(terms.sum())


class EMResult(NamedTuple):
    """What :func:`run_em` returns: the final parameters and the whole trajectory.

    Unlike :attr:`gmmlab.KMeansResult.history`, which starts after the first iteration, ``history`` and
    ``log_likelihoods`` start with the initial parameters (index 0).
    """

    weights: np.ndarray
    """Final mixture weights, shape (K,)."""
    means: np.ndarray
    """Final component means, shape (K, D)."""
    covariances: np.ndarray
    """Final component covariances, shape (K, D, D)."""
    responsibilities: np.ndarray
    """Responsibilities at the final parameters, shape (N, K)."""
    log_likelihoods: list
    """Log-likelihood of the initial parameters (index 0) and after every iteration."""
    history: list
    """``(weights, means, covariances)`` of the initial parameters (index 0) and after every iteration."""
    n_iter: int
    """Number of iterations run (E-step and M-step pairs)."""
    converged: bool
    """Whether an iteration raised the log-likelihood by less than ``tol`` before ``max_iter`` ran out."""


def run_em(X, weights, means, covariances, *, max_iter=100, tol=1e-8, reg_covar=0.0):
    r"""Alternate :func:`e_step` and :func:`m_step` until the log-likelihood stops increasing.

    With ``reg_covar=0`` (the exact M-step) and data that affinely span :math:`\mathbb{R}^D`, no
    iteration decreases :eq:`eq-gmm-log-likelihood` (:eq:`eq-em-monotone`). With ``reg_covar > 0`` the
    covariances follow :eq:`eq-reg-covar`: the log-likelihood is then bounded above, so it cannot diverge
    to :math:`+\infty`, but an iteration may decrease it. The loop stops when an iteration changes the
    log-likelihood by less than ``tol`` (a decrease also stops it) or after ``max_iter`` iterations.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Initial mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Initial component means.
    covariances : array-like of shape (K, D, D)
        Initial component covariances, each symmetric positive definite.
    max_iter : int, default=100
        Largest number of iterations; 0 returns the initial parameters.
    tol : float, default=1e-8
        Stop when an iteration raises the total log-likelihood by less than this.
    reg_covar : float, default=0.0
        Passed to :func:`m_step`: added to the diagonal of every covariance.

    Returns
    -------
    EMResult
        The final parameters, their responsibilities, and the log-likelihood and parameters of every
        iteration (index 0 is the initialisation).

    Raises
    ------
    ValueError
        If the initial parameters are invalid, ``max_iter`` is negative, or a covariance becomes singular
        during EM (a collapsing component; see :eq:`eq-reg-covar`).

    Examples
    --------
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> result = gmmlab.run_em(X, *initial)
    >>> result.converged, result.n_iter
    (True, 7)
    >>> round(result.log_likelihoods[0], 2), round(result.log_likelihoods[-1], 2)
    (-28.33, -13.97)
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative; got {max_iter}")
    history = [(weights, means, covariances)]
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        responsibilities = e_step(X, weights, means, covariances)
        weights, means, covariances = m_step(X, responsibilities, reg_covar=reg_covar)
        history.append((weights, means, covariances))
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            converged = True
            break
    responsibilities = e_step(X, weights, means, covariances)
    return EMResult(weights, means, covariances, responsibilities, log_likelihoods, history, n_iter, converged)
