"""One EM iteration with the E- and M-steps fused over blocks of rows: the estimator's fast path.

For full covariances the iteration works with the natural parameters of each component: with the data
centred on their mean row, :math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}\\mid\\boldsymbol\\mu_k,\\boldsymbol\\Sigma_k)`
is linear in the features :math:`\\phi(\\mathbf{x}) = (\\mathbf{x}\\mathbf{x}^\\top, \\mathbf{x}, 1)` (the upper
triangle of :math:`\\mathbf{x}\\mathbf{x}^\\top` only), and the M-step needs only the sums
:math:`\\sum_n r_{nk}\\,\\phi(\\mathbf{x}_n)`. Per block of rows the features are formed once for all
components, and both steps are one matrix product each: the log-densities (:eq:`eq-gaussian-log-pdf`) of every
component, and the sufficient statistics of every component (:eq:`eq-mean-update`, :eq:`eq-covariance-update`).
The second moments are then raw moments about the data's mean, which lose about
:math:`\\log_{10}(r^2/\\lambda)` digits, r the largest distance of a point from that mean and
:math:`\\lambda` a component's smallest variance; when that loss could exceed about six digits the iteration
is done the other way below.

Otherwise (and for the other covariance types), per block, each component's centred data ``X - mu_k`` is
formed once and used twice: for the Mahalanobis term of the E-step and for the second moments of the M-step.
The responsibilities take one ``exp`` per entry (the normaliser reuses it), and the moments are accumulated
around the *previous* means, which are close to the new ones, so the closing correction ``- d d^T`` loses
almost no precision. When a mean moves far relative to its spread (early iterations from a poor start) the
iteration falls back to the two-pass update, so the result always matches the teaching functions in
``gmmlab.em``.
"""

from typing import NamedTuple

import numpy as np

from ._covariances import NK_FLOOR, estimate_parameters, finish_covariances, log_det_cholesky, log_gaussian_prob, whiten
from .gaussian import LOG_2PI
from .likelihood import logsumexp

# Rows per block are chosen so a block's centred data (rows x K x D floats) stays near this many entries.
BLOCK_ENTRIES = 1 << 18

# The one-pass covariance S2/N_k - d d^T keeps about -log10(eps * (1 + |d|^2 / var)) digits; below this
# ratio it keeps at least 12, above it the iteration is redone in two passes.
MAX_SHIFT_RATIO = 1e4

# The natural-parameter iteration is used while r^2 / lambda (see above) stays below this: log-densities and
# covariances then keep about ten significant digits, far below what an EM step changes.
MAX_SPREAD_RATIO = 1e6

# Entries (features x rows) per block of the natural-parameter iteration: about 1 MB, which stays in cache.
FEATURE_BLOCK_ENTRIES = 1 << 17


def normalise_log_joint(log_joint):
    """Turn a block of log pi_k + log N(x_n | mu_k, Sigma_k), shape (K, B), into responsibilities in place.

    The E-step :eq:`eq-responsibilities` by log-sum-exp over the components (axis 0); returns the block's
    log-likelihood, the sum of the log-normalisers :eq:`eq-gmm-log-likelihood`.
    """
    peak = log_joint.max(axis=0)
    log_joint -= peak
    np.exp(log_joint, out=log_joint)  # the only exp: unnormalised responsibilities
    norm = log_joint.sum(axis=0)
    log_joint /= norm
    return float(np.sum(np.log(norm)) + np.sum(peak))


def em_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, *, centre=None):
    """Run one E-step and one M-step.

    ``centre`` is ``data_centre(X)``, which a caller iterating on the same data computes once; None computes it
    here (it is used by full covariances only).

    Returns
    -------
    mean_log_likelihood : float
        Average log-likelihood of ``X`` under the parameters *before* the update (scikit-learn's lower bound).
    weights, means, covariances : the updated parameters
    """
    if covariance_type == "full":
        updated = _natural_iteration(X, weights, means, prec_chol, reg_covar, centre or data_centre(X))
        if updated is not None:
            return updated
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
        total_log_likelihood += normalise_log_joint(weighted)
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
    covariances = finish_covariances(covariances, nk, covariance_type, reg_covar)
    return total_log_likelihood / N, nk / nk.sum(), new_means, covariances


def _two_pass_iteration(X, weights, means, prec_chol, covariance_type, reg_covar):
    weighted = log_gaussian_prob(X, means, prec_chol, covariance_type) + np.log(weights)
    log_norm = logsumexp(weighted, axis=1, keepdims=True)
    resp = np.exp(weighted - log_norm)
    new_weights, new_means, covariances = estimate_parameters(X, resp, covariance_type, reg_covar)
    return float(np.mean(log_norm)), new_weights, new_means, covariances


class Centre(NamedTuple):
    """What an EM loop over fixed data computes once: the mean row, the largest squared distance of a row
    from it, and the variance of every feature."""

    mean: np.ndarray
    radius2: float
    variance: np.ndarray


