"""EM for a mixture of Bernoullis on binary data, written to mirror the equations of "EM beyond Gaussian mixtures".

The second worked latent-variable model of the course: the same E-step and M-step pattern as for Gaussians,
with each component a product of independent Bernoulli distributions over the D binary features.
"""

from typing import NamedTuple

import numpy as np

from ._checks import check_data, check_responsibilities, check_weights
from .likelihood import logsumexp


def _check_binary(X):
    """Return ``X`` as a float array of shape (N, D) whose entries are all 0 or 1, or raise ``ValueError``."""
    X = check_data(X)
    not_binary = (X != 0) & (X != 1)
    if not_binary.any():
        n, d = np.argwhere(not_binary)[0]
        raise ValueError(
            f"X must be binary (every entry 0 or 1) for a Bernoulli mixture; X[{n}, {d}] = {X[n, d]:.6g}. "
            "Binarise it first, for example with (X > threshold).astype(float)"
        )
    return X


def _check_bernoulli_means(means, n_components, n_features):
    """Return the Bernoulli means as a float array of shape (K, D) with entries in [0, 1]."""
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (n_components, n_features):
        raise ValueError(f"means must have shape (K, D) = ({n_components}, {n_features}); got shape {means.shape}")
    if not np.all(np.isfinite(means)):
        raise ValueError("means contain NaN or infinite values")
    if np.any(means < 0) or np.any(means > 1):
        raise ValueError(
            f"Bernoulli means are probabilities and must lie in [0, 1]; got min {means.min():.5g}, max {means.max():.5g}"
        )
    return means


def _check_bernoulli_mixture(X, weights, means):
    X = _check_binary(X)
    weights = np.asarray(weights, dtype=np.float64)
    weights = check_weights(weights, weights.shape[0] if weights.ndim == 1 else None)
    means = _check_bernoulli_means(means, weights.shape[0], X.shape[1])
    return X, weights, means


def bernoulli_log_pmf(X, means):
    r"""Log-probability of every binary point under every component, :math:`\log p(\mathbf{x}_n \mid \boldsymbol\mu_k)`.

    Implements :eq:`eq-bey-bernoulli-log-pmf`,

    .. math::

        \begin{aligned}
        &\log p(\mathbf{x}_n\mid\boldsymbol\mu_k) \\
        &\quad = \sum_d \bigl[x_{nd}\log\mu_{kd} + (1-x_{nd})\log(1-\mu_{kd})\bigr],
        \end{aligned}

    as two matrix products. A probability of exactly 0 or 1 is allowed: the terms it multiplies by zero count as
    0, and a point that the component cannot produce (a 1 where :math:`\mu_{kd} = 0`, or a 0 where
    :math:`\mu_{kd} = 1`) gets :math:`-\infty`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Binary data: every entry 0 or 1.
    means : array-like of shape (K, D)
        Component means :math:`\mu_{kd} = p(x_d = 1 \mid z_k = 1)`, each in [0, 1].

    Returns
    -------
    ndarray of shape (N, K)
        Entry (n, k) is :math:`\log p(\mathbf{x}_n\mid\boldsymbol\mu_k)`.

    Raises
    ------
    ValueError
        If ``X`` is not binary, a mean lies outside [0, 1], or the shapes disagree.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> np.exp(gmmlab.bernoulli_log_pmf(X, [[0.9, 0.2], [0.5, 0.5]])).round(3)
    array([[0.72, 0.25],
           [0.18, 0.25]])
    """
    X = _check_binary(X)
    means = np.asarray(means, dtype=np.float64)
    means = _check_bernoulli_means(means, means.shape[0] if means.ndim == 2 else -1, X.shape[1])
    return _log_pmf(X, means)


def _log_pmf(X, means):
    """:func:`bernoulli_log_pmf` on validated input."""
    zeros = np.zeros_like(means)
    log_mu = np.log(means, out=zeros.copy(), where=means > 0)          # log mu where mu > 0, else 0
    log_one_minus_mu = np.log1p(-means, out=zeros.copy(), where=means < 1)
    log_p = X @ log_mu.T + (1 - X) @ log_one_minus_mu.T
    impossible = (X @ (means == 0).T + (1 - X) @ (means == 1).T) > 0
    log_p[impossible] = -np.inf
    return log_p


