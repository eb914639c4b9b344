"""One EM iteration with the E- and M-steps fused over blocks of rows: the estimator's fast path.

Per block, each component's centred data ``X - mu_k`` is formed once and used twice: for the Mahalanobis
term of the E-step and for the second moments of the M-step. The responsibilities take one ``exp`` per
entry (the normaliser reuses it), and the moments are accumulated around the *previous* means, which are
close to the new ones, so the closing correction ``- d d^T`` loses almost no precision. When a mean moves
far relative to its spread (early iterations from a poor start) the iteration falls back to the two-pass
update, so the result always matches the teaching functions in ``gmmlab.em``.
"""

import numpy as np

from ._covariances import NK_FLOOR, estimate_parameters, log_det_cholesky, log_gaussian_prob, whiten
from .gaussian import LOG_2PI
from .likelihood import logsumexp

# Rows per block are chosen so a block's centred data (rows x K x D floats) stays near this many entries.
BLOCK_ENTRIES = 1 << 18

# The one-pass covariance S2/N_k - d d^T keeps about -log10(eps * (1 + |d|^2 / var)) digits; below this
# ratio it keeps at least 12, above it the iteration is redone in two passes.
MAX_SHIFT_RATIO = 1e4


def em_iteration(X, weights, means, prec_chol, covariance_type, reg_covar):
    """Run one E-step and one M-step.

    Returns
    -------
    mean_log_likelihood : float
        Average log-likelihood of ``X`` under the parameters *before* the update (scikit-learn's lower bound).
    weights, means, covariances : the updated parameters
    """
    N, D = X.shape
    K = means.shape[0]
    log_weights = np.log(weights)
    log_det = log_det_cholesky(prec_chol, covariance_type, D)
    constant = log_weights + log_det - 0.5 * D * LOG_2PI
    full_moments = covariance_type in ("full", "tied")

    nk = np.zeros(K)
    first = np.zeros((K, D))
    second = np.zeros((K, D, D)) if full_moments else np.zeros((K, D))
    total_log_likelihood = 0.0
    rows = max(1, BLOCK_ENTRIES // (K * D))
    centred = np.empty((K, min(rows, N), D))
    # Component-major (K, rows): the max and the sum over components are then fast reductions over axis 0.
    log_prob = np.empty((K, min(rows, N)))
    for start in range(0, N, rows):
        block = X[start : start + rows]
        B = block.shape[0]
        diff, weighted = centred[:, :B], log_prob[:, :B]
        for k in range(K):
            np.subtract(block, means[k], out=diff[k])
            y = whiten(diff[k], prec_chol, covariance_type, k)
            weighted[k] = np.einsum("ij,ij->i", y, y)
        weighted *= -0.5
        weighted += constant[:, None]
        peak = weighted.max(axis=0)
        weighted -= peak
        np.exp(weighted, out=weighted)  # the only exp: unnormalised responsibilities
        norm = weighted.sum(axis=0)
        total_log_likelihood += float(np.sum(np.log(norm)) + np.sum(peak))
        weighted /= norm
        resp = weighted
        nk += resp.sum(axis=1)
        for k in range(K):
            r = resp[k]
            first[k] += r @ diff[k]
            if full_moments:
                second[k] += (diff[k] * r[:, None]).T @ diff[k]
            else:
                second[k] += r @ (diff[k] * diff[k])

    nk += NK_FLOOR
    shift = first / nk[:, None]
    new_means = means + shift
    if full_moments:
        covariances = second / nk[:, None, None] - shift[:, :, None] * shift[:, None, :]
        spread = np.diagonal(covariances, axis1=1, axis2=2)
    else:
        covariances = second / nk[:, None] - shift**2
        spread = covariances
    if np.any(shift**2 > MAX_SHIFT_RATIO * spread):
        return _two_pass_iteration(X, weights, means, prec_chol, covariance_type, reg_covar)
    if covariance_type == "full":
        covariances[:, np.arange(D), np.arange(D)] += reg_covar
    elif covariance_type == "tied":
        covariances = np.tensordot(nk, covariances, axes=1) / nk.sum()
        covariances.flat[:: D + 1] += reg_covar
    elif covariance_type == "diag":
        covariances = covariances + reg_covar
    else:
        covariances = covariances.mean(axis=1) + reg_covar
    return total_log_likelihood / N, nk / nk.sum(), new_means, covariances


def _two_pass_iteration(X, weights, means, prec_chol, covariance_type, reg_covar):
    weighted = log_gaussian_prob(X, means, prec_chol, covariance_type) + np.log(weights)
    log_norm = logsumexp(weighted, axis=1, keepdims=True)
    resp = np.exp(weighted - log_norm)
    new_weights, new_means, covariances = estimate_parameters(X, resp, covariance_type, reg_covar)
    return float(np.mean(log_norm)), new_weights, new_means, covariances
