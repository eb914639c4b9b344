"""gmmlab.GaussianMixture as scikit-learn sees it: estimator checks, pipelines, model selection, edge cases,
and the fast k-means that initialises it."""

import doctest
import re
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn import mixture
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

import gmmlab
from gmmlab import _kmeans_fast, mixture as gmmlab_mixture


@parametrize_with_checks(
    [gmmlab.GaussianMixture()]
    + [gmmlab.GaussianMixture(2, covariance_type=covariance_type) for covariance_type in ("tied", "diag", "spherical")]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def blobs(seed=0, N=600, D=2, K=3, spread=8.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(K, D))
    z = rng.integers(K, size=N)
    return centres[z] + rng.standard_normal((N, D)), z


def bic_scorer(estimator, X, y=None):
    return -estimator.bic(X)


def test_pipeline_fits_scaled_data_like_the_estimator_on_scaled_data():
    X = blobs()[0] * [1.0, 1e3] + [0.0, 5e3]  # features on different scales
    pipeline = make_pipeline(StandardScaler(), gmmlab.GaussianMixture(3, random_state=0)).fit(X)
    scaled = StandardScaler().fit_transform(X)
    alone = gmmlab.GaussianMixture(3, random_state=0).fit(scaled)
    np.testing.assert_allclose(pipeline[-1].means_, alone.means_, rtol=1e-10)
    np.testing.assert_array_equal(pipeline.predict(X), alone.predict(scaled))
    assert pipeline.score(X) == pytest.approx(alone.score(scaled), rel=1e-12)


def test_cross_val_score_is_the_held_out_log_likelihood():
    X, _ = blobs(1)
    folds = KFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(gmmlab.GaussianMixture(3, random_state=0), X, cv=folds)
    by_hand = [
        gmmlab.GaussianMixture(3, random_state=0).fit(X[train]).score(X[test]) for train, test in folds.split(X)
    ]
    np.testing.assert_allclose(scores, by_hand, rtol=1e-12)
    assert np.all(np.isfinite(scores))


def test_grid_search_chooses_k_by_bic_as_scikit_learn_does():
    X, _ = blobs(2, N=900, K=4, spread=10.0)
    grid = {"n_components": [1, 2, 3, 4, 5, 6], "covariance_type": ["full", "spherical"]}
    ours = GridSearchCV(gmmlab.GaussianMixture(random_state=0), grid, scoring=bic_scorer, cv=3).fit(X)
    theirs = GridSearchCV(mixture.GaussianMixture(random_state=0), grid, scoring=bic_scorer, cv=3).fit(X)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_params_["n_components"] == 4
    assert isinstance(ours.best_estimator_, gmmlab.GaussianMixture)
    check_is_fitted(ours.best_estimator_)


def test_check_is_fitted():
    model = gmmlab.GaussianMixture(2)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(NotFittedError):
            getattr(model, method)(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        model.sample(3)
    check_is_fitted(model.fit(blobs()[0]))


# ------------------------------------------------------------------------------------- duplicate points


@pytest.mark.parametrize(
    "points, K",
    [([[0.0, 0.0], [3.0, 1.0]], 3), ([[0.0], [5.0], [9.0]], 5), ([[1.0, 2.0, 3.0]], 2)],
)
def test_fewer_distinct_points_than_components_warns_and_fits_like_scikit_learn(points, K):
    X = np.repeat(np.array(points), 15, axis=0)
    n_distinct = len(points)
    message = rf"Number of distinct clusters \({n_distinct}\) found smaller than n_clusters \({K}\)"
    models = []
    for cls in (gmmlab.GaussianMixture, mixture.GaussianMixture):
        with pytest.warns(ConvergenceWarning, match=message):
            models.append(cls(K, random_state=0).fit(X))
    ours, theirs = models
    # The same mixture up to the order of the components: one per distinct point, the rest empty.
    np.testing.assert_allclose(np.sort(ours.weights_), np.sort(theirs.weights_), atol=1e-12)
    np.testing.assert_allclose(np.sort(ours.weights_)[-n_distinct:], 1 / n_distinct)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-9)
    assert ours.converged_ == theirs.converged_
    assert np.all(np.isfinite(ours.covariances_))


# ------------------------------------------------------------------------------------------ divergence


def diverging_start(covariance_type):
    """Uniform data and a narrow component placed on one data point: with reg_covar=0 the first M-step
    shrinks it onto that point alone, a singular covariance."""
    X = np.random.RandomState(3).uniform(size=(40, 3))
    precisions = {
        "full": np.stack([np.eye(3) * 1e6, np.eye(3) * 10]),
        "diag": np.array([[1e6] * 3, [10.0] * 3]),
        "spherical": np.array([1e6, 10.0]),
    }[covariance_type]
    init = dict(weights_init=[0.1, 0.9], means_init=np.vstack([X[:1], X.mean(axis=0)]), precisions_init=precisions)
    return X, init


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_divergence_with_reg_covar_0_keeps_parameters_and_does_not_converge_like_scikit_learn(covariance_type):
    X, init = diverging_start(covariance_type)
    models = []
    for cls in (gmmlab.GaussianMixture, mixture.GaussianMixture):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            models.append(cls(2, covariance_type=covariance_type, reg_covar=0, max_iter=1, **init).fit(X))
        assert any("did not converge" in str(w.message) for w in caught if w.category is ConvergenceWarning)
    ours, theirs = models
    for model in models:
        assert model.converged_ is False and model.n_iter_ == 1
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_", "lower_bounds_"):
            assert hasattr(model, name)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_a_collapse_mid_fit_keeps_the_parameters_from_before_it(covariance_type):
    X, init = diverging_start(covariance_type)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = gmmlab.GaussianMixture(2, covariance_type=covariance_type, reg_covar=0, **init).fit(X)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert any(re.search(r"iteration 1 .*component 0 .*collapsed.*reg_covar", m) for m in messages), messages
    assert model.converged_ is False
    # The kept parameters are the last ones before the collapse (here the initial ones), and
    # lower_bound_ is their average log-likelihood, so the two always describe the same mixture.
    np.testing.assert_allclose(model.means_, init["means_init"])
    np.testing.assert_allclose(model.precisions_, init["precisions_init"], rtol=1e-10)
    assert model.lower_bound_ == pytest.approx(model.score(X), rel=1e-12)
    assert np.all(np.isfinite(model.score_samples(X)))


# --------------------------------------------------------------------------------------- fast k-means


def kmeans_data(seed, N=2000, D=2, K=4):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=4, size=(K, D))[rng.integers(K, size=N)] + rng.standard_normal((N, D))


