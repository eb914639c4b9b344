"""EM for Gaussian mixtures on data with missing entries (NaN), as in "Incomplete and streaming data".

A missing entry is a NaN in ``X``. For row :math:`n`, :math:`o` indexes its observed coordinates and :math:`m` its
missing ones. The E-step needs, per component, the marginal of the observed coordinates (for the responsibilities)
and the conditional Gaussian of the missing ones given the observed ones (for the expected statistics); both depend
on the row only through its pattern of missing entries and its observed values, so the functions below work one
pattern at a time, on all the rows that share it.
"""

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

from ._checks import check_covariances, check_data, check_means, check_responsibilities, check_weights, cholesky
from .em import EMResult, n_k
from .gaussian import LOG_2PI, gaussian_log_pdf
from .likelihood import logsumexp


def _check_incomplete(X, name="X"):
    """Return ``X`` as a float array of shape (N, D) with NaN for missing entries, and its mask of missing entries.

    Only NaN means missing: an infinite entry is an error, and so is a row with every entry missing, which carries
    no information about the mixture.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        check_data(X, name)  # raises the same message as the complete-data functions
        raise
    if np.isinf(X).any():
        row = int(np.argwhere(np.isinf(X))[0, 0]) if X.ndim else 0
        raise ValueError(
            f"{name} contains infinite values (first in row {row}); only NaN marks a missing entry, "
            "so an infinite value is an error in the data: remove or correct it"
        )
    missing = np.isnan(X)
    check_data(np.where(missing, 0.0, X), name)  # the shape checks of complete data
    empty = np.flatnonzero(missing.all(axis=1))
    if empty.size:
        raise ValueError(
            f"row {empty[0]} of {name} has every entry missing (NaN): it carries no information about the mixture "
            f"({empty.size} such row(s)); drop these rows"
        )
    return X, missing


def _check_incomplete_mixture(X, weights, means, covariances):
    X, missing = _check_incomplete(X)
    weights = np.asarray(weights, dtype=np.float64)
    weights = check_weights(weights, weights.shape[0] if weights.ndim == 1 else None)
    means = check_means(means, weights.shape[0], X.shape[1])
    covariances = check_covariances(covariances, weights.shape[0], X.shape[1])
    return X, missing, weights, means, covariances


def _patterns(missing):
    """[(missing mask of the pattern, indices of the rows that have it)], one entry per pattern."""
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(pattern, np.flatnonzero(inverse == j)) for j, pattern in enumerate(patterns)]


def _conditional(residuals, L, mean, covariance, m):
    """The conditional Gaussian of the missing coordinates ``m`` given the observed ones (one row per point).

    ``residuals`` are the rows' observed values minus ``mean[~m]`` and ``L`` the Cholesky factor of the observed block
    of ``covariance``. Returns the conditional means of the missing coordinates, shape (rows, |m|), and their
    conditional covariance, shape (|m|, |m|), the same for every row of the pattern: :eq:`eq-inc-conditional-gaussian`.
    """
    o = ~m
    # Sigma_oo^-1 Sigma_om: the regression of the missing coordinates on the observed ones
    B = cho_solve((L, True), covariance[np.ix_(o, m)])
    return mean[m] + residuals @ B, covariance[np.ix_(m, m)] - covariance[np.ix_(m, o)] @ B


def _observed_log_joint(X, missing, weights, means, covariances):
    """log pi_k + log N(x_n,o | mu_k,o, Sigma_k,oo) for every row and component, shape (N, K)."""
    with np.errstate(divide="ignore"):  # a zero weight is allowed and gives log 0 = -inf
        log_weights = np.log(weights)
    joint = np.empty((X.shape[0], weights.shape[0]))
    for pattern, rows in _patterns(missing):
        o = ~pattern
        for k in range(weights.shape[0]):
            joint[rows, k] = gaussian_log_pdf(X[np.ix_(rows, o)], means[k, o], covariances[k][np.ix_(o, o)])
    return joint + log_weights


def _e_step(X, patterns, weights, means, covariances):
    """The observed-data log-likelihood at the parameters, and the E-step's three arrays, in one pass over the
    patterns of missing entries (``_patterns(missing)``, computed once by the caller)."""
    n_samples, n_features = X.shape
    n_components = weights.shape[0]
    with np.errstate(divide="ignore"):  # a zero weight is allowed and gives log 0 = -inf
        log_r = np.zeros((n_samples, n_components)) + np.log(weights)
    conditional_means = np.repeat(X[:, None, :], n_components, axis=1)
    conditional_covariances = np.zeros((n_samples, n_components, n_features, n_features))
    for pattern, rows in patterns:
        o = ~pattern
        for k in range(n_components):
            # one Cholesky factor of Sigma_k,oo serves the marginal density (eq-gaussian-log-pdf) and the conditional
            L = cholesky(covariances[k][np.ix_(o, o)], what=f"the observed block of covariances[{k}]")
            residuals = X[np.ix_(rows, o)] - means[k, o]
            z = solve_triangular(L, residuals.T, lower=True)
            log_r[rows, k] += -0.5 * (o.sum() * LOG_2PI + 2.0 * np.log(np.diag(L)).sum() + np.sum(z**2, axis=0))
            if pattern.any():
                mean_m, covariance_mm = _conditional(residuals, L, means[k], covariances[k], pattern)
                conditional_means[np.ix_(rows, [k], pattern)] = mean_m[:, None, :]
                conditional_covariances[np.ix_(rows, [k], pattern, pattern)] = covariance_mm
    log_norm = logsumexp(log_r, axis=1, keepdims=True)
    return float(log_norm.sum()), np.exp(log_r - log_norm), conditional_means, conditional_covariances


def observed_log_likelihood(X, weights, means, covariances):
    r"""The observed-data log-likelihood :math:`\sum_n \log\sum_k \pi_k\,\mathcal{N}(\mathbf{x}_{n,o}\mid\boldsymbol\mu_{k,o},\boldsymbol\Sigma_{k,oo})`.

    Implements :eq:`eq-inc-observed-log-likelihood`: each row contributes the mixture density of its observed
    coordinates, the marginal of the mixture with the missing coordinates integrated out, which for a Gaussian
    keeps the observed entries of the mean and the observed block of the covariance. With nothing missing it is
    :func:`gmmlab.log_likelihood` (:eq:`eq-gmm-log-likelihood`).

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row, with NaN for a missing entry; every row needs at least one observed entry.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.

    Returns
    -------
    float
        The total observed-data log-likelihood (not divided by N).

    Raises
    ------
    ValueError
        If ``X`` holds an infinite value or a row with every entry missing, or the parameters are invalid.

    Examples
    --------
    A row with its second entry missing is scored by the first coordinate's marginal alone.

    >>> import numpy as np
    >>> import gmmlab
    >>> covariance = np.array([[[1.0, 0.8], [0.8, 1.0]]])
    >>> a = gmmlab.observed_log_likelihood(np.array([[0.5, np.nan]]), [1.0], [[0.0, 0.0]], covariance)
    >>> b = gmmlab.log_likelihood(np.array([[0.5]]), [1.0], [[0.0]], covariance[:, :1, :1])
    >>> bool(np.isclose(a, b))
    True
    """
    X, missing, weights, means, covariances = _check_incomplete_mixture(X, weights, means, covariances)
    return float(np.sum(logsumexp(_observed_log_joint(X, missing, weights, means, covariances), axis=1)))


def conditional_gaussian(x, mean, covariance):
    r"""The conditional Gaussian of a row's missing coordinates given its observed ones.

    Implements :eq:`eq-inc-conditional-gaussian`: the missing coordinates :math:`m` of :math:`\mathbf{x}` given the
    observed ones :math:`o` are Gaussian with mean
    :math:`\boldsymbol\mu_m + \boldsymbol\Sigma_{mo}\boldsymbol\Sigma_{oo}^{-1}(\mathbf{x}_o - \boldsymbol\mu_o)`
    and covariance :math:`\boldsymbol\Sigma_{mm} - \boldsymbol\Sigma_{mo}\boldsymbol\Sigma_{oo}^{-1}\boldsymbol\Sigma_{om}`.
    Both are returned in the full D dimensions: the observed entries of the mean are the observed values, and the
    covariance is zero outside the missing block (an observed value has no uncertainty).

    Parameters
    ----------
    x : array-like of shape (D,)
        One data point with NaN for its missing entries, at least one entry observed.
    mean : array-like of shape (D,)
        The Gaussian's mean :math:`\boldsymbol\mu`.
    covariance : array-like of shape (D, D)
        The Gaussian's covariance :math:`\boldsymbol\Sigma`, symmetric positive definite.

    Returns
    -------
    conditional_mean : ndarray of shape (D,)
        :math:`\mathbf{x}` with each missing entry replaced by its conditional mean.
    conditional_covariance : ndarray of shape (D, D)
        The conditional covariance in the missing block, zero elsewhere.

    Raises
    ------
    ValueError
        If ``x`` is not one row, holds an infinite value or no observed entry, or the shapes disagree.

    Examples
    --------
    With correlation 0.8 and unit variances, observing 1 for the first coordinate predicts 0.8 for the second,
    with variance 1 - 0.8 ** 2.

    >>> import numpy as np
    >>> import gmmlab
    >>> mean, cov = gmmlab.conditional_gaussian([1.0, np.nan], [0.0, 0.0], [[1.0, 0.8], [0.8, 1.0]])
    >>> mean.round(2), cov.round(2)
    (array([1. , 0.8]), array([[0.  , 0.  ],
           [0.  , 0.36]]))
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be one data point of shape (D,); got shape {x.shape}")
    X, missing = _check_incomplete(x[None, :], name="x")
    means = check_means(np.asarray(mean, dtype=np.float64)[None, ...], 1, x.shape[0])
    covariance = check_covariances(np.asarray(covariance, dtype=np.float64)[None, ...], 1, x.shape[0])[0]
    m = missing[0]
    conditional_mean = X[0].copy()
    conditional_covariance = np.zeros((x.shape[0], x.shape[0]))
    if m.any():
        L = cholesky(covariance[np.ix_(~m, ~m)], what="the observed block of covariance")
        mean_m, conditional_covariance[np.ix_(m, m)] = _conditional(X[:, ~m] - means[0, ~m], L, means[0], covariance, m)
        conditional_mean[m] = mean_m[0]
    return conditional_mean, conditional_covariance


