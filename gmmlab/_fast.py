"""One EM iteration with the E- and M-steps fused over blocks of rows: the estimator's fast path.

For every covariance type the iteration works with the natural parameters of each component: with the data
centred on their mean row, :math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}\\mid\\boldsymbol\\mu_k,\\boldsymbol\\Sigma_k)`
is linear in the features :math:`\\phi(\\mathbf{x}) = (\\mathbf{x}\\mathbf{x}^\\top, \\mathbf{x}, 1)` (the upper
triangle of :math:`\\mathbf{x}\\mathbf{x}^\\top` for full covariances, its diagonal for diag, its trace for
spherical; for tied the quadratic term is shared by all components, so it cancels from the responsibilities,
and its sum over the points is :math:`\\mathrm{tr}(\\mathbf{P}\\mathbf{S})` with the data's scatter
:math:`\\mathbf{S}`, computed once per fit), and the M-step needs only the sums
:math:`\\sum_n r_{nk}\\,\\phi(\\mathbf{x}_n)`. Per block of rows the features are formed once for all
components, and both steps are one matrix product each: the log-densities (:eq:`eq-gaussian-log-pdf`) of every
component, and the sufficient statistics of every component (:eq:`eq-mean-update`, :eq:`eq-covariance-update`).
(For full covariances with few components in many dimensions the centred iteration below is faster, and
is used; see ``NATURAL_FULL_COMPONENTS_PER_FEATURE``.) The second moments are then raw moments about the
data's mean, which lose about
:math:`\\log_{10}(r^2/\\lambda)` digits, r the largest distance of a point from that mean and
:math:`\\lambda` a component's smallest variance; when that loss could exceed about six digits the iteration
is done the other way below.

Otherwise, per block, each component's centred data ``X - mu_k`` is
formed once and used twice: for the Mahalanobis term of the E-step and for the second moments of the M-step.
The responsibilities take one ``exp`` per entry (the normaliser reuses it), and the moments are accumulated
around the *previous* means, which are close to the new ones, so the closing correction ``- d d^T`` loses
almost no precision. When a mean moves far relative to its spread (early iterations from a poor start) the
iteration falls back to the two-pass update, so the result always matches the teaching functions in
``gmmlab.em``.
"""

import numpy as np
from threadpoolctl import ThreadpoolController

from ._covariances import (
    NK_FLOOR,
    estimate_parameters,
    factor_triangles,
    finish_covariances,
    log_det_cholesky,
    log_gaussian_prob,
    whiten,
)
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

# For full covariances the natural parameters need D (D + 1) / 2 features per point, formed elementwise
# whatever K, while the centred iteration costs a few matrix products per component: measured on one thread,
# the natural one is the faster from about K = D / 6 components up (at D = 64: 57 ms against 19 ms per
# iteration of 1e4 points with K = 3, 119 ms against 215 ms with K = 30).
NATURAL_FULL_COMPONENTS_PER_FEATURE = 6

# Entries (features x rows) per block of the natural-parameter iteration: about 1 MB, which stays in cache.
FEATURE_BLOCK_ENTRIES = 1 << 17

# ...but at least this many rows: full covariances form their D (D + 1) / 2 quadratic features with one numpy
# call per feature row, which a block of few rows does not amortise (measured on one thread at D = 64, 1e4
# points: 61 rows per block took 67 ms per iteration with K = 10, 256 rows 51 ms).
MIN_FEATURE_ROWS = 256


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


# Created on first use, when numpy's and scipy's BLAS libraries are loaded.
_THREADPOOLS = []


def one_blas_thread():
    """A context in which BLAS runs on one thread (see :func:`em_iteration`)."""
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="blas")


def em_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, *, centre=None):
    """Run one E-step and one M-step.

    ``centre`` is ``data_centre(X)``, which a caller iterating on the same data computes once; None computes it
    here. BLAS runs on one thread meanwhile (as scikit-learn's k-means limits it): the products are per block
    of rows, too small for BLAS's threads to pay for starting and joining at every call, and on a busy machine
    they cost far more (``benchmarks/recorded/gaussian_mixture-default-threads.txt``).

    Returns
    -------
    mean_log_likelihood : float
        Average log-likelihood of ``X`` under the parameters *before* the update (scikit-learn's lower bound).
    weights, means, covariances : the updated parameters
    """
    with one_blas_thread():
        return _blocked_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, centre)


def _blocked_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, centre):
    if covariance_type != "full" or NATURAL_FULL_COMPONENTS_PER_FEATURE * means.shape[0] >= X.shape[1]:
        updated = _natural_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, centre or data_centre(X))
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
    whitened = np.empty((min(rows, N), D))  # scratch for the triangular products of full and tied
    triangles = factor_triangles(prec_chol, covariance_type) or [None]
    triangles = triangles * K if covariance_type in ("tied", "diag", "spherical") else triangles
    for start in range(0, N, rows):
        block = X[start : start + rows]
        B = block.shape[0]
        diff, weighted = centred[:, :B], log_prob[:, :B]
        for k in range(K):
            np.subtract(block, means[k], out=diff[k])
            y = whiten(diff[k], prec_chol, covariance_type, k, out=whitened[:B], triangle=triangles[k])
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
                weighted_diff = diff[k] * np.sqrt(r)[:, None]  # w^T w is a symmetric product: half the flops
                second[k] += weighted_diff.T @ weighted_diff
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


