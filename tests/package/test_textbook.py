"""The running example of Deisenroth, Faisal & Ong, *Mathematics for Machine Learning*, Examples 11.1-11.6.

Seven points, three components initialised at N(-4, 1), N(0, 0.2), N(8, 3) (second argument a variance),
equal weights. Each published figure is checked to the precision the book prints. Where the printed
figure is not the rounding of the exact value, the test pins the computed value and says why.
"""

import numpy as np
import pytest

import gmmlab


@pytest.fixture(scope="module")
def example():
    return gmmlab.textbook_example()


@pytest.fixture(scope="module")
def one_cycle(example):
    X, (weights, means, covariances) = example
    responsibilities = gmmlab.e_step(X, weights, means, covariances)
    return responsibilities, gmmlab.m_step(X, responsibilities)


def test_data_and_initial_parameters(example):
    X, (weights, means, covariances) = example
    assert X.shape == (7, 1)
    np.testing.assert_array_equal(X.ravel(), [-3, -2.5, -1, 0, 2, 4, 5])
    np.testing.assert_allclose(weights, [1 / 3] * 3)
    np.testing.assert_array_equal(means.ravel(), [-4, 0, 8])
    np.testing.assert_array_equal(covariances.ravel(), [1, 0.2, 3])


def test_initial_log_likelihood_is_minus_28_3(example):
    X, params = example
    assert round(gmmlab.log_likelihood(X, *params), 1) == -28.3


def test_responsibilities_matrix_11_19(one_cycle):
    responsibilities, _ = one_cycle
    printed = np.array(
        [
            [1.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.057, 0.943, 0.0],
            [0.001, 0.999, 0.0],
            [0.0, 0.066, 0.934],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],
        ]
    )
    rows = [0, 1, 2, 4, 5, 6]
    np.testing.assert_array_equal(np.round(responsibilities[rows], 3), printed[rows])
    # Row 4 (x = 0): the book prints 0.001 / 0.999, but the exact values are 0.000150 / 0.999844 / 0.000006,
    # which round to 0.000 / 1.000 / 0.000. The computed value is pinned.
    np.testing.assert_allclose(responsibilities[3], [1.50000e-4, 0.999843983, 6.01745e-6], rtol=1e-5)


def test_n_k(one_cycle):
    responsibilities, _ = one_cycle
    # The book prints N_k = 2.058, 2.008, 2.934: the column sums of its rounded matrix (with row 4 as
    # printed). The exact column sums, pinned here, are 2.057, 2.009, 2.934.
    np.testing.assert_array_equal(np.round(gmmlab.n_k(responsibilities), 3), [2.057, 2.009, 2.934])
    printed_matrix_sums = np.round(responsibilities, 3)
    printed_matrix_sums[3] = [0.001, 0.999, 0.0]
    np.testing.assert_allclose(printed_matrix_sums.sum(axis=0), [2.058, 2.008, 2.934], atol=1e-12)


def test_mean_updates_11_27_to_11_29(one_cycle):
    _, (_, means, _) = one_cycle
    np.testing.assert_array_equal(np.round(means.ravel(), 1), [-2.7, -0.4, 3.7])


def test_variance_updates_11_39_to_11_41_use_the_new_means(one_cycle, example):
    X, (_, old_means, _) = example
    responsibilities, (_, means, covariances) = one_cycle
    np.testing.assert_array_equal(np.round(covariances.ravel(), 2), [0.14, 0.44, 1.53])
    # Around the old means the variances would be 1.83, 0.60, 19.98: the book's numbers need the new ones.
    nk = gmmlab.n_k(responsibilities)
    around_old = (responsibilities * (X - old_means.ravel()) ** 2).sum(axis=0) / nk
    assert not np.allclose(np.round(around_old, 2), [0.14, 0.44, 1.53])


def test_weight_updates_11_50_to_11_52(one_cycle):
    _, (weights, _, _) = one_cycle
    np.testing.assert_array_equal(np.round(weights, 2), [0.29, 0.29, 0.42])


def test_log_likelihood_after_one_cycle_is_minus_14_4(example, one_cycle):
    X, _ = example
    _, params = one_cycle
    assert round(gmmlab.log_likelihood(X, *params), 1) == -14.4


def test_converged_fit_11_57(example):
    X, params = example
    run = gmmlab.run_em(X, *params, max_iter=200, tol=1e-10)
    assert run.converged
    np.testing.assert_array_equal(np.round(run.weights, 2), [0.29, 0.28, 0.43])
    np.testing.assert_array_equal(np.round(run.means.ravel(), 2), [-2.75, -0.50, 3.64])
    np.testing.assert_array_equal(np.round(run.covariances.ravel(), 2), [0.06, 0.25, 1.63])
    # The log-likelihood climbs monotonically from -28.3 to its converged value.
    assert np.all(np.diff(run.log_likelihoods) >= -1e-12)
    assert round(run.log_likelihoods[-1], 2) == -13.97


def test_estimator_reproduces_the_example(example):
    X, (weights, means, covariances) = example
    model = gmmlab.GaussianMixture(
        3, weights_init=weights, means_init=means, precisions_init=1 / covariances, reg_covar=0, max_iter=1
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmmlab.ConvergenceWarning)
        model.fit(X)
    np.testing.assert_array_equal(np.round(model.means_.ravel(), 1), [-2.7, -0.4, 3.7])
    np.testing.assert_array_equal(np.round(model.covariances_.ravel(), 2), [0.14, 0.44, 1.53])
    assert round(model.score(X) * 7, 1) == -14.4
    assert round(model.lower_bound_ * 7, 1) == -28.3  # scikit-learn's meaning: before the last M-step
