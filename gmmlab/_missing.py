"""Missing values (NaN) in the estimator: the observed-data likelihood and EM's expected statistics, by
pattern of missing entries or in batches of rows with different patterns.

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
Rows that share a pattern share :math:`\\boldsymbol\\Sigma_{k,oo}`. A pattern with many rows
(``NATURAL_PATTERN_ROWS``) is summed on its own: the completed row is affine in the observed coordinates,
:math:`\\hat{\\mathbf{x}}_{nk} = \\mathbf{A}_k\\mathbf{x}_{n,o} + \\mathbf{g}_k` within a pattern, so the
pattern's rows need only the observed coordinates' weighted moments, which ``_fast.natural_statistics``
computes as for complete data (an E-step and the moments in one matrix product each, on the observed
columns); the pattern's D-dimensional summary follows from them and :math:`\\mathbf{C}_k`. Where the
natural parameters could lose digits (``_fast.MAX_SPREAD_RATIO``) a pattern's rows are summed explicitly
instead. That costs a few dozen NumPy calls per pattern, which rows of rarer patterns (in many dimensions
nearly every row has its own) cannot pay for: they are summed explicitly in batches of rows with different
patterns (:func:`batched_blocks`), from the full precision matrix and the small missing block (the Schur
complement) when few entries are missing, from the small observed block when few are observed, with
stacked linear algebra whose cost per row does not depend on how many rows share its pattern.

The sums are returned as a chunk summary (``_dask.chunk_summary``: counts, weighted means and centred scatters,
:eq:`eq-chunk-summary`), so the complete rows keep the fused iteration of ``_fast`` and the summaries merge
(:eq:`eq-merge-chunks`): one EM loop, whatever the data source.
"""

import numpy as np

from ._covariances import NK_FLOOR, covariances_from_cholesky
from ._dask import chunk_summary, merge_summaries
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

# A pattern with at least this many rows is summed through the natural parameters of its observed columns (one
# matrix product over its rows, after a fixed cost per pattern); rows of rarer patterns are summed in batches,
# whatever their pattern (batched_blocks).
NATURAL_PATTERN_ROWS = 1024

# A batch whose patterns all have at least this many rows multiplies each pattern's rows by its block at once;
# rarer patterns gather their block row by row (which costs about as much as a product per ~16 rows).
SHARED_PATTERN_ROWS = 16

# Small matrices factorised at once by _small_inverses: c x c x 4096 floats stay within a core's cache.
SMALL_MATRICES_PER_CHUNK = 4096


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
        self._plan = None
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

    def observed_data(self, X, groups=None):
        """Per group of ``groups`` (default: all), its rows' observed entries (a matrix) and their
        ``_fast.Centre``: what :func:`incomplete_summary` sums them from through the natural parameters."""
        result = []
        for observed, rows in self.groups if groups is None else groups:
            values = X[np.ix_(rows, np.flatnonzero(observed))]
            result.append((values, data_centre(values)))
        return result

    def all_groups(self, n_features):
        """``groups`` with the complete rows as one more group (the prediction methods treat all alike)."""
        whole = [(np.ones(n_features, dtype=bool), self.complete)] if self.complete.size else []
        return whole + self.groups

    def plan(self, X):
        """How an EM iteration sums the incomplete rows, computed on first use: ``(groups, observed_data,
        batches)``, the patterns with at least ``NATURAL_PATTERN_ROWS`` rows with their observed entries (summed
        through the natural parameters) and the other patterns' rows as :func:`batches_of` (summed explicitly):
        the arguments of :func:`incomplete_summary`."""
        if self._plan is None:
            large = [group for group in self.groups if group[1].size >= NATURAL_PATTERN_ROWS]
            small = [group for group in self.groups if group[1].size < NATURAL_PATTERN_ROWS]
            self._plan = (large, self.observed_data(X, large), batches_of(X, small))
        return self._plan


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


