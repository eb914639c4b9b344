"""gmmlab.GaussianMixture on Dask arrays, on a dask.distributed LocalCluster: the same fit as in memory, lazy
predictions, clear errors, and a fit on data several times larger than the workers' memory limits."""

import subprocess
import sys
import tracemalloc
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import gmmlab
from gmmlab import _dask

pytestmark = [pytest.mark.slow(minutes=0.5)]

# Three well-separated unit-variance components: EM converges in a few iterations from a k-means start.
CENTRES = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])


@pytest.fixture(scope="module")
def client():
    """Two single-threaded workers with 16 MiB each. They run in this process, which the test needs to
    measure all the memory the fit touches; the workers must then not count this process's whole memory as
    their own (spill and pause), and their memory_limit governs the data they hold."""
    config = {"distributed.worker.memory.spill": False, "distributed.worker.memory.pause": False}
    with dask.config.set(config):
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, memory_limit="16MiB", dashboard_address=":0"
        ) as cluster, Client(cluster) as client:
            yield client


def mixture_rows(N, seed=0):
    rng = np.random.default_rng(seed)
    return CENTRES[rng.integers(3, size=N)] + rng.standard_normal((N, 2)) * [1.0, 0.6]


def lazy_mixture_chunk(block_info=None):
    """One chunk of a large data set, drawn where it is computed from a RandomState seeded by its position."""
    info = block_info[None]
    rs = np.random.RandomState(info["chunk-location"][0])
    rows = info["chunk-shape"][0]
    return CENTRES[rs.randint(3, size=rows)] + rs.standard_normal((rows, 2))


def starting_point(covariance_type, X):
    precisions = {
        "full": np.stack([np.eye(2)] * 3),
        "tied": np.eye(2),
        "diag": np.ones((3, 2)),
        "spherical": np.ones(3),
    }[covariance_type]
    return dict(weights_init=[0.2, 0.3, 0.5], means_init=X[[0, 1, 2]], precisions_init=precisions)


def relative_error(ours, reference):
    return float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))


def test_importing_gmmlab_does_not_import_dask():
    code = "import sys, gmmlab; sys.exit('dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "import gmmlab imported dask"


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dask_fit_equals_the_in_memory_fit_from_the_same_start(client, covariance_type):
    X = mixture_rows(3000)
    start = starting_point(covariance_type, X)
    memory = gmmlab.GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(X)
    chunked = da.from_array(X, chunks=(450, 2))  # seven chunks, the last one shorter
    on_dask = gmmlab.GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(chunked)
    assert on_dask.converged_ and on_dask.n_iter_ == memory.n_iter_ > 3
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert relative_error(getattr(on_dask, name), getattr(memory, name)) < 1e-10, name
    np.testing.assert_allclose(on_dask.lower_bounds_, memory.lower_bounds_, rtol=1e-10)


def test_default_fit_on_data_within_the_sample_size_equals_the_in_memory_fit(client):
    X = mixture_rows(2000, seed=1)
    memory = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    on_dask = gmmlab.GaussianMixture(3, random_state=0).fit(da.from_array(X, chunks=(300, 2)))
    assert relative_error(on_dask.means_, memory.means_) < 1e-10
    assert on_dask.n_iter_ == memory.n_iter_


def test_predictions_stay_lazy_and_equal_the_in_memory_ones(client):
    X = mixture_rows(1500, seed=2)
    model = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    chunked = da.from_array(X, chunks=(400, 2))
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(chunked)
        assert isinstance(lazy, da.Array), method
        expected = getattr(model, method)(X)
        assert lazy.shape == expected.shape and lazy.dtype == expected.dtype, method
        np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-12, atol=1e-300, err_msg=method)
    assert model.score(chunked) == pytest.approx(model.score(X), rel=1e-12)
    assert model.bic(chunked) == pytest.approx(model.bic(X), rel=1e-12)
    assert model.aic(chunked) == pytest.approx(model.aic(X), rel=1e-12)
    # A lazy prediction keeps the parameters of its call, even if the model is refitted before computing.
    labels = model.predict(chunked)
    model.fit(X[:, ::-1])
    np.testing.assert_array_equal(labels.compute(), gmmlab.GaussianMixture(3, random_state=0).fit(X).predict(X))


def test_fit_predict_on_dask_is_fit_then_lazy_predict(client):
    X = mixture_rows(1200, seed=3)
    chunked = da.from_array(X, chunks=(500, 2))
    labels = gmmlab.GaussianMixture(3, random_state=0).fit_predict(chunked)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), gmmlab.GaussianMixture(3, random_state=0).fit_predict(X))


def test_bad_dask_input_gets_a_clear_error(client):
    X = mixture_rows(600, seed=4)
    for row, column, value, message in [
        (437, 1, np.inf, r"infinite values \(first in row 437\); NaN marks a missing entry"),
        (512, slice(None), np.nan, r"every entry missing \(NaN\) in row 512"),
        (slice(None), 1, np.nan, "every entry of feature 1 missing"),
    ]:
        bad = X.copy()
        bad[row, column] = value
        with pytest.raises(ValueError, match=message):
            gmmlab.GaussianMixture(2).fit(da.from_array(bad, chunks=(100, 2)))
    with pytest.raises(ValueError, match="2-D array"):
        gmmlab.GaussianMixture(2).fit(da.from_array(X[:, 0], chunks=100))
    chunked = da.from_array(X, chunks=(100, 2))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        gmmlab.GaussianMixture(2).fit(chunked[chunked[:, 0] > 0])
    model = gmmlab.GaussianMixture(2, random_state=0).fit(chunked)
    with pytest.raises(ValueError, match="features"):
        model.predict(da.from_array(np.hstack([X, X]), chunks=(100, 4)))
    with pytest.raises(ValueError, match="more components than data points"):
        gmmlab.GaussianMixture(700).fit(chunked)