def e_step_missing(X, weights, means, covariances):
    r"""E-step with missing entries: responsibilities from the observed coordinates, and each component's guess of the rest.

    Implements :eq:`eq-inc-responsibilities`,
    :math:`r_{nk} \propto \pi_k\,\mathcal{N}(\mathbf{x}_{n,o}\mid\boldsymbol\mu_{k,o},\boldsymbol\Sigma_{k,oo})`
    (normalised in log space), and, per component, the conditional Gaussian :eq:`eq-inc-conditional-gaussian` of
    the missing coordinates: :math:`\hat{\mathbf{x}}_{nk}` (the observed values, and the conditional means where
    missing) and :math:`\mathbf{C}_{nk}` (the conditional covariance in the missing block, zero elsewhere). Rows are
    processed one pattern of missing entries at a time, so each observed block is factorised once per pattern.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row, with NaN for a missing entry; every row needs at least one observed entry.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.

    Returns
    -------
    responsibilities : ndarray of shape (N, K)
        Each row is a probability vector over the K components.
    conditional_means : ndarray of shape (N, K, D)
        :math:`\hat{\mathbf{x}}_{nk}`; with nothing missing, every component's copy of the row.
    conditional_covariances : ndarray of shape (N, K, D, D)
        :math:`\mathbf{C}_{nk}`; zero for a row with nothing missing.

    Raises
    ------
    ValueError
        If ``X`` holds an infinite value or a row with every entry missing, or the parameters are invalid.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[0.0, np.nan], [np.nan, 3.0], [2.5, 3.5]])
    >>> covariances = np.array([[[1.0, 0.5], [0.5, 1.0]], [[1.0, -0.5], [-0.5, 1.0]]])
    >>> R, xhat, C = gmmlab.e_step_missing(X, [0.5, 0.5], [[0.0, 0.0], [3.0, 3.0]], covariances)
    >>> R.shape, xhat.shape, C.shape
    ((3, 2), (3, 2, 2), (3, 2, 2, 2))
    >>> xhat[0, :, 1]  # the second entry of row 0 as each component predicts it from the first
    array([0. , 4.5])
    """
    X, missing, weights, means, covariances = _check_incomplete_mixture(X, weights, means, covariances)
    return _e_step(X, _patterns(missing), weights, means, covariances)[1:]


