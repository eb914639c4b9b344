"""``GaussianMixture``: a scikit-learn estimator built on gmmlab's EM, a drop-in for scikit-learn's."""

import warnings
from numbers import Real

import numpy as np
from sklearn import mixture as sklearn_mixture
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _dask
from ._checks import check_data, check_means, check_n_components, check_weights, empty_column_message
from ._covariances import (
    COVARIANCE_TYPES,
    NK_FLOOR,
    check_not_degenerate,
    checked_precisions_cholesky,
    covariances_from_cholesky,
    estimate_parameters,
    finish_covariances,
    log_gaussian_prob,
    n_parameters,
    precisions_cholesky,
    precisions_from_cholesky,
)
from ._fast import FEATURE_BLOCK_ENTRIES, data_centre, em_iteration
from ._kmeans_fast import kmeans_labels
from ._missing import (
    Patterns,
    batches_of,
    chunk_summary_with_missing,
    full_covariances,
    incomplete_summary,
    weighted_log_prob,
)
from ._sklearn_kmeans import kmeans_labels as sklearn_kmeans_labels
from .likelihood import logsumexp
from .online import step_size

__all__ = ["ConvergenceWarning", "GaussianMixture", "NotFittedError"]

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "fast-kmeans")

# scikit-learn's error when an initialisation gives a singular covariance.
INITIAL_COLLAPSE = (
    "Fitting the mixture model failed because some components have ill-defined empirical covariance (for "
    "instance caused by singleton or collapsed samples). Try to decrease the number of components, increase "
    "reg_covar, or scale the input data."
)

# Data of these dtypes are used as they are (float32 stays float32); anything else is converted to float64.
DTYPES = (np.float64, np.float32)


class _InMemoryData:
    """The data source of an in-memory fit (``_dask.ChunkedData`` is the chunked one): what the estimator's
    EM loop needs from the data.

    ``prepare`` computes once per fit the data's centre (which the natural-parameter iterations work about)
    and the variance of every feature (the variance floor's scale); the initialisation uses all rows;
    ``iteration`` is one fused EM iteration (``_fast.em_iteration``); ``apply`` runs a prediction method.
    """

    def __init__(self, X):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype

    def prepare(self, random_state, needs_sample):
        """Returns the variance of every feature; sets ``init_sample`` (all the rows)."""
        self.centre = data_centre(self.X)
        self.init_sample = self.X
        return self.centre.variance

    def iteration(self, weights, means, prec_chol, covariance_type, reg_covar):
        return em_iteration(self.X, weights, means, prec_chol, covariance_type, reg_covar, centre=self.centre)

    def summary(self, parameters, covariance_type):
        """The data's summary for one E-step (``_dask.chunk_summary``), for :meth:`GaussianMixture.partial_fit`."""
        return _dask.chunk_summary(self.X, parameters, covariance_type)

    def apply(self, model, method):
        return getattr(model, f"_{method}")(self.X)


class _MissingData:
    """The data source of an in-memory fit on data with missing entries (NaN, missing at random).

    The rows are grouped once by their pattern of missing entries (``_missing.Patterns``). An iteration
    summarises the complete rows with the fused iteration of ``_fast`` (as a chunk, ``_dask.chunk_summary``)
    and the incomplete ones with the conditional Gaussians of their missing coordinates
    (``_missing.incomplete_summary``: frequent patterns one by one on their observed columns, the rows of rare
    ones in batches whatever their pattern; the plan is made once per fit, ``Patterns.plan``), merges the
    summaries (:eq:`eq-merge-chunks`) and finishes the M-step from the merged one: the same EM loop as for
    complete data, with expected statistics. The
    initialisation sees the data with each missing entry replaced by its column's mean.
    """

    def __init__(self, X):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.patterns = Patterns(X)
        empty = np.flatnonzero(np.isnan(X).all(axis=0))
        if empty.size:
            raise ValueError(empty_column_message("X", int(empty[0])))
        self._complete = None

    def prepare(self, random_state, needs_sample):
        """Returns the variance of every feature over its observed entries; sets ``init_sample`` (the rows with
        every missing entry replaced by the mean of its column's observed entries)."""
        column_means = np.nanmean(self.X, axis=0, dtype=np.float64)
        self.init_sample = np.where(np.isnan(self.X), column_means.astype(self.dtype), self.X)
        return np.nanvar(self.X, axis=0, dtype=np.float64)

    def summary(self, parameters, covariance_type):
        """The summary of all rows for one E-step, in the form of ``_dask.chunk_summary``."""
        parts = []
        if self.patterns.complete.size:
            if self._complete is None:  # the complete rows and their centre, once per fit
                rows = self.X[self.patterns.complete]
                self._complete = (rows, data_centre(rows))
            rows, centre = self._complete
            parts.append(_dask.chunk_summary(rows, parameters, covariance_type, centre))
        groups, observed_data, batches = self.patterns.plan(self.X)
        parts.append(incomplete_summary(self.X, groups, parameters, covariance_type, observed_data, batches))
        return _dask.merge_summaries(parts)

    def iteration(self, weights, means, prec_chol, covariance_type, reg_covar):
        summary = self.summary((weights, means, prec_chol), covariance_type)
        return _dask.m_step_from_summary(summary, covariance_type, reg_covar)

    def apply(self, model, method):
        """A prediction method on the rows' observed coordinates (the marginals of the mixture)."""
        K, D = model.n_components, self.n_features
        weights, means, covariances = (
            np.asarray(value, dtype=np.float64) for value in (model.weights_, model.means_, model.covariances_)
        )
        covariances = full_covariances(covariances, model.covariance_type, K, D)
        batches = batches_of(self.X, self.patterns.all_groups(D))
        weighted = weighted_log_prob(self.X, batches, weights, means, covariances, model.covariance_type)
        if method == "predict":
            return weighted.argmax(axis=1)
        log_norm = logsumexp(weighted, axis=1, keepdims=True)
        if method == "score_samples":
            return log_norm[:, 0].astype(self.dtype)
        return np.exp(weighted - log_norm).astype(self.dtype)



