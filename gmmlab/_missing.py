"""Missing values (NaN) in the estimator: the observed-data likelihood and EM's expected statistics, grouped by
pattern of missing entries.

For a row with observed coordinates o and missing ones m, component k contributes
:math:`\\pi_k\\mathcal N(\\mathbf{x}_o\\mid\\boldsymbol\\mu_{k,o},\\boldsymbol\\Sigma_{k,oo})` to the observed-data
likelihood (the marginal of :eq:`eq-gmm-density` over the observed coordinates), and the E-step completes the row
with the conditional Gaussian of the missing coordinates given the observed ones,

.. math::
    \\hat{\\mathbf{x}}_{k,m} = \\boldsymbol\\mu_{k,m}
        + \\boldsymbol\\Sigma_{k,mo}\\boldsymbol\\Sigma_{k,oo}^{-1}(\\mathbf{x}_o - \\boldsymbol\\mu_{k,o}), \\qquad
    \\mathbf{C}_{k} = \\boldsymbol\\Sigma_{k,mm} - \\boldsymbol\\Sigma_{k,mo}\\boldsymbol\\Sigma_{k,oo}^{-1}
        \\boldsymbol\\Sigma_{k,om},

so that the M-step's sums take :math:`r_{nk}\\hat{\\mathbf{x}}_{nk}` and
:math:`r_{nk}(\\hat{\\mathbf{x}}_{nk}\\hat{\\mathbf{x}}_{nk}^\\top + \\mathbf{C}_{nk})` in place of
:math:`r_{nk}\\mathbf{x}_n` and :math:`r_{nk}\\mathbf{x}_n\\mathbf{x}_n^\\top` (:eq:`eq-mean-update`,
:eq:`eq-covariance-update`); the conditional covariance is what the missing coordinates add to the scatter.
Rows that share a pattern share :math:`\\boldsymbol\\Sigma_{k,oo}`, so each pattern costs one Cholesky
factorisation per component. The completed row is affine in the observed coordinates,
:math:`\\hat{\\mathbf{x}}_{nk} = \\mathbf{P}_k\\mathbf{x}_{n,o} + \\mathbf{g}_k` within a pattern, so the
pattern's rows need only the observed coordinates' weighted moments, which ``_fast.natural_statistics``
computes as for complete data (an E-step and the moments in one matrix product each, on the observed
columns); the pattern's D-dimensional summary follows from them and :math:`\\mathbf{C}_k`. Where the
natural parameters could lose digits (``_fast.MAX_SPREAD_RATIO``) a pattern's rows are summed explicitly,
block by block, instead.

The sums are returned as a chunk summary (``_dask.chunk_summary``: counts, weighted means and centred scatters,
:eq:`eq-chunk-summary`), so the complete rows keep the fused iteration of ``_fast`` and the summaries merge
(:eq:`eq-merge-chunks`): one EM loop, whatever the data source.
"""

import numpy as np

from ._covariances import NK_FLOOR, covariances_from_cholesky
from ._dask import merge_summaries
from ._fast import (
    BLOCK_ENTRIES,
    MAX_SHIFT_RATIO,
    MAX_SPREAD_RATIO,
    data_centre,
    natural_parameters,
    natural_statistics,
    normalise_log_joint,
)
from .gaussian import LOG_2PI


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Every component's covariance as a (K, D, D) stack, whatever ``covariance_type`` stores."""
    K, D = n_components, n_features
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (K, D, D))
    variances = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], D, axis=1)
    stack = np.zeros((K, D, D))
    stack[:, np.arange(D), np.arange(D)] = variances
    return stack


