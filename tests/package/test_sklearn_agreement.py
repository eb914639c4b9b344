"""gmmlab.GaussianMixture against scikit-learn's, from identical starting points."""

import warnings

import numpy as np
import pytest
from sklearn import mixture
from sklearn.base import clone
from threadpoolctl import threadpool_limits

import gmmlab

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
ATTRIBUTES = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def assert_close(actual, expected, rtol=1e-8):
    """Relative agreement, measured against the largest entry so that zeros off the diagonal compare fairly."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(np.max(np.abs(expected)), 1e-300)
    assert np.max(np.abs(actual - expected)) <= rtol * scale, np.max(np.abs(actual - expected)) / scale


def five_dimensional_data():
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=4, size=(4, 5))
    return np.vstack([rng.multivariate_normal(c, np.diag(rng.uniform(0.5, 2, 5)), 150) for c in centres])


DATASETS = {"three_clusters": (gmmlab.three_clusters()[0], 3), "five_dimensional": (five_dimensional_data(), 4)}


def initial_parameters(X, K, covariance_type, seed=0):
    """A deliberately rough start: means at random data points, unit-ish precisions, unequal weights."""
    rng = np.random.default_rng(seed)
    D = X.shape[1]
    means = X[rng.choice(len(X), K, replace=False)]
    weights = rng.dirichlet(np.full(K, 5.0))
    scale = 1 / X.var(axis=0).mean()
    precisions = {
        "full": np.stack([np.eye(D) * scale] * K),
        "tied": np.eye(D) * scale,
        "diag": np.full((K, D), scale),
        "spherical": np.full(K, scale),
    }[covariance_type]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def fit_both(X, K, covariance_type, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn identically when tol=0 stops at max_iter
        theirs = mixture.GaussianMixture(K, covariance_type=covariance_type, **params).fit(X)
        ours = gmmlab.GaussianMixture(K, covariance_type=covariance_type, **params).fit(X)
    return ours, theirs


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fixed_iterations_match_to_1e_8(dataset, covariance_type):
    X, K = DATASETS[dataset]
    init = initial_parameters(X, K, covariance_type)
    ours, theirs = fit_both(X, K, covariance_type, tol=0, max_iter=60, **init)
    for name in ATTRIBUTES:
        assert_close(getattr(ours, name), getattr(theirs, name))
    assert ours.n_iter_ == theirs.n_iter_ == 60
    assert ours.converged_ is theirs.converged_ is False
    assert_close(ours.lower_bounds_, theirs.lower_bounds_)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converged_fit_matches(covariance_type):
    X, K = DATASETS["three_clusters"]
    init = initial_parameters(X, K, covariance_type, seed=3)
    ours, theirs = fit_both(X, K, covariance_type, tol=1e-6, max_iter=500, **init)
    assert ours.converged_ and theirs.converged_
    assert ours.n_iter_ == theirs.n_iter_
    for name in ATTRIBUTES:
        assert_close(getattr(ours, name), getattr(theirs, name))
    for method in ("score_samples", "predict_proba", "predict"):
        assert_close(getattr(ours, method)(X), getattr(theirs, method)(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-10)


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_random_initialisations_and_restarts_match(init_params):
    # These initialisations draw from the RandomState exactly as scikit-learn does, so restarts agree too.
    X, K = DATASETS["three_clusters"]
    ours, theirs = fit_both(X, K, "full", init_params=init_params, n_init=3, random_state=12, max_iter=200)
    for name in ATTRIBUTES:
        assert_close(getattr(ours, name), getattr(theirs, name))
    assert ours.n_iter_ == theirs.n_iter_


def test_warm_start_continues_like_scikit_learn():
    X, K = DATASETS["three_clusters"]
    init = initial_parameters(X, K, "full", seed=5)
    models = []
    for cls in (gmmlab.GaussianMixture, mixture.GaussianMixture):
        model = cls(K, warm_start=True, max_iter=4, tol=0, **init)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X).fit(X)
        models.append(model)
    ours, theirs = models
    for name in ATTRIBUTES:
        assert_close(getattr(ours, name), getattr(theirs, name))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_the_same_points(covariance_type):
    X, K = DATASETS["three_clusters"]
    init = initial_parameters(X, K, covariance_type, seed=1)
    ours, theirs = fit_both(X, K, covariance_type, random_state=4, **init)
    X_ours, y_ours = ours.sample(500)
    X_theirs, y_theirs = theirs.sample(500)
    np.testing.assert_array_equal(y_ours, y_theirs)
    assert_close(X_ours, X_theirs, rtol=1e-7)


def test_e_step_matches_predict_proba():
    X, K = DATASETS["five_dimensional"]
    theirs = mixture.GaussianMixture(K, random_state=0).fit(X)
    responsibilities = gmmlab.e_step(X, theirs.weights_, theirs.means_, theirs.covariances_)
    np.testing.assert_allclose(responsibilities, theirs.predict_proba(X), rtol=1e-9, atol=1e-12)
    assert gmmlab.log_likelihood(X, theirs.weights_, theirs.means_, theirs.covariances_) == pytest.approx(
        theirs.score(X) * len(X), rel=1e-10
    )


def test_drop_in_api():
    """Code written for scikit-learn's class runs unchanged: parameters, clone, fit_predict, criteria over K."""
    X, _ = DATASETS["three_clusters"]
    ours = gmmlab.GaussianMixture(3, covariance_type="diag", random_state=0)
    # partial_fit's step-size schedule adds two parameters (scikit-learn's mixture has no partial_fit)
    assert set(ours.get_params()) == set(mixture.GaussianMixture().get_params()) | {"learning_decay", "learning_offset"}
    assert clone(ours).get_params() == ours.get_params()
    weights = [0.2, 0.3, 0.5]  # fitting leaves the constructor parameters exactly as given
    fitted = gmmlab.GaussianMixture(3, weights_init=weights, random_state=0).fit(X)
    assert fitted.get_params()["weights_init"] is weights
    assert ours.set_params(n_components=2) is ours and ours.n_components == 2
    labels = gmmlab.GaussianMixture(3, random_state=0).fit_predict(X)
    assert labels.shape == (len(X),) and set(labels) == {0, 1, 2}

    def bic_by_k(cls):
        return np.array([cls(k, n_init=3, random_state=0).fit(X).bic(X) for k in range(1, 6)])

    ours, theirs = bic_by_k(gmmlab.GaussianMixture), bic_by_k(mixture.GaussianMixture)
    # The same seeds give the same k-means starts, so the same fits, criteria and choice of K.
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    assert isinstance(gmmlab.GaussianMixture(2).fit(X).bic(X), float)
    assert isinstance(gmmlab.GaussianMixture(2).fit(X).aic(X), float)