class Batch:
    """Incomplete rows that share the size c of the smaller of their two sets of coordinates, for the batched
    E-step (:func:`batched_blocks`).

    ``kind`` says which set is the smaller: "missing" (the rows are worked from the precision matrix and their
    missing block) or "observed" (from the covariance matrix and their observed block). ``unique`` (G, c) holds
    the small set's indices of each of the batch's G patterns; ``rows`` the rows, stored pattern by pattern,
    ``pattern`` (R,) each row's pattern (a row of ``unique``), ``augmented`` (R, 2D) the rows in float64 with 0
    for a missing entry beside ``observed`` (R, D), 1.0 where an entry is observed, 0.0 where missing (see
    :func:`_lift`). ``shared`` says
    whether every pattern has at least ``SHARED_PATTERN_ROWS`` rows: each pattern's rows are then one matrix
    product, else each row gathers its pattern's c x c block.
    """

    def __init__(self, X, kind, unique, rows, pattern):
        self.kind, self.unique, self.rows, self.pattern = kind, unique, rows, pattern
        values = X[rows].astype(np.float64)
        missing = np.isnan(values)
        values[missing] = 0.0
        # side by side, so that one matrix product gives every component's e = x - mu, 0 where missing
        self.augmented = np.hstack([values, (~missing).astype(np.float64)])
        self.observed = self.augmented[:, X.shape[1] :]
        self.shared = bool(np.all(np.bincount(pattern) >= SHARED_PATTERN_ROWS))
        self.index = None if self.shared else unique[pattern]


def batches_of(X, groups):
    """The rows of ``groups`` (``(observed, rows)`` per pattern, as :attr:`Patterns.groups`) as a list of
    :class:`Batch`: per kind and size c of the smaller set, one batch of the patterns with at least
    ``SHARED_PATTERN_ROWS`` rows and one of the rarer ones, so a batch's rows, whatever their patterns, go
    through the same stacked linear algebra.

    The smaller set decides the kind because a pattern costs a factorisation of its c x c block per component
    and a row a product with that block's inverse, on top of the K D^2 that a complete row costs too: the
    precision form is cheaper when few entries are missing, the covariance form when few are observed.
    """
    n_features = X.shape[1]
    members = {}
    for observed, rows in groups:
        n_missing = int(np.count_nonzero(~observed))
        kind = "missing" if n_missing <= n_features - n_missing else "observed"
        small = np.flatnonzero(~observed if kind == "missing" else observed)
        key = (kind, small.size, rows.size >= SHARED_PATTERN_ROWS)
        members.setdefault(key, []).append((small, rows))
    batches = []
    for (kind, c, _), parts in members.items():
        unique = np.array([small for small, _ in parts], dtype=np.intp).reshape(len(parts), c)
        rows = np.concatenate([rows for _, rows in parts])
        pattern = np.repeat(np.arange(len(parts)), [rows.size for _, rows in parts])
        batches.append(Batch(X, kind, unique, rows, pattern))
    return batches


def _lift(means):
    """(K, 2D, D): the identity over minus the diagonal matrix of mu_k, so that a batch's ``augmented`` rows
    (x with 0 for a missing entry, beside the mask of observed entries) times it are e = x - mu_k with 0 on
    the missing entries. The products with 0 and 1 are exact, so e is exactly the difference."""
    K, D = means.shape
    lift = np.zeros((K, 2 * D, D))
    lift[:, np.arange(D), np.arange(D)] = 1.0
    lift[:, D + np.arange(D), np.arange(D)] = -means
    return lift


def _stack_factors(covariances):
    """Per component of the (K, D, D) stack: the precision matrix P_k = Sigma_k^-1 and half log det Sigma_k,
    from one Cholesky factorisation of each Sigma_k."""
    lower = np.linalg.cholesky(covariances)
    inverse_lower = np.linalg.inv(lower)
    precisions = np.swapaxes(inverse_lower, 1, 2) @ inverse_lower
    return precisions, np.sum(np.log(np.diagonal(lower, axis1=1, axis2=2)), axis=1)