def m_step_missing(X, responsibilities, conditional_means, conditional_covariances, *, reg_covar=0.0):
    r"""M-step with missing entries: the complete-data updates with expected sufficient statistics.

    Implements :eq:`eq-inc-m-step`: with :math:`N_k = \sum_n r_{nk}` (:eq:`eq-n-k`),
    :math:`\pi_k = N_k/N`, :math:`\boldsymbol\mu_k = \frac{1}{N_k}\sum_n r_{nk}\hat{\mathbf{x}}_{nk}` and

    .. math::

        \boldsymbol\Sigma_k = \frac{1}{N_k}\sum_n r_{nk}\bigl[(\hat{\mathbf{x}}_{nk}-\boldsymbol\mu_k)
        (\hat{\mathbf{x}}_{nk}-\boldsymbol\mu_k)^\top + \mathbf{C}_{nk}\bigr].

    The term :math:`\mathbf{C}_{nk}` is the
    uncertainty of the imputed entries; leaving it out treats a guess as an observation and shrinks the covariances.
    The observed entries are taken from ``X`` itself; ``conditional_means`` supplies only the missing ones.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row, with NaN for a missing entry.
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, each row summing to 1.
    conditional_means : array-like of shape (N, K, D)
        :math:`\hat{\mathbf{x}}_{nk}`, as :func:`e_step_missing` returns them.
    conditional_covariances : array-like of shape (N, K, D, D)
        :math:`\mathbf{C}_{nk}`, as :func:`e_step_missing` returns them.
    reg_covar : float, default=0.0
        Added to the diagonal of every covariance (:eq:`eq-reg-covar`).

    Returns
    -------
    weights : ndarray of shape (K,)
        :math:`\pi_k = N_k / N`.
    means : ndarray of shape (K, D)
        The responsibility-weighted means of the completed rows.
    covariances : ndarray of shape (K, D, D)
        The responsibility-weighted scatter around the new means plus the weighted conditional covariances.

    Raises
    ------
    ValueError
        If the shapes disagree, a component has no responsibility (:math:`N_k = 0`), or ``X`` is invalid.

    Examples
    --------
    With nothing missing it is :func:`gmmlab.m_step`.

    >>> import numpy as np
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> R, xhat, C = gmmlab.e_step_missing(X, *initial)
    >>> means = gmmlab.m_step_missing(X, R, xhat, C)[1]
    >>> bool(np.allclose(means, gmmlab.m_step(X, R)[1]))
    True
    """
    X, missing = _check_incomplete(X)
    n_samples, n_features = X.shape
    resp = check_responsibilities(responsibilities, n_samples)
    n_components = resp.shape[1]
    xhat = np.asarray(conditional_means, dtype=np.float64)
    C = np.asarray(conditional_covariances, dtype=np.float64)
    if xhat.shape != (n_samples, n_components, n_features):
        raise ValueError(f"conditional_means must have shape (N, K, D) = {(n_samples, n_components, n_features)}; "
                         f"got shape {xhat.shape}")
    if C.shape != (n_samples, n_components, n_features, n_features):
        raise ValueError(f"conditional_covariances must have shape (N, K, D, D) = "
                         f"{(n_samples, n_components, n_features, n_features)}; got shape {C.shape}")
    xhat = np.where(missing[:, None, :], xhat, X[:, None, :])
    if not (np.all(np.isfinite(xhat)) and np.all(np.isfinite(C))):
        raise ValueError("conditional_means and conditional_covariances must be finite where X is missing")
    nk = n_k(resp)
    empty = np.flatnonzero(nk <= 0)
    if empty.size:
        raise ValueError(
            f"component {empty[0]} has no responsibility (N_k = 0), so its mean and covariance are undefined; "
            "re-initialise it or use fewer components"
        )
    means = np.einsum("nk,nkd->kd", resp, xhat) / nk[:, None]
    diff = xhat - means[None, :, :]
    covariances = (np.einsum("nk,nkd,nke->kde", resp, diff, diff) + np.einsum("nk,nkde->kde", resp, C)) / nk[:, None, None]
    covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    return nk / n_samples, means, covariances


