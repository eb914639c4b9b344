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

    Implements :eq:`eq-responsibilities` in log space:
    :math:`\log r_{nk} = \log\pi_k + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)
    - \log\sum_j \pi_j\,\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_j,\boldsymbol\Sigma_j)`, the normaliser
    computed with :func:`gmmlab.logsumexp` (:eq:`eq-logsumexp`), so a point far from every component still
    gets finite responsibilities that sum to 1.

    Parameters
    ----------
    X : array of shape (N, D)
    weights : array of shape (K,)
    means : array of shape (K, D)
    covariances : array of shape (K, D, D)

    Returns
    -------
    responsibilities : array of shape (N, K)
        Each row is a probability vector over the K components.
    """
    log_r = log_joint(X, weights, means, covariances)
    log_r -= logsumexp(log_r, axis=1, keepdims=True)
    return np.exp(log_r)


def n_k(responsibilities):
    r"""Effective number of points of each component, :math:`N_k = \sum_n r_{nk}`.

    Implements :eq:`eq-n-k`.

    Returns
    -------
    array of shape (K,)
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
    :math:`\boldsymbol\Sigma_k = \frac{1}{N_k}\sum_n r_{nk}(\mathbf{x}_n-\boldsymbol\mu_k)(\mathbf{x}_n-\boldsymbol\mu_k)^\top`
    around the *new* means, and the weight update :eq:`eq-weight-update` :math:`\pi_k = N_k / N`.

    Parameters
    ----------
    X : array of shape (N, D)
    responsibilities : array of shape (N, K), rows summing to 1
    reg_covar : float, default 0
        Added to the diagonal of every covariance (:eq:`eq-reg-covar`); 0 gives the plain update.

    Returns
    -------
    weights : array of shape (K,)
    means : array of shape (K, D)
    covariances : array of shape (K, D, D)
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

    Implements :eq:`eq-lower-bound`:
    :math:`\mathcal{L}(q,\boldsymbol\theta) = \sum_n\sum_k r_{nk}\left[\log\pi_k
    + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k) - \log r_{nk}\right]`,
    with :math:`0\log 0 = 0`. By :eq:`eq-log-likelihood-decomposition` it equals
    :func:`gmmlab.log_likelihood` minus a KL divergence, so it is never larger and is equal exactly when
    the responsibilities are the posterior returned by :func:`e_step`.

    Parameters
    ----------
    X : array of shape (N, D)
    weights, means, covariances : the mixture parameters
    responsibilities : array of shape (N, K), any rows on the probability simplex

    Returns
    -------
    float
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    resp = check_responsibilities(responsibilities, X.shape[0], weights.shape[0])
    joint = log_joint(X, weights, means, covariances)
    positive = resp > 0  # terms with r_nk = 0 contribute 0, even where log pi_k = -inf
    with np.errstate(divide="ignore"):
        terms = np.where(positive, resp * (joint - np.log(np.where(positive, resp, 1.0))), 0.0)
    return float(terms.sum())


class EMResult(NamedTuple):
    """What :func:`run_em` returns: the final parameters and the whole trajectory."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    responsibilities: np.ndarray
    log_likelihoods: list
    """Log-likelihood of the initial parameters and after every iteration."""
    history: list
    """``(weights, means, covariances)`` of the initial parameters and after every iteration."""
    n_iter: int
    converged: bool


def run_em(X, weights, means, covariances, *, max_iter=100, tol=1e-8, reg_covar=0.0):
    r"""Alternate :func:`e_step` and :func:`m_step` until the log-likelihood stops increasing.

    Each iteration cannot decrease :eq:`eq-gmm-log-likelihood` (:eq:`eq-em-monotone`). The loop stops when
    an iteration raises the log-likelihood by less than ``tol`` or after ``max_iter`` iterations.

    Returns
    -------
    EMResult
        The final parameters, their responsibilities, and the log-likelihood and parameters of every
        iteration (index 0 is the initialisation).
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