class Patterns:
    """The rows of X grouped by their pattern of missing entries, computed once per data set.

    ``complete`` holds the rows with nothing missing; ``groups`` is a list of ``(observed, rows)``, one per
    pattern with something missing (``observed`` a boolean mask of the D coordinates).
    """

    def __init__(self, X):
        missing = np.isnan(X)
        incomplete = np.flatnonzero(missing.any(axis=1))
        self.complete = np.flatnonzero(~missing.any(axis=1))
        self.groups = []
        self._observed_data = None
        if incomplete.size:
            if X.shape[1] < 63:  # a pattern as the bits of one integer: np.unique of integers is fast
                codes = missing[incomplete] @ (np.int64(1) << np.arange(X.shape[1], dtype=np.int64))
                _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
                patterns = missing[incomplete[first]]
            else:
                patterns, inverse = np.unique(missing[incomplete], axis=0, return_inverse=True)
            order = np.argsort(inverse.ravel(), kind="stable")
            bounds = np.cumsum(np.bincount(inverse.ravel(), minlength=len(patterns)))[:-1]
            for pattern, rows in zip(patterns, np.split(incomplete[order], bounds)):
                self.groups.append((~pattern, rows))

    def observed_data(self, X):
        """Per group, its rows' observed entries (a matrix) and their ``_fast.Centre``, computed on first use."""
        if self._observed_data is None:
            self._observed_data = []
            for observed, rows in self.groups:
                values = X[np.ix_(rows, np.flatnonzero(observed))]
                self._observed_data.append((values, data_centre(values)))
        return self._observed_data

    def all_groups(self, n_features):
        """``groups`` with the complete rows as one more group (the prediction methods treat all alike)."""
        whole = [(np.ones(n_features, dtype=bool), self.complete)] if self.complete.size else []
        return whole + self.groups


def conditional_factors(covariances, o, m):
    """For observed coordinates ``o`` and missing ones ``m``, per component: the whitener W (upper triangular,
    W W^T = Sigma_oo^-1, so ``diff @ W`` has the Mahalanobis term as squared norm), half the log-determinant of
    Sigma_oo, the regression coefficients Sigma_oo^-1 Sigma_om and the conditional covariance
    Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om; from one Cholesky factorisation of Sigma_oo."""
    sigma_oo = covariances[:, o[:, None], o]
    sigma_om = covariances[:, o[:, None], m]
    lower = np.linalg.cholesky(sigma_oo)
    # The inverse of a triangular factor is triangular; tril removes rounding above the diagonal.
    whitener = np.swapaxes(np.tril(np.linalg.inv(lower)), 1, 2)
    half_log_det = np.sum(np.log(np.diagonal(lower, axis1=1, axis2=2)), axis=1)
    whitened_om = np.swapaxes(whitener, 1, 2) @ sigma_om  # L^-1 Sigma_om
    coefficients = whitener @ whitened_om
    conditional = covariances[:, m[:, None], m] - np.swapaxes(whitened_om, 1, 2) @ whitened_om
    return whitener, half_log_det, coefficients, conditional


