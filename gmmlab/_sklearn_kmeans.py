"""scikit-learn's k-means for the estimator's default ``init_params="kmeans"``, without ``KMeans``'s overhead.

scikit-learn's ``GaussianMixture`` starts from ``KMeans(n_clusters=K, n_init=1, random_state=...).fit(X).labels_``;
gmmlab must start from the same labels, bit for bit, so that one seed gives both the same fit (also on data
with ties, where any other arithmetic could split them differently). :func:`kmeans_labels` therefore runs
``KMeans.fit``'s own steps for dense data, with the same functions on the same arrays: centre a C-ordered
copy on its mean row, the tolerance ``1e-4`` times the mean per-feature variance, the squared row norms,
greedy k-means++ seeding (``_kmeans_plusplus``) and Lloyd's iteration (``_kmeans_single_lloyd``, which
limits BLAS to one thread as ``KMeans`` does). What it leaves out is what only the estimator needs:
parameter and data validation (the mixture has checked both), a second pass for the mean inside
``np.var`` (the variance is taken from the centred copy, in ``np.var``'s arithmetic), the sample weights'
checks and the ``set`` of labels for the distinct-cluster warning. At N = 1e4 that is 1 to 2 ms of a
k-means of 4 ms (D = 2, K = 3) to 30 ms (D = 64, K = 10).

Those two functions are private to scikit-learn, so the version they were read from is pinned by
``tests/package/test_sklearn_kmeans.py``, which fails when the lock moves scikit-learn, and checks the labels
against ``KMeans`` itself.
"""

import warnings

import numpy as np
from sklearn.cluster._kmeans import _kmeans_plusplus, _kmeans_single_lloyd
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.extmath import row_norms

# The scikit-learn whose KMeans.fit (sklearn/cluster/_kmeans.py) these steps repeat.
SKLEARN_VERSION = "1.9.1"

# KMeans's defaults: relative tolerance and maximum number of Lloyd iterations.
TOL = 1e-4
MAX_ITER = 300


def centred_copy(X):
    """A C-ordered copy of X minus its mean row, and the per-feature variances, in exactly the arithmetic of
    ``KMeans.fit`` (``X.mean(axis=0)`` of its C-ordered copy) and of ``np.var(X, axis=0)``: the sum over
    rows, divided by their number, for the mean; the centred entries squared, summed over rows and divided
    again, for the variance (``np.var`` computes the same mean and the same differences)."""
    X = np.ascontiguousarray(X)
    n_samples = np.intp(X.shape[0])  # np.var divides by its count as a NumPy integer
    centred = X - X.mean(axis=0)
    variances = np.add.reduce(np.square(centred), axis=0)
    np.true_divide(variances, n_samples, out=variances, casting="unsafe")  # float32 stays float32, as in np.var
    return centred, variances


def kmeans_labels(X, n_clusters, random_state):
    """Labels of ``sklearn.cluster.KMeans(n_clusters, n_init=1, random_state=random_state).fit(X)``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data, float64 or float32, finite, with ``N >= n_clusters`` (checked by the estimator).
    n_clusters : int
        Number of clusters K.
    random_state : numpy.random.RandomState
        Source of the seeding's draws (advanced exactly as ``KMeans`` advances it).

    Returns
    -------
    labels : ndarray of shape (N,), int32
        Cluster of every row, the same as ``KMeans``'s ``labels_``.
    centred : ndarray of X's shape and dtype, C-ordered
        The centred copy the k-means ran on, no longer needed: working memory for a caller that needs an
        array of that size next, whose pages are then touched once (at N = 1e4, D = 64, fresh pages cost
        about as much as a pass over them).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [5.0, 5.0], [5.0, 5.2]])
    >>> labels, _ = kmeans_labels(X, 2, np.random.RandomState(0))
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """
    centred, variances = centred_copy(X)
    tol = np.mean(variances) * TOL
    sample_weight = np.ones(centred.shape[0], dtype=centred.dtype)
    centers, _ = _kmeans_plusplus(
        centred,
        n_clusters,
        x_squared_norms=row_norms(centred, squared=True),
        sample_weight=sample_weight,
        random_state=random_state,
    )
    labels, _, _, _ = _kmeans_single_lloyd(
        centred, sample_weight, centers, max_iter=MAX_ITER, tol=tol, n_threads=_openmp_effective_n_threads()
    )
    n_distinct = np.count_nonzero(np.bincount(labels, minlength=n_clusters))
    if n_distinct < n_clusters:  # KMeans's warning, word for word
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({n_clusters}). "
            "Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=2,  # the caller, as KMeans.fit points to its own
        )
    return labels, centred
