"""``GaussianMixture`` on Dask arrays: EM over data that live in chunks on a cluster, never on the client.

Everything an M-step needs is a sum over the points (:eq:`eq-chunk-sums`), so one EM iteration is one pass
over the chunks. Each chunk's task runs gmmlab's fused E- and M-step (``_fast.em_iteration``) on its own rows,
which yields the chunk's summary: its rows, its log-likelihood and, per component, the count
:math:`N_k^{(c)}`, the weighted mean and the weighted scatter around that mean. Dask merges the summaries
pairwise up a tree (:eq:`eq-merge-chunks`), so only O(K D^2) numbers per chunk travel and only the merged
summary reaches the client, which finishes the M-step and runs the convergence test. Centred summaries
rather than raw sums of x x^T keep the precision of the in-memory fit (``gmmlab/_covariances.py``).

The initialisation runs on a seeded uniform sample of at most ``INIT_SAMPLE_ROWS`` rows, drawn chunk by
chunk on the workers; only the sampled rows reach the client. Nothing here imports dask until a Dask array
arrives, so ``import gmmlab`` stays light.
"""

import copy
import sys

import numpy as np

from ._checks import check_missing_values, empty_column_message, empty_row_message, infinite_message
from ._covariances import NK_FLOOR, finish_covariances
from ._fast import em_iteration

# The initialisation (k-means or any other ``init_params``) sees a uniform sample of this many rows (all
# rows when there are fewer): enough for k-means to place the centres, small enough for the client.
INIT_SAMPLE_ROWS = 50_000

# Chunk summaries merged per task of the tree reduction, as dask.array's own reductions do by default.
SPLIT_EVERY = 8


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array``, without importing dask: such an array exists only once
    ``dask.array`` has been imported."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def is_dask_collection(X):
    """Whether ``X`` is any Dask collection (array, DataFrame, bag, delayed), without importing dask."""
    module = sys.modules.get("dask")
    return module is not None and module.is_dask_collection(X)


def refuse_other_collections(X, name="X"):
    """Raise ``TypeError`` unless the Dask collection ``X`` is a Dask array.

    ``np.asarray`` would materialise a Dask DataFrame, bag or delayed object on the client, which for the
    data Dask is for exhausts its memory; so they are refused, with the conversion that keeps them lazy.
    """
    if not is_dask_array(X):
        raise TypeError(
            f"{name} is a Dask {type(X).__name__}; GaussianMixture fits and scores Dask arrays without "
            "computing them on the client, but would have to materialise this. Convert a Dask DataFrame with "
            f"{name}.to_dask_array(lengths=True) (numeric columns only; lengths=True gives the chunk sizes "
            "the fit needs)."
        )
    return X


# ------------------------------------------------------------------------------------------- validation


