"""gmmlab.GaussianMixture against scikit-learn's, in one process, on one BLAS thread: default fits end to end,
one EM iteration against the machine's floor, the k-means initialisation, and peak memory.

Times are CPU seconds (``time.process_time``): with one BLAS thread that is the running time, and it does
not grow when other processes compete for the machine. For every cell of the grid (full covariances, data drawn from K unit-variance Gaussians whose centres are
spread with standard deviation 3) the script reports:

- **fit**: the seconds of a default ``fit`` (``GaussianMixture(K, random_state=seed).fit(X)``: k-means
  initialisation, EM to tol=1e-3), averaged over seeds (10, 5 and 2 for N = 1e4, 1e5, 1e6), for each package, their ratio, and the difference
  of the final average log-likelihoods (gmmlab minus scikit-learn, averaged over the same seeds; >= 0 means
  gmmlab's fits are at least as good). The two packages run alternately, seed by seed.
- **iteration**: the seconds of one EM iteration from identical parameters (each package's own loop body,
  best of three runs of a few iterations); and gmmlab's time as a multiple of the **floor**, the iteration's floating-point work divided by the machine's measured
  single-thread matrix-multiply rate. The work counted is that of the dense products an EM iteration with
  full covariances cannot avoid: per point and component, 2 D^2 for the whitening (x - mu_k) L_k of the
  E-step and 2 D^2 for the second moment (x - mu_k)(x - mu_k)^T of the M-step, plus 5 D for centring,
  squared norms and first moments: N K (4 D^2 + 5 D) flops.
- **k-means**: the seconds of gmmlab's initialising k-means and of ``sklearn.cluster.KMeans(n_init=1)``
  from the same seed (the same starting centres), the median of three runs of each.
- **peak memory**: the largest memory numpy holds during a fit (tracemalloc, a separate untimed fit of two
  EM iterations, which includes the initialisation), for each package.

    .venv/bin/python benchmarks/gaussian_mixture.py           # N in {1e4, 1e5, 1e6}; several minutes
    .venv/bin/python benchmarks/gaussian_mixture.py --quick   # N in {1e4, 1e5} only
"""

import argparse
import copy
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from gmmlab import GaussianMixture
from gmmlab._kmeans_fast import kmeans_labels

PACKAGES = {"sklearn": SklearnGaussianMixture, "gmmlab": GaussianMixture}


def make_problem(N, D, K, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(K, D))
    X = centres[rng.integers(K, size=N)] + rng.standard_normal((N, D))
    init = dict(
        weights_init=np.full(K, 1.0 / K),
        means_init=X[rng.choice(N, K, replace=False)],
        precisions_init=np.stack([np.eye(D) / X.var(axis=0).mean()] * K),
    )
    return X, init


def quiet_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X)


def default_fit(cls, X, K, seed):
    model = cls(K, random_state=seed)
    return _timed(lambda: quiet_fit(model, X)), model.score(X)


