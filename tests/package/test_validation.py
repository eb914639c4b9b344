"""Bad input gets a ValueError that names the problem, never a NaN result or a raw numpy traceback."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

import gmmlab

X, (W, M, C) = gmmlab.textbook_example()


def good():
    return dict(weights=W.copy(), means=M.copy(), covariances=C.copy())


@pytest.mark.parametrize(
    "data, message",
    [
        (np.array([[1.0], [np.nan], [2.0]]), r"NaN or infinite values \(first in row 1\)"),
        (np.array([[1.0], [np.inf]]), "NaN or infinite"),
        (np.array([1.0, 2.0, 3.0]), r"2-D array of shape \(N, D\); got 1-D.*reshape\(-1, 1\)"),
        (np.zeros((2, 2, 2)), "2-D array"),
        (np.zeros((0, 1)), "at least one row"),
        ([["a"], ["b"]], "numeric array"),
    ],
)
def test_bad_data(data, message):
    for call in (
        lambda: gmmlab.e_step(data, W, M, C),
        lambda: gmmlab.log_likelihood(data, W, M, C),
        lambda: gmmlab.kmeans(data, 1),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=ESTIMATOR_MESSAGES.get(message, message)):
        gmmlab.GaussianMixture(1).fit(data)


# The estimator takes NaN as a missing value: its errors name the row with nothing observed, or the infinity.
ESTIMATOR_MESSAGES = {
    r"NaN or infinite values \(first in row 1\)": r"every entry missing \(NaN\) in row 1",
    "NaN or infinite": r"infinite values \(first in row 1\)",
}


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(weights=np.array([0.5, 0.5])), r"means must have shape \(K, D\) = \(2, 1\)"),
        (dict(means=np.zeros((3, 2))), r"means must have shape \(K, D\) = \(3, 1\); got shape \(3, 2\)"),
        (dict(covariances=np.ones((3, 1))), r"covariances must have shape \(K, D, D\)"),
        (dict(weights=np.array([0.5, 0.3, 0.1])), "weights must sum to 1; they sum to 0.9"),
        (dict(weights=np.array([1.2, -0.1, -0.1])), r"weights must lie in \[0, 1\]"),
        (dict(weights=np.array([[1 / 3, 1 / 3, 1 / 3]])), r"weights must have shape \(K,\)"),
        (dict(covariances=np.array([[[1.0]], [[-0.2]], [[3.0]]])), r"covariances\[1\] is not positive definite"),
        (dict(covariances=np.array([[[1.0]], [[0.0]], [[3.0]]])), r"covariances\[1\] is not positive definite"),
        (dict(means=np.array([[np.nan], [0.0], [8.0]])), "means contain NaN"),
    ],
)
def test_bad_parameters(change, message):
    params = good() | change
    for function in (gmmlab.e_step, gmmlab.log_likelihood, gmmlab.log_joint, gmmlab.run_em):
        with pytest.raises(ValueError, match=message):
            function(X, **params)


def test_non_symmetric_covariance():
    covariances = np.array([[[2.0, 0.5], [0.0, 1.0]]])
    with pytest.raises(ValueError, match=r"covariances\[0\] must be symmetric"):
        gmmlab.e_step(np.zeros((3, 2)), [1.0], [[0.0, 0.0]], covariances)


def test_bad_responsibilities():
    with pytest.raises(ValueError, match="each row of responsibilities must sum to 1; row 0 sums to 3.2"):
        gmmlab.m_step(X, np.full((7, 2), 1.6))
    with pytest.raises(ValueError, match=r"responsibilities must have shape \(N, K\) = \(7, K\)"):
        gmmlab.m_step(X, np.ones((6, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        gmmlab.lower_bound(X, W, M, C, np.tile([1.5, -0.5, 0.0], (7, 1)))
    with pytest.raises(ValueError, match="component 2 has no responsibility"):
        gmmlab.m_step(X, np.tile([0.5, 0.5, 0.0], (7, 1)))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(n_components=8), "more components than data points: K = 8 but N = 7"),
        (dict(n_components=3, weights_init=[0.5, 0.5, 0.5]), "weights must sum to 1"),
        (dict(n_components=3, means_init=np.zeros((2, 1))), r"means must have shape \(K, D\) = \(3, 1\)"),
        (dict(n_components=2, precisions_init=np.array([[[1.0]], [[-1.0]]])), r"precisions_init\[1\] must be"),
        (dict(n_components=2, covariance_type="diag", precisions_init=np.ones((2, 2))), "must have shape"),
    ],
)
def test_bad_estimator_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        gmmlab.GaussianMixture(**params).fit(X)


@pytest.mark.parametrize(
    "params",
    [
        dict(n_components=0),
        dict(n_components=1.5),
        dict(covariance_type="round"),
        dict(init_params="best"),
        dict(tol=-1.0),
        dict(reg_covar=-1e-6),
        dict(max_iter=-1),
        dict(n_init=0),
        dict(random_state="seed"),
        dict(warm_start="yes"),
        dict(verbose_interval=0),
    ],
)
def test_bad_constructor_parameters_raise_scikit_learns_invalid_parameter_error(params):
    # scikit-learn's _parameter_constraints check them, with its message naming the parameter and its range
    (name,) = params
    for method in ("fit", "fit_predict"):
        with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of GaussianMixture must be"):
            getattr(gmmlab.GaussianMixture(**params), method)(X)


def test_estimator_predict_checks_the_number_of_features():
    model = gmmlab.GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 1 features"):
        model.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        model.sample(0)


def test_kmeans_bad_input():
    with pytest.raises(ValueError, match="more components than data points"):
        gmmlab.kmeans(X, 8)
    with pytest.raises(ValueError, match="init must be"):
        gmmlab.kmeans(X, 2, init="farthest")
    with pytest.raises(ValueError, match="cluster 1 has no points"):
        gmmlab.update_centers(X, np.zeros(7, dtype=int), 2)
    with pytest.raises(ValueError, match="centers must have D = 1 columns"):
        gmmlab.assign_clusters(X, np.zeros((2, 2)))


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="weights must sum to 1"):
        gmmlab.sample_mixture(5, [0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        gmmlab.sample_mixture(0, W, M, C)