def data_centre(X):
    """The data's :class:`Centre`, in two passes over blocks of rows, accumulated in float64 (float32 data
    are never copied whole)."""
    N, D = X.shape
    rows = max(1, FEATURE_BLOCK_ENTRIES // D)
    ones = np.ones(min(rows, N))
    total = np.zeros(D)
    for start in range(0, N, rows):  # a matrix-vector product: numpy's mean over the long axis is slower
        block = X[start : start + rows]
        total += ones[: block.shape[0]] @ block.astype(np.float64, copy=False)
    centre = total / N
    radius2, squares = 0.0, np.zeros(D)
    for start in range(0, N, rows):
        block = X[start : start + rows] - centre
        block *= block
        squares += ones[: block.shape[0]] @ block
        radius2 = max(radius2, float(block.sum(axis=1).max()))
    return Centre(centre, radius2, squares / N)


def natural_parameters(weights, means, prec_chol, centre):
    """theta, shape (K, F): ``theta @ features(x)`` is log pi_k + log N(x | mu_k, Sigma_k) for every k.

    With P_k = prec_chol_k prec_chol_k^T and m_k = mu_k - centre, the log-density is
    -1/2 x^T P_k x + x^T P_k m_k - 1/2 m_k^T P_k m_k + log det(prec_chol_k) - D/2 log 2 pi (:eq:`eq-gaussian-log-pdf`
    expanded); the off-diagonal entries of the upper triangle of x x^T stand for two terms each.
    """
    K, D = means.shape
    upper = np.triu_indices(D)
    precisions = prec_chol @ np.swapaxes(prec_chol, 1, 2)
    m = means - centre
    Pm = np.einsum("kij,kj->ki", precisions, m)
    quadratic = -0.5 * precisions * (2 - np.eye(D))
    constant = (
        np.log(weights)
        + log_det_cholesky(prec_chol, "full", D)
        - 0.5 * D * LOG_2PI
        - 0.5 * np.einsum("ki,ki->k", m, Pm)
    )
    return np.hstack([quadratic[:, upper[0], upper[1]], Pm, constant[:, None]])


def natural_statistics(X, theta, centre):
    """E-step and sufficient statistics in one pass over blocks of rows.

    Returns the sums over rows of r_nk features(x_n), shape (K, F) (their last column is N_k), and the total
    log-likelihood of the rows. Both add up over disjoint sets of rows.
    """
    N, D = X.shape
    K, F = theta.shape
    n_upper = D * (D + 1) // 2
    offsets = np.concatenate([[0], np.cumsum(np.arange(D, 0, -1))])
    rows = max(1, FEATURE_BLOCK_ENTRIES // F)
    features = np.empty((F, min(rows, N)))
    features[-1] = 1.0
    log_prob = np.empty((K, min(rows, N)))
    statistics = np.zeros((K, F))
    total_log_likelihood = 0.0
    for start in range(0, N, rows):
        block = X[start : start + rows]
        B = block.shape[0]
        phi = features[:, :B]
        x = phi[n_upper:-1]
        np.subtract(block.T, centre[:, None], out=x)
        for i in range(D):  # row i of the upper triangle of x x^T, for every point
            np.multiply(x[i:], x[i], out=phi[offsets[i] : offsets[i + 1]])
        weighted = np.matmul(theta, phi, out=log_prob[:, :B])
        total_log_likelihood += normalise_log_joint(weighted)
        statistics += weighted @ phi.T
    return statistics, total_log_likelihood


def parameters_from_statistics(statistics, centre, reg_covar):
    """The M-step (:eq:`eq-weight-update`, :eq:`eq-mean-update`, :eq:`eq-covariance-update`) from the sums of
    ``natural_statistics``: weights, means and full covariances (with ``reg_covar``, :eq:`eq-reg-covar`)."""
    K = statistics.shape[0]
    D = centre.shape[0]
    n_upper = D * (D + 1) // 2
    nk = statistics[:, -1] + NK_FLOOR
    m = statistics[:, n_upper:-1] / nk[:, None]
    upper = np.triu_indices(D)
    second = np.empty((K, D, D))
    second[:, upper[0], upper[1]] = statistics[:, :n_upper]
    second[:, upper[1], upper[0]] = statistics[:, :n_upper]
    covariances = second / nk[:, None, None] - m[:, :, None] * m[:, None, :]
    return nk / nk.sum(), m + centre, finish_covariances(covariances, nk, "full", reg_covar)


def _natural_iteration(X, weights, means, prec_chol, reg_covar, centre):
    """The natural-parameter iteration, or None when its rounding could show (see the module docstring)."""
    centre, radius2 = centre.mean, centre.radius2
    radius2 = max(radius2, float(np.max(np.sum((means - centre) ** 2, axis=1))))
    # trace(P_k) = ||prec_chol_k||_F^2 bounds 1 / (smallest variance) of component k from above
    if radius2 * float(np.max(np.sum(prec_chol**2, axis=(1, 2)))) > MAX_SPREAD_RATIO:
        return None
    statistics, total = natural_statistics(X, natural_parameters(weights, means, prec_chol, centre), centre)
    new_weights, new_means, covariances = parameters_from_statistics(statistics, centre, reg_covar)
    smallest = np.linalg.eigvalsh(covariances)[:, 0]
    if not np.all(radius2 < MAX_SPREAD_RATIO * smallest):
        return None
    return total / X.shape[0], new_weights, new_means, covariances
