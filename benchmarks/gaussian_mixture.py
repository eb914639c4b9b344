"""gmmlab.GaussianMixture against scikit-learn's, in one process: default fits, as users call them, over the
grid of all four covariance types x N in {1e4, 1e5, 1e6} x D in {2, 16, 64} x K in {3, 10, 30}, with
well-separated and with overlapping clusters, on one BLAS thread and on the default number of threads.

Per cell (one data set: K Gaussians with identity covariance whose centres are drawn with standard deviation
``SPREAD[clusters] * sqrt(2 / D)`` per feature, so that two centres are about ``SPREAD`` apart in any
dimension; "overlapping" clusters make EM run many iterations) the script fits
``GaussianMixture(K, covariance_type=..., random_state=seed)`` of both packages, alternately, seed by seed,
and prints:

- **sklearn s, gmmlab s**: the seconds of a default ``fit`` (k-means initialisation and EM to tol=1e-3),
  summed over the cell's seeds: CPU seconds (``time.process_time``) on one thread, where they equal the
  running time and do not grow when other processes compete for the machine; wall-clock seconds
  (``time.perf_counter``) on the default threads, where CPU seconds would add up the threads;
- **ratio**: scikit-learn's seconds over gmmlab's (above 1: gmmlab is faster);
- **iters**: EM iterations of the two fits (summed over seeds);
- **|dLL|**: the largest difference of the final average log-likelihoods per point (``score(X)``) over the
  seeds, and **same** whether it is at most 1e-10 (the same fit);
- **KMeans s**: the seconds of ``sklearn.cluster.KMeans(K, n_init=1, random_state=seed).fit(X)`` alone,
  summed over the seeds, which both default fits run (gmmlab's ``init_params="kmeans"`` is scikit-learn's
  KMeans, so that both start alike): the part of a fit neither package can make faster;
- **share**: that KMeans's share of scikit-learn's seconds, and **bound**: scikit-learn's seconds over the
  KMeans's, the ratio gmmlab would reach if everything but the KMeans took no time at all (where it is
  below 2, a ratio of 2 is out of reach);
- **MB sklearn, MB gmmlab**: the peak memory numpy holds during a default fit of the first seed
  (tracemalloc, a separate untimed fit).

At the end it prints, per covariance type and over all cells, the geometric mean of the ratios beside the
worst cell, the number of cells below 2x (and of those whose bound is below 2x), and the number of cells
where the fits differ or gmmlab's memory is higher.

    .venv/bin/python benchmarks/gaussian_mixture.py                      # the whole grid (hours)
    .venv/bin/python benchmarks/gaussian_mixture.py --N 1e4 --D 2 16 --K 3 10 --threads 1
    .venv/bin/python benchmarks/gaussian_mixture.py --covariance-types diag tied --clusters overlapping
"""

import argparse
import itertools
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from gmmlab import GaussianMixture

PACKAGES = {"sklearn": SklearnGaussianMixture, "gmmlab": GaussianMixture}
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# Standard deviation of the centres per feature, times sqrt(2 / D) (so that two centres lie about this far
# apart in any dimension): unit-variance clusters far apart, or overlapping.
SPREAD = {"separated": 12.0, "overlapping": 2.0}
# The same fit: final average log-likelihoods per point equal to this.
SAME_FIT = 1e-10


def make_data(N, D, K, clusters, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=SPREAD[clusters] * np.sqrt(2 / D), size=(K, D))
    return centres[rng.integers(K, size=N)] + rng.standard_normal((N, D))


def quiet_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn alike when a fit stops at max_iter
        return model.fit(X)


def timed_fit(cls, X, K, covariance_type, seed, clock):
    model = cls(K, covariance_type=covariance_type, random_state=seed)
    start = clock()
    quiet_fit(model, X)
    return clock() - start, model


