import numpy as np
import pytest
from sklearn.cluster import KMeans

import gmmlab


@pytest.fixture(scope="module")
def data():
    return gmmlab.three_clusters()[0]


def test_objective_never_increases_and_converges(data):
    result = gmmlab.kmeans(data, 3, n_init=1, random_state=0)
    assert np.all(np.diff(result.history) <= 1e-9)
    assert result.objective == pytest.approx(result.history[-1])
    # At convergence, each centre is the mean of its points and each point is with its nearest centre.
    np.testing.assert_array_equal(gmmlab.assign_clusters(data, result.centers), result.labels)
    np.testing.assert_allclose(gmmlab.update_centers(data, result.labels, 3), result.centers)


def test_agrees_with_scikit_learn(data):
    ours = gmmlab.kmeans(data, 3, n_init=10, random_state=0)
    # Started from our centres, scikit-learn's Lloyd iterations do not move them: the same fixed point.
    theirs = KMeans(3, init=ours.centers, n_init=1).fit(data)
    np.testing.assert_allclose(theirs.cluster_centers_, ours.centers, rtol=1e-12)
    assert theirs.inertia_ == pytest.approx(ours.objective, rel=1e-12)
    # With restarts both find optima of (nearly) the same quality; restarts differ, so optima may too.
    best = KMeans(3, n_init=10, random_state=0).fit(data)
    assert ours.objective <= best.inertia_ * (1 + 1e-3)


def test_restarts_keep_the_best(data):
    result = gmmlab.kmeans(data, 6, n_init=8, init="random", random_state=3)
    assert len(result.objectives) == 8
    assert result.objective == pytest.approx(min(result.objectives))


def test_each_step_by_hand():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 2.0]])
    labels = gmmlab.assign_clusters(X, np.array([[1.0, 0.0], [9.0, 0.0]]))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    centers = gmmlab.update_centers(X, labels, 2)
    np.testing.assert_allclose(centers, [[0.0, 0.5], [10.0, 1.0]])
    assert gmmlab.kmeans_objective(X, centers, labels) == pytest.approx(0.25 * 2 + 1.0 * 2)


def test_kmeans_plusplus_picks_distinct_spread_points():
    X = np.array([[0.0], [0.0], [0.0], [100.0], [100.0], [200.0]])
    centers, indices = gmmlab.kmeans_plusplus(X, 3, random_state=0)
    assert sorted(centers.ravel()) == [0.0, 100.0, 200.0]
    np.testing.assert_array_equal(X[indices], centers)


def test_empty_cluster_is_reseeded():
    X = np.array([[0.0], [1.0], [2.0], [50.0]])
    result = gmmlab.kmeans(X, 2, init=np.array([[1.0], [1000.0]]))
    assert sorted(np.bincount(result.labels)) == [1, 3]
    np.testing.assert_allclose(np.sort(result.centers.ravel()), [1.0, 50.0])


def test_two_clusters_emptied_at_once_take_two_different_points():
    # all four points go to the first centre: clusters 1 and 2 are empty after the first assignment
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    result = gmmlab.kmeans(X, 3, init=np.array([[0.0], [100.0], [200.0]]))
    assert sorted(np.bincount(result.labels, minlength=3)) == [1, 1, 2]
    assert result.objective == pytest.approx(0.5)
