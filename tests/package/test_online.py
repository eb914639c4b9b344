"""Online EM (gmmlab.online): its statistics against loops, one step of size 1 on the whole data against one batch EM
iteration, the step-size schedule, and errors that name the problem."""

import numpy as np
import pytest

import gmmlab
from gmmlab.online import online_update, parameters_from_statistics, step_size, sufficient_statistics


@pytest.fixture
def data():
    X, _ = gmmlab.three_clusters()
    X = X - X.mean(0)  # the raw moments of parameters_from_statistics are then accurate
    start = (np.array([0.2, 0.3, 0.5]), X[[0, 400, 900]], np.array([np.cov(X.T)] * 3))
    return X, start


def test_sufficient_statistics_are_the_weighted_averages(data):
    X, start = data
    R = gmmlab.e_step(X, *start)
    s0, s1, s2 = sufficient_statistics(X, R)
    N = len(X)
    for k in range(3):
        assert s0[k] == pytest.approx(sum(R[n, k] for n in range(N)) / N, rel=1e-12)
        np.testing.assert_allclose(s1[k], sum(R[n, k] * X[n] for n in range(N)) / N, rtol=1e-11)
        np.testing.assert_allclose(s2[k], sum(R[n, k] * np.outer(X[n], X[n]) for n in range(N)) / N, rtol=1e-11)


def test_one_step_of_size_one_on_the_whole_data_is_one_em_iteration(data):
    X, start = data
    R = gmmlab.e_step(X, *start)
    arbitrary = (np.array([0.9, 0.05, 0.05]), np.ones((3, 2)), np.array([np.eye(2) * 7] * 3))
    statistics = online_update(arbitrary, sufficient_statistics(X, R), 1.0)  # step 1 forgets the past
    for ours, em in zip(parameters_from_statistics(statistics), gmmlab.m_step(X, R)):
        np.testing.assert_allclose(ours, em, rtol=1e-12, atol=1e-12)


def test_online_update_is_the_convex_combination():
    old = (np.array([0.5, 0.5]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2, 2)))
    new = (np.array([0.2, 0.8]), np.array([[0.0, 0.0], [1.0, 1.0]]), np.full((2, 2, 2), 3.0))
    s0, s1, s2 = online_update(old, new, 0.25)
    np.testing.assert_allclose(s0, [0.425, 0.575])
    np.testing.assert_allclose(s1, [[0.75, 1.5], [2.5, 3.25]])
    np.testing.assert_allclose(s2, np.full((2, 2, 2), 1.5))


def test_step_sizes_follow_the_schedule():
    t = np.arange(1, 6)
    np.testing.assert_allclose(step_size(t, decay=0.7, offset=2.0), (t + 2.0) ** -0.7, rtol=1e-15)
    assert step_size(4) == pytest.approx(5.0**-0.6)
    assert step_size(1, decay=1.0, offset=0.0) == 1.0
    assert isinstance(step_size(3), float)


@pytest.mark.parametrize("decay", [0.5, 0.3, 1.2, True, "0.6"])
def test_a_decay_outside_the_robbins_monro_range_is_refused(decay):
    with pytest.raises(ValueError, match=r"decay must be in \(0.5, 1\] so that the steps satisfy the Robbins-Monro"):
        step_size(1, decay=decay)


@pytest.mark.parametrize("t", [0, -1, 1.5, [1, 0]])
def test_updates_are_counted_from_one(t):
    with pytest.raises(ValueError, match="t must be a positive integer"):
        step_size(t)


def test_a_negative_offset_is_refused():
    with pytest.raises(ValueError, match="offset must be a non-negative number"):
        step_size(1, offset=-1.0)


@pytest.mark.parametrize("step", [0.0, 1.5, -0.1, np.nan, True])
def test_a_step_outside_zero_one_is_refused(step):
    s = (np.array([1.0]), np.zeros((1, 1)), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match=r"step must be a number in \(0, 1\]"):
        online_update(s, s, step)


def test_mismatched_statistics_are_refused():
    a = (np.array([1.0]), np.zeros((1, 1)), np.ones((1, 1, 1)))
    b = (np.array([0.5, 0.5]), np.zeros((2, 1)), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="must have the same shapes"):
        online_update(a, b, 0.5)
    with pytest.raises(ValueError, match=r"statistics must have shapes \(K,\), \(K, D\) and \(K, D, D\)"):
        online_update((a[0], a[1], np.ones((1, 2, 2))), a, 0.5)


def test_a_component_without_responsibility_is_named():
    s = (np.array([1.0, 0.0]), np.zeros((2, 1)), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="component 1 has s0 = 0: no responsibility"):
        parameters_from_statistics(s)


def test_online_em_reaches_batch_em_in_one_pass():
    """The pieces compose: one pass over 20000 points in batches of 200 ends within 0.01 nats per point of the
    optimum batch EM finds, from the same start (about one second)."""
    truth = ([0.5, 0.3, 0.2], [[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], [np.eye(2), [[1.0, 0.5], [0.5, 1.0]], np.eye(2)])
    X, _ = gmmlab.sample_mixture(20000, *truth, random_state=3)
    start = (np.full(3, 1 / 3), np.array([[1.0, 1.0], [3.0, 0.5], [0.5, 3.0]]), np.array([np.eye(2) * 2] * 3))
    parameters = start
    statistics = sufficient_statistics(X[:200], gmmlab.e_step(X[:200], *parameters))
    for t, batch in enumerate(np.split(X[200:], 99), start=1):
        statistics = online_update(statistics, sufficient_statistics(batch, gmmlab.e_step(batch, *parameters)),
                                   step_size(t))
        parameters = parameters_from_statistics(statistics)
    batch_em = gmmlab.run_em(X, *start, tol=1e-6)
    online = gmmlab.log_likelihood(X, *parameters) / len(X)
    assert batch_em.log_likelihoods[-1] / len(X) - online < 0.01