def peak_memory_mb(cls, X, K, covariance_type):
    tracemalloc.start()
    try:
        quiet_fit(cls(K, covariance_type=covariance_type, random_state=0), X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def geometric_mean(values):
    return float(np.exp(np.mean(np.log(values))))


def run_cell(X, K, covariance_type, seeds, clock, memory):
    seconds = {name: 0.0 for name in PACKAGES}
    iterations = {name: 0 for name in PACKAGES}
    largest_difference = 0.0
    for seed in seeds:
        scores = {}
        for name, cls in PACKAGES.items():
            elapsed, model = timed_fit(cls, X, K, covariance_type, seed, clock)
            seconds[name] += elapsed
            iterations[name] += model.n_iter_
            scores[name] = model.score(X)
        largest_difference = max(largest_difference, abs(scores["gmmlab"] - scores["sklearn"]))
    kmeans_seconds = 0.0
    for seed in seeds:
        start = clock()
        KMeans(K, n_init=1, random_state=seed).fit(X)
        kmeans_seconds += clock() - start
    megabytes = {name: peak_memory_mb(cls, X, K, covariance_type) for name, cls in PACKAGES.items()} if memory else None
    return seconds, iterations, largest_difference, kmeans_seconds, megabytes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--covariance-types", nargs="+", default=COVARIANCE_TYPES, choices=COVARIANCE_TYPES)
    parser.add_argument("--N", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    parser.add_argument("--D", nargs="+", type=int, default=[2, 16, 64])
    parser.add_argument("--K", nargs="+", type=int, default=[3, 10, 30])
    parser.add_argument("--clusters", nargs="+", default=list(SPREAD), choices=list(SPREAD))
    parser.add_argument(
        "--threads", nargs="+", default=["1", "default"], choices=["1", "default"], help="BLAS threads"
    )
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (default: 3, 2, 1 for N = 1e4, 1e5, 1e6)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory fits")
    args = parser.parse_args()

    header = (
        f"{'cov':>9} {'clusters':>11} {'thr':>7} {'N':>8} {'D':>3} {'K':>3} | {'sklearn s':>9} {'gmmlab s':>9} "
        f"{'ratio':>6} | {'iters':>9} {'|dLL|':>8} {'same':>4} | {'KMeans s':>8} {'share':>5} "
        f"{'bound':>6} | {'MB sklearn':>10} {'MB gmmlab':>9}"
    )
    print(header)
    results = []
    for threads, covariance_type, clusters in itertools.product(args.threads, args.covariance_types, args.clusters):
        clock = time.process_time if threads == "1" else time.perf_counter
        with threadpool_limits(limits=1 if threads == "1" else None):
            for N, D, K in itertools.product(args.N, args.D, args.K):
                N = int(N)
                X = make_data(N, D, K, clusters)
                seeds = range(args.seeds or {10_000: 3, 100_000: 2}.get(N, 1))
                seconds, iterations, difference, kmeans_seconds, megabytes = run_cell(
                    X, K, covariance_type, seeds, clock, not args.no_memory
                )
                ratio = seconds["sklearn"] / seconds["gmmlab"]
                same = difference <= SAME_FIT
                bound = seconds["sklearn"] / kmeans_seconds
                results.append((covariance_type, clusters, threads, N, D, K, ratio, same, megabytes, bound))
                memory = (
                    f"{megabytes['sklearn']:>10.0f} {megabytes['gmmlab']:>9.0f}" if megabytes else f"{'-':>10} {'-':>9}"
                )
                print(
                    f"{covariance_type:>9} {clusters:>11} {threads:>7} {N:>8.0e} {D:>3} {K:>3} | "
                    f"{seconds['sklearn']:>9.3f} {seconds['gmmlab']:>9.3f} {ratio:>5.2f}x | "
                    f"{iterations['sklearn']:>4}/{iterations['gmmlab']:<4} {difference:>8.1e} {'yes' if same else 'NO':>4} | "
                    f"{kmeans_seconds:>8.3f} {kmeans_seconds / seconds['sklearn']:>5.0%} "
                    f"{bound:>5.2f}x | {memory}",
                    flush=True,
                )

    print()
    for covariance_type in [*args.covariance_types, "all"]:
        cells = [r for r in results if covariance_type in ("all", r[0])]
        if not cells:
            continue
        worst = min(cells, key=lambda r: r[6])
        more_memory = sum(1 for r in cells if r[8] and r[8]["gmmlab"] > r[8]["sklearn"])
        below = [r for r in cells if r[6] < 2]
        print(
            f"{covariance_type:>9}: {len(cells)} cells, geometric mean {geometric_mean([r[6] for r in cells]):.2f}x, "
            f"worst {worst[6]:.2f}x ({worst[1]}, {worst[2]} thread(s), N={worst[3]:.0e}, D={worst[4]}, K={worst[5]}); "
            f"below 2x in {len(below)} cells, in {sum(r[9] < 2 for r in below)} of them 2x out of reach (bound < 2x); "
            f"different fits in {sum(not r[7] for r in cells)} cells; gmmlab's peak memory higher in {more_memory}"
        )


if __name__ == "__main__":
    main()