def test_not_fitted_raises_scikit_learns_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        gmmlab.GaussianMixture(2).predict(np.zeros((3, 2)))


def test_default_fits_with_one_random_state_are_scikit_learns_fits():
    # Ten components in 16-D: some seeds end at a poorer local maximum (two clusters merged, one split). With
    # the same random_state both run scikit-learn's KMeans from the same seeds, so every fit, good or poor,
    # is the same fit, and neither package is worse on average over seeds.
    rng = np.random.default_rng(0)
    X = rng.normal(scale=3.0, size=(10, 16))[rng.integers(10, size=2000)] + rng.standard_normal((2000, 16))
    lower_bounds = set()
    for seed in range(4):
        with threadpool_limits(1):  # small matrix products: one thread is fastest, and unaffected by load
            ours = gmmlab.GaussianMixture(10, random_state=seed).fit(X)
            theirs = mixture.GaussianMixture(10, random_state=seed).fit(X)
        assert ours.n_iter_ == theirs.n_iter_
        assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)
        assert_close(ours.means_, theirs.means_, rtol=1e-8)
        lower_bounds.add(round(theirs.lower_bound_, 6))
    assert len(lower_bounds) > 1, "the seeds should reach different local maxima, or the test proves little"


def data_with_and_without_ties():
    rng = np.random.default_rng(11)
    continuous = rng.normal(scale=3, size=(4, 3))[rng.integers(4, size=400)] + rng.standard_normal((400, 3))
    boolean = (rng.random((400, 6)) < 0.4).astype(float)  # many repeated rows: ties in every distance
    integer = rng.integers(0, 4, size=(400, 3)).astype(float)
    return {"continuous": continuous, "boolean": boolean, "integer": integer}


TIES = data_with_and_without_ties()