@pytest.mark.parametrize("D", [1, 2, 5, 12])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_lloyd_agrees_with_the_teaching_kmeans(seed, D, monkeypatch):
    monkeypatch.setattr(_kmeans_fast, "BLOCK_ENTRIES", 256)  # many blocks
    X = kmeans_data(seed, D=D) + 1e3  # far from the origin, where ||x||^2 - 2 x.mu + ||mu||^2 cancels
    init = X[np.random.default_rng(seed).choice(len(X), 5, replace=False)]
    centers, labels, _ = _kmeans_fast._lloyd_from(X, init, tol=0.0)
    teaching = gmmlab.kmeans(X, 5, init=init, tol=0.0)
    np.testing.assert_array_equal(labels, teaching.labels)
    np.testing.assert_allclose(centers, teaching.centers, rtol=1e-12)


@pytest.mark.parametrize("D, K", [(2, 10), (16, 5)])
def test_fast_kmeans_matches_scikit_learns_kmeans_from_the_same_seeds(D, K):
    X = kmeans_data(5, N=5000, D=D, K=K)
    seeds = _kmeans_fast._greedy_kmeans_plusplus(X, K, np.random.RandomState(0))
    centers, labels, _ = _kmeans_fast._lloyd_from(X, X[seeds], tol=_kmeans_fast.RELATIVE_TOL * X.var(axis=0).mean())
    theirs = KMeans(K, init=X[seeds], n_init=1).fit(X)
    np.testing.assert_array_equal(labels, theirs.labels_)
    np.testing.assert_allclose(centers, theirs.cluster_centers_, rtol=1e-10, atol=1e-12)