def test_seeded_sample_is_uniform_over_rows_and_chunks():
    """Rows of a short first chunk are drawn as often as rows of a long last one (hypergeometric counts)."""
    X = da.from_array(np.arange(40.0)[:, None], chunks=((4, 4, 32), (1,)))
    hits = np.zeros(40)
    random_state = np.random.RandomState(0)
    with dask.config.set(scheduler="sync"):
        for _ in range(300):
            sample = np.concatenate(dask.compute(*_dask.sample_rows(X, 10, random_state)))[:, 0]
            assert np.all(np.diff(sample) > 0), "rows repeated or out of order"
            hits[sample.astype(int)] += 1
    # Each row is drawn with probability 1/4: 75 of 300 draws, standard deviation 7.5.
    assert np.all(np.abs(hits - 75) < 30), hits
    assert abs(hits[:8].mean() - 75) < 10 and abs(hits[8:].mean() - 75) < 5


def test_fit_on_data_larger_than_the_workers_memory_never_holds_the_data(client):
    """122 MiB generated lazily, chunk by chunk, on two workers of 16 MiB: the default fit (k-means on a
    seeded sample, then EM) finds the three centres while this process, client and workers together, never
    holds a third of the data (tracemalloc sees every allocation of every thread)."""
    rows, n_chunks = 125_000, 64
    X = da.map_blocks(lazy_mixture_chunk, chunks=((rows,) * n_chunks, (2,)), dtype=np.float64, meta=np.empty((0, 0)))
    memory_limits = sum(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
    assert X.nbytes > 3 * memory_limits
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a ConvergenceWarning here means the fit went wrong
            model = gmmlab.GaussianMixture(3, random_state=0).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 3, f"peak {peak / 2**20:.0f} MiB of a {X.nbytes / 2**20:.0f} MiB data set"
    assert model.converged_
    order = np.argsort(model.means_[:, 0] + 0.1 * model.means_[:, 1])
    np.testing.assert_allclose(model.means_[order], CENTRES, atol=0.01)
    np.testing.assert_allclose(model.covariances_, np.stack([np.eye(2)] * 3), atol=0.01)


def test_other_dask_collections_are_refused_not_materialised(client):
    """np.asarray would compute a Dask DataFrame, bag or delayed object on the client: refused instead, with
    the conversion to a Dask array (pandas, and hence a Dask DataFrame, is not in the course's environment;
    a delayed array and a bag take the same path)."""
    import dask.bag

    X = mixture_rows(300)
    model = gmmlab.GaussianMixture(2, random_state=0).fit(X)
    for collection in (dask.delayed(X), dask.bag.from_sequence(list(X), npartitions=3)):
        with pytest.raises(TypeError, match=r"to_dask_array\(lengths=True\)"):
            gmmlab.GaussianMixture(2).fit(collection)
        for method in ("predict", "score_samples", "score", "bic"):
            with pytest.raises(TypeError, match="would have to materialise"):
                getattr(model, method)(collection)


def test_a_lazy_prediction_names_the_row_in_the_whole_array(client):
    X = mixture_rows(5000, seed=5)
    model = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    X[4321, 1] = np.inf
    X[4500] = np.nan
    for method in ("predict", "predict_proba", "score_samples"):
        with pytest.raises(ValueError, match=r"first in row 4321\)"):
            getattr(model, method)(da.from_array(X, chunks=(1000, 2))).compute()
        with pytest.raises(ValueError, match=r"in row 100:"):  # row 4500 is row 100 of X[4400:]
            getattr(model, method)(da.from_array(X[4400:], chunks=(30, 2))).compute()


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_dask_fit_with_missing_values_equals_the_in_memory_fit(client, covariance_type):
    """NaN entries are missing at random on a Dask array too: each chunk groups its own rows by pattern, and
    the fit (from the default k-means start on the rows with each missing entry replaced by its column's
    mean), its lower bound and its predictions equal the in-memory fit's to 1e-10."""
    rng = np.random.default_rng(7)
    X = np.hstack([mixture_rows(1500, seed=7), rng.standard_normal((1500, 1))])
    X[rng.random(X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    chunked = da.from_array(X, chunks=(400, 3))
    in_memory = gmmlab.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    on_dask = gmmlab.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(chunked)
    assert on_dask.n_iter_ == in_memory.n_iter_ and on_dask.converged_
    assert on_dask.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-10)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(on_dask, name), getattr(in_memory, name), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(on_dask.score_samples(chunked).compute(), in_memory.score_samples(X), rtol=1e-10)


def test_float32_chunks_give_float32_results_and_the_in_memory_fit(client):
    X = mixture_rows(1500, seed=6).astype(np.float32)
    chunked = da.from_array(X, chunks=(400, 2))
    on_dask = gmmlab.GaussianMixture(3, random_state=0).fit(chunked)
    in_memory = gmmlab.GaussianMixture(3, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(on_dask, name).dtype == np.float32
        np.testing.assert_allclose(getattr(on_dask, name), getattr(in_memory, name), rtol=1e-5)
    for method in ("score_samples", "predict_proba"):
        lazy = getattr(on_dask, method)(chunked)
        assert lazy.dtype == np.float32 and lazy.compute().dtype == np.float32
