"""Time one EM iteration of gmmlab.GaussianMixture against scikit-learn's, in the same process.

Both estimators start from identical parameters (weights_init, means_init, precisions_init), run with
tol=0 for a fixed number of iterations on one BLAS thread, full covariances. The time of one iteration
is (time of 2n iterations - time of n iterations) / n, each the best of a few repeats of a warm-started
fit, so initialisation and the final E-step cancel. Prints each cell's speed-up (scikit-learn time / gmmlab time), their
geometric mean, and the largest relative difference between the two fits' parameters.

    python benchmarks/em_iteration.py            # N in {1e4, 1e5, 1e6} x D in {2, 16} x K in {3, 10}
    python benchmarks/em_iteration.py --quick    # N in {1e4, 1e5} only
"""

import argparse
import copy
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from gmmlab import GaussianMixture


def make_problem(N, D, K, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(K, D))
    z = rng.integers(K, size=N)
    X = centres[z] + rng.standard_normal((N, D))
    init = dict(
        weights_init=np.full(K, 1.0 / K),
        means_init=X[rng.choice(N, K, replace=False)],
        precisions_init=np.stack([np.eye(D) / X.var(axis=0).mean()] * K),
    )
    return X, init


def warm_model(cls, X, init):
    """A model fitted for one iteration, set to continue from there (no re-initialisation) on refit."""
    model = cls(init["weights_init"].shape[0], tol=0, max_iter=1, init_params="random_from_data",
                random_state=0, **init)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    model.set_params(warm_start=True)
    return model


def fit_seconds(model, X, max_iter):
    model = copy.deepcopy(model).set_params(max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        model.fit(X)
    return time.perf_counter() - start, model


def iteration_seconds(cls, X, init, n_iter, repeats):
    """(best time of 2n warm iterations - best time of n) / n: initialisation and the final E-step cancel."""
    warm = warm_model(cls, X, init)
    short = min(fit_seconds(warm, X, n_iter)[0] for _ in range(repeats))
    runs = [fit_seconds(warm, X, 2 * n_iter) for _ in range(repeats)]
    long, model = min(runs, key=lambda run: run[0])
    return max(long - short, 1e-9) / n_iter, model


def max_relative_difference(ours, theirs):
    worst = 0.0
    for name in ("weights_", "means_", "covariances_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only N = 1e4 and 1e5")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    ratios, differences = [], []
    print(f"{'N':>9} {'D':>3} {'K':>3} {'sklearn s/it':>13} {'gmmlab s/it':>12} {'speed-up':>9} {'max rel diff':>13}")
    with threadpool_limits(limits=1):
        for N in sizes:
            for D in (2, 16):
                for K in (3, 10):
                    X, init = make_problem(N, D, K)
                    n_iter = {10_000: 20, 100_000: 5}.get(N, 2)
                    repeats = 5 if N <= 100_000 else 2
                    theirs_s, theirs = iteration_seconds(SklearnGaussianMixture, X, init, n_iter, repeats)
                    ours_s, ours = iteration_seconds(GaussianMixture, X, init, n_iter, repeats)
                    ratio = theirs_s / ours_s
                    diff = max_relative_difference(ours, theirs)
                    ratios.append(ratio)
                    differences.append(diff)
                    print(f"{N:>9} {D:>3} {K:>3} {theirs_s:>13.4f} {ours_s:>12.4f} {ratio:>8.2f}x {diff:>13.1e}",
                          flush=True)  # fmt: skip
    geometric_mean = float(np.exp(np.mean(np.log(ratios))))
    print(f"geometric mean speed-up: {geometric_mean:.2f}x; slowest cell: {min(ratios):.2f}x; "
          f"largest parameter difference: {max(differences):.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