def _small_inverses(A):
    """The inverses and half log-determinants of many small symmetric positive definite matrices, stored
    along the last axis, shape (c, c, M): by Cholesky factorisation :math:`\\mathbf{L}\\mathbf{L}^\\top`,
    then :math:`\\mathbf{W} = \\mathbf{L}^{-1}` and the inverse :math:`\\mathbf{W}^\\top\\mathbf{W}`.
    Returns the inverses, shape (c, c, M), and the half log-determinants, shape (M,).

    NumPy's stacked ``linalg`` calls LAPACK once per matrix, which for thousands of matrices of a few rows
    costs far more than the arithmetic; here each step of the factorisation runs on every matrix at once
    (``SMALL_MATRICES_PER_CHUNK`` at a time, so the vectors stay in cache).
    """
    c, _, M = A.shape
    inverse, half_log_det = np.empty_like(A), np.empty(M)
    for start in range(0, M, SMALL_MATRICES_PER_CHUNK):
        part = slice(start, start + SMALL_MATRICES_PER_CHUNK)
        L = np.zeros_like(A[:, :, part])
        for j in range(c):  # column j of L, for every matrix: a dot product over the columns before it
            row = L[j, :j]
            pivot = A[j, j, part] - np.einsum("km,km->m", row, row)
            if not np.all(pivot > 0):  # as np.linalg.cholesky would say
                raise np.linalg.LinAlgError("Matrix is not positive definite")
            L[j, j] = np.sqrt(pivot)
            L[j + 1 :, j] = (A[j + 1 :, j, part] - np.einsum("ikm,km->im", L[j + 1 :, :j], row)) / L[j, j]
        W = np.zeros_like(L)
        for i in range(c):  # row i of L^-1 by forward substitution
            W[i, i] = 1.0 / L[i, i]
            W[i, :i] = -np.einsum("km,kjm->jm", L[i, :i], W[:i, :i]) * W[i, i]
        for a in range(c):  # (W^T W)[a, b] = sum over k of W[k, a] W[k, b], W lower triangular
            inverse[a, : a + 1, part] = np.einsum("km,kbm->bm", W[a:, a], W[a:, : a + 1])
            inverse[: a + 1, a, part] = inverse[a, : a + 1, part]
        half_log_det[part] = np.sum(np.log(np.diagonal(L)), axis=-1)
    return inverse, half_log_det


def _batch_factors(batch, log_weights, precisions, covariances, half_log_det):
    """Per pattern of ``batch`` and component: the inverse of its small block, shape (G, K, c, c), and the
    constant :math:`\\log\\pi_k - \\tfrac12\\log\\det\\boldsymbol\\Sigma_{k,oo} - \\tfrac{|o|}2\\log 2\\pi` of
    its observed-data log-density, shape (K, G).

    In the precision form the block is :math:`\\mathbf{P}_{k,mm}`, whose inverse is the conditional covariance
    and whose log-determinant gives :math:`\\log\\det\\boldsymbol\\Sigma_{k,oo} = \\log\\det\\boldsymbol\\Sigma_k
    + \\log\\det\\mathbf{P}_{k,mm}` (the determinant of a Schur complement); in the covariance form it is
    :math:`\\boldsymbol\\Sigma_{k,oo}` itself.
    """
    K, D = log_weights.size, precisions.shape[1]
    G, c = batch.unique.shape
    source = np.moveaxis(precisions if batch.kind == "missing" else covariances, 0, -1)  # (D, D, K)
    small = batch.unique.T
    block = source[small[:, None, :], small[None, :, :]]  # (c, c, G, K): the layout _small_inverses takes
    inverse, half_log_det_block = _small_inverses(block.reshape(c, c, G * K))
    inverse = np.ascontiguousarray(inverse.reshape(c, c, G, K).transpose(2, 3, 0, 1))
    half_log_det_block = half_log_det_block.reshape(G, K).T
    if batch.kind == "missing":
        half_log_det_oo, n_observed = half_log_det[:, None] + half_log_det_block, D - c
    else:
        half_log_det_oo, n_observed = half_log_det_block, c
    return inverse, log_weights[:, None] - half_log_det_oo - 0.5 * n_observed * LOG_2PI


