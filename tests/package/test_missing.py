"""EM with missing entries (gmmlab.missing) against brute force: numerical integration over a missing coordinate in
2-D, scipy's marginal densities, the conditional Gaussian from the precision matrix, and the complete-data
functions when nothing is missing."""

import functools

import numpy as np
import pytest
from scipy import integrate, stats

import gmmlab
from gmmlab.missing import conditional_gaussian, e_step_missing, m_step_missing, observed_log_likelihood, run_em_missing

WEIGHTS = np.array([0.3, 0.7])
MEANS = np.array([[0.0, 1.0], [2.0, -1.0]])
COVARIANCES = np.array([[[1.0, 0.6], [0.6, 2.0]], [[0.5, -0.3], [-0.3, 0.8]]])
# rows with the second, the first, or no coordinate missing
X2 = np.array([[0.4, np.nan], [np.nan, -0.5], [1.5, 0.2], [-1.0, np.nan], [np.nan, 2.0]])


COMPONENTS = [stats.multivariate_normal(mean, covariance) for mean, covariance in zip(MEANS, COVARIANCES)]


def joint_density(x, k):
    return WEIGHTS[k] * COMPONENTS[k].pdf(x)


def integrate_missing(x, k, power):
    """The integral of t**power * pi_k N(x with its missing entry set to t) over t: brute-force marginalisation."""
    missing = int(np.flatnonzero(np.isnan(x))[0])

    def integrand(t):
        point = x.copy()
        point[missing] = t
        return t**power * joint_density(point, k)

    return integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-11)[0]


@functools.cache
def brute_force_e_step():
    """Per component, the marginal density of each row of X2 and the conditional mean and variance of its missing
    entry, by quadrature (computed once: three tests share it)."""
    X = X2
    N, K = X.shape[0], WEIGHTS.shape[0]
    marginal = np.empty((N, K))
    xhat = np.repeat(X[:, None, :], K, axis=1)
    C = np.zeros((N, K, 2, 2))
    for n, x in enumerate(X):
        for k in range(K):
            if not np.isnan(x).any():
                marginal[n, k] = joint_density(x, k)
                continue
            missing = int(np.flatnonzero(np.isnan(x))[0])
            mass, first, second = (integrate_missing(x, k, power) for power in (0, 1, 2))
            marginal[n, k] = mass
            xhat[n, k, missing] = first / mass
            C[n, k, missing, missing] = second / mass - (first / mass) ** 2
    return marginal, xhat, C


def test_observed_log_likelihood_integrates_the_missing_coordinate_out():
    marginal, _, _ = brute_force_e_step()
    assert observed_log_likelihood(X2, WEIGHTS, MEANS, COVARIANCES) == pytest.approx(np.log(marginal.sum(1)).sum(),
                                                                                     rel=1e-9)


def test_observed_log_likelihood_uses_scipys_marginals_in_three_dimensions():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, 3, 3))
    covariances = A @ A.transpose(0, 2, 1) + np.eye(3)
    means = rng.normal(size=(2, 3))
    weights = np.array([0.4, 0.6])
    X = rng.normal(size=(6, 3))
    X[0, [0, 2]] = np.nan
    X[1, 1] = np.nan
    X[2, 2] = np.nan
    X[3, [1, 2]] = np.nan
    expected = 0.0
    for x in X:
        o = ~np.isnan(x)
        expected += np.log(sum(w * stats.multivariate_normal(m[o], c[np.ix_(o, o)]).pdf(x[o])
                               for w, m, c in zip(weights, means, covariances)))
    assert observed_log_likelihood(X, weights, means, covariances) == pytest.approx(expected, rel=1e-12)


def test_the_e_step_agrees_with_quadrature():
    marginal, xhat, C = brute_force_e_step()
    R, conditional_means, conditional_covariances = e_step_missing(X2, WEIGHTS, MEANS, COVARIANCES)
    np.testing.assert_allclose(R, marginal / marginal.sum(1, keepdims=True), rtol=1e-9)
    np.testing.assert_allclose(conditional_means, xhat, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(conditional_covariances, C, rtol=1e-7, atol=1e-10)


def test_conditional_gaussian_agrees_with_the_precision_matrix():
    """The conditional of a Gaussian from its precision Lambda: covariance Lambda_mm^-1, mean
    mu_m - Lambda_mm^-1 Lambda_mo (x_o - mu_o); a different route from the Schur complement the function uses."""
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 4))
    covariance = A @ A.T + 0.5 * np.eye(4)
    mean = rng.normal(size=4)
    x = rng.normal(size=4)
    x[[1, 3]] = np.nan
    m, o = np.isnan(x), ~np.isnan(x)
    precision = np.linalg.inv(covariance)
    expected_covariance = np.linalg.inv(precision[np.ix_(m, m)])
    expected_mean = mean[m] - expected_covariance @ precision[np.ix_(m, o)] @ (x[o] - mean[o])
    conditional_mean, conditional_covariance = conditional_gaussian(x, mean, covariance)
    np.testing.assert_allclose(conditional_mean[m], expected_mean, rtol=1e-10)
    np.testing.assert_array_equal(conditional_mean[o], x[o])
    np.testing.assert_allclose(conditional_covariance[np.ix_(m, m)], expected_covariance, rtol=1e-10)
    assert not conditional_covariance[o].any() and not conditional_covariance[:, o].any()


def test_conditional_gaussian_of_a_complete_row_is_the_row_itself():
    mean, covariance = conditional_gaussian([1.0, 2.0], MEANS[0], COVARIANCES[0])
    np.testing.assert_array_equal(mean, [1.0, 2.0])
    assert not covariance.any()


