"""gmmlab.GaussianMixture with missing values (NaN, missing at random), its online EM (partial_fit), and
gmmlab.GaussianMixtureImputer: checked against brute force (marginals from scipy, statistics summed by hand),
against the complete-data EM, and against the alternatives a user would otherwise reach for."""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn import mixture as sklearn_mixture
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401 (enables IterativeImputer)
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import gmmlab
from gmmlab import _fast, _missing
from gmmlab._dask import m_step_from_summary
from gmmlab.mixture import _InMemoryData, _MissingData

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_MEANS = np.array([[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, -2.0, 1.0], [-3.0, 4.0, 2.0, -2.0]])


def true_covariances():
    """Strongly correlated components, so that the observed coordinates say much about the missing ones."""
    rng = np.random.default_rng(42)
    covariances = []
    for _ in range(3):
        A = rng.normal(size=(4, 4))
        covariance = A @ A.T / 4 + 0.5 * np.ones((4, 4)) + 0.1 * np.eye(4)
        covariances.append(covariance)
    return np.array(covariances)


TRUE_COVARIANCES = true_covariances()


def mixture_sample(N, seed):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, size=N, p=TRUE_WEIGHTS)
    L = np.linalg.cholesky(TRUE_COVARIANCES)
    return TRUE_MEANS[z] + np.einsum("nij,nj->ni", L[z], rng.standard_normal((N, 4)))


def remove_at_random(X, fraction, seed):
    """Each entry missing with probability ``fraction``, independently of the values (MCAR); a row that
    loses every entry keeps its first."""
    missing = np.random.default_rng(seed).random(X.shape) < fraction
    missing[missing.all(axis=1), 0] = False
    holes = X.copy()
    holes[missing] = np.nan
    return holes


def full(model):
    K, D = model.means_.shape
    return _missing.full_covariances(model.covariances_, model.covariance_type, K, D)


def brute_force_log_joint(X, weights, means, covariances):
    """log pi_k + log N(x_o | mu_o, Sigma_oo), row by row, from scipy's multivariate normal."""
    result = np.empty((len(X), len(weights)))
    for n, x in enumerate(X):
        o = ~np.isnan(x)
        for k in range(len(weights)):
            marginal = stats.multivariate_normal(means[k][o], covariances[k][np.ix_(o, o)])
            result[n, k] = np.log(weights[k]) + marginal.logpdf(x[o])
    return result


@pytest.fixture(scope="module")
def holes():
    return remove_at_random(mixture_sample(300, seed=1), 0.3, seed=2)


# ------------------------------------------------------------------------------------------ fitting


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_iteration_increases_the_observed_data_log_likelihood(holes, covariance_type):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, reg_covar=0.0, tol=0.0, max_iter=40,
                                       random_state=0).fit(holes)
    lower_bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(lower_bounds) >= -1e-12 * np.abs(lower_bounds[1:])), np.diff(lower_bounds).min()
    assert lower_bounds[-1] - lower_bounds[0] > 0.05  # EM moved: the check above is not vacuous
    # and the lower bound is the observed-data log-likelihood of the parameters before the last update
    assert model.score(holes) >= lower_bounds[-1] - 1e-12


def test_both_estimators_tell_scikit_learn_they_take_nan():
    for estimator in (gmmlab.GaussianMixture(), gmmlab.GaussianMixtureImputer()):
        assert estimator.__sklearn_tags__().input_tags.allow_nan


