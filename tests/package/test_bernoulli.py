"""EM for a mixture of Bernoullis (gmmlab.bernoulli): the steps, monotonicity, recovery, and clear errors."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.stats import bernoulli

import gmmlab


def sample(rng, weights, means, n):
    """Ancestral sampling: a component by its weight, then independent coins."""
    z = rng.choice(len(weights), size=n, p=weights)
    return (rng.random((n, means.shape[1])) < means[z]).astype(float), z


@pytest.fixture
def planted():
    rng = np.random.default_rng(0)
    weights = np.array([0.5, 0.3, 0.2])
    means = rng.choice([0.1, 0.9], size=(3, 20)) + rng.uniform(-0.05, 0.05, size=(3, 20))
    X, z = sample(rng, weights, means, 3000)
    return X, weights, means, rng


def test_log_pmf_matches_scipy_including_probabilities_0_and_1():
    X = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=float)
    means = np.array([[0.2, 0.7, 0.5], [1.0, 0.0, 0.3], [0.0, 0.5, 1.0]])
    with np.errstate(divide="ignore"):
        expected = np.array([[bernoulli.logpmf(x, m).sum() for m in means] for x in X])
    assert np.array_equal(np.isneginf(gmmlab.bernoulli_log_pmf(X, means)), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert np.allclose(gmmlab.bernoulli_log_pmf(X, means)[finite], expected[finite])
    assert np.isneginf(expected).any() and finite.sum() >= 3


def test_e_step_is_bayes_rule(planted):
    X, weights, means, _ = planted
    R = gmmlab.bernoulli_e_step(X[:50], weights, means)
    joint = weights * np.exp(gmmlab.bernoulli_log_pmf(X[:50], means))
    assert np.allclose(R, joint / joint.sum(axis=1, keepdims=True))


def q_function(X, R, weights, means):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = R * (np.log(weights) + gmmlab.bernoulli_log_pmf(X, means))
    return np.nansum(terms)


def test_m_step_maximises_q(planted):
    X, weights, means, rng = planted
    X = X[:200]
    R = gmmlab.bernoulli_e_step(X, weights, means)
    new_weights, new_means = gmmlab.bernoulli_m_step(X, R)
    best = q_function(X, R, new_weights, new_means)
    for _ in range(200):
        scale = rng.choice([1e-3, 1e-2, 1e-1])
        w = new_weights * np.exp(scale * rng.normal(size=3))
        m = np.clip(new_means + scale * rng.normal(size=new_means.shape), 1e-9, 1 - 1e-9)
        assert q_function(X, R, w / w.sum(), m) < best


def test_log_likelihood_never_decreases(planted):
    X, _, _, rng = planted
    for _ in range(4):
        result = gmmlab.run_bernoulli_em(X[:600], rng.dirichlet(np.ones(3)), rng.uniform(0.2, 0.8, size=(3, 20)),
                                         max_iter=60, tol=-np.inf)
        steps = np.diff(result.log_likelihoods)
        assert result.n_iter == 60 and steps.min() > -1e-9 * abs(result.log_likelihoods[-1])
        assert np.isclose(result.log_likelihoods[-1],
                          gmmlab.bernoulli_log_likelihood(X[:600], result.weights, result.means))


def test_recovers_planted_parameters(planted):
    X, weights, means, rng = planted
    runs = [gmmlab.run_bernoulli_em(X, np.full(3, 1 / 3), rng.uniform(0.3, 0.7, size=(3, 20))) for _ in range(3)]
    best = max(runs, key=lambda run: run.log_likelihoods[-1])
    _, order = linear_sum_assignment(((means[:, None] - best.means[None]) ** 2).sum(axis=2))
    assert best.converged
    assert np.abs(best.means[order] - means).max() < 0.06
    assert np.abs(best.weights[order] - weights).max() < 0.03


@pytest.mark.parametrize(
    "X, weights, means, message",
    [
        ([[0.0, 0.5]], [1.0], [[0.5, 0.5]], "binary"),
        ([[0.0, 1.0]], [1.0], [[0.5, 1.5]], r"\[0, 1\]"),
        ([[0.0, 1.0]], [0.7, 0.7], [[0.5, 0.5], [0.5, 0.5]], "sum to 1"),
        ([[0.0, 1.0]], [1.0], [[0.5, 0.5, 0.5]], "shape"),
        ([[1.0, 1.0]], [1.0], [[0.0, 0.5]], "probability zero under every component"),
        ([[np.nan, 1.0]], [1.0], [[0.5, 0.5]], "NaN"),
    ],
)
def test_bad_input_gets_named_errors(X, weights, means, message):
    with pytest.raises(ValueError, match=message):
        gmmlab.run_bernoulli_em(X, weights, means)


def test_m_step_and_loop_errors():
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="N_k = 0"):
        gmmlab.bernoulli_m_step(X, [[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="responsibilities"):
        gmmlab.bernoulli_m_step(X, [[0.5, 0.6], [1.0, 0.0]])
    with pytest.raises(ValueError, match="max_iter"):
        gmmlab.run_bernoulli_em(X, [1.0], [[0.5, 0.5]], max_iter=-1)
