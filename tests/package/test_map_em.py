"""MAP-EM (gmmlab.map_em): the M-step maximises the penalised Q, its limits, monotonicity, and clear errors."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import gammaln, multigammaln

import gmmlab

PRIOR = dict(alpha=2.5, psi=np.array([[0.6, 0.1], [0.1, 0.4]]), nu=3.5)


@pytest.fixture
def problem():
    """60 points in 2-D and random responsibilities for K = 3 (rows on the simplex)."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc, 1.0, size=(20, 2)) for loc in ([0, 0], [4, 1], [1, 5])])
    R = rng.dirichlet(np.ones(3), size=len(X))
    return X, R, rng


def penalised_bound(X, theta, R, prior):
    """The function the MAP M-step maximises: the lower bound (Q plus a constant) plus the log-prior."""
    return gmmlab.lower_bound(X, *theta, R) + gmmlab.log_prior(theta[0], theta[2], **prior)


def test_map_m_step_beats_every_perturbation(problem):
    X, R, rng = problem
    best = gmmlab.map_m_step(X, R, **PRIOR)
    top = penalised_bound(X, best, R, PRIOR)
    for _ in range(200):
        scale = rng.choice([1e-3, 1e-2, 1e-1])
        weights = best[0] * np.exp(scale * rng.normal(size=3))
        means = best[1] + scale * rng.normal(size=best[1].shape)
        A = np.eye(2) + scale * rng.normal(size=(3, 2, 2))
        covariances = A @ best[2] @ np.swapaxes(A, 1, 2)
        assert penalised_bound(X, (weights / weights.sum(), means, covariances), R, PRIOR) < top


def test_map_m_step_agrees_with_a_numerical_optimiser():
    # One dimension, two components: optimise the penalised Q over (logit, mu_1, mu_2, log var_1, log var_2).
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(-1, 0.5, 15), rng.normal(2, 1.0, 10)])[:, None]
    R = rng.dirichlet([2, 2], size=len(X))
    prior = dict(alpha=3.0, psi=np.array([[0.8]]), nu=2.0)

    def unpack(v):
        w = 1 / (1 + np.exp(-v[0]))
        return np.array([w, 1 - w]), v[1:3, None], np.exp(v[3:5])[:, None, None]

    result = minimize(lambda v: -penalised_bound(X, unpack(v), R, prior), np.zeros(5), method="BFGS",
                      options={"gtol": 1e-9})
    weights, means, covariances = gmmlab.map_m_step(X, R, **prior)
    found = unpack(result.x)
    assert np.allclose(found[0], weights, atol=1e-5)
    assert np.allclose(found[1], means, atol=1e-5)
    assert np.allclose(found[2], covariances, atol=1e-5)


def test_limit_alpha_1_psi_0_nu_minus_d_minus_1_is_the_ml_m_step(problem):
    X, R, _ = problem
    ml = gmmlab.m_step(X, R)
    exact = gmmlab.map_m_step(X, R, alpha=1, psi=np.zeros((2, 2)), nu=-3)
    for a, b in zip(ml, exact):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    gaps = []
    for h in [1e-1, 1e-2, 1e-3, 1e-4]:
        near = gmmlab.map_m_step(X, R, alpha=1 + h, psi=h * np.eye(2), nu=-3 + h)
        gaps.append(max(np.abs(a - b).max() for a, b in zip(ml, near)))
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 1e-4


def test_reg_covar_is_a_map_step_with_a_data_dependent_scale(problem):
    X, R, _ = problem
    eps = 0.05
    _, _, regularised = gmmlab.m_step(X, R, reg_covar=eps)
    for k, N_k in enumerate(gmmlab.n_k(R)):
        _, _, as_map = gmmlab.map_m_step(X, R, alpha=1, psi=N_k * eps * np.eye(2), nu=-3)
        assert np.allclose(as_map[k], regularised[k], rtol=1e-12)


