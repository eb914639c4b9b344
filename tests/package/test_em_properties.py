"""Properties EM must have on any data and any parameters, checked with hypothesis."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

import gmmlab


@st.composite
def problems(draw, max_d=3, max_k=4):
    """Random data (N, D) and random valid full-covariance parameters with K <= N."""
    seed = draw(st.integers(0, 2**32 - 1))
    D = draw(st.integers(1, max_d))
    K = draw(st.integers(1, max_k))
    N = draw(st.integers(max(K, 2) * 5, 60))
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=draw(st.floats(0.1, 10)), size=(N, D)) + rng.normal(scale=5, size=D)
    weights = rng.dirichlet(np.ones(K))
    means = X[rng.choice(N, K, replace=False)] + rng.normal(scale=0.1, size=(K, D))
    A = rng.normal(size=(K, D, D))
    covariances = A @ np.swapaxes(A, 1, 2) + np.eye(D) * draw(st.floats(0.05, 3))
    return X, weights, means, covariances, rng


def is_spd(matrices):
    return all(np.allclose(S, S.T) and np.all(np.linalg.eigvalsh(S) > 0) for S in matrices)


@given(problems())
def test_log_likelihood_never_decreases(problem):
    X, weights, means, covariances, _ = problem
    # The exact M-step (no reg_covar) maximises the bound, so the likelihood cannot fall. A regularised
    # step maximises a penalised objective instead and may lower the likelihood slightly.
    log_likelihoods = [gmmlab.log_likelihood(X, weights, means, covariances)]
    for _ in range(15):
        responsibilities = gmmlab.e_step(X, weights, means, covariances)
        if gmmlab.n_k(responsibilities).min() < X.shape[1] + 1:
            # The component is collapsing onto fewer than D + 1 points: its covariance becomes singular and
            # the likelihood unbounded, so what follows is floating-point noise, not EM.
            break
        weights, means, covariances = gmmlab.m_step(X, responsibilities)
        log_likelihoods.append(gmmlab.log_likelihood(X, weights, means, covariances))
    steps = np.diff(log_likelihoods)
    assume(len(steps) >= 3)
    assert np.all(steps >= -1e-9 * (1 + np.abs(log_likelihoods[:-1]))), steps.min()


@given(problems())
def test_lower_bound_is_tight_after_the_e_step_and_below_otherwise(problem):
    X, weights, means, covariances, rng = problem
    log_likelihood = gmmlab.log_likelihood(X, weights, means, covariances)
    posterior = gmmlab.e_step(X, weights, means, covariances)
    tight = gmmlab.lower_bound(X, weights, means, covariances, posterior)
    assert np.isclose(tight, log_likelihood, rtol=1e-9, atol=1e-9)
    other = rng.dirichlet(np.ones(len(weights)), size=len(X))
    # The gap is the KL divergence between q and the posterior: non-negative, and zero only at q = posterior.
    gap = log_likelihood - gmmlab.lower_bound(X, weights, means, covariances, other)
    joint = gmmlab.log_joint(X, weights, means, covariances)
    log_posterior = joint - gmmlab.logsumexp(joint, axis=1, keepdims=True)
    kl = np.sum(other * (np.log(other) - log_posterior))
    assert gap >= -1e-9
    assert np.isclose(gap, kl, rtol=1e-6, atol=1e-6)


@given(problems())
def test_responsibilities_and_weights_lie_on_the_simplex(problem):
    X, weights, means, covariances, _ = problem
    resp = gmmlab.e_step(X, weights, means, covariances)
    assert resp.shape == (len(X), len(weights))
    assert np.all(resp >= 0) and np.all(resp <= 1)
    np.testing.assert_allclose(resp.sum(axis=1), 1, atol=1e-12)
    new_weights, _, _ = gmmlab.m_step(X, resp)
    assert np.all(new_weights >= 0)
    assert np.isclose(new_weights.sum(), 1, atol=1e-12)


@given(problems())
def test_covariances_stay_symmetric_positive_definite(problem):
    X, weights, means, covariances, _ = problem
    run = gmmlab.run_em(X, weights, means, covariances, max_iter=10, reg_covar=1e-6)
    for _, _, covs in run.history:
        assert is_spd(covs)


@given(problems())
def test_results_do_not_depend_on_component_order(problem):
    X, weights, means, covariances, rng = problem
    order = rng.permutation(len(weights))
    resp = gmmlab.e_step(X, weights, means, covariances)
    permuted = gmmlab.e_step(X, weights[order], means[order], covariances[order])
    np.testing.assert_allclose(permuted, resp[:, order], atol=1e-12)
    new, new_permuted = gmmlab.m_step(X, resp), gmmlab.m_step(X, resp[:, order])
    for a, b in zip(new, new_permuted):
        np.testing.assert_allclose(b, a[order], rtol=1e-10, atol=1e-12)
    assert np.isclose(
        gmmlab.log_likelihood(X, weights, means, covariances),
        gmmlab.log_likelihood(X, weights[order], means[order], covariances[order]),
    )


@given(problems())
def test_results_do_not_depend_on_data_order(problem):
    X, weights, means, covariances, rng = problem
    order = rng.permutation(len(X))
    resp = gmmlab.e_step(X, weights, means, covariances)
    np.testing.assert_allclose(gmmlab.e_step(X[order], weights, means, covariances), resp[order], atol=1e-12)
    for a, b in zip(gmmlab.m_step(X, resp), gmmlab.m_step(X[order], resp[order])):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.isclose(
        gmmlab.log_likelihood(X, weights, means, covariances),
        gmmlab.log_likelihood(X[order], weights, means, covariances),
    )


@given(problems(max_k=3), st.sampled_from(["full", "tied", "diag", "spherical"]))
def test_estimator_log_likelihood_never_decreases(problem, covariance_type):
    import warnings

    X, weights, means, _, _ = problem
    model = gmmlab.GaussianMixture(
        len(weights), covariance_type=covariance_type, weights_init=weights, means_init=means, tol=0, max_iter=12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmmlab.ConvergenceWarning)
        model.fit(X)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-7 * (1 + np.abs(model.lower_bounds_[:-1])))