def _embedded_inverse(batch, inverse, n_features):
    """The (G, K, c, c) ``inverse`` of a batch's patterns embedded at their small sets in D x D zeros."""
    G, K, c, _ = inverse.shape
    embedded = np.zeros((G, K, n_features, n_features))
    patterns = np.arange(G)[:, None, None, None]
    components = np.arange(K)[None, :, None, None]
    embedded[patterns, components, batch.unique[:, None, :, None], batch.unique[:, None, None, :]] = inverse
    return embedded


def _embedded_product(batch, part, inverse, y):
    """Per component and row of ``batch[part]``: its pattern's c x c ``inverse`` (G, K, c, c) times the row's
    entries of ``y`` (K, B, D) on the small set, embedded in D coordinates (0 elsewhere). ``inverse`` is
    embedded in D x D already, shape (G, K, D, D), for a batch of shared patterns."""
    K, B, D = y.shape
    pattern = batch.pattern[part]
    if batch.shared:  # a few patterns with many rows each: one matrix product per pattern's run of rows
        out = np.empty_like(y)
        starts = np.flatnonzero(np.diff(pattern, prepend=-1))
        for start, stop in zip(starts, np.append(starts[1:], B)):
            np.matmul(y[:, start:stop], inverse[pattern[start]], out=out[:, start:stop])
        return out
    out = np.zeros_like(y)
    index, at = batch.index[part], np.arange(B)[:, None]
    out[:, at, index] = np.einsum("bkij,kbj->kbi", inverse[pattern], y[:, at, index])
    return out