def pattern_blocks(X, groups, weights, means, covariances):
    """Per pattern and block of rows, the quantities of the E-step.

    Yields ``(rows, observed, log_joint, diff, coefficients, conditional_covariance)``: the rows' indices,
    the mask of observed coordinates, :math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}_{n,o}\\mid\\ldots)` of
    shape (K, B), :math:`\\mathbf{x}_{n,o} - \\boldsymbol\\mu_{k,o}` of shape (K, B, |o|), the regression
    coefficients :math:`\\boldsymbol\\Sigma_{k,oo}^{-1}\\boldsymbol\\Sigma_{k,om}` of shape (K, |o|, |m|) (so
    ``diff @ coefficients`` is :math:`\\hat{\\mathbf{x}}_{k,m} - \\boldsymbol\\mu_{k,m}`) and the conditional
    covariances :math:`\\mathbf{C}_k` of shape (K, |m|, |m|). ``covariances`` is the (K, D, D) stack.
    """
    K, D = means.shape
    log_weights = np.log(weights)
    for observed, rows in groups:
        o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
        whitener, half_log_det, coefficients, conditional = conditional_factors(covariances, o, m)
        constant = log_weights - half_log_det - 0.5 * o.size * LOG_2PI
        step = max(1, BLOCK_ENTRIES // (K * D))
        for start in range(0, rows.size, step):
            block = rows[start : start + step]
            diff = X[np.ix_(block, o)][None, :, :] - means[:, None, o]
            y = diff @ whitener
            log_joint = constant[:, None] - 0.5 * np.einsum("kbi,kbi->kb", y, y)
            yield block, observed, log_joint, diff, coefficients, conditional


def _accumulate(X, groups, weights, means, covariances, centre, moments):
    """Counts, log-likelihood and the sums of r_nk d_nk and r_nk (d_nk d_nk^T + C_nk) with d_nk = xhat_nk -
    centre_k, over the rows of ``groups`` (``moments`` "full" keeps the D x D sums, "diag" their diagonals)."""
    K, D = means.shape
    nk, first, log_likelihood = np.zeros(K), np.zeros((K, D)), 0.0
    second = np.zeros((K, D, D) if moments == "full" else (K, D))
    for _, observed, log_joint, diff, coefficients, conditional in pattern_blocks(
        X, groups, weights, means, covariances
    ):
        log_likelihood += normalise_log_joint(log_joint)
        resp = log_joint  # (K, B), normalised in place
        o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
        d = np.empty((K, resp.shape[1], D))
        d[:, :, o] = diff
        d[:, :, m] = diff @ coefficients
        d += (means - centre)[:, None, :]  # xhat - centre
        count = resp.sum(axis=1)
        nk += count
        first += np.einsum("kb,kbd->kd", resp, d)
        if moments == "full":
            second += np.swapaxes(d * resp[:, :, None], 1, 2) @ d
            second[:, m[:, None], m] += count[:, None, None] * conditional
        else:
            second += np.einsum("kb,kbd->kd", resp, d * d)
            second[:, m] += count[:, None] * np.diagonal(conditional, axis1=1, axis2=2)
    return nk, log_likelihood, first, second


def incomplete_summary(X, groups, parameters, covariance_type, observed_data=None):
    """The summary of the rows of ``groups`` for one EM iteration, in the form of ``_dask.chunk_summary``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        The data, NaN where an entry is missing.
    groups : list of (observed, rows)
        :attr:`Patterns.groups`: the rows to summarise, by pattern.
    parameters : tuple
        ``(weights, means, precisions_cholesky)``, shaped as the estimator's attributes.
    covariance_type : {"full", "tied", "diag", "spherical"}
    observed_data : list, optional
        :meth:`Patterns.observed_data` for ``groups``, which a caller iterating on the same data keeps; None
        sums every row explicitly instead of through the natural parameters.

    Returns
    -------
    summary : tuple
        ``(N_g, log_likelihood, N_k, means, scatters)``: the rows, their observed-data log-likelihood, and per
        component the count :math:`N_k`, the weighted mean of the completed rows
        :math:`\\hat{\\mathbf{x}}_{nk}` and their scatter around it including the conditional covariances
        (shape (K, D, D) for full and tied, the diagonals (K, D) for diag and spherical).
    """
    weights, means, prec_chol = parameters
    K, D = means.shape
    covariances = full_covariances(covariances_from_cholesky(prec_chol, covariance_type), covariance_type, K, D)
    moments = "full" if covariance_type in ("full", "tied") else "diag"
    parts, explicit = [], []
    for i, (observed, rows) in enumerate(groups):
        summary = None
        if observed_data is not None:
            summary = _natural_pattern_summary(*observed_data[i], observed, weights, means, covariances, moments)
        if summary is None:
            explicit.append((observed, rows))
        else:
            parts.append(summary)
    if explicit or not parts:
        parts.append(_explicit_summary(X, explicit, weights, means, covariances, moments))
    return merge_summaries(parts)


def _natural_pattern_summary(values, centre, observed, weights, means, covariances, moments):
    """One pattern's summary from its rows' observed entries ``values`` through the natural parameters, or
    None when their rounding could show (the test of ``_fast._natural_iteration``)."""
    o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
    whitener, _, coefficients, conditional = conditional_factors(covariances, o, m)
    radius2 = max(centre.radius2, float(np.max(np.sum((means[:, o] - centre.mean) ** 2, axis=1))))
    if radius2 * float(np.max(np.sum(whitener**2, axis=(1, 2)))) > MAX_SPREAD_RATIO:
        return None
    theta = natural_parameters(weights, means[:, o], whitener, centre.mean, "full")
    statistics, log_likelihood = natural_statistics(values, theta, centre.mean, "full")
    K, D, p = means.shape[0], means.shape[1], o.size
    nk = statistics[:, -1] + NK_FLOOR
    y_mean = statistics[:, -1 - p : -1] / nk[:, None]  # weighted mean of x_o - centre
    upper = np.triu_indices(p)
    second = np.empty((K, p, p))
    second[:, upper[0], upper[1]] = statistics[:, : upper[0].size]
    second[:, upper[1], upper[0]] = statistics[:, : upper[0].size]
    scatter_oo = second - nk[:, None, None] * y_mean[:, :, None] * y_mean[:, None, :]
    x_o = centre.mean + y_mean
    mean = np.empty((K, D))
    mean[:, o] = x_o
    mean[:, m] = means[:, m] + np.einsum("kp,kpq->kq", x_o - means[:, o], coefficients)
    # The completed rows are affine in x_o: their scatter is P S_oo P^T plus the conditional covariances.
    scatter_om = scatter_oo @ coefficients
    scatter_mm = np.swapaxes(coefficients, 1, 2) @ scatter_om + nk[:, None, None] * conditional
    if moments == "full":
        scatter = np.empty((K, D, D))
        scatter[:, o[:, None], o] = scatter_oo
        scatter[:, o[:, None], m] = scatter_om
        scatter[:, m[:, None], o] = np.swapaxes(scatter_om, 1, 2)
        scatter[:, m[:, None], m] = scatter_mm
    else:
        scatter = np.empty((K, D))
        scatter[:, o] = np.diagonal(scatter_oo, axis1=1, axis2=2)
        scatter[:, m] = np.diagonal(scatter_mm, axis1=1, axis2=2)
    return values.shape[0], log_likelihood, nk, mean, scatter


def _explicit_summary(X, groups, weights, means, covariances, moments):
    """The summary of the rows of ``groups``, each completed row summed explicitly, block by block."""
    n = sum(rows.size for _, rows in groups)
    # Moments about the previous means, which are close to the new ones; if a mean moved far relative to its
    # spread, the sums are taken again about the new means (as in _fast.em_iteration).
    for attempt in range(2):
        centre = means if attempt == 0 else new_means
        nk, log_likelihood, first, second = _accumulate(X, groups, weights, means, covariances, centre, moments)
        nk += NK_FLOOR
        shift = first / nk[:, None]
        new_means = centre + shift
        if moments == "full":
            scatters = second - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
            spread = np.diagonal(scatters, axis1=1, axis2=2) / nk[:, None]
        else:
            scatters = second - nk[:, None] * shift**2
            spread = scatters / nk[:, None]
        if not np.any(shift**2 > MAX_SHIFT_RATIO * spread):
            break
    return n, log_likelihood, nk, new_means, scatters


def weighted_log_prob(X, groups, weights, means, covariances):
    """:math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}_{n,o}\\mid\\boldsymbol\\mu_{k,o},\\boldsymbol\\Sigma_{k,oo})`,
    shape (N, K): the marginal over each row's observed coordinates (:eq:`eq-joint` in log space)."""
    result = np.empty((X.shape[0], means.shape[0]))
    for rows, _, log_joint, *_ in pattern_blocks(X, groups, weights, means, covariances):
        result[rows] = log_joint.T
    return result


def conditional_blocks(X, groups, weights, means, covariances):
    """Per pattern and block of rows: ``(rows, missing, responsibilities (B, K), conditional means (K, B, |m|),
    conditional covariances (K, |m|, |m|))``, for imputation."""
    for rows, observed, log_joint, diff, coefficients, conditional in pattern_blocks(
        X, groups, weights, means, covariances
    ):
        normalise_log_joint(log_joint)
        m = np.flatnonzero(~observed)
        yield rows, m, log_joint.T, means[:, None, m] + diff @ coefficients, conditional
