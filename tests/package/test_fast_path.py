"""The estimator's fused fast path computes exactly what the teaching functions compute."""

import numpy as np
import pytest

import gmmlab
from gmmlab import _fast
from gmmlab._covariances import (
    check_not_degenerate,
    checked_precisions_cholesky,
    estimate_parameters,
    factor_triangles,
    precisions_cholesky,
    whiten,
)

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def problem(seed=0, N=3000, D=3, K=4):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(loc=rng.normal(scale=3, size=D), size=(N // K, D)) for _ in range(K)])
    weights = rng.dirichlet(np.ones(K) * 3)
    means = X[rng.choice(len(X), K, replace=False)]
    A = rng.normal(size=(K, D, D))
    covariances = A @ np.swapaxes(A, 1, 2) + np.eye(D)
    return X, weights, means, covariances


def as_type(covariances, covariance_type):
    return {
        "full": covariances,
        "tied": covariances.mean(axis=0),
        "diag": np.diagonal(covariances, axis1=1, axis2=2).copy(),
        "spherical": np.diagonal(covariances, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]


def as_full(covariances, covariance_type, K, D):
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (K, D, D))
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([np.eye(D) * c for c in covariances])


@pytest.mark.parametrize("path", ["natural", "centred"])
@pytest.mark.parametrize("block_entries", [64, 1 << 17])  # many small blocks, and one block
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fused_iteration_equals_e_step_then_m_step(covariance_type, block_entries, path, monkeypatch):
    monkeypatch.setattr(_fast, "BLOCK_ENTRIES", block_entries)
    monkeypatch.setattr(_fast, "FEATURE_BLOCK_ENTRIES", block_entries)
    monkeypatch.setattr(_fast, "MIN_FEATURE_ROWS", 1)
    if path == "centred":  # any spread is too much for the natural parameters
        monkeypatch.setattr(_fast, "MAX_SPREAD_RATIO", 0.0)
    calls = []
    original = _fast.natural_statistics
    monkeypatch.setattr(_fast, "natural_statistics", lambda *a: calls.append(1) or original(*a))
    X, weights, means, covariances = problem()
    K, D = means.shape
    covs = as_type(covariances, covariance_type)
    mean_ll, new_weights, new_means, new_covs = _fast.em_iteration(
        X, weights, means, precisions_cholesky(covs, covariance_type), covariance_type, 1e-6
    )
    full = as_full(covs, covariance_type, K, D)
    assert mean_ll == pytest.approx(gmmlab.log_likelihood(X, weights, means, full) / len(X), rel=1e-12)
    resp = gmmlab.e_step(X, weights, means, full)
    w, m, c = gmmlab.m_step(X, resp, reg_covar=1e-6)
    np.testing.assert_allclose(new_weights, w, rtol=1e-12)
    np.testing.assert_allclose(new_means, m, rtol=1e-12)
    # The teaching m_step is full-covariance; the other types are its tied / diagonal / spherical reductions.
    nk = resp.sum(axis=0)
    unregularised = c - 1e-6 * np.eye(D)
    expected = {
        "full": c,
        "tied": np.tensordot(nk, unregularised, axes=1) / nk.sum() + 1e-6 * np.eye(D),
        "diag": np.diagonal(c, axis1=1, axis2=2),
        "spherical": np.diagonal(c, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(new_covs, expected, rtol=1e-10)
    # ...and the same as the estimator's own two-pass M-step.
    two_pass = estimate_parameters(X, resp, covariance_type, 1e-6)
    for a, b in zip((new_weights, new_means, new_covs), two_pass):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert len(calls) == (path == "natural")


def test_large_mean_shift_falls_back_to_two_passes(monkeypatch):
    # A tight cluster far from where its mean starts: the one-pass correction would cancel catastrophically.
    rng = np.random.default_rng(1)
    X = 1e4 + 1e-3 * rng.standard_normal((500, 2))
    calls = []
    original = _fast._two_pass_iteration
    monkeypatch.setattr(_fast, "_two_pass_iteration", lambda *a: calls.append(1) or original(*a))
    prec = precisions_cholesky(np.eye(2)[None], "full")
    _, _, means, covs = _fast.em_iteration(X, np.ones(1), np.zeros((1, 2)), prec, "full", 0.0)
    assert calls, "expected the fallback for a mean that moves 1e4 with spread 1e-3"
    np.testing.assert_allclose(covs[0], np.cov(X.T, bias=True), rtol=1e-8)
    np.testing.assert_allclose(means[0], X.mean(axis=0), rtol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_covariance_type_takes_the_natural_parameter_path_unless_it_would_lose_digits(
    covariance_type, monkeypatch
):
    calls = []
    original = _fast.natural_statistics
    monkeypatch.setattr(_fast, "natural_statistics", lambda *a: calls.append(1) or original(*a))
    X, weights, means, covariances = problem()
    covs = as_type(covariances, covariance_type)
    _fast.em_iteration(X, weights, means, precisions_cholesky(covs, covariance_type), covariance_type, 1e-6)
    assert calls == [1]
    # A cluster with spread 1e-4 at distance ~1e3 from the data's mean: raw moments about that mean would lose
    # about 14 digits, so the iteration takes the centred path, and still equals the teaching functions.
    rng = np.random.default_rng(2)
    X = np.vstack([1e-4 * rng.standard_normal((200, 2)), 1e3 + rng.standard_normal((200, 2))])
    weights, means = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [1e3, 1e3]])
    covariances = np.stack([1e-8 * np.eye(2), np.eye(2)])
    covs = as_type(covariances, covariance_type)
    mean_ll, new_weights, new_means, new_covs = _fast.em_iteration(
        X, weights, means, precisions_cholesky(covs, covariance_type), covariance_type, 0.0
    )
    assert calls == [1]
    full = as_full(covs, covariance_type, 2, 2)
    assert mean_ll == pytest.approx(gmmlab.log_likelihood(X, weights, means, full) / len(X), rel=1e-12)
    resp = gmmlab.e_step(X, weights, means, full)
    for ours, teaching in zip((new_weights, new_means, new_covs), estimate_parameters(X, resp, covariance_type, 0.0)):
        np.testing.assert_allclose(ours, teaching, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_data_give_the_float64_iteration_of_the_same_values(covariance_type):
    X, weights, means, covariances = problem()
    X = X.astype(np.float32)
    prec_chol = precisions_cholesky(as_type(covariances, covariance_type), covariance_type)
    ours = _fast.em_iteration(X, weights, means, prec_chol, covariance_type, 1e-6)
    reference = _fast.em_iteration(X.astype(np.float64), weights, means, prec_chol, covariance_type, 1e-6)
    assert ours[0] == pytest.approx(reference[0], rel=1e-13)
    for a, b in zip(ours[1:], reference[1:]):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_natural_statistics_add_up_over_chunks_of_rows():
    X, weights, means, covariances = problem()
    centre = _fast.data_centre(X).mean
    theta = _fast.natural_parameters(weights, means, precisions_cholesky(covariances, "full"), centre)
    whole, whole_ll = _fast.natural_statistics(X, theta, centre)
    parts = [_fast.natural_statistics(chunk, theta, centre) for chunk in np.array_split(X, [700, 2100])]
    np.testing.assert_allclose(sum(p[0] for p in parts), whole, rtol=1e-12, atol=1e-9)
    assert sum(p[1] for p in parts) == pytest.approx(whole_ll, rel=1e-13)
    w, m, c = gmmlab.m_step(X, gmmlab.e_step(X, weights, means, covariances), reg_covar=1e-6)
    for ours, teaching in zip(_fast.parameters_from_statistics(whole, centre, 1e-6), (w, m, c)):
        np.testing.assert_allclose(ours, teaching, rtol=1e-10)


def test_full_covariances_with_few_components_in_many_dimensions_take_the_centred_path(monkeypatch):
    calls = []
    original = _fast.natural_statistics
    monkeypatch.setattr(_fast, "natural_statistics", lambda *a: calls.append(1) or original(*a))
    X, weights, means, covariances = problem(D=13, K=2)  # 6 K < D: D (D + 1) / 2 features cost more
    mean_ll, *updated = _fast.em_iteration(X, weights, means, precisions_cholesky(covariances, "full"), "full", 1e-6)
    assert calls == []
    assert mean_ll == pytest.approx(gmmlab.log_likelihood(X, weights, means, covariances) / len(X), rel=1e-12)
    w, m, c = gmmlab.m_step(X, gmmlab.e_step(X, weights, means, covariances), reg_covar=1e-6)
    for ours, teaching in zip(updated, (w, m, c)):
        np.testing.assert_allclose(ours, teaching, rtol=1e-10)


@pytest.mark.parametrize("triangle", ["upper", "lower", None])
def test_triangular_whitening_equals_the_dense_product(triangle):
    # precisions_cholesky gives upper factors, precisions_init lower ones; any other matrix takes the dense product.
    rng = np.random.default_rng(3)
    factor = rng.normal(size=(1, 5, 5))
    factor = {"upper": np.triu(factor), "lower": np.tril(factor), None: factor}[triangle]
    diff = rng.normal(size=(40, 5))
    assert factor_triangles(factor, "full") == [triangle]
    ours = whiten(diff, factor, "full", 0, out=np.empty((40, 5)), triangle=triangle)
    np.testing.assert_allclose(ours, diff @ factor[0], rtol=1e-13, atol=1e-13)


def test_checked_factors_fail_and_succeed_as_check_then_factor():
    X, _, _, covariances = problem(D=3, K=4)
    floor = 1e-12
    np.testing.assert_array_equal(
        checked_precisions_cholesky(covariances, "full", floor, 0.0), precisions_cholesky(covariances, "full")
    )
    # Component 1 collapsed below the floor but still factorable, component 3 not positive definite: the check
    # names component 1 first, as check_not_degenerate does before any factorisation.
    collapsed = covariances.copy()
    collapsed[1] = 1e-14 * np.eye(3)
    collapsed[3] = -np.eye(3)
    with pytest.raises(ValueError) as expected:
        check_not_degenerate(collapsed, "full", floor, 0.0)
    with pytest.raises(ValueError) as ours:
        checked_precisions_cholesky(collapsed, "full", floor, 0.0)
    assert str(ours.value) == str(expected.value)
    assert "component 1 " in str(ours.value)


def test_the_iteration_runs_blas_on_one_thread_and_restores_the_callers_threads(monkeypatch):
    # Its products are per block of rows: BLAS threads would start and join at every call.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"}

    seen = []
    original = _fast._blocked_iteration
    monkeypatch.setattr(_fast, "_blocked_iteration", lambda *a: seen.append(blas_threads()) or original(*a))
    X, weights, means, covariances = problem()
    with threadpool_limits(limits=2, user_api="blas"):
        _fast.em_iteration(X, weights, means, precisions_cholesky(covariances, "full"), "full", 1e-6)
        assert blas_threads() == {2}
    assert seen == [{1}]