class Centre:
    """What an EM loop over fixed data computes once: the mean row ``mean``, the largest squared distance of
    a row from it ``radius2``, the variance of every feature ``variance`` (two passes over blocks of rows,
    accumulated in float64: float32 data are never copied whole) and, when first asked for, the scatter
    matrix about the mean ``scatter`` (the tied iteration's second moment, the same in every iteration)."""

    def __init__(self, X):
        N, D = X.shape
        rows = max(1, FEATURE_BLOCK_ENTRIES // D)
        ones = np.ones(min(rows, N))
        total = np.zeros(D)
        for start in range(0, N, rows):  # a matrix-vector product: numpy's mean over the long axis is slower
            block = X[start : start + rows]
            total += ones[: block.shape[0]] @ block.astype(np.float64, copy=False)
        self.mean = total / N
        self.radius2, squares, features = 0.0, np.zeros(D), np.ones(D)
        for start in range(0, N, rows):
            block = X[start : start + rows] - self.mean
            block *= block
            squares += ones[: block.shape[0]] @ block
            # row sums as a matrix-vector product: numpy's sum over the short axis is several times slower
            self.radius2 = max(self.radius2, float((block @ features).max()))
        self.variance = squares / N
        self._X, self._scatter = X, None

    @property
    def scatter(self):
        if self._scatter is None:
            with one_blas_thread():
                self._scatter = self._scatter_about_mean()
        return self._scatter

    def _scatter_about_mean(self):
        X, D = self._X, self._X.shape[1]
        rows = max(1, FEATURE_BLOCK_ENTRIES // D)
        scatter = np.zeros((D, D))
        for start in range(0, X.shape[0], rows):
            block = X[start : start + rows] - self.mean
            scatter += block.T @ block
        return scatter


def data_centre(X):
    """The data's :class:`Centre` (its passes over blocks of rows on one BLAS thread, as the iteration's)."""
    with one_blas_thread():
        return Centre(X)


def _quadratic_size(covariance_type, D):
    """How many features the quadratic part of phi(x) has: the upper triangle of x x^T (full), the squares
    x_d^2 (diag), ||x||^2 (spherical), or none (tied: the shared x^T P x cancels from the responsibilities)."""
    return {"full": D * (D + 1) // 2, "diag": D, "spherical": 1, "tied": 0}[covariance_type]


def natural_parameters(weights, means, prec_chol, centre, covariance_type="full"):
    """theta, shape (K, F): ``theta @ features(x)`` is log pi_k + log N(x | mu_k, Sigma_k) for every k (for
    tied, less the term -1/2 x^T P x + log det(prec_chol) - D/2 log 2 pi shared by every component).

    With P_k = prec_chol_k prec_chol_k^T and m_k = mu_k - centre, the log-density is
    -1/2 x^T P_k x + x^T P_k m_k - 1/2 m_k^T P_k m_k + log det(prec_chol_k) - D/2 log 2 pi (:eq:`eq-gaussian-log-pdf`
    expanded); for full covariances the off-diagonal entries of the upper triangle of x x^T stand for two
    terms each; for diag P_k is diagonal, for spherical a multiple of the identity.
    """
    K, D = means.shape
    m = means - centre
    if covariance_type == "full":
        upper = np.triu_indices(D)
        precisions = prec_chol @ np.swapaxes(prec_chol, 1, 2)
        Pm = np.einsum("kij,kj->ki", precisions, m)
        quadratic = (-0.5 * precisions * (2 - np.eye(D)))[:, upper[0], upper[1]]
    elif covariance_type == "tied":
        Pm = m @ (prec_chol @ prec_chol.T)
        quadratic = np.empty((K, 0))
    else:
        precisions = prec_chol**2  # (K, D) or (K,)
        Pm = m * (precisions if covariance_type == "diag" else precisions[:, None])
        quadratic = -0.5 * (precisions if covariance_type == "diag" else precisions[:, None])
    constant = np.log(weights) - 0.5 * np.einsum("ki,ki->k", m, Pm)
    if covariance_type != "tied":
        constant += log_det_cholesky(prec_chol, covariance_type, D) - 0.5 * D * LOG_2PI
    return np.hstack([quadratic, Pm, constant[:, None]])


def natural_statistics(X, theta, centre, covariance_type="full"):
    """E-step and sufficient statistics in one pass over blocks of rows.

    Returns the sums over rows of r_nk features(x_n), shape (K, F) (their last column is N_k), and the total
    log-likelihood of the rows (for tied, less the shared terms; see :func:`natural_parameters`). Both add up
    over disjoint sets of rows.
    """
    N, D = X.shape
    K, F = theta.shape
    n_quadratic = _quadratic_size(covariance_type, D)
    offsets = np.concatenate([[0], np.cumsum(np.arange(D, 0, -1))])
    rows = max(MIN_FEATURE_ROWS, FEATURE_BLOCK_ENTRIES // F)
    features = np.empty((F, min(rows, N)))
    features[-1] = 1.0
    log_prob = np.empty((K, min(rows, N)))
    statistics = np.zeros((K, F))
    total_log_likelihood = 0.0
    for start in range(0, N, rows):
        block = X[start : start + rows]
        B = block.shape[0]
        phi = features[:, :B]
        x = phi[n_quadratic:-1]
        np.subtract(block.T, centre[:, None], out=x)
        if covariance_type == "full":
            for i in range(D):  # row i of the upper triangle of x x^T, for every point
                np.multiply(x[i:], x[i], out=phi[offsets[i] : offsets[i + 1]])
        elif covariance_type == "diag":
            np.multiply(x, x, out=phi[:D])
        elif covariance_type == "spherical":
            np.einsum("ij,ij->j", x, x, out=phi[0])
        weighted = np.matmul(theta, phi, out=log_prob[:, :B])
        total_log_likelihood += normalise_log_joint(weighted)
        statistics += weighted @ phi.T
    return statistics, total_log_likelihood


def parameters_from_statistics(statistics, centre, reg_covar, covariance_type="full", scatter=None):
    """The M-step (:eq:`eq-weight-update`, :eq:`eq-mean-update`, :eq:`eq-covariance-update`) from the sums of
    ``natural_statistics``: weights, means and covariances (with ``reg_covar``, :eq:`eq-reg-covar`).

    For tied covariances the second moment is the data's ``scatter`` about ``centre``, the same in every
    iteration: the pooled covariance is (scatter - sum_k N_k m_k m_k^T) / sum_k N_k.
    """
    K = statistics.shape[0]
    D = centre.shape[0]
    n_quadratic = _quadratic_size(covariance_type, D)
    nk = statistics[:, -1] + NK_FLOOR
    m = statistics[:, n_quadratic:-1] / nk[:, None]
    second = statistics[:, :n_quadratic] / nk[:, None]
    if covariance_type == "full":
        upper = np.triu_indices(D)
        square = np.empty((K, D, D))
        square[:, upper[0], upper[1]] = second
        square[:, upper[1], upper[0]] = second
        own = square - m[:, :, None] * m[:, None, :]
        covariances = finish_covariances(own, nk, "full", reg_covar)
    elif covariance_type == "tied":
        pooled = (scatter - np.einsum("k,ki,kj->ij", nk, m, m)) / nk.sum()
        covariances = finish_covariances(pooled[None], nk.sum()[None], "tied", reg_covar)
    elif covariance_type == "diag":
        covariances = finish_covariances(second - m**2, nk, "diag", reg_covar)
    else:  # spherical: one column, the mean over the features of the diagonal, times D
        own = (second[:, 0] - np.einsum("ki,ki->k", m, m)) / D
        covariances = finish_covariances(own[:, None], nk, "spherical", reg_covar)
    return nk / nk.sum(), m + centre, covariances


def _smallest_variances(covariances, covariance_type):
    if covariance_type == "full":
        return np.linalg.eigvalsh(covariances)[:, 0]
    if covariance_type == "tied":
        return np.linalg.eigvalsh(covariances)[:1]
    return covariances.min(axis=1) if covariance_type == "diag" else covariances


def _natural_iteration(X, weights, means, prec_chol, covariance_type, reg_covar, centre):
    """The natural-parameter iteration, or None when its rounding could show (see the module docstring)."""
    mean, radius2 = centre.mean, centre.radius2
    radius2 = max(radius2, float(np.max(np.sum((means - mean) ** 2, axis=1))))
    # 1 / (smallest variance): bounded from above by trace(P_k), the sum of a factor's squares, for full and tied
    if covariance_type in ("full", "tied"):
        largest_precision = float(np.max(np.sum(prec_chol**2, axis=(-2, -1))))
    else:
        largest_precision = float(np.max(prec_chol**2))
    if radius2 * largest_precision > MAX_SPREAD_RATIO:
        return None
    theta = natural_parameters(weights, means, prec_chol, mean, covariance_type)
    statistics, total = natural_statistics(X, theta, mean, covariance_type)
    N, D = X.shape
    scatter = centre.scatter if covariance_type == "tied" else None
    if covariance_type == "tied":  # the terms every component shares: -1/2 sum_n x_n^T P x_n = -1/2 tr(P S), ...
        precision = prec_chol @ prec_chol.T
        total += -0.5 * np.sum(precision * scatter) + N * (log_det_cholesky(prec_chol, "tied", D) - 0.5 * D * LOG_2PI)
    new_weights, new_means, covariances = parameters_from_statistics(
        statistics, mean, reg_covar, covariance_type, scatter
    )
    if not np.all(radius2 < MAX_SPREAD_RATIO * _smallest_variances(covariances, covariance_type)):
        return None
    return total / N, new_weights, new_means, covariances