def run_em_missing(X, weights, means, covariances, *, max_iter=100, tol=1e-8, reg_covar=0.0):
    r"""Alternate :func:`e_step_missing` and :func:`m_step_missing` until the observed-data log-likelihood stops increasing.

    It is EM for the observed-data log-likelihood :eq:`eq-inc-observed-log-likelihood`, the missing entries joining
    the component labels as latent variables, so with ``reg_covar=0`` no iteration decreases it
    (:eq:`eq-inc-monotone`). The loop stops when an iteration changes it by less than ``tol`` (a decrease also stops
    it) or after ``max_iter`` iterations, as :func:`gmmlab.run_em` does.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row, with NaN for a missing entry; every row needs at least one observed entry.
    weights : array-like of shape (K,)
        Initial mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, D)
        Initial component means.
    covariances : array-like of shape (K, D, D)
        Initial component covariances, each symmetric positive definite.
    max_iter : int, default=100
        Largest number of iterations; 0 returns the initial parameters.
    tol : float, default=1e-8
        Stop when an iteration raises the observed-data log-likelihood by less than this.
    reg_covar : float, default=0.0
        Passed to :func:`m_step_missing`: added to the diagonal of every covariance.

    Returns
    -------
    EMResult
        As :func:`gmmlab.run_em` returns it, with ``log_likelihoods`` the observed-data log-likelihoods (index 0 is
        the initialisation) and ``responsibilities`` those of the final parameters.

    Raises
    ------
    ValueError
        If ``X`` or the initial parameters are invalid, ``max_iter`` is negative, or a covariance becomes singular.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X, _ = gmmlab.three_clusters()
    >>> X = X.copy()
    >>> X[::4, 0] = np.nan  # a quarter of the first coordinates missing
    >>> start = ([1 / 3] * 3, X[[1, 2, 3]], np.array([np.eye(2)] * 3))
    >>> result = gmmlab.run_em_missing(X, *start, max_iter=20)
    >>> bool(np.all(np.diff(result.log_likelihoods) >= 0))
    True
    """
    X, missing, weights, means, covariances = _check_incomplete_mixture(X, weights, means, covariances)
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative; got {max_iter}")
    patterns = _patterns(missing)
    history = [(weights, means, covariances)]
    # each E-step also gives the observed-data log-likelihood of the parameters it starts from
    log_likelihood, *expectations = _e_step(X, patterns, weights, means, covariances)
    log_likelihoods = [log_likelihood]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        weights, means, covariances = m_step_missing(X, *expectations, reg_covar=reg_covar)
        history.append((weights, means, covariances))
        log_likelihood, *expectations = _e_step(X, patterns, weights, means, covariances)
        log_likelihoods.append(log_likelihood)
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            converged = True
            break
    return EMResult(weights, means, covariances, expectations[0], log_likelihoods, history, n_iter, converged)