def batched_blocks(batches, weights, means, covariances):
    """Per batch and block of rows, the E-step of rows with different patterns at once, with stacked linear
    algebra: the cost of a pattern no longer depends on how many rows share it.

    Yields ``(batch, part, inverse, log_joint, completed)``: the batch, the slice of its rows, the inverse of
    each of its patterns' small block (G, K, c, c) (for the conditional covariances, :func:`_conditional_sum`),
    :math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}_{n,o}\\mid\\boldsymbol\\mu_{k,o},\\boldsymbol\\Sigma_{k,oo})`
    of shape (K, B) and :math:`\\hat{\\mathbf{x}}_{nk} - \\boldsymbol\\mu_k` of shape (K, B, D)
    (:eq:`eq-inc-conditional-gaussian`). ``covariances`` is the (K, D, D) stack.

    With :math:`\\mathbf{e} = \\mathbf{x} - \\boldsymbol\\mu_k` and its missing entries set to 0, the precision
    form (few missing, m) uses the Schur complement of the book's chapter on incomplete data (section "The
    E-step: the conditional Gaussian", after :eq:`eq-inc-conditional-gaussian`),
    :math:`\\boldsymbol\\Sigma_{k,oo}^{-1} = \\mathbf{P}_{k,oo} - \\mathbf{P}_{k,om}\\mathbf{P}_{k,mm}^{-1}
    \\mathbf{P}_{k,mo}`: with :math:`\\mathbf{b} = (\\mathbf{P}_k\\mathbf{e})_m`, the Mahalanobis term is
    :math:`\\mathbf{e}^\\top\\mathbf{P}_k\\mathbf{e} - \\mathbf{b}^\\top\\mathbf{P}_{k,mm}^{-1}\\mathbf{b}`, the
    conditional mean :math:`\\boldsymbol\\mu_{k,m} - \\mathbf{P}_{k,mm}^{-1}\\mathbf{b}` and the conditional
    covariance :math:`\\mathbf{P}_{k,mm}^{-1}`. The covariance form (few observed, o) solves with
    :math:`\\boldsymbol\\Sigma_{k,oo}`: with :math:`\\mathbf{v}` equal to
    :math:`\\boldsymbol\\Sigma_{k,oo}^{-1}\\mathbf{e}_o` on o and 0 on m, :math:`\\boldsymbol\\Sigma_k\\mathbf{v}`
    is :math:`\\hat{\\mathbf{x}}_{nk} - \\boldsymbol\\mu_k` on m (:math:`\\boldsymbol\\Sigma_{k,mo}
    \\boldsymbol\\Sigma_{k,oo}^{-1}\\mathbf{e}_o`). Either way a row costs about K (D^2 + c^2), a complete row's
    K D^2 and a product with the smaller block's inverse.
    """
    K, D = means.shape
    log_weights = np.log(weights)
    precisions, half_log_det = _stack_factors(covariances)
    lift = _lift(means)
    step = max(1, BLOCK_ENTRIES // (K * D))
    for batch in batches:
        inverse, constant = _batch_factors(batch, log_weights, precisions, covariances, half_log_det)
        product = _embedded_inverse(batch, inverse, D) if batch.shared else inverse
        for start in range(0, batch.rows.size, step):
            part = slice(start, start + step)
            observed = batch.observed[part]
            e = batch.augmented[part] @ lift  # exactly x - mu_k, and 0 on the missing entries
            if batch.kind == "missing":
                pe = e @ precisions
                completed = e
                completed -= _embedded_product(batch, part, product, pe)  # minus P_mm^-1 b, on m
                quadratic = np.einsum("kbd,kbd->kb", pe, completed)  # e^T P e - b^T P_mm^-1 b
            else:
                v = _embedded_product(batch, part, product, e)  # Sigma_oo^-1 e_o on o
                quadratic = np.einsum("kbd,kbd->kb", e, v)
                completed = v @ covariances
                completed *= 1.0 - observed
                completed += e  # exactly the observed values on o
            yield batch, part, inverse, constant[:, batch.pattern[part]] - 0.5 * quadratic, completed


def diagonal_blocks(batches, weights, means, variances):
    """The E-step for diag and spherical covariances (``variances`` of shape (K, D)), by blocks of the rows of
    ``batches``, whatever their patterns: the coordinates are independent given the component, so the observed
    ones' density is a product over them and the missing ones' conditional Gaussian is their marginal (mean
    :math:`\\mu_{kd}`, variance :math:`\\sigma^2_{kd}`). Yields ``(rows, missing, log_joint, completed)``:
    the rows' indices, their mask of missing entries (B, D) as 1.0 and 0.0, and the last two as
    :func:`batched_blocks` does."""
    K, D = means.shape
    log_weights, precisions, log_variances = np.log(weights), 1.0 / variances, LOG_2PI + np.log(variances)
    lift = _lift(means)
    step = max(1, BLOCK_ENTRIES // (K * D))
    for batch in batches:
        for start in range(0, batch.rows.size, step):
            part = slice(start, start + step)
            observed = batch.observed[part]
            e = batch.augmented[part] @ lift  # exactly x - mu_k, and 0 on the missing entries
            quadratic = np.einsum("kbd,kd->kb", e * e, precisions) + log_variances @ observed.T
            yield batch.rows[part], 1.0 - observed, log_weights[:, None] - 0.5 * quadratic, e


def _scatter_blocks(pattern_weights, blocks, unique, n_features):
    """:math:`\\sum_g w_{kg}` times block (g, k) of ``blocks`` (G, K, c, c) embedded at the rows and columns
    ``unique[g]`` of a D x D matrix, per component: shape (K, D, D), from one ``bincount`` over the entries."""
    K, D = pattern_weights.shape[0], n_features
    flat = unique[:, None, :, None] * D + unique[:, None, None, :]  # (G, 1, c, c) positions in a D x D matrix
    flat = flat + (np.arange(K) * D * D)[None, :, None, None]
    values = pattern_weights.T[:, :, None, None] * blocks
    return np.bincount(flat.ravel(), values.ravel(), minlength=K * D * D).reshape(K, D, D)


def _conditional_sum(batch, inverse, pattern_weights, covariances):
    """:math:`\\sum_n r_{nk}\\mathbf{C}_{nk}` over a batch's rows, embedded in D x D, from the responsibilities
    summed per pattern (``pattern_weights``, (K, G)): :math:`\\mathbf{C}_{nk}` depends only on the row's
    pattern. In the precision form it is :math:`\\mathbf{P}_{k,mm}^{-1}`; in the covariance form
    :math:`\\boldsymbol\\Sigma_k - \\boldsymbol\\Sigma_{k,\\cdot o}\\boldsymbol\\Sigma_{k,oo}^{-1}
    \\boldsymbol\\Sigma_{k,o\\cdot}` (zero on o, the conditional covariance on m), whose sum needs only the
    weighted sum of the inverses."""
    D = covariances.shape[1]
    scattered = _scatter_blocks(pattern_weights, inverse, batch.unique, D)
    if batch.kind == "missing":
        return scattered
    return pattern_weights.sum(axis=1)[:, None, None] * covariances - covariances @ scattered @ covariances


def _accumulate(batches, weights, means, covariances, covariance_type, centre):
    """Counts, log-likelihood and the sums of r_nk d_nk and r_nk (d_nk d_nk^T + C_nk) with d_nk = xhat_nk -
    centre_k, over the rows of ``batches`` (full and tied keep the D x D sums, diag and spherical their
    diagonals)."""
    K, D = means.shape
    nk, first, log_likelihood = np.zeros(K), np.zeros((K, D)), 0.0
    offset = None if centre is means else (means - centre)[:, None, :]
    if covariance_type in ("diag", "spherical"):
        second = np.zeros((K, D))
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        for _, missing, log_joint, d in diagonal_blocks(batches, weights, means, variances):
            log_likelihood += normalise_log_joint(log_joint)
            resp = log_joint
            if offset is not None:
                d += offset
            nk += resp.sum(axis=1)
            first += np.einsum("kb,kbd->kd", resp, d)
            # the conditional variance of a missing coordinate is its component's variance
            second += np.einsum("kb,kbd->kd", resp, d * d) + (resp @ missing) * variances
        return nk, log_likelihood, first, second
    second = np.zeros((K, D, D))
    pattern_weights = {}  # per batch: its inverses and the responsibilities summed per pattern
    for batch, part, inverse, log_joint, d in batched_blocks(batches, weights, means, covariances):
        log_likelihood += normalise_log_joint(log_joint)
        resp = log_joint
        if offset is not None:
            d += offset
        nk += resp.sum(axis=1)
        first += (resp[:, None, :] @ d)[:, 0]
        second += np.swapaxes(d * resp[:, :, None], 1, 2) @ d
        # a batch's rows are stored pattern by pattern, so each pattern's rows are one run
        pattern = batch.pattern[part]
        starts = np.flatnonzero(np.diff(pattern, prepend=-1))
        _, sums = pattern_weights.setdefault(id(batch), (inverse, np.zeros((K, batch.unique.shape[0]))))
        sums[:, pattern[starts]] += np.add.reduceat(resp, starts, axis=1)
    for batch in batches:
        if id(batch) in pattern_weights:
            second += _conditional_sum(batch, *pattern_weights[id(batch)], covariances)
    return nk, log_likelihood, first, second


def incomplete_summary(X, groups, parameters, covariance_type, observed_data=None, batches=None):
    """The summary of the rows of ``groups`` for one EM iteration, in the form of ``_dask.chunk_summary``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        The data, NaN where an entry is missing.
    groups : list of (observed, rows)
        The patterns to sum through the natural parameters of their observed columns (with ``observed_data``),
        or all the rows to summarise, by pattern (without it).
    parameters : tuple
        ``(weights, means, precisions_cholesky)``, shaped as the estimator's attributes.
    covariance_type : {"full", "tied", "diag", "spherical"}
    observed_data : list, optional
        :meth:`Patterns.observed_data` for ``groups``, which a caller iterating on the same data keeps; None
        sums every row of ``groups`` explicitly (:func:`batched_blocks`) instead.
    batches : list of Batch, optional
        More rows, summed explicitly: :func:`batches_of` for the patterns not in ``groups``, which a caller
        iterating on the same data keeps (:meth:`Patterns.plan`).

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
    explicit = batches_of(X, explicit) + list(batches or [])
    if explicit or not parts:
        parts.append(_explicit_summary(explicit, weights, means, covariances, covariance_type))
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


def _explicit_summary(batches, weights, means, covariances, covariance_type):
    """The summary of the rows of ``batches``, each completed row summed explicitly, block by block."""
    n = sum(batch.rows.size for batch in batches)
    # Moments about the previous means, which are close to the new ones; if a mean moved far relative to its
    # spread, the sums are taken again about the new means (as in _fast.em_iteration).
    for attempt in range(2):
        centre = means if attempt == 0 else new_means
        nk, log_likelihood, first, second = _accumulate(batches, weights, means, covariances, covariance_type,
                                                        centre)
        nk += NK_FLOOR
        shift = first / nk[:, None]
        new_means = centre + shift
        if second.ndim == 3:
            scatters = second - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
            spread = np.diagonal(scatters, axis1=1, axis2=2) / nk[:, None]
        else:
            scatters = second - nk[:, None] * shift**2
            spread = scatters / nk[:, None]
        if not np.any(shift**2 > MAX_SHIFT_RATIO * spread):
            break
    return n, log_likelihood, nk, new_means, scatters


def weighted_log_prob(X, batches, weights, means, covariances, covariance_type):
    """:math:`\\log\\pi_k + \\log\\mathcal N(\\mathbf{x}_{n,o}\\mid\\boldsymbol\\mu_{k,o},\\boldsymbol\\Sigma_{k,oo})`,
    shape (N, K): the marginal over each row's observed coordinates (:eq:`eq-joint` in log space), for the rows
    of ``batches`` (:func:`batches_of` of :meth:`Patterns.all_groups`); ``covariances`` is the (K, D, D) stack."""
    result = np.empty((X.shape[0], means.shape[0]))
    if covariance_type in ("diag", "spherical"):
        variances = np.diagonal(covariances, axis1=1, axis2=2)
        for block, _, log_joint, _ in diagonal_blocks(batches, weights, means, variances):
            result[block] = log_joint.T
        return result
    for batch, part, _, log_joint, _ in batched_blocks(batches, weights, means, covariances):
        result[batch.rows[part]] = log_joint.T
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


def chunk_summary_with_missing(block, parameters, covariance_type):
    """``_dask.chunk_summary`` for a chunk of a Dask array that may hold NaN (missing at random): the
    complete rows through the fused iteration, the others grouped by pattern as an in-memory fit groups them
    (:class:`Patterns`, :func:`incomplete_summary`), afresh at every pass, as the chunk is computed afresh."""
    patterns = Patterns(block)
    if not patterns.groups:
        return chunk_summary(block, parameters, covariance_type)
    groups, observed_data, batches = patterns.plan(block)
    parts = [incomplete_summary(block, groups, parameters, covariance_type, observed_data, batches)]
    if patterns.complete.size:
        parts.append(chunk_summary(block[patterns.complete], parameters, covariance_type))
    return merge_summaries(parts)
