import numpy as np
import pytest

import gmmlab
from gmmlab.datasets import THREE_CLUSTERS


def test_three_clusters_has_the_seed_blogs_sizes_and_is_seeded():
    X, labels = gmmlab.three_clusters()
    assert X.shape == (1000, 2)
    np.testing.assert_array_equal(np.bincount(labels), [320, 170, 510])
    np.testing.assert_array_equal(X, gmmlab.three_clusters()[0])
    assert not np.array_equal(X, gmmlab.three_clusters(random_state=1)[0])
    for k in range(3):
        part = X[labels == k]
        np.testing.assert_allclose(part.mean(axis=0), THREE_CLUSTERS.means[k], atol=0.35)
        np.testing.assert_allclose(np.cov(part.T), THREE_CLUSTERS.covariances[k], atol=0.8)


def test_old_faithful_matches_rs_summary():
    X = gmmlab.old_faithful()
    assert X.shape == (272, 2)
    np.testing.assert_allclose(X.mean(axis=0), [3.487783, 70.897059], atol=1e-6)
    np.testing.assert_allclose([X[:, 0].min(), X[:, 0].max(), X[:, 1].min(), X[:, 1].max()], [1.6, 5.1, 43, 96])


def test_ancestral_sampling_reproduces_the_mixture():
    n = 40_000
    X, z = gmmlab.sample_mixture(n, *THREE_CLUSTERS, random_state=0)
    assert X.shape == (n, 2) and z.shape == (n,)
    # Component frequencies within 4 binomial standard errors; component moments close to the truth.
    se = np.sqrt(THREE_CLUSTERS.weights * (1 - THREE_CLUSTERS.weights) / n)
    assert np.all(np.abs(np.bincount(z) / n - THREE_CLUSTERS.weights) < 4 * se)
    for k in range(3):
        np.testing.assert_allclose(X[z == k].mean(axis=0), THREE_CLUSTERS.means[k], atol=0.06)
        np.testing.assert_allclose(np.cov(X[z == k].T), THREE_CLUSTERS.covariances[k], atol=0.12)
    np.testing.assert_array_equal(X, gmmlab.sample_mixture(n, *THREE_CLUSTERS, random_state=0)[0])


def test_sampled_data_is_fitted_back():
    X, _ = gmmlab.sample_mixture(5000, *THREE_CLUSTERS, random_state=2)
    # k-means starts (the default, as in scikit-learn) often end in a local optimum on this overlapping data;
    # starts at random data points, run to a tight tolerance, reach the maximum, which is what this test needs.
    model = gmmlab.GaussianMixture(3, n_init=3, init_params="random_from_data", tol=1e-6, random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    np.testing.assert_allclose(model.weights_[order], THREE_CLUSTERS.weights, atol=0.03)
    np.testing.assert_allclose(model.means_[order], THREE_CLUSTERS.means, atol=0.15)