def test_data_without_nan_keep_the_complete_data_path():
    X = mixture_sample(50, seed=3)
    assert type(gmmlab.GaussianMixture()._data(X, reset=True)) is _InMemoryData
    assert type(gmmlab.GaussianMixture()._data(remove_at_random(X, 0.1, 4), reset=True)) is _MissingData


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("natural", [False, True])
def test_the_missing_value_iteration_is_the_complete_data_iteration_when_nothing_is_missing(covariance_type, natural):
    """Every row through the conditional-Gaussian E-step (as one pattern with nothing missing; its rows summed
    explicitly or through the natural parameters) gives the two-pass EM iteration of the complete-data code,
    to 1e-12."""
    X = mixture_sample(400, seed=5)
    model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    parameters = (model.weights_, model.means_, model.precisions_cholesky_)
    groups = [(np.ones(4, dtype=bool), np.arange(len(X)))]
    observed_data = [(X, _fast.data_centre(X))] if natural else None
    summary = _missing.incomplete_summary(X, groups, parameters, covariance_type, observed_data)
    ours = m_step_from_summary(summary, covariance_type, 1e-6)
    reference = _fast._two_pass_iteration(X, *parameters, covariance_type, 1e-6)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_two_ways_of_summing_a_pattern_agree(holes, covariance_type):
    """A pattern's rows through the natural parameters of its observed columns, or each completed row
    summed explicitly: the same summary."""
    model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(holes)
    patterns = _missing.Patterns(holes)
    parameters = (model.weights_, model.means_, model.precisions_cholesky_)
    natural = _missing.incomplete_summary(holes, patterns.groups, parameters, covariance_type,
                                          patterns.observed_data(holes))
    explicit = _missing.incomplete_summary(holes, patterns.groups, parameters, covariance_type)
    for a, b in zip(natural, explicit):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def every_pattern():
    """Five-dimensional data with every pattern of missing entries (1 to 4 missing, so m = D - 1 leaves a
    single observed entry) and a few complete rows; some patterns with many rows, most with few, so that
    the batched E-step takes both its ways (a product per pattern, and a block gathered per row)."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(600, 5)) @ rng.normal(size=(5, 5)) + np.repeat(rng.normal(scale=3.0, size=(3, 5)), 200, 0)
    n_missing = rng.integers(0, 5, size=len(X))
    n_missing[:150] = 2  # ten patterns with two missing entries, about 15 rows each...
    n_missing[:60] = 1  # ...and five with one, about 12 each, some above SHARED_PATTERN_ROWS
    order = rng.random(X.shape).argsort(axis=1)
    holes = X.copy()
    holes[order < n_missing[:, None]] = np.nan
    return holes


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_the_batched_e_step_is_the_per_pattern_observed_block_e_step(every_pattern, covariance_type):
    """The estimator's batched E-step (precision form with the Schur complement for few missing entries,
    covariance form for few observed, rows of different patterns at once) against the teaching functions,
    which factorise each pattern's observed block: the same log-densities, and the same summary (counts,
    means, scatters with the conditional covariances, log-likelihood) to 1e-10."""
    holes = every_pattern
    K, D = 3, holes.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = gmmlab.GaussianMixture(K, covariance_type=covariance_type, max_iter=2, random_state=0).fit(holes)
    weights, means, covariances = model.weights_, model.means_, full(model)
    patterns = _missing.Patterns(holes)
    batches = _missing.batches_of(holes, patterns.groups)
    kinds = {(batch.kind, batch.shared) for batch in batches}
    assert kinds == {(kind, shared) for kind in ("missing", "observed") for shared in (True, False)}, kinds
    assert {batch.unique.shape[1] for batch in batches} == {1, 2}  # m = 1, 2 and o = 1 (m = D - 1), 2

    every_row = _missing.batches_of(holes, patterns.all_groups(D))
    ours = _missing.weighted_log_prob(holes, every_row, weights, means, covariances, covariance_type)
    np.testing.assert_allclose(ours, brute_force_log_joint(holes, weights, means, covariances), rtol=1e-10)

    parameters = (weights, means, model.precisions_cholesky_)
    n, log_likelihood, nk, centres, scatters = _missing.incomplete_summary(holes, patterns.groups, parameters,
                                                                          covariance_type)
    incomplete = np.isnan(holes).any(axis=1)
    R, xhat, C = gmmlab.e_step_missing(holes[incomplete], weights, means, covariances)
    expected_nk = R.sum(axis=0)
    expected_means = np.einsum("nk,nkd->kd", R, xhat) / expected_nk[:, None]
    d = xhat - expected_means
    expected_scatters = np.einsum("nk,nki,nkj->kij", R, d, d) + np.einsum("nk,nkij->kij", R, C)
    if covariance_type in ("diag", "spherical"):
        expected_scatters = np.diagonal(expected_scatters, axis1=1, axis2=2)
    assert n == incomplete.sum()
    assert log_likelihood == pytest.approx(gmmlab.observed_log_likelihood(holes[incomplete], weights, means,
                                                                          covariances), rel=1e-12)
    np.testing.assert_allclose(nk, expected_nk, rtol=1e-10)
    np.testing.assert_allclose(centres, expected_means, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(scatters, expected_scatters, rtol=1e-10, atol=1e-10)


def test_a_whole_fit_with_nothing_missing_is_the_complete_data_em():
    """The estimator's EM loop on a missing-value data source whose rows all go through the conditional
    E-step equals the teaching run_em, iteration for iteration, to 1e-12."""
    X = mixture_sample(300, seed=6)
    weights, means = np.full(3, 1 / 3), X[[0, 100, 200]]
    covariances = np.stack([np.cov(X.T)] * 3)
    data = _MissingData(X)
    data.patterns.groups, data.patterns.complete = [(np.ones(4, dtype=bool), np.arange(len(X)))], np.arange(0)
    model = gmmlab.GaussianMixture(3, reg_covar=0.0, tol=0.0, max_iter=15, weights_init=weights, means_init=means,
                                   precisions_init=np.linalg.inv(covariances))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model._fit(data)
    reference = gmmlab.run_em(X, weights, means, covariances, max_iter=15, tol=0.0)
    np.testing.assert_allclose(model.means_, reference.means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.covariances_, reference.covariances, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.weights_, reference.weights, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predictions_with_nan_are_the_marginals_computed_by_scipy(holes, covariance_type):
    model = gmmlab.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(holes)
    log_joint = brute_force_log_joint(holes, model.weights_, model.means_, full(model))
    log_density = np.logaddexp.reduce(log_joint, axis=1)
    np.testing.assert_allclose(model.score_samples(holes), log_density, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(holes), np.exp(log_joint - log_density[:, None]), atol=1e-10)
    np.testing.assert_array_equal(model.predict(holes), log_joint.argmax(axis=1))
    assert model.score(holes) == pytest.approx(log_density.mean(), rel=1e-10)
    P = gmmlab.mixture.n_parameters(3, 4, covariance_type)
    assert model.bic(holes) == pytest.approx(-2 * log_density.sum() + P * np.log(len(holes)), rel=1e-10)
    # the fit maximised that likelihood: lower_bound_ is its value one update earlier
    assert model.lower_bound_ == pytest.approx(log_density.mean(), abs=model.tol)


def test_float32_data_with_nan_give_float32_results(holes):
    model = gmmlab.GaussianMixture(3, random_state=0).fit(holes.astype(np.float32))
    assert model.means_.dtype == np.float32
    for method in ("score_samples", "predict_proba"):
        assert getattr(model, method)(holes.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "row, message",
    [([np.nan] * 4, r"X has every entry missing \(NaN\) in row 2"),
     ([1.0, np.inf, np.nan, 0.0], r"X contains infinite values \(first in row 2\)")],
)
def test_rows_the_user_did_not_mean_as_missing_get_an_error_naming_the_row(holes, row, message):
    bad = holes[:10].copy()
    bad[2] = row
    fitted = gmmlab.GaussianMixture(2, random_state=0).fit(holes)
    imputer = gmmlab.GaussianMixtureImputer(random_state=0).fit(holes)
    for call in (
        lambda: gmmlab.GaussianMixture(2).fit(bad),
        lambda: gmmlab.GaussianMixture(2).partial_fit(bad),
        lambda: fitted.score_samples(bad),
        lambda: fitted.predict(bad),
        lambda: gmmlab.GaussianMixtureImputer().fit(bad),
        lambda: imputer.transform(bad),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_a_feature_never_observed_gets_an_error_naming_it(holes):
    bad = holes.copy()
    bad[:, 1], bad[:, 2] = np.nan, 1.0
    with pytest.raises(ValueError, match=r"every entry of feature 1 missing"):
        gmmlab.GaussianMixture(2).fit(bad)


# ------------------------------------------------------------------------- against the alternatives


def parameter_error(weights, means, covariances):
    """Distance of fitted parameters from the truth, components matched by their means: the mean over
    components of |mu_k - mu*_k| + |Sigma_k - Sigma*_k|_F + |pi_k - pi*_k|."""
    cost = np.linalg.norm(means[:, None] - TRUE_MEANS[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols] + np.linalg.norm(covariances[rows] - TRUE_COVARIANCES[cols], axis=(1, 2))
                         + np.abs(weights[rows] - TRUE_WEIGHTS[cols])))


def fitted_error(model):
    return parameter_error(model.weights_, model.means_, model.covariances_)


def test_em_with_missing_values_recovers_the_truth_better_than_the_alternatives():
    """30% of the entries missing at random; each alternative fits scikit-learn's GaussianMixture after
    dropping incomplete rows, imputing column means, or imputing with IterativeImputer."""
    holes = remove_at_random(mixture_sample(1500, seed=7), 0.3, seed=8)

    def sklearn_fit(X):
        return sklearn_mixture.GaussianMixture(3, n_init=3, random_state=0).fit(X)

    errors = {
        "gmmlab EM": fitted_error(gmmlab.GaussianMixture(3, n_init=3, random_state=0).fit(holes)),
        "drop rows": fitted_error(sklearn_fit(holes[~np.isnan(holes).any(axis=1)])),
        "mean imputation": fitted_error(sklearn_fit(SimpleImputer().fit_transform(holes))),
        "IterativeImputer": fitted_error(sklearn_fit(IterativeImputer(random_state=0).fit_transform(holes))),
    }
    ours = errors.pop("gmmlab EM")
    assert all(ours < 0.8 * theirs for theirs in errors.values()), (ours, errors)


# ---------------------------------------------------------------------------------------- online EM


def em_iterations(X, covariance_type, n_iter, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gmmlab.GaussianMixture(3, covariance_type=covariance_type, max_iter=n_iter, tol=0.0, random_state=0,
                                      **params).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("missing", [False, True])
def test_partial_fit_on_all_the_data_with_step_one_is_an_em_iteration(holes, covariance_type, missing):
    X = holes if missing else mixture_sample(300, seed=9)
    online = gmmlab.GaussianMixture(3, covariance_type=covariance_type, learning_offset=0.0, random_state=0)
    for t in (1, 2):  # learning_offset=0: gamma_1 = 1 (and with learning_decay=1, gamma_2 = 1/2)
        online.partial_fit(X)
        batch = em_iterations(X, covariance_type, t)
        if t == 1:
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                np.testing.assert_allclose(getattr(online, name), getattr(batch, name), rtol=1e-9, atol=1e-12)
    assert online.n_batch_iter_ == 2


def raw_statistics(X, weights, means, covariances):
    """(mean r, mean r x, mean r x x^T) summed by hand, from the teaching E-step."""
    r = gmmlab.e_step(X, weights, means, covariances)
    return r.mean(axis=0), r.T @ X / len(X), np.einsum("nk,ni,nj->kij", r, X, X) / len(X)


def test_partial_fit_follows_the_stochastic_approximation_on_the_sufficient_statistics():
    """Three batches from a known start, by hand: s <- (1 - gamma_t) s + gamma_t s_batch with gamma_t =
    (t + offset)^-decay, the start's statistics being those of the initial parameters; then the M-step."""
    X = mixture_sample(900, seed=10)
    weights, means, covariances = np.array([0.4, 0.3, 0.3]), X[[0, 1, 2]], np.stack([np.cov(X.T)] * 3)
    decay, offset = 0.7, 2.0
    online = gmmlab.GaussianMixture(3, reg_covar=0.0, weights_init=weights, means_init=means,
                                    precisions_init=np.linalg.inv(covariances), learning_decay=decay,
                                    learning_offset=offset)
    second = covariances + np.einsum("ki,kj->kij", means, means)
    s = (weights, weights[:, None] * means, weights[:, None, None] * second)
    for t, batch in enumerate(np.split(X, 3), start=1):
        online.partial_fit(batch)
        step = (t + offset) ** -decay
        batch_statistics = raw_statistics(batch, weights, means, covariances)
        s = tuple((1 - step) * old + step * new for old, new in zip(s, batch_statistics))
        weights, means = s[0] / s[0].sum(), s[1] / s[0][:, None]
        covariances = s[2] / s[0][:, None, None] - np.einsum("ki,kj->kij", means, means)
        np.testing.assert_allclose(online.weights_, weights, rtol=1e-10)
        np.testing.assert_allclose(online.means_, means, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(online.covariances_, covariances, rtol=1e-9)


def test_partial_fit_over_a_dask_array_steps_chunk_by_chunk(holes):
    da = pytest.importorskip("dask.array")
    chunked = gmmlab.GaussianMixture(3, random_state=0).partial_fit(da.from_array(holes, chunks=(60, 4)))
    by_hand = gmmlab.GaussianMixture(3, random_state=0)
    for start in range(0, len(holes), 60):
        by_hand.partial_fit(holes[start : start + 60])
    assert chunked.n_batch_iter_ == by_hand.n_batch_iter_ == 5
    np.testing.assert_allclose(chunked.means_, by_hand.means_, rtol=1e-13)
    np.testing.assert_allclose(chunked.covariances_, by_hand.covariances_, rtol=1e-13)


def test_partial_fit_over_a_stream_approaches_the_batch_optimum():
    X = mixture_sample(20_000, seed=11)
    online = gmmlab.GaussianMixture(3, random_state=0)
    for batch in np.split(X, 40):
        online.partial_fit(batch)
    batch_fit = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    assert online.score(X) > batch_fit.score(X) - 0.02


def test_fit_starts_partial_fit_afresh_and_partial_fit_continues_a_fit(holes):
    model = gmmlab.GaussianMixture(3, random_state=0).fit(holes)
    fitted_means = model.means_.copy()
    model.partial_fit(holes[:100])
    assert model.n_batch_iter_ == 1 and np.abs(model.means_ - fitted_means).max() < 0.5
    model.fit(holes)
    assert not hasattr(model, "n_batch_iter_")
    np.testing.assert_array_equal(model.means_, fitted_means)


@pytest.mark.parametrize("decay", [0.5, 0.3, 1.5])
def test_a_step_size_that_breaks_robbins_monro_is_refused(decay):
    with pytest.raises(InvalidParameterError, match="learning_decay"):
        gmmlab.GaussianMixture(learning_decay=decay).partial_fit(mixture_sample(20, seed=0))


# ------------------------------------------------------------------------------------------- imputer


@parametrize_with_checks([gmmlab.GaussianMixtureImputer(),
                          gmmlab.GaussianMixtureImputer(2, covariance_type="diag", strategy="sample")])
def test_scikit_learn_estimator_checks_for_the_imputer(estimator, check):
    check(estimator)


def test_the_imputer_fills_in_conditional_means_computed_by_hand(holes):
    imputer = gmmlab.GaussianMixtureImputer(3, random_state=0).fit(holes)
    model = imputer.mixture_
    covariances = full(model)
    responsibilities = np.exp(brute_force_log_joint(holes, model.weights_, model.means_, covariances))
    responsibilities /= responsibilities.sum(axis=1, keepdims=True)
    expected = holes.copy()
    for n, x in enumerate(holes):
        o, m = ~np.isnan(x), np.isnan(x)
        if m.any():
            conditional = [mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], x[o] - mu[o])
                           for mu, S in zip(model.means_, covariances)]
            expected[n, m] = responsibilities[n] @ np.array(conditional)
    np.testing.assert_allclose(imputer.transform(holes), expected, rtol=1e-10, atol=1e-12)
    # the mixture the imputer fits is the estimator's own fit
    np.testing.assert_array_equal(model.means_, gmmlab.GaussianMixture(3, random_state=0).fit(holes).means_)