def test_log_prior_is_the_dirichlet_and_inverse_wishart_density():
    weights = np.array([0.2, 0.5, 0.3])
    covariances = np.array([[[1.0, 0.3], [0.3, 0.5]], [[2.0, -0.2], [-0.2, 1.0]], [[0.4, 0.0], [0.0, 0.9]]])
    alpha, psi, nu, K, D = PRIOR["alpha"], PRIOR["psi"], PRIOR["nu"], 3, 2
    log_dirichlet = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.log(weights).sum()
    log_iw = sum(
        nu / 2 * np.linalg.slogdet(psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
        - (nu + D + 1) / 2 * np.linalg.slogdet(S)[1] - np.trace(psi @ np.linalg.inv(S)) / 2
        for S in covariances
    )
    assert np.isclose(gmmlab.log_prior(weights, covariances, **PRIOR), log_dirichlet + log_iw, rtol=1e-12)


def collapse_problem():
    """The book's example: three clusters plus one point recorded three times, a component started on it."""
    X, _ = gmmlab.three_clusters()
    x_repeated = np.array([13.0, 1.0])
    X_rep = np.vstack([X, np.tile(x_repeated, (3, 1))])
    start = (np.full(4, 0.25), np.array([[5.0, 5.0], [6.5, 8.0], [9.5, 7.5], x_repeated]),
             np.array([np.eye(2), np.eye(2), np.eye(2), 0.1 * np.eye(2)]))
    return X_rep, start


def test_map_em_never_decreases_the_penalised_objective_and_prevents_the_collapse():
    X_rep, start = collapse_problem()
    with pytest.raises(ValueError, match="not positive definite"):
        gmmlab.run_em(X_rep, *start, max_iter=10)
    prior = dict(alpha=2.0, nu=4, psi=0.7 * np.eye(2))
    result = gmmlab.run_map_em(X_rep, *start, **prior, max_iter=60, tol=-np.inf)
    objectives = np.array(result.objectives)
    assert result.n_iter == 60 and len(objectives) == 61
    assert np.diff(objectives).min() > -1e-9 * np.abs(objectives).max()
    assert objectives[-1] - objectives[0] > 100
    # the copies keep their component, with covariance psi / (N_4 + nu + D + 1) = 0.7 I / 10
    assert np.allclose(result.covariances[3], 0.07 * np.eye(2), atol=1e-9)
    assert np.isclose(result.objectives[-1],
                      gmmlab.penalised_log_likelihood(X_rep, result.weights, result.means, result.covariances, **prior))


def test_map_em_is_monotone_from_random_starts(problem):
    X, _, rng = problem
    for _ in range(5):
        weights = rng.dirichlet(np.ones(3))
        means = X[rng.choice(len(X), 3, replace=False)]
        result = gmmlab.run_map_em(X, weights, means, np.tile(np.eye(2), (3, 1, 1)), **PRIOR, max_iter=40, tol=-np.inf)
        assert np.diff(result.objectives).min() > -1e-9 * np.abs(result.objectives).max()


@pytest.mark.parametrize(
    "prior, message",
    [
        (dict(alpha=0.5, psi=np.eye(2), nu=3), "alpha.*at least 1"),
        (dict(alpha=np.nan, psi=np.eye(2), nu=3), "alpha"),
        (dict(alpha=2, psi=np.eye(2), nu=1), "nu.*D - 1"),
        (dict(alpha=2, psi=np.eye(3), nu=3), "psi.*shape"),
        (dict(alpha=2, psi=-np.eye(2), nu=3), "psi.*positive definite"),
        (dict(alpha=2, psi=[[1, 2], [0, 1]], nu=3), "psi.*symmetric"),
    ],
)
def test_bad_priors_get_named_errors(problem, prior, message):
    X, R, _ = problem
    theta = gmmlab.m_step(X, R)
    with pytest.raises(ValueError, match=message):
        gmmlab.log_prior(theta[0], theta[2], **prior)
    with pytest.raises(ValueError, match=message):
        gmmlab.run_map_em(X, *theta, **prior)


def test_map_m_step_accepts_the_improper_limits_but_no_further(problem):
    X, R, _ = problem
    with pytest.raises(ValueError, match="nu.*-\\(D \\+ 1\\)"):
        gmmlab.map_m_step(X, R, alpha=1, psi=np.zeros((2, 2)), nu=-3.5)
    with pytest.raises(ValueError, match="psi.*positive semi-definite"):
        gmmlab.map_m_step(X, R, alpha=1, psi=-np.eye(2), nu=3)
    with pytest.raises(ValueError, match="alpha"):
        gmmlab.map_m_step(X, R, alpha=0.9, psi=np.eye(2), nu=3)
    with pytest.raises(ValueError, match="responsibilities"):
        gmmlab.map_m_step(X, R[:, :2], **PRIOR)
    with pytest.raises(ValueError, match="max_iter"):
        gmmlab.run_map_em(X, *gmmlab.m_step(X, R), **PRIOR, max_iter=-1)