def _check_precisions(precisions, covariance_type, n_components, n_features):
    precisions = np.asarray(precisions, dtype=np.float64)
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    if precisions.shape != shapes[covariance_type]:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must have shape "
            f"{shapes[covariance_type]}; got shape {precisions.shape}"
        )
    if not np.all(np.isfinite(precisions)):
        raise ValueError("precisions_init contains NaN or infinite values")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(f"precisions_init must be positive for covariance_type={covariance_type!r}")
        return precisions
    for k, matrix in enumerate(precisions if covariance_type == "full" else precisions[None]):
        if not np.allclose(matrix, matrix.T) or np.any(np.linalg.eigvalsh(matrix) <= 0):
            raise ValueError(f"precisions_init[{k}] must be symmetric positive definite")
    return precisions


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM: a scikit-learn estimator with the parameters, attributes and methods
    of ``sklearn.mixture.GaussianMixture``.

    Code written for scikit-learn's class runs unchanged, in pipelines, cross-validation and grid searches
    too. Each iteration is one E-step (:eq:`eq-responsibilities`) and one M-step (:eq:`eq-mean-update`,
    :eq:`eq-covariance-update`, :eq:`eq-weight-update`, with ``reg_covar`` as in :eq:`eq-reg-covar`),
    fused over blocks of rows (``gmmlab/_fast.py``); ``lower_bound_`` is the average log-likelihood per
    point (:eq:`eq-gmm-log-likelihood` divided by N), which equals the lower bound :eq:`eq-lower-bound`
    right after an E-step. Every ``init_params`` draws from ``random_state`` exactly as scikit-learn does
    (``"kmeans"`` runs scikit-learn's own ``KMeans(n_init=1)``: the seeding and Lloyd functions of its ``fit``,
    ``gmmlab/_sklearn_kmeans.py``), so one ``random_state`` gives both
    estimators the same start (for float32 data up to rounding: scikit-learn computes in float32); float32
    data give float32 attributes and results (the sums are accumulated in float64), and X is never copied to
    float64. Differences from scikit-learn, all deliberate:

    - every covariance type is estimated from moments centred where accuracy needs it (scikit-learn's
      ``tied``, ``diag`` and ``spherical`` subtract squared means, which is inaccurate for a tight cluster
      far from the origin); full covariances use moments about the data's mean unless that could cost
      more than about six digits (``gmmlab/_fast.py``);
    - no k-means runs at all when ``weights_init``, ``means_init`` and ``precisions_init`` are all given;
    - ``init_params="fast-kmeans"`` (an option; scikit-learn has no such value) runs gmmlab's own k-means
      (``gmmlab/_kmeans_fast.py``: greedy k-means++ seeding that draws as ``KMeans`` does, then Lloyd's
      iteration with matrix-product distances in blocks and scikit-learn's relative tolerance). It is faster
      and usually reaches ``KMeans``'s clustering, but not always: on data with ties (boolean or integer
      features) rounding breaks the ties differently, and the fits then differ;
    - a component that collapses during EM (its covariance singular, as happens with ``reg_covar=0`` on
      repeated points) stops that initialisation with a ``ConvergenceWarning`` that names it; the
      parameters from before the collapse are kept and ``converged_`` is False.

    **Dask arrays.** ``fit``, ``fit_predict``, ``predict``, ``predict_proba``, ``score_samples``, ``score``,
    ``bic`` and ``aic`` also accept a ``dask.array.Array`` (chunked along rows; ``dask`` and ``distributed``
    are needed only then; a Dask DataFrame or other Dask collection is refused with a ``TypeError`` rather
    than computed on the client: convert a DataFrame with ``X.to_dask_array(lengths=True)``), for data
    larger than one machine's memory. Every EM iteration is one pass over the chunks: each chunk's task
    computes its counts, means and scatters (:eq:`eq-chunk-summary`), Dask merges them up a tree
    (:eq:`eq-merge-chunks`), and the M-step runs on the client, which never holds the data. A
    first pass checks the values and draws the initialisation's sample: ``init_params`` runs on a seeded,
    uniform sample of at most 50 000 rows (all rows when there are fewer, and then the fit equals the
    in-memory one); ``means_init``, ``weights_init`` and ``precisions_init`` skip it. Computations use
    Dask's current scheduler, so with a ``distributed.Client`` the same code runs on a laptop's
    ``LocalCluster`` or on any Dask cluster. Every pass recomputes the chunks from their source (files, say);
    ``X = X.persist()`` first keeps them in the workers' memory if it holds them. ``predict``,
    ``predict_proba`` and ``score_samples`` return lazy Dask arrays (with the parameters of the call);
    ``score``, ``bic`` and ``aic`` compute their float.

    **Missing values.** NaN entries of ``X`` are missing values, assumed missing at random (scikit-learn's
    ``allow_nan`` tag), in ``fit``, ``partial_fit`` and every prediction method, for all four covariance types.
    ``fit`` maximises the observed-data log-likelihood, the sum over rows of the log of the mixture's
    marginal density on the row's observed coordinates, with EM: the E-step completes every row with the
    conditional Gaussian of its missing coordinates given its observed ones, per component, and the M-step
    uses the expected statistics, the conditional covariance included (``gmmlab/_missing.py``, and the
    book's chapter on incomplete and streaming data). ``lower_bound_`` is then the average observed-data
    log-likelihood per point, and increases at every iteration. Rows are grouped by their pattern of missing
    entries: a pattern shared by many rows costs one factorisation per component and iteration, and rows of
    rare patterns (in many dimensions, nearly every row's) are computed in batches of rows with different
    patterns, from the precision matrix and the Schur complement of the small missing block (or from the
    small observed block), at a cost per row that does not depend on the number of patterns; the complete
    rows take the usual fused iteration. The initialisation (every ``init_params``) runs on the data with
    each missing entry replaced by the mean of its column. The prediction methods use the marginals over each
    row's observed coordinates (``score_samples`` is the log of the marginal density). Infinite values, rows
    with every entry missing and columns with every entry missing raise a ``ValueError`` that names them.
    Data without NaN take exactly the path (and have the speed) they had before. On a Dask array, ``fit``
    groups each chunk's rows by pattern in the chunk's own task, at every pass, and the prediction methods
    take NaN chunk by chunk, as ``partial_fit`` does; errors name the row in the whole array.
    :class:`GaussianMixtureImputer` fills the missing entries in with the fitted mixture.

    **Online EM.** :meth:`partial_fit` runs Cappé and Moulines' online EM: the averaged sufficient
    statistics (per component the mean over the points of :math:`r_{nk}`, :math:`r_{nk}\\mathbf{x}_n` and
    :math:`r_{nk}\\mathbf{x}_n\\mathbf{x}_n^\\top`) move towards those of each new batch,
    :math:`\\mathbf{s} \\leftarrow (1 - \\gamma_t)\\mathbf{s} + \\gamma_t \\mathbf{s}_{\\text{batch}}`, with the
    step :math:`\\gamma_t = (t + \\tau)^{-\\kappa}` at the t-th batch (t = 1, 2, ...), with
    :math:`\\tau` = ``learning_offset`` and :math:`\\kappa` = ``learning_decay``, and the parameters are the
    M-step of the statistics. Robbins and Monro's conditions
    (:math:`\\sum_t\\gamma_t = \\infty`, :math:`\\sum_t\\gamma_t^2 < \\infty`) hold for ``learning_decay`` in
    (0.5, 1], the values allowed; a smaller decay forgets old batches faster, a larger offset damps the first
    steps. The first call initialises the parameters from its batch (``init_params``, or the ``*_init``
    parameters) and starts from the statistics of those parameters, so with ``learning_offset=0`` the first
    step is 1 and a first call on all the data is one EM iteration. After :meth:`fit`, ``partial_fit``
    continues from the fitted parameters; :meth:`fit` starts afresh.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component's own full covariance, one shared full covariance, diagonal covariances, or one
        variance per component.
    tol : float, default=1e-3
        EM stops when the average log-likelihood per point changes by less than this.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance (:eq:`eq-reg-covar`).
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "fast-kmeans"}, default="kmeans"
        How the initial responsibilities are chosen: a k-means clustering (scikit-learn's ``KMeans``),
        k-means++ seeds, uniform random responsibilities, K data points drawn at random, or gmmlab's own
        k-means (see above).
    weights_init : array-like of shape (n_components,), default=None
        Initial weights; None takes them from ``init_params``.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means; None takes them from ``init_params``.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped as ``covariances_``; None takes them from
        ``init_params``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`; an int gives reproducible fits.
    warm_start : bool, default=False
        If True, each ``fit`` continues from the previous solution (and ``n_init`` is ignored).
    verbose : int, default=0
        1 prints each initialisation, 2 also every ``verbose_interval`` iterations.
    verbose_interval : int, default=10
        Iterations between messages when ``verbose=2``.
    learning_decay : float in (0.5, 1], default=0.6
        :meth:`partial_fit`'s step at the t-th batch is ``(t + learning_offset) ** -learning_decay``.
    learning_offset : float >= 0, default=1.0
        See ``learning_decay``.

    Attributes
    ----------
    weights_ : ndarray
        Shape (n_components,). Mixture weights :math:`\\pi_k`.
    means_ : ndarray
        Shape (n_components, n_features). Component means :math:`\\boldsymbol\\mu_k`.
    covariances_ : ndarray
        Covariances, of shape (K, D, D) for ``full``, (D, D) for ``tied``, (K, D) for ``diag`` and (K,) for
        ``spherical``.
    precisions_ : ndarray
        Inverse covariances, shaped as ``covariances_``.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions (for ``diag`` and ``spherical``, their square roots).
    converged_ : bool
        Whether the best initialisation met ``tol`` within ``max_iter`` iterations.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Average log-likelihood per point of the best initialisation.
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best initialisation.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray
        Shape (``n_features_in_``,). Column names seen during ``fit``, when ``X`` had string column names (a pandas DataFrame).
    n_batch_iter_ : int
        Batches :meth:`partial_fit` has taken since the model was initialised (absent after :meth:`fit`).

    See Also
    --------
    gmmlab.run_em : the teaching EM loop, one equation per function.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmlab import GaussianMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-4, 1, (200, 2)), rng.normal(4, 1, (200, 2))])
    >>> model = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.round(np.sort(model.means_[:, 0]))
    array([-4.,  4.])
    >>> model.predict([[-4.0, -4.0], [4.0, 4.0]]).tolist() in ([0, 1], [1, 0])
    True
    >>> bool(model.converged_)
    True

    The same fit on a Dask array of four chunks, on Dask's default scheduler (a ``distributed.Client``
    would take over if one were running), and lazy labels:

    >>> import dask.array as da
    >>> chunked = da.from_array(X, chunks=(100, 2))
    >>> on_dask = GaussianMixture(n_components=2, random_state=0).fit(chunked)
    >>> bool(np.allclose(on_dask.means_, model.means_, rtol=1e-10))
    True
    >>> labels = on_dask.predict(chunked)
    >>> type(labels).__name__, labels.shape, bool((labels.compute() == model.predict(X)).all())
    ('Array', (400,), True)

    Choosing K by BIC with scikit-learn's grid search:

    >>> from sklearn.model_selection import GridSearchCV
    >>> search = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 2, 3]},
    ...                       scoring=lambda model, X, y=None: -model.bic(X))
    >>> search.fit(X).best_params_
    {'n_components': 2}

    With the second entry of a fifth of the rows missing, and online, batch by batch:

    >>> holes = X.copy()
    >>> holes[rng.random(len(X)) < 0.2, 1] = np.nan
    >>> with_nan = GaussianMixture(n_components=2, random_state=0).fit(holes)
    >>> np.round(np.sort(with_nan.means_[:, 0]))
    array([-4.,  4.])
    >>> online = GaussianMixture(n_components=2, random_state=0)
    >>> for batch in np.array_split(rng.permutation(X), 8):
    ...     online = online.partial_fit(batch)
    >>> online.n_batch_iter_, np.round(np.sort(online.means_[:, 0]))
    (8, array([-4.,  4.]))
    """

    # scikit-learn's constraints (InvalidParameterError on a bad value), plus gmmlab's own k-means option.
    _parameter_constraints: dict = {
        **sklearn_mixture.GaussianMixture._parameter_constraints,
        "init_params": [StrOptions(set(INIT_PARAMS))],
        "learning_decay": [Interval(Real, 0.5, 1, closed="right")],
        "learning_offset": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.6,
        learning_offset=1.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN is a value missing at random
        return tags

    # ----------------------------------------------------------------------------------------- checks

    def _check_parameters(self, n_samples, n_features):
        """The checks that need the data's shape (the constructor parameters' types and ranges are checked by
        scikit-learn's ``_parameter_constraints`` before)."""
        check_n_components(self.n_components, n_samples)
        K, D = self.n_components, n_features
        # Validated copies; the constructor parameters stay exactly as the user passed them.
        self._weights_init = None if self.weights_init is None else check_weights(self.weights_init, K)
        self._means_init = None if self.means_init is None else check_means(self.means_init, K, D)
        self._precisions_init = (
            None
            if self.precisions_init is None
            else _check_precisions(self.precisions_init, self.covariance_type, K, D)
        )

    def _data(self, X, reset):
        """``X`` validated, as the data source of its kind: :class:`_InMemoryData`, or ``_dask.ChunkedData`` for
        a Dask array (other Dask collections are refused, never materialised on the client). The course's
        messages for bad values; scikit-learn's bookkeeping of ``n_features_in_`` and ``feature_names_in_``
        (set when ``reset``, checked otherwise)."""
        if _dask.is_dask_collection(X):
            data = _dask.ChunkedData(_dask.refuse_other_collections(X), chunk_summary_with_missing)
        else:
            values = check_data(X, dtypes=DTYPES, allow_nan=True)
            data = _MissingData(values) if np.isnan(values).any() else _InMemoryData(values)
        validate_data(self, X, reset=reset, skip_check_array=True)
        return data

    # ---------------------------------------------------------------------------------- initialisation

    def _initial_parameters(self, X, random_state):
        """Weights, means and covariances from ``init_params``: one M-step from the initial responsibilities,
        drawn from ``random_state`` exactly as scikit-learn draws them."""
        N, K = X.shape[0], self.n_components
        if self.init_params == "random":
            # scikit-learn rounds the draws to the data's dtype
            resp = random_state.uniform(size=(N, K)).astype(X.dtype, copy=False).astype(np.float64)
            resp /= resp.sum(axis=1, keepdims=True)
            return estimate_parameters(X, resp, self.covariance_type, self.reg_covar)
        if self.init_params in ("kmeans", "fast-kmeans"):
            if self.init_params == "kmeans":
                # KMeans(n_clusters=K, n_init=1, random_state=random_state).fit(X).labels_, without its overhead
                # the k-means' centred copy serves as the M-step's working memory (float64 data only)
                labels, scratch = sklearn_kmeans_labels(X, K, random_state)
            else:
                labels, scratch = kmeans_labels(X, K, random_state), None
            return _parameters_from_labels(X, labels, K, self.covariance_type, self.reg_covar, scratch)
        if self.init_params == "k-means++":
            rows = kmeans_plusplus(X, K, random_state=random_state)[1]
        else:  # random_from_data
            rows = random_state.choice(N, size=K, replace=False)
        return _parameters_from_points(X, rows, self.covariance_type, self.reg_covar)

    def _initialize(self, X, random_state):
        given = (self._weights_init, self._means_init, self._precisions_init)
        if any(value is None for value in given):
            weights, means, covariances = self._initial_parameters(X, random_state)
        self.weights_ = weights if self._weights_init is None else self._weights_init.copy()
        self.means_ = means if self._means_init is None else self._means_init.copy()
        if self._precisions_init is None:
            try:
                check_not_degenerate(covariances, self.covariance_type, self._variance_floor, self.reg_covar)
            except ValueError as collapse:  # scikit-learn's message first, then which component and why
                raise ValueError(f"{INITIAL_COLLAPSE} In detail: {collapse}") from None
            self.covariances_ = covariances
            self.precisions_cholesky_ = precisions_cholesky(covariances, self.covariance_type, self.reg_covar)
        else:
            self.precisions_cholesky_ = _precision_factor(self._precisions_init, self.covariance_type)
            self.covariances_ = covariances_from_cholesky(self.precisions_cholesky_, self.covariance_type)

    # ----------------------------------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the parameters with EM, keeping the best of ``n_init`` initialisations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, one point per row: a NumPy array (float32 data are fitted, and give attributes, in float32),
            anything NumPy can convert, or a Dask array.
        y : None
            Ignored; accepted for scikit-learn's API.

        Returns
        -------
        self : GaussianMixture
            The fitted estimator.
        """
        self._fit(self._data(X, reset=True))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Fit as :meth:`fit` does, then return the most probable component of every point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, one point per row.
        y : None
            Ignored; accepted for scikit-learn's API.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels; equal to ``fit(X).predict(X)`` for any ``max_iter`` and ``tol`` (a lazy Dask
            array for Dask input).
        """
        data = self._data(X, reset=True)
        self._fit(data)
        return data.apply(self, "predict")

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One step of online EM on a batch of points (see *Online EM* in the class's docstring).

        The batch's E-step gives its averaged sufficient statistics; the running ones move towards them by
        :math:`\\gamma_t` = ``(t + learning_offset) ** -learning_decay`` (:eq:`eq-inc-online-update`,
        :eq:`eq-inc-step-size`), and the parameters are their M-step (:eq:`eq-weight-update`,
        :eq:`eq-mean-update`, :eq:`eq-covariance-update`, with ``reg_covar``, :eq:`eq-reg-covar`). The first call
        (on an unfitted model) initialises the parameters from its batch first. A component that collapses on a
        batch (a singular covariance) gets a ``ConvergenceWarning`` and the step is skipped.

        Online EM assumes every batch is a random sample of the same distribution: rows sorted by cluster (or
        by anything the mixture depends on) mislead the first steps, which the shrinking steps then cannot
        undo, so shuffle stored data before streaming it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of points (NaN entries are missing values); a Dask array is taken chunk by chunk, one step
            per chunk, each chunk computed when its step comes.
        y : None
            Ignored; accepted for scikit-learn's API.

        Returns
        -------
        self : GaussianMixture
            The updated estimator.
        """
        if _dask.is_dask_collection(X):
            for block in _dask.check_dask_data(_dask.refuse_other_collections(X)).to_delayed().ravel():
                self.partial_fit(block.compute())
            return self
        fitted = hasattr(self, "means_")
        data = self._data(X, reset=not fitted)
        if not fitted:
            if data.n_samples < 2:
                raise ValueError(
                    "GaussianMixture's first partial_fit needs at least 2 data points; got n_samples = "
                    f"{data.n_samples}"
                )
            self._check_parameters(data.n_samples, data.n_features)
            random_state = check_random_state(self.random_state)
            variance = data.prepare(random_state, True)
            self._variance_floor = np.finfo(np.float64).eps * max(float(variance.max()), np.finfo(np.float64).tiny)
            self._initialize(data.init_sample, random_state)
        parameters = tuple(
            np.asarray(value, dtype=np.float64) for value in (self.weights_, self.means_, self.precisions_cholesky_)
        )
        if getattr(self, "_statistics", None) is None:  # those of the current parameters
            self._statistics = _statistics_from_parameters(*parameters[:2], self.covariances_, self.covariance_type,
                                                           self.reg_covar)
            self.n_batch_iter_ = 0
        t = self.n_batch_iter_ + 1
        step = step_size(t, self.learning_decay, self.learning_offset)
        n, log_likelihood, nk, means, scatters = data.summary(parameters, self.covariance_type)
        statistics = _online_update(self._statistics, (nk / n, means, scatters / n), step)
        s0, means, scatters = statistics
        own = scatters / (s0[:, None, None] if scatters.ndim == 3 else s0[:, None])
        covariances = finish_covariances(own, s0, self.covariance_type, self.reg_covar)
        try:
            check_not_degenerate(covariances, self.covariance_type, self._variance_floor, self.reg_covar)
            prec_chol = precisions_cholesky(covariances, self.covariance_type, self.reg_covar)
        except ValueError as collapse:
            warnings.warn(f"partial_fit skipped batch {t}: {collapse}", ConvergenceWarning, stacklevel=3)
            return self
        self._statistics, self.n_batch_iter_ = statistics, t
        self._set_parameters((s0 / s0.sum(), means, covariances, prec_chol), data.dtype)
        self.lower_bound_ = log_likelihood / n  # the batch's, under the parameters before this step
        self.n_iter_, self.converged_ = t, False
        return self

    def _fit(self, data):
        """The EM loop, once for both data sources: in memory or in chunks."""
        if data.n_samples < 2:
            raise ValueError(f"GaussianMixture needs at least 2 data points; got n_samples = {data.n_samples}")
        self._check_parameters(data.n_samples, data.n_features)
        self._statistics = None  # partial_fit starts again from the fitted parameters
        self.__dict__.pop("n_batch_iter_", None)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        given = (self._weights_init, self._means_init, self._precisions_init)
        variance = data.prepare(random_state, do_init and any(value is None for value in given))
        # Variances below rounding error relative to the data's spread mean a collapsed component.
        self._variance_floor = np.finfo(np.float64).eps * max(float(variance.max()), np.finfo(np.float64).tiny)
        if not do_init:  # warm start: continue from the attributes, in float64 whatever the data's dtype
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                setattr(self, name, getattr(self, name).astype(np.float64))

        max_lower_bound = -np.inf
        best_params, best_n_iter, best_lower_bounds = None, 0, []
        self.converged_ = False
        for init in range(n_init):
            if self.verbose:
                print(f"Initialization {init}")
            if do_init:
                self._initialize(data.init_sample, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            lower_bounds = []
            if self.max_iter == 0:
                best_params, best_n_iter = self._get_parameters(), 0
                continue
            lower_bound, lower_bounds, n_iter, converged = self._run_em(data, lower_bound, init)
            if self.verbose:
                print(f"Initialization {'converged' if converged else 'did not converge'}. lower bound {lower_bound:.5f}")
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best_params, best_n_iter, best_lower_bounds = self._get_parameters(), n_iter, lower_bounds
                self.converged_ = converged

        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self._set_parameters(best_params, data.dtype)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds

    def _run_em(self, data, lower_bound, init):
        """EM from the current parameters until ``tol`` or ``max_iter``, each iteration one pass over
        ``data``; returns the final lower bound, the lower bounds, the iterations run and whether ``tol`` was
        met.

        A collapsed component (a singular covariance after an M-step) ends the run: the parameters from
        before that M-step, whose log-likelihood is the last lower bound, are kept.
        """
        lower_bounds = []
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            lower_bound, weights, means, covariances = data.iteration(
                self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type, self.reg_covar
            )
            lower_bounds.append(lower_bound)
            try:
                prec_chol = checked_precisions_cholesky(
                    covariances, self.covariance_type, self._variance_floor, self.reg_covar
                )
            except ValueError as collapse:
                warnings.warn(
                    f"EM stopped at iteration {n_iter} of initialization {init}: {collapse} The parameters "
                    "from before this iteration's M-step are kept.",
                    ConvergenceWarning,
                    stacklevel=5,
                )
                return lower_bound, lower_bounds, n_iter, False
            # precisions_ is derived once, from the parameters finally kept (_set_parameters)
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = (
                weights,
                means,
                covariances,
                prec_chol,
            )
            change = lower_bound - previous
            if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                print(f"  Iteration {n_iter}\t change {change:.5f}")
            if abs(change) < self.tol:
                return lower_bound, lower_bounds, n_iter, True
        return lower_bound, lower_bounds, n_iter, False

    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params, dtype):
        """The kept parameters as the fitted attributes, in the data's dtype (computed in float64)."""
        weights, means, covariances, prec_chol = params
        if prec_chol is None:
            prec_chol = precisions_cholesky(covariances, self.covariance_type, self.reg_covar)
        precisions = precisions_from_cholesky(prec_chol, self.covariance_type)
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_, self.precisions_ = (
            np.asarray(value, dtype=dtype) for value in (weights, means, covariances, prec_chol, precisions)
        )

    # -------------------------------------------------------------------------------------- prediction

    def _estimate_weighted_log_prob(self, X):
        """log pi_k + log N(x_n | mu_k, Sigma_k), shape (N, K) (:eq:`eq-joint` in log space), in float64."""
        means, prec_chol, weights = (
            np.asarray(value, dtype=np.float64) for value in (self.means_, self.precisions_cholesky_, self.weights_)
        )
        return log_gaussian_prob(X, means, prec_chol, self.covariance_type) + np.log(weights)

    def _by_blocks(self, X, function, shape, dtype):
        """``function`` of the weighted log-probabilities, computed for blocks of rows into one array of
        ``(N, *shape)``: the float64 temporaries (x - mu_k, the log-probabilities) never exist for all of X."""
        N, D = X.shape
        result = np.empty((N, *shape), dtype=dtype)
        rows = max(1, FEATURE_BLOCK_ENTRIES // max(D, self.n_components))
        for start in range(0, N, rows):
            result[start : start + rows] = function(self._estimate_weighted_log_prob(X[start : start + rows]))
        return result

    def _predict(self, X):
        return self._by_blocks(X, lambda weighted: weighted.argmax(axis=1), (), np.intp)

    def _score_samples(self, X):
        return self._by_blocks(X, lambda weighted: logsumexp(weighted, axis=1), (), X.dtype)

    def _predict_proba(self, X):
        def responsibilities(weighted):
            return np.exp(weighted - logsumexp(weighted, axis=1, keepdims=True))

        return self._by_blocks(X, responsibilities, (self.n_components,), X.dtype)

    def _fitted_data(self, X):
        check_is_fitted(self)
        return self._data(X, reset=False)

    def score_samples(self, X):
        r"""Log-density of every point under the mixture (:eq:`eq-gmm-density`, in log space).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            :math:`\log p(\mathbf{x}_n\mid\boldsymbol\theta)` for every row, in ``X``'s dtype (float32 or
            float64; a lazy Dask array for Dask input).
        """
        return self._fitted_data(X).apply(self, "score_samples")

    def score(self, X, y=None):
        """Average log-likelihood per point (:eq:`eq-gmm-log-likelihood` divided by N).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored; accepted for scikit-learn's API.

        Returns
        -------
        score : float
        """
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Responsibilities of every component for every point (:eq:`eq-responsibilities`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        responsibilities : ndarray of shape (n_samples, n_components)
            Rows sum to 1; in ``X``'s dtype (a lazy Dask array for Dask input).
        """
        return self._fitted_data(X).apply(self, "predict_proba")

    def predict(self, X):
        """The component with the largest responsibility for every point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy Dask array for Dask input.
        """
        return self._fitted_data(X).apply(self, "predict")

    def sample(self, n_samples=1):
        """Draw points by ancestral sampling (:eq:`eq-ancestral-sampling`), grouped by component.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The points.
        labels : ndarray of shape (n_samples,)
            The component each point was drawn from.
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': n_samples must be a positive integer (the number of points "
                f"to draw); got {n_samples!r}"
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        D = self.means_.shape[1]
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(self.means_, self.covariances_, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, self.covariances_, int(n)) for m, n in zip(self.means_, counts)]
        else:
            parts = [
                m + rng.standard_normal(size=(n, D)) * np.sqrt(c)
                for m, c, n in zip(self.means_, self.covariances_, counts)
            ]
        labels = np.concatenate([np.full(n, k, dtype=int) for k, n in enumerate(counts)])
        return np.vstack(parts), labels

    def _n_parameters(self):
        return n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    def _score_and_size(self, X):
        """:meth:`score` and the number of rows of ``X`` (known once its log-densities are)."""
        log_density = self.score_samples(X)
        return float(log_density.mean()), log_density.shape[0]

    def bic(self, X):
        r"""Bayesian information criterion (:eq:`eq-bic`); lower is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
            :math:`-2\log p(\mathcal{X}\mid\hat{\boldsymbol\theta}) + P\log N`, with P free parameters
            (:eq:`eq-n-parameters`).
        """
        score, N = self._score_and_size(X)
        return float(-2 * score * N + self._n_parameters() * np.log(N))

    def aic(self, X):
        r"""Akaike information criterion (:eq:`eq-aic`); lower is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
            :math:`-2\log p(\mathcal{X}\mid\hat{\boldsymbol\theta}) + 2P`.
        """
        score, N = self._score_and_size(X)
        return float(-2 * score * N + 2 * self._n_parameters())


def _statistics_from_parameters(weights, means, covariances, covariance_type, reg_covar):
    """The averaged sufficient statistics that parameters are the M-step of, in the centred form online EM
    keeps: (s0, means, scatters per point), with s0 = weights and scatters = s0 (Sigma - reg_covar I), per
    component ((K, D, D) for full and tied, the diagonals (K, D) for diag and spherical)."""
    K, D = means.shape
    own = full_covariances(np.asarray(covariances, dtype=np.float64), covariance_type, K, D).copy()
    own[:, np.arange(D), np.arange(D)] -= reg_covar
    if covariance_type in ("diag", "spherical"):
        own = np.diagonal(own, axis1=1, axis2=2)
    return weights, means, own * (weights[:, None, None] if own.ndim == 3 else weights[:, None])


def _online_update(statistics, batch_statistics, step):
    """(1 - step) s + step s_batch for the raw averaged statistics (mean r, mean r x, mean r x x^T), computed
    on their centred form by merging the two as summaries weighted 1 - step and step (:eq:`eq-merge-chunks`),
    which keeps the precision of centred moments."""
    parts = [(1, 0.0, weight * s0, means, weight * scatters)
             for weight, (s0, means, scatters) in ((1 - step, statistics), (step, batch_statistics))]
    _, _, s0, means, scatters = _dask.merge_summaries(parts)
    return s0, means, scatters


def _parameters_from_labels(X, labels, n_components, covariance_type, reg_covar, scratch=None):
    """The M-step for hard (0 or 1) responsibilities from a clustering, component k owning the rows
    labelled k: the same estimates as ``estimate_parameters`` with one-hot responsibilities (each
    component's own rows, centred moments), at the cost of one pass over the data instead of products with an
    (N, K) matrix of zeros and ones: the labels are sorted once (stably, so each component's rows keep their
    order), and each component's rows are gathered by index into one buffer and centred there (fresh
    arrays of that size would each cost their page faults): ``scratch`` when given, a float64 array at least
    that large whose pages the k-means has already touched."""
    D = X.shape[1]
    full = covariance_type in ("full", "tied")  # each component's own moments, pooled by finish_covariances
    counts = np.bincount(labels, minlength=n_components)
    nk = counts + NK_FLOOR
    means = np.zeros((n_components, D))
    own = np.zeros((n_components, D, D) if full else (n_components, D))
    ones = np.ones(counts.max())
    size = counts.max() * D
    if scratch is not None and scratch.dtype == np.float64 and scratch.size >= size:
        buffer = scratch.reshape(-1)[:size].reshape(counts.max(), D)
    else:
        buffer = np.empty((counts.max(), D))
    order = np.argsort(labels, kind="stable")
    ends = np.cumsum(counts)
    for k in np.flatnonzero(counts):
        diff, rows = buffer[: counts[k]], order[ends[k] - counts[k] : ends[k]]
        if X.dtype == np.float64:
            np.take(X, rows, axis=0, out=diff, mode="clip")  # "raise" would copy through a temporary
        else:  # take cannot cast
            diff[...] = X[rows]
        means[k] = ones[: counts[k]] @ diff / nk[k]
        diff -= means[k]
        if full:
            own[k] = diff.T @ diff / nk[k]
        else:
            diff *= diff
            own[k] = ones[: counts[k]] @ diff / nk[k]
    return nk / nk.sum(), means, finish_covariances(own, nk, covariance_type, reg_covar)


def _parameters_from_points(X, rows, covariance_type, reg_covar):
    """scikit-learn's initial M-step when component k's responsibility is 1 for row ``rows[k]`` and 0
    elsewhere (``k-means++`` and ``random_from_data``), in its arithmetic and in X's dtype.

    Each covariance is then ``reg_covar`` plus rounding error, and that error decides the first E-step, so
    the same start needs the same rounding: scikit-learn's uncentred diag and spherical moments, and its
    tied covariance, (X^T X - sum_k N_k mu_k mu_k^T) / sum_k N_k over *all* rows (so every row but the K
    chosen adds its raw x x^T). The weights are N_k / N, as scikit-learn's (they do not sum to 1).
    Returned in float64, for EM.
    """
    dtype = X.dtype
    N = X.shape[0]
    nk = np.full(len(rows), 1 + 10 * np.finfo(dtype).eps, dtype=dtype)
    points = X[rows]
    means = points / nk[:, None]
    if covariance_type == "full":
        diff = points - means
        own = diff[:, :, None] * diff[:, None, :] / nk[:, None, None]
    elif covariance_type == "tied":  # already pooled: one "component" that holds every row
        own = ((X.T @ X - (nk * means.T) @ means) / nk.sum())[None]
    else:
        own = points * points / nk[:, None] - means**2
    counts = nk.sum()[None] if covariance_type == "tied" else nk
    covariances = finish_covariances(own, counts, covariance_type, reg_covar)
    return tuple(np.asarray(value, dtype=np.float64) for value in (nk / N, means, covariances))


def _precision_factor(precisions, covariance_type):
    """Factor L with L L^T = P for given precisions (full/tied), or sqrt(P) (diag/spherical)."""
    if covariance_type == "full":
        return np.stack([np.linalg.cholesky(p) for p in precisions])
    if covariance_type == "tied":
        return np.linalg.cholesky(precisions)
    return np.sqrt(precisions)
