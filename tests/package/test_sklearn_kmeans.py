"""gmmlab's call of scikit-learn's k-means machinery (``gmmlab/_sklearn_kmeans.py``) gives ``KMeans``'s labels bit
for bit, and the scikit-learn it was written against is the one installed."""

import doctest
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.cluster import KMeans
from sklearn.cluster._kmeans import _tolerance
from sklearn.exceptions import ConvergenceWarning

from gmmlab import _sklearn_kmeans


def test_the_private_functions_are_those_of_the_pinned_scikit_learn():
    # _kmeans_plusplus and _kmeans_single_lloyd are private: another scikit-learn may change them silently
    assert sklearn.__version__ == _sklearn_kmeans.SKLEARN_VERSION, (
        f"scikit-learn {sklearn.__version__} is installed, but gmmlab/_sklearn_kmeans.py repeats KMeans.fit of "
        f"{_sklearn_kmeans.SKLEARN_VERSION}: compare KMeans.fit in sklearn/cluster/_kmeans.py with kmeans_labels, "
        "update it, then SKLEARN_VERSION"
    )


def data(kind, dtype, N=600, D=5, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ties":  # integer features: many points at equal distances, where rounding decides
        X = rng.integers(0, 3, size=(N, D)).astype(float)
    else:
        X = rng.normal(size=(N, D)) + rng.normal(scale=4, size=(4, D))[rng.integers(4, size=N)]
    if kind == "far":
        X += 1e4
    X = X.astype(dtype)
    return np.asfortranarray(X) if kind == "fortran" else X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["blobs", "ties", "far", "fortran"])
def test_labels_and_tolerance_are_kmeans_bit_for_bit(kind, dtype):
    X = data(kind, dtype)
    _, variances = _sklearn_kmeans.centred_copy(X)
    C = np.ascontiguousarray(X)
    assert variances.dtype == C.dtype and np.array_equal(variances, np.var(C, axis=0))
    assert np.mean(variances) * _sklearn_kmeans.TOL == _tolerance(C, 1e-4)
    for K in (1, 3, 8):
        for seed in range(3):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels, _ = _sklearn_kmeans.kmeans_labels(X, K, np.random.RandomState(seed))
                theirs = KMeans(K, n_init=1, random_state=seed).fit(X).labels_
            np.testing.assert_array_equal(labels, theirs)


def test_the_random_state_is_advanced_as_kmeans_advances_it():
    X = data("blobs", np.float64)
    ours, theirs = np.random.RandomState(1), np.random.RandomState(1)
    _sklearn_kmeans.kmeans_labels(X, 4, ours)
    KMeans(4, n_init=1, random_state=theirs).fit(X)
    assert ours.randint(1 << 30) == theirs.randint(1 << 30)


def test_fewer_distinct_points_than_clusters_warns_as_kmeans_does():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(2\) found smaller than n_clusters \(3\)"):
        _sklearn_kmeans.kmeans_labels(X, 3, np.random.RandomState(0))


def test_docstring_example_runs():
    result = doctest.testmod(_sklearn_kmeans)
    assert result.attempted > 0 and result.failed == 0