def test_sampled_imputations_follow_the_conditional_distribution():
    rng = np.random.default_rng(12)
    covariance = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
    X = rng.multivariate_normal([1.0, -1.0, 2.0], covariance, size=2000)
    imputer = gmmlab.GaussianMixtureImputer(strategy="sample", random_state=0).fit(X)
    row = np.array([[1.5, np.nan, np.nan]])
    draws = imputer.transform(np.repeat(row, 20_000, axis=0))
    mu, S = imputer.mixture_.means_[0], imputer.mixture_.covariances_[0]
    conditional_mean = mu[1:] + S[1:, :1] @ np.linalg.solve(S[:1, :1], row[0, :1] - mu[:1])
    conditional_covariance = S[1:, 1:] - S[1:, :1] @ np.linalg.solve(S[:1, :1], S[:1, 1:])
    assert np.all(draws[:, 0] == 1.5)
    np.testing.assert_allclose(draws[:, 1:].mean(axis=0), conditional_mean, atol=0.03)
    np.testing.assert_allclose(np.cov(draws[:, 1:].T), conditional_covariance, atol=0.03)
    np.testing.assert_array_equal(draws, imputer.transform(np.repeat(row, 20_000, axis=0)))  # int seed: same draws


def test_the_imputer_in_a_pipeline_before_a_regression(holes):
    y = np.nan_to_num(holes[:, 0]) + 1.0
    pipeline = make_pipeline(gmmlab.GaussianMixtureImputer(2, random_state=0), LinearRegression()).fit(holes, y)
    assert pipeline.predict(holes).shape == (len(holes),)
    assert np.isfinite(pipeline.score(holes, y))
