"""gmmlab.gradient: the derived gradients against finite differences, and gradient ascent against EM."""

import numpy as np
import pytest

import gmmlab
from gmmlab import gradient as gr


def random_problem(seed, N=40, K=3, D=3):
    """Data and a random point of the unconstrained parameter space (every entry of Lambda random)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)) * rng.uniform(0.5, 2.0, D)
    logits = rng.normal(size=K)
    means = rng.normal(size=(K, D))
    free = rng.normal(scale=0.5, size=(K, D, D))
    return X, logits, means, free


def total_log_likelihood(X, logits, means, free):
    """The log-likelihood by the course's own route: the mixture, then gmmlab.log_likelihood."""
    return gmmlab.log_likelihood(X, *gr.mixture_from_free(logits, means, free))


def central_differences(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_gradient_block_matches_finite_differences(seed):
    X, logits, means, free = random_problem(seed)
    grads = gr.log_likelihood_gradients(X, logits, means, free)
    assert np.isclose(grads.log_likelihood, total_log_likelihood(X, logits, means, free), rtol=1e-12)
    numeric = {
        "logits": central_differences(lambda a: total_log_likelihood(X, a, means, free), logits),
        "means": central_differences(lambda m: total_log_likelihood(X, logits, m, free), means),
        "free_factors": central_differences(lambda f: total_log_likelihood(X, logits, means, f), free),
    }
    for block, expected in numeric.items():
        analytic = getattr(grads, block)
        scale = max(1.0, np.abs(expected).max())
        assert np.allclose(analytic, expected, atol=1e-5 * scale), f"gradient of {block} is wrong"
    # the upper triangle of Lambda does not enter the model, so its gradient is exactly zero
    assert np.all(np.triu(grads.free_factors, k=1) == 0)


def test_gradients_vanish_at_an_em_fixed_point():
    X, _ = gmmlab.three_clusters()
    start = (np.full(3, 1 / 3), X[[0, 400, 900]], np.tile(np.eye(2), (3, 1, 1)))
    fit = gmmlab.run_em(X, *start, max_iter=2000, tol=1e-10)
    grads = gr.log_likelihood_gradients(X, *gr.free_from_mixture(fit.weights, fit.means, fit.covariances))
    assert max(np.abs(g).max() for g in grads[1:]) < 1e-3
    # and far from it they do not: a test that would pass on a zero gradient is no test
    far = gr.log_likelihood_gradients(X, *gr.free_from_mixture(*start))
    assert max(np.abs(g).max() for g in far[1:]) > 10


def test_parametrisation_round_trip_and_validity():
    X, logits, means, free = random_problem(3)
    weights, means_out, covariances = gr.mixture_from_free(logits, means, free)
    assert np.isclose(weights.sum(), 1) and np.all(weights > 0)
    assert np.all(np.linalg.eigvalsh(covariances) > 0)
    logits2, means2, free2 = gr.free_from_mixture(weights, means_out, covariances)
    assert np.allclose(gr.weights_from_logits(logits2), weights)
    assert np.allclose(free2, np.tril(free)) and np.array_equal(means2, means)


def test_ascent_never_decreases_and_reaches_the_em_optimum():
    X, _ = gmmlab.three_clusters()
    X = X[::5]  # 200 points keep the test fast
    start = (np.full(3, 1 / 3), X[[0, 80, 180]], np.tile(np.eye(2), (3, 1, 1)))
    em = gmmlab.run_em(X, *start, max_iter=2000, tol=1e-10)
    ascent = gr.run_gradient_ascent(X, *start, step_size=1.0, max_iter=5000, tol=1e-10)
    assert np.all(np.diff(ascent.log_likelihoods) >= 0)
    assert ascent.log_likelihoods[-1] > ascent.log_likelihoods[0] + 100
    assert ascent.converged and abs(ascent.log_likelihoods[-1] - em.log_likelihoods[-1]) < 1e-3
    assert np.isclose(ascent.log_likelihoods[-1], gmmlab.log_likelihood(X, ascent.weights, ascent.means,
                                                                         ascent.covariances))


def test_a_too_large_step_is_halved_not_taken():
    X, initial = gmmlab.textbook_example()
    ascent = gr.run_gradient_ascent(X, *initial, step_size=1e6, max_iter=50)
    assert ascent.step_sizes[0] < 1e6 and np.all(np.diff(ascent.log_likelihoods) >= 0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gr.weights_from_logits([0.0, np.nan]), "logits contain NaN"),
        (lambda: gr.weights_from_logits(np.zeros((2, 2))), "logits must have shape"),
        (lambda: gr.cholesky_from_free(np.zeros((2, 2, 3))), "free_factors must have shape"),
        (lambda: gr.free_from_mixture([1.0, 0.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]]), "every weight must be positive"),
        (lambda: gr.free_from_mixture([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[-1.0]]]), "not positive definite"),
        (lambda: gr.log_likelihood_gradients(np.zeros((4, 2)), np.zeros(2), np.zeros((2, 3)), np.zeros((2, 3, 3))),
         "D = 3 dimensions but X has 2 columns"),
        (lambda: gr.log_likelihood_gradients(np.zeros((4, 1)), np.zeros(2), np.zeros((3, 1)), np.zeros((2, 1, 1))),
         "means must have shape"),
        (lambda: gr.run_gradient_ascent(*gmmlab.textbook_example()[:1], *gmmlab.textbook_example()[1], step_size=0),
         "step_size must be a positive number"),
        (lambda: gr.run_gradient_ascent(*gmmlab.textbook_example()[:1], *gmmlab.textbook_example()[1], max_iter=-1),
         "max_iter must be a non-negative integer"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
