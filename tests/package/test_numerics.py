"""Numerical robustness: far-away points, tight clusters far from the origin, repeated points."""

import warnings

import numpy as np
import pytest

import gmmlab

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def test_point_a_thousand_standard_deviations_away_gets_finite_responsibilities():
    X, (weights, means, covariances) = gmmlab.textbook_example()
    far = np.array([[means.max() + 1000 * np.sqrt(covariances.max())]])  # 1000 sd past the widest component
    data = np.vstack([X, far, -far])
    resp = gmmlab.e_step(data, weights, means, covariances)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1, atol=1e-12)
    # The point far to the right belongs to the component that decays slowest there: the widest one.
    assert resp[-2].argmax() == covariances.ravel().argmax()
    assert np.isfinite(gmmlab.log_likelihood(data, weights, means, covariances))
    # The naive formula underflows: every pi_k N(x | mu_k, sigma_k^2) is exactly 0.
    dens = weights * np.exp(-0.5 * (far.ravel() - means.ravel()) ** 2 / covariances.ravel())
    assert np.all(dens == 0)


def test_estimator_handles_far_points():
    X, _ = gmmlab.three_clusters()
    model = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    far = model.means_[:1] + 1000 * np.sqrt(model.covariances_.max())
    proba = model.predict_proba(far)
    assert np.all(np.isfinite(proba)) and np.isclose(proba.sum(), 1)
    assert np.isfinite(model.score_samples(far)).all()


def tight_clusters(n_clusters):
    rng = np.random.default_rng(0)
    centres = 1e4 + np.arange(n_clusters)[:, None] * np.array([[1.0, -2.0]])
    return np.vstack([c + 1e-3 * rng.standard_normal((400, 2)) for c in centres]), n_clusters


@pytest.mark.parametrize("n_clusters", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_tight_cluster_far_from_origin_gets_its_variance_to_1e_6(covariance_type, n_clusters):
    X, K = tight_clusters(n_clusters)
    model = gmmlab.GaussianMixture(K, covariance_type=covariance_type, reg_covar=0, random_state=0).fit(X)
    labels = model.predict(X)
    parts = [X[labels == k] for k in range(K)]
    # Exact centred moments of each cluster, computed in two passes.
    full = np.stack([np.cov(p.T, bias=True) for p in parts])
    expected = {
        "full": full,
        "tied": sum(len(p) * c for p, c in zip(parts, full)) / len(X),
        "diag": np.stack([np.diag(c) for c in full]),
        "spherical": np.array([np.diag(c).mean() for c in full]),
    }[covariance_type]
    scale = np.abs(expected).max()
    assert scale == pytest.approx(1e-6, rel=0.2)
    assert np.max(np.abs(model.covariances_ - expected)) <= 1e-6 * scale


def test_these_data_defeat_uncentred_moments():
    """The accuracy tests above are not vacuous: on these data E[x^2] - mean^2 (the uncentred formula, which
    scikit-learn's diagonal M-step uses) loses more than three digits of the variance, which gmmlab keeps to six."""
    X, _ = tight_clusters(1)
    expected = X.var(axis=0)
    uncentred = np.mean(X * X, axis=0) - np.mean(X, axis=0) ** 2
    assert np.max(np.abs(uncentred - expected) / expected) > 1e-3
    ours = gmmlab.GaussianMixture(1, covariance_type="diag", reg_covar=0).fit(X)
    assert np.max(np.abs(ours.covariances_[0] - expected) / expected) < 1e-6


def test_teaching_m_step_is_centred():
    X, _ = tight_clusters(1)
    _, _, covariances = gmmlab.m_step(X, np.ones((len(X), 1)))
    np.testing.assert_allclose(covariances[0], np.cov(X.T, bias=True), rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_repeated_points_fit_with_default_reg_covar(covariance_type):
    X = np.repeat(np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]), 20, axis=0)
    model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    assert np.all(np.isfinite(model.covariances_))
    np.testing.assert_allclose(np.sort(model.weights_), [1 / 3] * 3, atol=1e-9)
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_repeated_points_without_reg_covar_fail_with_a_clear_message(covariance_type):
    X = np.repeat(np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]]), 20, axis=0)
    model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, reg_covar=0, random_state=0)
    with pytest.raises(ValueError, match="collapsed onto too few distinct points.*reg_covar"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)


def test_teaching_functions_reject_a_collapsed_component():
    X = np.repeat(np.array([[0.0, 0.0], [3.0, 1.0]]), 5, axis=0)
    resp = np.repeat(np.eye(2), 5, axis=0)
    weights, means, covariances = gmmlab.m_step(X, resp)
    with pytest.raises(ValueError, match=r"covariances\[0\] is not positive definite"):
        gmmlab.e_step(X, weights, means, covariances)
    _, _, regularised = gmmlab.m_step(X, resp, reg_covar=1e-6)
    assert np.all(np.isfinite(gmmlab.e_step(X, weights, means, regularised)))