def check_dask_data(X, name="X"):
    """A 2-D float64 or float32 Dask array whose chunks hold whole rows, or an error naming the problem.

    The checks that need the values (NaN, infinity) need a pass over the data; :func:`fit` folds them into
    its first pass, and predictions check each chunk when it is computed.
    """
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, D); got {X.ndim}-D with shape {X.shape}")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"{name} contains complex numbers (Complex data not supported); pass real numbers")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name} must be a numeric array of shape (N, D); got a Dask array of dtype {X.dtype}")
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{name} has chunks of unknown length (a Dask array cut by a boolean mask, or made from a Dask "
            f"DataFrame without lengths, say); call {name}.compute_chunk_sizes() first (or "
            "DataFrame.to_dask_array(lengths=True))"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column; got shape {X.shape}")
    if X.dtype not in (np.float64, np.float32):  # float32 stays float32, as in memory
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # the statistics of a row need all its features
    return X


def _chunk_check(block):
    """One chunk's share of the first pass: its first row with an infinite value and its first row with every
    entry NaN (-1 if none), whether it holds NaN, and per feature the count, mean and centred sum of squares of
    its observed entries (float64; a feature unobserved in the chunk has count 0 and moments 0)."""
    infinite, empty = np.isinf(block).any(axis=1), np.isnan(block).all(axis=1)
    first = [int(np.argmax(rows)) if rows.any() else -1 for rows in (infinite, empty)]
    observed = np.isfinite(block)
    count = observed.sum(axis=0)
    values = np.where(observed, block, 0.0).astype(np.float64, copy=False)
    mean = values.sum(axis=0) / np.maximum(count, 1)
    squares = np.sum(((values - mean) * observed) ** 2, axis=0)
    return first, bool(np.isnan(block).any()), count, mean, squares


def _first_pass(X, sample_parts):
    """One pass over X: raise if it holds an infinite value, a row with every entry missing (NaN) or a feature
    never observed, naming the row or feature in the whole array; else return the variance of every feature
    over its observed entries, whether X holds NaN, and the rows of ``sample_parts`` (delayed pieces of the
    initialisation's sample) joined into one array, each missing entry replaced by the mean of its column's
    observed entries (as an in-memory fit initialises). The chunks' moments are merged on the client
    (Chan et al.'s pairwise update, as :func:`merge_summaries` merges)."""
    import dask

    check = dask.delayed(_chunk_check, pure=True)
    checks, sample = dask.compute([check(block) for block in X.to_delayed().ravel()], list(sample_parts))
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    for which, message in enumerate((infinite_message, empty_row_message)):
        rows = [start + first[which] for start, (first, *_) in zip(starts, checks) if first[which] >= 0]
        if rows:
            raise ValueError(message("X", rows[0]))
    count, mean, squares = np.zeros(X.shape[1]), np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for _, _, count_b, mean_b, squares_b in checks:
        total = count + count_b
        delta = mean_b - mean
        share = np.divide(count_b, total, out=np.zeros_like(mean), where=total > 0)
        squares = squares + squares_b + delta**2 * count * share
        mean, count = mean + delta * share, total
    if not count.all():
        raise ValueError(empty_column_message("X", int(np.argmin(count))))
    has_nan = any(chunk_has_nan for _, chunk_has_nan, *_ in checks)
    sample = np.concatenate(sample) if sample else None
    if sample is not None and has_nan:
        sample = np.where(np.isnan(sample), mean.astype(sample.dtype), sample)
    return squares / count, has_nan, sample


# ----------------------------------------------------------------------------------- chunk statistics


def _moment_form(prec_chol, covariance_type, K, D):
    """The per-component form of shared or scalar precision factors, so a chunk keeps each component's own
    second moments: tied -> full (the shared factor K times), spherical -> diag (each variance D times).
    The E-step is unchanged; the M-step pools the moments again at the end (:func:`m_step_from_summary`)."""
    if covariance_type == "tied":
        return "full", np.broadcast_to(prec_chol, (K, D, D))
    if covariance_type == "spherical":
        return "diag", np.repeat(prec_chol[:, None], D, axis=1)
    return covariance_type, prec_chol


def chunk_summary(block, parameters, covariance_type, centre=None):
    """One chunk's share of an EM iteration, from the parameters before the update.

    Parameters
    ----------
    block : ndarray of shape (N_c, D)
        The chunk's rows.
    parameters : tuple
        ``(weights, means, precisions_cholesky)``, shaped as the estimator's attributes.
    covariance_type : {"full", "tied", "diag", "spherical"}
    centre : ``_fast.Centre`` of ``block``, optional
        Computed here when None; a caller summarising the same rows again passes it.

    Returns
    -------
    summary : tuple
        ``(N_c, log_likelihood, N_k, means, scatters)``: the rows, the sum of their log-densities
        (:eq:`eq-gmm-log-likelihood`), and per component :math:`N_k^{(c)}` (:eq:`eq-n-k`), the weighted mean
        :math:`\\bar{\\mathbf{x}}_k^{(c)}` and the scatter :math:`\\mathbf{S}_k^{(c)}` around it
        (:eq:`eq-chunk-summary`; (K, D, D) for full and tied, (K, D) for diag and spherical).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [9.0], [11.0]])
    >>> parameters = (np.array([0.5, 0.5]), np.array([[1.0], [10.0]]), np.ones((2, 1, 1)))
    >>> n, log_likelihood, N_k, means, scatters = chunk_summary(X, parameters, "full")
    >>> n, np.round(N_k, 6).tolist(), np.round(means.ravel(), 6).tolist(), np.round(scatters.ravel(), 6).tolist()
    (5, [3.0, 2.0], [1.0, 10.0], [2.0, 2.0])
    """
    weights, means, prec_chol = parameters
    K, D = means.shape
    moments, factor = _moment_form(prec_chol, covariance_type, K, D)
    # The chunk's own M-step without regularisation is its summary in disguise: its weights are N_k^(c)
    # + floor divided by their sum, N_c + K floor; its covariances are the scatters divided by the same.
    mean_log_likelihood, chunk_weights, chunk_means, chunk_covariances = em_iteration(
        block, weights, means, factor, moments, 0.0, centre=centre
    )
    n = block.shape[0]
    nk = chunk_weights * (n + K * NK_FLOOR)
    scatters = chunk_covariances * (nk[:, None, None] if moments == "full" else nk[:, None])
    return n, mean_log_likelihood * n, nk, chunk_means, scatters


def merge_summaries(summaries):
    """Merge chunk summaries into the summary of all their rows (:eq:`eq-merge-chunks`).

    Counts and log-likelihoods add; means combine as weighted averages; scatters add, plus the scatter of
    the chunk means around the merged mean. The merge is exact and associative, so any tree of merges gives
    the summary of the whole data set.

    Parameters
    ----------
    summaries : list of tuple
        Summaries of disjoint sets of rows, as :func:`chunk_summary` returns them.

    Returns
    -------
    summary : tuple
        The summary of all their rows, in the same form.

    Examples
    --------
    Two halves of a data set, merged, give the summary of the whole:

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> parameters = (np.array([0.5, 0.5]), np.array([[-1.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2))
    >>> whole = chunk_summary(X, parameters, "full")
    >>> halves = merge_summaries([chunk_summary(X[:30], parameters, "full"), chunk_summary(X[30:], parameters, "full")])
    >>> all(np.allclose(a, b, rtol=1e-12) for a, b in zip(whole, halves))
    True
    """
    n, log_likelihood, nk, means, scatters = summaries[0]
    for n_b, log_likelihood_b, nk_b, means_b, scatters_b in summaries[1:]:
        total = nk + nk_b
        delta = means_b - means
        gain = nk * nk_b / total
        if scatters.ndim == 3:
            between = gain[:, None, None] * delta[:, :, None] * delta[:, None, :]
        else:
            between = gain[:, None] * delta**2
        means = means + delta * (nk_b / total)[:, None]
        scatters = scatters + scatters_b + between
        n, log_likelihood, nk = n + n_b, log_likelihood + log_likelihood_b, total
    return n, log_likelihood, nk, means, scatters


def m_step_from_summary(summary, covariance_type, reg_covar):
    """The M-step (:eq:`eq-weight-update`, :eq:`eq-mean-update`, :eq:`eq-covariance-update`, with
    :eq:`eq-reg-covar`) from the merged summary of all the data, on the client.

    Parameters
    ----------
    summary : tuple
        The merged summary of all the rows (:func:`merge_summaries`).
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Added to every variance.

    Returns
    -------
    mean_log_likelihood : float
        Average log-likelihood per point under the parameters before the update.
    weights, means, covariances : ndarray
        The updated parameters, as ``_fast.em_iteration`` returns them.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [9.0], [11.0]])
    >>> parameters = (np.array([0.5, 0.5]), np.array([[1.0], [10.0]]), np.ones((2, 1, 1)))
    >>> _, weights, means, variances = m_step_from_summary(chunk_summary(X, parameters, "full"), "full", 0.0)
    >>> np.round(weights, 6).tolist(), np.round(means.ravel(), 6).tolist(), np.round(variances.ravel(), 6).tolist()
    ([0.6, 0.4], [1.0, 10.0], [0.666667, 1.0])
    """
    n, log_likelihood, nk, means, scatters = summary
    own = scatters / (nk[:, None, None] if scatters.ndim == 3 else nk[:, None])
    return log_likelihood / n, nk / nk.sum(), means, finish_covariances(own, nk, covariance_type, reg_covar)


def tree_reduce(parts, split_every=SPLIT_EVERY):
    """Dask tasks that merge ``parts`` (delayed summaries) ``split_every`` at a time, level by level."""
    from dask import delayed

    merge = delayed(merge_summaries, pure=True)
    while len(parts) > 1:
        parts = [merge(parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


def em_iteration_over_chunks(blocks, weights, means, prec_chol, covariance_type, reg_covar, summary=chunk_summary):
    """One EM iteration over delayed chunks: one task per chunk, a tree of merges, the M-step on the client.

    Takes and returns what ``_fast.em_iteration`` does, with the list of the chunks' delayed blocks in place
    of X, so the estimator's EM loop runs unchanged. ``summary`` is each chunk's task: :func:`chunk_summary`,
    or ``_missing.chunk_summary_with_missing`` for data with NaN.
    """
    from dask import compute, delayed

    # One graph node holds the parameters, so every chunk's task refers to it rather than to a copy.
    parameters = delayed((weights, means, prec_chol), pure=True, traverse=False)
    summarise = delayed(summary, pure=True)
    (summary,) = compute(tree_reduce([summarise(block, parameters, covariance_type) for block in blocks]))
    return m_step_from_summary(summary, covariance_type, reg_covar)


# ------------------------------------------------------------------------------------- initialisation


def _take_rows(block, count, seed):
    rows = np.sort(np.random.RandomState(seed).choice(block.shape[0], size=count, replace=False))
    return block[rows]


def sample_rows(X, n_rows, random_state):
    """Delayed pieces of a uniform sample of ``n_rows`` distinct rows of X, in data order (X itself if it has
    no more rows); concatenated, they are the sample.

    The client draws how many rows each chunk gives (hypergeometric counts, so every set of ``n_rows`` rows
    is equally likely) and a seed per chunk; the workers draw the rows. Only the sample reaches the client.
    """
    from dask import delayed

    N = X.shape[0]
    if n_rows >= N:
        return [X]
    rows_left, sample_left, parts = N, n_rows, []
    take = delayed(_take_rows, pure=True)
    for block, size in zip(X.to_delayed().ravel(), X.chunks[0]):
        count = 0
        if sample_left:
            count = int(random_state.hypergeometric(size, rows_left - size, sample_left))
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        if count:
            parts.append(take(block, count, seed))
        rows_left, sample_left = rows_left - size, sample_left - count
    return parts


# ------------------------------------------------------------------------------------------- fitting


class ChunkedData:
    """The data source of a fit on a Dask array (see ``mixture._InMemoryData`` for the in-memory one): what
    the estimator's EM loop needs from the data, each from one pass over the chunks.

    ``prepare`` checks the values, computes the variance of every feature (the variance floor's scale) and
    draws the initialisation's sample; ``iteration`` is one EM iteration, one pass over the chunks. NaN entries
    are missing values, as in memory: each chunk's task is then ``missing_summary`` (which ``mixture`` passes,
    ``_missing.chunk_summary_with_missing``; ``_missing`` imports this module).
    """

    def __init__(self, X, missing_summary):
        self.X = check_dask_data(X)
        self.n_samples, self.n_features = self.X.shape
        self.dtype = self.X.dtype
        self.blocks = list(self.X.to_delayed().ravel())
        self.missing_summary, self.summary = missing_summary, chunk_summary

    def prepare(self, random_state, needs_sample):
        """Returns the variance of every feature; sets ``init_sample`` (None unless ``needs_sample``)."""
        parts = sample_rows(self.X, INIT_SAMPLE_ROWS, random_state) if needs_sample else []
        variance, has_nan, self.init_sample = _first_pass(self.X, parts)
        self.summary = self.missing_summary if has_nan else chunk_summary
        return variance

    def iteration(self, weights, means, prec_chol, covariance_type, reg_covar):
        return em_iteration_over_chunks(
            self.blocks, weights, means, prec_chol, covariance_type, reg_covar, summary=self.summary
        )

    def apply(self, model, method):
        return predict(model, self.X, method)


# ---------------------------------------------------------------------------------------- prediction


def _apply(block, model, method, block_info=None):
    """The in-memory method on one chunk (NaN entries are missing values); an error about a row names its row
    in the whole array."""
    check_missing_values(block, "X", first_row=block_info[0]["array-location"][0][0] if block_info else 0)
    return getattr(model, method)(block)


def predict(model, X, method):
    """``model.<method>(X)`` for a (validated) Dask array X, as a lazy Dask array computed chunk by chunk.

    Each chunk is handed to the in-memory method of a copy of the fitted model, so the parameters are those
    of the call even if the model is refitted before the result is computed.
    """
    X = check_dask_data(X)
    frozen = copy.copy(model)
    dtype = np.intp if method == "predict" else X.dtype
    if method == "predict_proba":
        shape = {"chunks": (X.chunks[0], (model.n_components,)), "meta": np.empty((0, 0), dtype=dtype)}
    else:
        shape = {"drop_axis": 1, "meta": np.empty((0,), dtype=dtype)}
    return X.map_blocks(_apply, frozen, method, **shape)