def test_fast_lloyd_fills_an_empty_cluster_as_the_teaching_kmeans_does():
    X = kmeans_data(3)
    init = np.vstack([X[:3], [[1e3, 1e3]]])  # the last centre is nearest to no point
    centers, labels, _ = _kmeans_fast._lloyd_from(X, init, tol=0.0)
    teaching = gmmlab.kmeans(X, 4, init=init, tol=0.0)
    np.testing.assert_array_equal(labels, teaching.labels)
    np.testing.assert_allclose(centers, teaching.centers, rtol=1e-12)


def test_fast_kmeans_reaches_the_teaching_kmeans_objective():
    X = kmeans_data(4, N=3000, D=3, K=6)
    labels = _kmeans_fast.kmeans_labels(X, 6, np.random.RandomState(0))
    centers = gmmlab.update_centers(X, labels, 6)
    fast = gmmlab.kmeans_objective(X, centers, labels)
    best = gmmlab.kmeans(X, 6, n_init=10, random_state=0).objective
    assert fast <= best * 1.01
    # The relative tolerance leaves the centres within a hair of a fixed point of Lloyd's iteration.
    np.testing.assert_allclose(gmmlab.update_centers(X, gmmlab.assign_clusters(X, centers), 6), centers, atol=0.05)


def test_fast_kmeans_memory_stays_far_below_n_k_d():
    N, D, K = 100_000, 16, 10
    X = np.random.default_rng(0).standard_normal((N, D))
    tracemalloc.start()
    _kmeans_fast.kmeans_labels(X, K, np.random.RandomState(0), max_iter=5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < N * K * D * 8 / 4, f"peak {peak / 1e6:.1f} MB"


def test_no_kmeans_when_all_initial_parameters_are_given(monkeypatch):
    X, _ = blobs()
    calls = []
    original = gmmlab_mixture.sklearn_kmeans_labels  # scikit-learn's KMeans, as _sklearn_kmeans runs it
    monkeypatch.setattr(gmmlab_mixture, "sklearn_kmeans_labels", lambda *a, **k: calls.append(1) or original(*a, **k))
    init = dict(weights_init=[0.5, 0.5], means_init=X[:2], precisions_init=np.stack([np.eye(2)] * 2))
    gmmlab.GaussianMixture(2, **init).fit(X)
    assert calls == []
    gmmlab.GaussianMixture(2, means_init=X[:2], precisions_init=init["precisions_init"]).fit(X)
    assert calls == [1]


def test_docstring_examples_run():
    for module in (gmmlab_mixture, _kmeans_fast):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@pytest.mark.parametrize("D, K", [(2, 10), (16, 5)])
def test_fast_kmeans_with_a_random_state_gives_scikit_learns_kmeans_with_it(D, K):
    X = kmeans_data(6, N=3000, D=D, K=K)
    for seed in range(3):
        with threadpool_limits(1):  # small matrix products: one thread is fastest, and unaffected by load
            labels = _kmeans_fast.kmeans_labels(X, K, np.random.RandomState(seed))
            theirs = KMeans(K, n_init=1, random_state=seed).fit(X).labels_
        np.testing.assert_array_equal(labels, theirs)


def test_float32_data_are_never_copied_to_float64():
    # The sums are accumulated in float64 block by block (a few blocks of about 1 MB); a float64 copy of X
    # alone would be 2 X.nbytes.
    rng = np.random.default_rng(0)
    X = rng.normal(scale=5, size=(3, 8))[rng.integers(3, size=400_000)] + rng.standard_normal((400_000, 8))
    X = X.astype(np.float32)
    for covariance_type in ("full", "tied", "diag", "spherical"):
        tracemalloc.start()
        model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, init_params="random_from_data",
                                       random_state=0).fit(X)
        dtypes = [model.means_.dtype, model.score_samples(X).dtype, model.predict_proba(X).dtype]
        model.predict(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < X.nbytes, f"{covariance_type}: peak {peak / X.nbytes:.2f} X.nbytes"
        assert dtypes == [np.float32] * 3
