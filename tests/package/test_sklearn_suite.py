"""scikit-learn's own tests of GaussianMixture (``sklearn/mixture/tests/test_gaussian_mixture.py``, shipped in the
installed wheel), run against gmmlab.GaussianMixture in float64 and float32 over several seeds.

The upstream module is imported and its global ``GaussianMixture`` replaced by gmmlab's class, so every test
that builds an estimator builds gmmlab's. Excluded, with the reason, are only the tests of scikit-learn's
private functions (gmmlab has its own and does not replace scikit-learn's) and of its array API support.
"""

import numpy as np
import pytest
from sklearn.mixture.tests import test_gaussian_mixture as upstream

import gmmlab

EXCLUDED = {
    # scikit-learn's private helpers _check_weights, _check_means, _check_precisions, called directly
    "test_check_weights": "calls scikit-learn's private _check_weights directly",
    "test_check_means": "calls scikit-learn's private _check_means directly",
    "test_check_precisions": "calls scikit-learn's private _check_precisions directly",
    # scikit-learn's private M-step functions _estimate_gaussian_covariances_* and _compute_precision_cholesky
    "test_suffstat_sk_full": "tests scikit-learn's private _estimate_gaussian_covariances_full",
    "test_suffstat_sk_tied": "tests scikit-learn's private _estimate_gaussian_covariances_tied",
    "test_suffstat_sk_diag": "tests scikit-learn's private _estimate_gaussian_covariances_diag",
    "test_gaussian_suffstat_sk_spherical": "tests scikit-learn's private _estimate_gaussian_covariances_spherical",
    "test_compute_log_det_cholesky": "tests scikit-learn's private _compute_log_det_cholesky",
    "test_gaussian_mixture_log_probabilities": "tests scikit-learn's private _estimate_log_gaussian_prob",
    "test_gaussian_mixture_estimate_log_prob_resp": "calls the private _estimate_log_prob_resp and _e_step",
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        "mocks scikit-learn's private _estimate_gaussian_parameters"
    ),
    "test_gaussian_mixture_precisions_init": "compares with scikit-learn's private _compute_precision_cholesky",
    "test_gaussian_mixture_precisions_init_diag": "calls scikit-learn's private _estimate_gaussian_parameters",
    # array API: gmmlab computes with NumPy only
    "test_gaussian_mixture_array_api_compliance": "scikit-learn's array API support (NumPy only here)",
    "test_gaussian_mixture_raises_where_array_api_not_implemented": "scikit-learn's array API support",
}

SEEDS = [0, 1, 2, 3]


@pytest.fixture(params=SEEDS)
def global_random_seed(request):
    return request.param


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def global_dtype(request):
    """scikit-learn's fixture with SKLEARN_RUN_FLOAT32_TESTS=1: every dtype-parametrised test in both dtypes."""
    return request.param


@pytest.fixture(autouse=True)
def gmmlab_as_gaussian_mixture(monkeypatch):
    monkeypatch.setattr(upstream, "GaussianMixture", gmmlab.GaussianMixture)


UPSTREAM_TESTS = sorted(name for name in vars(upstream) if name.startswith("test_"))

globals().update({name: getattr(upstream, name) for name in UPSTREAM_TESTS if name not in EXCLUDED})


def test_the_exclusions_name_upstream_tests_and_leave_most_of_them():
    assert set(EXCLUDED) <= set(UPSTREAM_TESTS)
    assert len(UPSTREAM_TESTS) - len(EXCLUDED) >= 25