def bernoulli_e_step(X, weights, means):
    r"""E-step of a Bernoulli mixture: the responsibilities :math:`r_{nk} = p(z_{nk}=1\mid\mathbf{x}_n,\boldsymbol\theta)`.

    Implements :eq:`eq-bey-bernoulli-e-step` in log space,

    .. math::

        \begin{aligned}
        \log r_{nk} &= \log\pi_k + \log p(\mathbf{x}_n\mid\boldsymbol\mu_k) \\
        &\quad - \log\sum_j\pi_j\,p(\mathbf{x}_n\mid\boldsymbol\mu_j),
        \end{aligned}

    with the component terms from :func:`bernoulli_log_pmf` and the normaliser from :func:`gmmlab.logsumexp`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Binary data: every entry 0 or 1.
    weights : array-like of shape (K,)
        Mixture weights :math:`\pi_k`, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Component means :math:`\mu_{kd}`, each in [0, 1].

    Returns
    -------
    responsibilities : ndarray of shape (N, K)
        Each row is a probability vector over the K components.

    Raises
    ------
    ValueError
        If the input is invalid, or some point has probability zero under every component.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> gmmlab.bernoulli_e_step(X, [0.5, 0.5], [[0.9, 0.2], [0.5, 0.5]]).round(3)
    array([[0.742, 0.258],
           [0.419, 0.581]])
    """
    X, weights, means = _check_bernoulli_mixture(X, weights, means)
    responsibilities, _ = _e_step(X, weights, means)
    return responsibilities


def _e_step(X, weights, means):
    """Responsibilities and total log-likelihood from one evaluation of the joint, on validated input."""
    with np.errstate(divide="ignore"):
        log_r = np.log(weights) + _log_pmf(X, means)
    log_evidence = logsumexp(log_r, axis=1, keepdims=True)
    if np.any(np.isneginf(log_evidence)):
        n = int(np.flatnonzero(np.isneginf(log_evidence.ravel()))[0])
        raise ValueError(
            f"point {n} has probability zero under every component (a mean of exactly 0 or 1 rules it out); "
            "start from means strictly inside (0, 1)"
        )
    return np.exp(log_r - log_evidence), float(log_evidence.sum())


def bernoulli_m_step(X, responsibilities):
    r"""M-step of a Bernoulli mixture: the weights and means that maximise Q for fixed responsibilities.

    Implements :eq:`eq-bey-bernoulli-m-step`: :math:`\pi_k = N_k / N` and
    :math:`\boldsymbol\mu_k = \frac{1}{N_k}\sum_n r_{nk}\mathbf{x}_n`, the responsibility-weighted fraction of
    ones in every feature.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Binary data: every entry 0 or 1.
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, each row summing to 1.

    Returns
    -------
    weights : ndarray of shape (K,)
        :math:`\pi_k = N_k / N`.
    means : ndarray of shape (K, D)
        The responsibility-weighted means, each entry in [0, 1].

    Raises
    ------
    ValueError
        If ``X`` is not binary, the responsibilities are invalid, or a component has :math:`N_k = 0`.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> weights, means = gmmlab.bernoulli_m_step(X, [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    >>> weights.round(3), means.round(3)
    (array([0.5, 0.5]), array([[1.   , 0.333],
           [0.333, 0.333]]))
    """
    X = _check_binary(X)
    return _m_step(X, check_responsibilities(responsibilities, X.shape[0]))


def _m_step(X, resp):
    """:func:`bernoulli_m_step` on validated input."""
    n_k = resp.sum(axis=0)
    empty = np.flatnonzero(n_k <= 0)
    if empty.size:
        raise ValueError(
            f"component {empty[0]} has no responsibility (N_k = 0), so its mean is undefined; "
            "re-initialise it or use fewer components"
        )
    means = np.clip((resp.T @ X) / n_k[:, None], 0.0, 1.0)  # clip: rounding must not leave [0, 1]
    return n_k / X.shape[0], means


