"""The mixture's joint, its log-likelihood, and the log-sum-exp that keeps both finite."""

import numpy as np

from ._checks import check_mixture
from .gaussian import gaussian_log_pdf


def logsumexp(a, axis=None, keepdims=False):
    r"""Compute :math:`\log \sum_i e^{a_i}` without overflow or underflow.

    Implements :eq:`eq-logsumexp`: with :math:`m = \max_i a_i`,
    :math:`\log\sum_i e^{a_i} = m + \log\sum_i e^{a_i - m}`, and every exponent is at most 0.
    A slice whose entries are all :math:`-\infty` gives :math:`-\infty`.
    """
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return out
    return np.squeeze(out, axis=axis) if axis is not None else float(out.reshape(()))


def log_joint(X, weights, means, covariances):
    r"""Log of the joint :math:`p(\mathbf{x}_n, z_{nk}=1) = \pi_k\,\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`.

    Implements :eq:`eq-joint` for every data point and component.

    Parameters
    ----------
    X : array of shape (N, D)
    weights : array of shape (K,), on the probability simplex
    means : array of shape (K, D)
    covariances : array of shape (K, D, D), each symmetric positive definite

    Returns
    -------
    array of shape (N, K)
        Entry (n, k) is :math:`\log\pi_k + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`.
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    with np.errstate(divide="ignore"):  # a zero weight is allowed and gives log 0 = -inf
        log_weights = np.log(weights)
    columns = [gaussian_log_pdf(X, means[k], covariances[k]) for k in range(weights.shape[0])]
    return np.stack(columns, axis=1) + log_weights


def log_likelihood(X, weights, means, covariances):
    r"""Log-likelihood :math:`\log p(\mathcal{X}\mid\boldsymbol\theta) = \sum_n \log\sum_k \pi_k\,\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`.

    Implements :eq:`eq-gmm-log-likelihood`, summed over data points, with the inner sum taken by
    :func:`logsumexp` so that far-away points do not underflow to :math:`\log 0`.

    Returns
    -------
    float
    """
    return float(np.sum(logsumexp(log_joint(X, weights, means, covariances), axis=1)))