@pytest.mark.parametrize("data", TIES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_seed_same_fit_for_every_initialisation(data, init_params, covariance_type):
    """One random_state gives both estimators the same start, so the same fit: every init_params draws as
    scikit-learn does ('kmeans' runs KMeans itself, so ties split alike), and the single-row starts of
    'k-means++' and 'random_from_data' compute their covariances (tied: over all rows) as scikit-learn does.
    The fits then differ only by the rounding of gmmlab's centred moments."""
    X = TIES[data]
    for seed in (0, 1):
        with threadpool_limits(1):
            ours, theirs = fit_both(X, 4, covariance_type, init_params=init_params, random_state=seed)
        assert ours.n_iter_ == theirs.n_iter_
        assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-8)
        assert_close(ours.means_, theirs.means_, rtol=1e-6)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_data_give_float32_fits_close_to_scikit_learns(covariance_type):
    X = TIES["continuous"].astype(np.float32)
    ours, theirs = fit_both(X, 4, covariance_type, random_state=0)
    for name in ATTRIBUTES:
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == np.float32
        assert_close(getattr(ours, name), getattr(theirs, name), rtol=1e-4)
    for method in ("score_samples", "predict_proba"):
        assert getattr(ours, method)(X).dtype == np.float32
        assert_close(getattr(ours, method)(X), getattr(theirs, method)(X), rtol=1e-4)
    assert ours.n_iter_ == theirs.n_iter_


def bad_inputs():
    """(what, constructor parameters, data) that scikit-learn rejects."""
    import scipy.sparse

    X = TIES["continuous"][:20]
    return {
        "sparse": ({}, scipy.sparse.csr_matrix(X)),
        "complex": ({}, X + 1j),
        "strings": ({}, [["a", "b"], ["c", "d"], ["e", "f"]]),
        "objects": ({}, np.array([[None, 1.0], [2.0, object()], [1.0, 2.0]], dtype=object)),
        "ragged": ({}, [[1.0, 2.0], [3.0]]),
        "1-D": ({}, X[:, 0]),
        "3-D": ({}, X[:, :, None]),
        "no rows": ({}, X[:0]),
        "no columns": ({}, X[:, :0]),
        "NaN": ({}, np.where(np.arange(20)[:, None] == 3, np.nan, X)),
        "infinity": ({}, np.where(np.arange(20)[:, None] == 3, np.inf, X)),
        "one row": ({}, X[:1]),
        "more components than rows": ({"n_components": 30}, X),
        "n_components 0": ({"n_components": 0}, X),
        "n_components 1.5": ({"n_components": 1.5}, X),
        "covariance_type": ({"covariance_type": "round"}, X),
        "init_params": ({"init_params": "best"}, X),
        "tol": ({"tol": -1.0}, X),
        "reg_covar": ({"reg_covar": "small"}, X),
        "max_iter": ({"max_iter": -1}, X),
        "n_init": ({"n_init": 0}, X),
        "random_state": ({"random_state": "seed"}, X),
        "warm_start": ({"warm_start": "yes"}, X),
        "verbose_interval": ({"verbose_interval": 0}, X),
        "weights_init shape": ({"n_components": 2, "weights_init": [0.2, 0.3, 0.5]}, X),
        "weights_init sum": ({"n_components": 2, "weights_init": [0.2, 0.3]}, X),
        "means_init shape": ({"n_components": 2, "means_init": np.zeros((2, 2))}, X),
        "precisions_init": ({"n_components": 2, "covariance_type": "diag", "precisions_init": -np.ones((2, 3))}, X),
    }


BAD_INPUTS = bad_inputs()


@pytest.mark.parametrize("what", BAD_INPUTS)
def test_bad_input_raises_scikit_learns_exception_type(what):
    params, X = BAD_INPUTS[what]
    raised = []
    for cls in (gmmlab.GaussianMixture, mixture.GaussianMixture):
        with pytest.raises(Exception) as error:
            cls(**params).fit(X)
        raised.append(error.type)
    assert raised[0] is raised[1], f"gmmlab raised {raised[0].__name__}, scikit-learn {raised[1].__name__}"


@pytest.mark.parametrize("what", ["sparse", "complex", "strings", "1-D", "NaN", "no columns"])
def test_bad_input_to_a_fitted_model_raises_scikit_learns_exception_type(what):
    _, X = BAD_INPUTS[what]
    raised = []
    for cls in (gmmlab.GaussianMixture, mixture.GaussianMixture):
        model = cls(2, random_state=0).fit(TIES["continuous"][:, :2])
        for method in ("predict", "predict_proba", "score_samples", "score"):
            with pytest.raises(Exception) as error:
                getattr(model, method)(X)
            raised.append((method, error.type))
    assert raised[:4] == raised[4:]