def bernoulli_log_likelihood(X, weights, means):
    r"""Log-likelihood of a Bernoulli mixture, :math:`\sum_n\log\sum_k\pi_k\,p(\mathbf{x}_n\mid\boldsymbol\mu_k)`.

    Implements :eq:`eq-bey-bernoulli-log-likelihood`, with the inner sum taken by :func:`gmmlab.logsumexp`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Binary data: every entry 0 or 1.
    weights : array-like of shape (K,)
        Mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Component means, each in [0, 1].

    Returns
    -------
    float
        The total log-likelihood (not divided by N); :math:`-\infty` if some point is impossible.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> round(gmmlab.bernoulli_log_likelihood(X, [0.5, 0.5], [[0.9, 0.2], [0.5, 0.5]]), 4)
    -2.2607
    """
    X, weights, means = _check_bernoulli_mixture(X, weights, means)
    with np.errstate(divide="ignore"):
        joint = np.log(weights) + _log_pmf(X, means)
    return float(np.sum(logsumexp(joint, axis=1)))


class BernoulliEMResult(NamedTuple):
    """What :func:`run_bernoulli_em` returns: the final parameters and the log-likelihood of every iteration."""

    weights: np.ndarray
    """Final mixture weights, shape (K,)."""
    means: np.ndarray
    """Final component means, shape (K, D)."""
    responsibilities: np.ndarray
    """Responsibilities at the final parameters, shape (N, K)."""
    log_likelihoods: list
    """Log-likelihood of the initial parameters (index 0) and after every iteration."""
    n_iter: int
    """Number of iterations run (E-step and M-step pairs)."""
    converged: bool
    """Whether an iteration raised the log-likelihood by less than ``tol`` before ``max_iter`` ran out."""


def run_bernoulli_em(X, weights, means, *, max_iter=200, tol=1e-6):
    r"""EM for a mixture of Bernoullis: alternate :func:`bernoulli_e_step` and :func:`bernoulli_m_step`.

    Each iteration never decreases the log-likelihood :eq:`eq-bey-bernoulli-log-likelihood`
    (:eq:`eq-bey-monotone`). The loop stops when an iteration raises it by less than ``tol``, or after
    ``max_iter`` iterations.

    Parameters
    ----------
    X : array-like of shape (N, D)
        Binary data: every entry 0 or 1.
    weights : array-like of shape (K,)
        Initial mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Initial component means, best strictly inside (0, 1).
    max_iter : int, default=200
        Largest number of iterations; 0 returns the initial parameters.
    tol : float, default=1e-6
        Stop when an iteration raises the total log-likelihood by less than this.

    Returns
    -------
    BernoulliEMResult
        The final parameters, their responsibilities and the log-likelihood of every iteration.

    Raises
    ------
    ValueError
        If the data or the initial parameters are invalid, or ``max_iter`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1], [0, 0, 1]], dtype=float)
    >>> result = gmmlab.run_bernoulli_em(X, [0.5, 0.5], [[0.6, 0.5, 0.4], [0.4, 0.5, 0.6]])
    >>> result.converged, result.weights.round(2)
    (True, array([0.5, 0.5]))
    >>> result.means.round(2)
    array([[1.  , 0.67, 0.  ],
           [0.  , 0.33, 1.  ]])
    """
    X, weights, means = _check_bernoulli_mixture(X, weights, means)
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative; got {max_iter}")
    # One evaluation of the joint per iteration gives both the responsibilities and the log-likelihood.
    responsibilities, log_likelihood = _e_step(X, weights, means)
    log_likelihoods = [log_likelihood]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        weights, means = _m_step(X, responsibilities)
        responsibilities, log_likelihood = _e_step(X, weights, means)
        log_likelihoods.append(log_likelihood)
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            converged = True
            break
    return BernoulliEMResult(weights, means, responsibilities, log_likelihoods, n_iter, converged)
