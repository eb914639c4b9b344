"""The mixture's joint, its log-likelihood, and the log-sum-exp that keeps both finite."""

import numpy as np

from ._checks import check_mixture
from .gaussian import gaussian_log_pdf


def logsumexp(a, axis=None, keepdims=False):
    r"""Compute :math:`\log \sum_i e^{a_i}` without overflow or underflow.

    Implements :eq:`eq-logsumexp`: with :math:`m = \max_i a_i`,
    :math:`\log\sum_i e^{a_i} = m + \log\sum_i e^{a_i - m}`, and every exponent is at most 0.
    A slice whose entries are all :math:`-\infty` gives :math:`-\infty`.

    Parameters
    ----------
    a : array-like
        The exponents :math:`a_i`.
    axis : int or None, default=None
        The axis to sum over; None sums over all entries.
    keepdims : bool, default=False
        Keep the summed axis, with length 1, as ``numpy.sum`` does.

    Returns
    -------
    float or ndarray
        A float when ``axis`` is None and ``keepdims`` is False, otherwise an array.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> round(gmmlab.logsumexp(np.array([-1000.0, -1001.0, -1002.0])), 4)  # naively log(0) = -inf
    -999.5924
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
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex; a zero weight gives :math:`-\infty` in its column.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.

    Returns
    -------
    ndarray of shape (N, K)
        Entry (n, k) is :math:`\log\pi_k + \log\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> np.exp(gmmlab.log_joint(X, *initial)).shape
    (7, 3)
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    with np.errstate(divide="ignore"):  # a zero weight is allowed and gives log 0 = -inf
        log_weights = np.log(weights)
    columns = [gaussian_log_pdf(X, means[k], covariances[k]) for k in range(weights.shape[0])]
    return np.stack(columns, axis=1) + log_weights


def log_likelihood(X, weights, means, covariances):
    r"""Log-likelihood :math:`\log p(\mathcal{X}\mid\boldsymbol\theta)` :math:`= \sum_n \log\sum_k \pi_k\,\mathcal{N}(\mathbf{x}_n\mid\boldsymbol\mu_k,\boldsymbol\Sigma_k)`.

    Implements :eq:`eq-gmm-log-likelihood`, summed over data points, with the inner sum taken by
    :func:`logsumexp` so that far-away points do not underflow to :math:`\log 0`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.

    Returns
    -------
    float
        The total log-likelihood (not divided by N).

    Examples
    --------
    The starting mixture of the book's running example:

    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> round(gmmlab.log_likelihood(X, *initial), 2)
    -28.33
    """
    return float(np.sum(logsumexp(log_joint(X, weights, means, covariances), axis=1)))