def peak_memory_mb(cls, X, K):
    tracemalloc.start()
    quiet_fit(cls(K, random_state=0, max_iter=2), X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def iteration_seconds(cls, X, init, n_iter, repeats):
    """Best over repeats of the time of n EM iterations, divided by n.

    Each package's own loop body is timed on a model started from ``init``: scikit-learn's ``_e_step``,
    ``_m_step`` and ``_compute_lower_bound``, and gmmlab's ``_run_em`` (the fused iteration plus its checks).
    """
    K = init["weights_init"].shape[0]
    start = quiet_fit(cls(K, tol=0, max_iter=1, random_state=0, **init), X)
    times = []
    for _ in range(repeats):
        model = copy.deepcopy(start).set_params(max_iter=n_iter)
        if cls is GaussianMixture:
            run = lambda: model._run_em(X, -np.inf, 0)  # noqa: E731
        else:

            def run():
                for _ in range(n_iter):
                    log_prob_norm, log_resp = model._e_step(X)
                    model._m_step(X, log_resp)
                    model._compute_lower_bound(log_resp, log_prob_norm)

        times.append(_timed(run))
    return min(times) / n_iter


def matmul_flops_per_second(size=1024, repeats=5):
    """Single-thread DGEMM rate: the best of a few products of two size x size matrices."""
    a = np.random.default_rng(0).standard_normal((size, size))
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(function):
    """CPU seconds of the call: on one BLAS thread this is its running time, unaffected by other processes
    competing for the machine's cores."""
    start = time.process_time()
    function()
    return time.process_time() - start


def kmeans_seconds(X, K, repeats=3):
    """Median over repeats (alternating the two) of the seconds of one k-means from the same seed."""
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(_timed(lambda: kmeans_labels(X, K, np.random.RandomState(0))))
        theirs.append(_timed(lambda: quiet_fit(KMeans(K, n_init=1, random_state=0), X)))
    return float(np.median(ours)), float(np.median(theirs))


def geometric_mean(values):
    return float(np.exp(np.mean(np.log(values))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only N = 1e4 and 1e5")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    header = (
        f"{'N':>9} {'D':>3} {'K':>3} | {'fit sk s':>8} {'fit gl s':>8} {'ratio':>6} {'dLL/pt':>8} | "
        f"{'it sk s':>8} {'it gl s':>8} {'ratio':>6} {'floor s':>8} {'gl/flr':>6} | "
        f"{'km gl s':>7} {'KMeans s':>8} | {'MB sk':>6} {'MB gl':>6}"
    )
    fit_ratios, iteration_ratios, kmeans_ratios, loglik_differences, floors = [], [], [], [], {}
    with threadpool_limits(limits=1):
        rate = matmul_flops_per_second()
        print(f"single-thread matrix multiply: {rate / 1e9:.1f} GFLOP/s")
        print(header)
        for N in sizes:
            seeds = range({10_000: 10, 100_000: 5}.get(N, 2))
            for D in (2, 16):
                for K in (3, 10):
                    X, init = make_problem(N, D, K)
                    fits = {name: [] for name in PACKAGES}
                    for seed in seeds:
                        for name, cls in PACKAGES.items():
                            fits[name].append(default_fit(cls, X, K, seed))
                    fit_s = {name: np.mean([t for t, _ in runs]) for name, runs in fits.items()}
                    dll = float(np.mean([ours[1] - theirs[1] for ours, theirs in zip(fits["gmmlab"], fits["sklearn"])]))
                    n_iter = {10_000: 10, 100_000: 3}.get(N, 1)
                    repeats = 3
                    it_s = {name: iteration_seconds(cls, X, init, n_iter, repeats) for name, cls in PACKAGES.items()}
                    floor = N * K * (4 * D * D + 5 * D) / rate
                    km_ours, km_theirs = kmeans_seconds(X, K)
                    memory = {name: peak_memory_mb(cls, X, K) for name, cls in PACKAGES.items()}
                    fit_ratios.append(fit_s["sklearn"] / fit_s["gmmlab"])
                    iteration_ratios.append(it_s["sklearn"] / it_s["gmmlab"])
                    kmeans_ratios.append(km_theirs / km_ours)
                    loglik_differences.append(dll)
                    floors[(N, D, K)] = it_s["gmmlab"] / floor
                    print(
                        f"{N:>9} {D:>3} {K:>3} | {fit_s['sklearn']:>8.3f} {fit_s['gmmlab']:>8.3f} "
                        f"{fit_ratios[-1]:>5.2f}x {dll:>+8.1e} | {it_s['sklearn']:>8.4f} {it_s['gmmlab']:>8.4f} "
                        f"{iteration_ratios[-1]:>5.2f}x {floor:>8.4f} {floors[(N, D, K)]:>5.2f}x | "
                        f"{km_ours:>7.3f} {km_theirs:>8.3f} | {memory['sklearn']:>6.0f} {memory['gmmlab']:>6.0f}",
                        flush=True,
                    )
    largest = (sizes[-1], 16, 10)
    print(
        f"default fit: geometric mean speed-up {geometric_mean(fit_ratios):.2f}x, slowest cell {min(fit_ratios):.2f}x; "
        f"final log-likelihood per point, gmmlab minus scikit-learn, mean over cells {np.mean(loglik_differences):+.1e}"
    )
    print(
        f"one EM iteration: geometric mean speed-up {geometric_mean(iteration_ratios):.2f}x, slowest cell "
        f"{min(iteration_ratios):.2f}x; gmmlab at N = {largest[0]:.0e}, D = 16, K = 10: {floors[largest]:.2f}x the floor"
    )
    print(
        f"k-means initialisation: KMeans(n_init=1) time / gmmlab time, geometric mean "
        f"{geometric_mean(kmeans_ratios):.2f}x, slowest cell {min(kmeans_ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
