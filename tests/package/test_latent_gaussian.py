"""gmmlab.latent_gaussian: probabilistic PCA by EM against Tipping and Bishop's closed form."""

import numpy as np
import pytest

from gmmlab import latent_gaussian as lg


def low_rank_data(seed=0, N=300, D=5, M=2, noise=0.3):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(D, M)) * [3.0, 1.5]
    X = rng.normal(size=(N, M)) @ W.T + noise * rng.normal(size=(N, D)) + rng.normal(size=D)
    return X


def test_em_converges_to_the_closed_form_up_to_rotation():
    X = low_rank_data()
    fit = lg.run_ppca_em(X, 2, random_state=1, tol=1e-10, max_iter=5000)
    mean, W, sigma2 = lg.ppca_closed_form(X, 2)
    assert fit.converged
    assert np.allclose(fit.mean, mean)
    assert np.isclose(fit.sigma2, sigma2, rtol=1e-5)
    assert np.allclose(fit.W @ fit.W.T, W @ W.T, atol=1e-4 * np.abs(W @ W.T).max())  # W only up to W R
    R = np.linalg.lstsq(W, fit.W, rcond=None)[0]
    assert np.allclose(R.T @ R, np.eye(2), atol=1e-4)  # and the R that maps one to the other is a rotation
    assert np.isclose(fit.log_likelihoods[-1], lg.ppca_log_likelihood(X, mean, W, sigma2), rtol=1e-10)


def test_closed_form_is_a_maximum_and_the_marginal_matches_a_direct_computation():
    X = low_rank_data(seed=2)
    mean, W, sigma2 = lg.ppca_closed_form(X, 2)
    best = lg.ppca_log_likelihood(X, mean, W, sigma2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert lg.ppca_log_likelihood(X, mean, W + 0.05 * rng.normal(size=W.shape), sigma2 * rng.uniform(0.8, 1.2)) < best
    C = W @ W.T + sigma2 * np.eye(X.shape[1])
    diff = X - mean
    direct = -0.5 * np.sum(np.linalg.slogdet(2 * np.pi * C)[1] + np.einsum("nd,de,ne->n", diff, np.linalg.inv(C), diff))
    assert np.isclose(best, direct)


def test_e_step_is_gaussian_conditioning():
    X = low_rank_data(seed=3)[:10]
    rng = np.random.default_rng(4)
    mean, W, sigma2 = X.mean(axis=0), rng.normal(size=(5, 2)), 0.7
    means, covariance = lg.ppca_e_step(X, mean, W, sigma2)
    # joint Gaussian of (z, x): E[z | x] = W^T C^{-1} (x - mu), Cov = I - W^T C^{-1} W
    C_inv = np.linalg.inv(W @ W.T + sigma2 * np.eye(5))
    assert np.allclose(means, (X - mean) @ C_inv @ W)
    assert np.allclose(covariance, np.eye(2) - W.T @ C_inv @ W)


def test_em_never_decreases_and_the_closed_form_is_a_fixed_point():
    X = low_rank_data(seed=5)
    fit = lg.run_ppca_em(X, 2, random_state=0, max_iter=200, tol=-np.inf)
    assert np.all(np.diff(fit.log_likelihoods) >= -1e-9 * abs(fit.log_likelihoods[-1]))
    assert fit.log_likelihoods[-1] > fit.log_likelihoods[0] + 100
    mean, W, sigma2 = lg.ppca_closed_form(X, 2)
    W_next, sigma2_next = lg.ppca_m_step(X, mean, *lg.ppca_e_step(X, mean, W, sigma2))
    assert np.allclose(W_next @ W_next.T, W @ W.T) and np.isclose(sigma2_next, sigma2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: lg.ppca_closed_form(np.ones((5, 3)) + np.arange(3), 3), "1 <= M < D"),
        (lambda: lg.ppca_closed_form(np.ones((5, 3)), 1.5), "must be an integer"),
        (lambda: lg.ppca_closed_form(np.outer(np.arange(6.0), [1.0, 2.0, 3.0]), 1), "noise variance would be 0"),
        (lambda: lg.ppca_e_step(np.ones((4, 3)), np.zeros(3), np.ones((3, 1)), 0.0), "sigma2, the noise variance"),
        (lambda: lg.ppca_e_step(np.ones((4, 3)), np.zeros(2), np.ones((3, 1)), 1.0), "mean must have shape"),
        (lambda: lg.ppca_e_step(np.ones((4, 3)), np.zeros(3), np.ones((2, 1)), 1.0), "W must have shape"),
        (lambda: lg.run_ppca_em(np.random.default_rng(0).normal(size=(9, 3)), 2, W_init=np.ones((3, 1))),
         "W_init must have shape"),
        (lambda: lg.ppca_m_step(np.ones((4, 3)), np.zeros(3), np.ones((5, 1)), np.ones((1, 1))),
         "posterior_means must have shape"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