def test_the_m_step_is_the_complete_data_update_with_expected_statistics():
    """Per row and component, by loops: E[x] and E[x x^T] from quadrature, then Sigma_k = E-weighted second moment
    minus mu_k mu_k^T, which is the expected complete-data maximiser written without C_nk."""
    marginal, xhat, C = brute_force_e_step()
    R = marginal / marginal.sum(1, keepdims=True)
    weights, means, covariances = m_step_missing(X2, R, xhat, C)
    N_k = R.sum(0)
    for k in range(2):
        mean = sum(R[n, k] * xhat[n, k] for n in range(len(X2))) / N_k[k]
        second = sum(R[n, k] * (np.outer(xhat[n, k], xhat[n, k]) + C[n, k]) for n in range(len(X2))) / N_k[k]
        np.testing.assert_allclose(means[k], mean, rtol=1e-12)
        np.testing.assert_allclose(covariances[k], second - np.outer(mean, mean), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights, N_k / len(X2), rtol=1e-12)


def test_the_m_step_takes_the_observed_entries_from_X():
    R, xhat, C = e_step_missing(X2, WEIGHTS, MEANS, COVARIANCES)
    tampered = xhat.copy()
    tampered[2] += 100.0  # row 2 is complete: only X counts there
    for a, b in zip(m_step_missing(X2, R, xhat, C), m_step_missing(X2, R, tampered, C)):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def three_clusters():
    X, _ = gmmlab.three_clusters()
    start = (np.full(3, 1 / 3), X[[0, 50, 100]], np.array([np.cov(X.T)] * 3))
    return X, start


def test_nothing_missing_is_the_complete_data_em(three_clusters):
    X, start = three_clusters
    R, xhat, C = e_step_missing(X, *start)
    np.testing.assert_allclose(R, gmmlab.e_step(X, *start), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(xhat, np.repeat(X[:, None], 3, axis=1))
    assert not C.any()
    for a, b in zip(m_step_missing(X, R, xhat, C), gmmlab.m_step(X, R)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert observed_log_likelihood(X, *start) == pytest.approx(gmmlab.log_likelihood(X, *start), rel=1e-12)
    ours, reference = run_em_missing(X, *start, max_iter=10), gmmlab.run_em(X, *start, max_iter=10)
    np.testing.assert_allclose(ours.log_likelihoods, reference.log_likelihoods, rtol=1e-12)
    for a, b in zip((ours.weights, ours.means, ours.covariances), (reference.weights, reference.means,
                                                                   reference.covariances)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_em_never_decreases_the_observed_data_log_likelihood():
    rng = np.random.default_rng(2)
    X = gmmlab.sample_mixture(300, [0.5, 0.3, 0.2], [[0, 0, 0], [3, 3, 0], [0, 3, 3.0]], [np.eye(3) + 0.4] * 3,
                              random_state=2)[0]
    X[rng.random(X.shape) < 0.3] = np.nan
    X = X[~np.isnan(X).all(1)]
    start = (np.full(3, 1 / 3), np.nan_to_num(X[:3]), np.array([np.eye(3)] * 3))
    result = run_em_missing(X, *start, max_iter=40, tol=0.0)
    assert result.n_iter == 40
    increments = np.diff(result.log_likelihoods)
    assert increments.min() >= -1e-9 * abs(result.log_likelihoods[-1])
    assert result.log_likelihoods[-1] > result.log_likelihoods[0] + 10


def test_infinite_entries_are_an_error_not_a_missing_value():
    X = X2.copy()
    X[2, 0] = np.inf
    for call in (lambda: observed_log_likelihood(X, WEIGHTS, MEANS, COVARIANCES),
                 lambda: e_step_missing(X, WEIGHTS, MEANS, COVARIANCES),
                 lambda: run_em_missing(X, WEIGHTS, MEANS, COVARIANCES)):
        with pytest.raises(ValueError, match=r"infinite values \(first in row 2\); only NaN marks a missing entry"):
            call()
    with pytest.raises(ValueError, match="infinite"):
        conditional_gaussian([np.inf, np.nan], MEANS[0], COVARIANCES[0])


def test_a_row_with_every_entry_missing_is_an_error():
    X = X2.copy()
    X[3] = np.nan
    for call in (lambda: observed_log_likelihood(X, WEIGHTS, MEANS, COVARIANCES),
                 lambda: e_step_missing(X, WEIGHTS, MEANS, COVARIANCES),
                 lambda: m_step_missing(X, *e_step_missing(X2, WEIGHTS, MEANS, COVARIANCES))):
        with pytest.raises(ValueError, match="row 3 of X has every entry missing"):
            call()
    with pytest.raises(ValueError, match="row 0 of x has every entry missing"):
        conditional_gaussian([np.nan, np.nan], MEANS[0], COVARIANCES[0])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"x must be one data point of shape \(D,\)"):
        conditional_gaussian(X2, MEANS[0], COVARIANCES[0])
    with pytest.raises(ValueError, match=r"covariances must have shape \(K, D, D\)"):
        conditional_gaussian([1.0, np.nan], MEANS[0], np.eye(3))
    R, xhat, C = e_step_missing(X2, WEIGHTS, MEANS, COVARIANCES)
    with pytest.raises(ValueError, match=r"conditional_means must have shape \(N, K, D\)"):
        m_step_missing(X2, R, xhat[:, :, :1], C)
    with pytest.raises(ValueError, match=r"conditional_covariances must have shape \(N, K, D, D\)"):
        m_step_missing(X2, R, xhat, C[:, 0])
    with pytest.raises(ValueError, match="must be finite where X is missing"):
        m_step_missing(X2, R, np.full_like(xhat, np.nan), C)
