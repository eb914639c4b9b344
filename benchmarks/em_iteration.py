"""One EM iteration of gmmlab.GaussianMixture against one of scikit-learn's, in one process, from the same
parameters: what a default fit costs beyond its fixed part (the shared ``KMeans``, the first M-step from its
labels, the data's centre), which ``gaussian_mixture.py`` measures whole.

Per cell (the data of ``gaussian_mixture.py``) scikit-learn fits one iteration from ``random_state=0``; from
its parameters, on one BLAS thread, the script times (CPU seconds, the best of ``--repeats``):

- **sklearn ms**: ``_e_step`` then ``_m_step`` of scikit-learn's estimator (its iteration, precision factors
  included);
- **gmmlab ms**: ``gmmlab._fast.em_iteration`` (the fused E- and M-step the estimator runs) then the precision
  factors with the collapse check (``checked_precisions_cholesky``), as the estimator's EM loop runs them;

and their **ratio** (above 1: gmmlab is faster), and at the end, per covariance type and over all cells, the
geometric mean of the ratios beside the worst cell.

    .venv/bin/python benchmarks/em_iteration.py                       # N = 1e4, every D, K, both kinds
    .venv/bin/python benchmarks/em_iteration.py --N 1e5 --D 16 --K 10
"""

import argparse
import itertools
import time
import warnings

import numpy as np
from gaussian_mixture import COVARIANCE_TYPES, SPREAD, geometric_mean, make_data
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from gmmlab._covariances import checked_precisions_cholesky
from gmmlab._fast import data_centre, em_iteration


def best_seconds(function, repeats):
    function()  # warm: the first call pays for fresh memory
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def run_cell(X, K, covariance_type, repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration does not converge
        model = SklearnGaussianMixture(K, covariance_type=covariance_type, max_iter=1, random_state=0).fit(X)
    weights, means, prec_chol = model.weights_, model.means_, model.precisions_cholesky_

    def sklearn_iteration():
        model._set_parameters((weights, means, model.covariances_, prec_chol))
        _, log_resp = model._e_step(X)
        model._m_step(X, log_resp)

    centre = data_centre(X)
    floor = np.finfo(np.float64).eps * float(centre.variance.max())

    def gmmlab_iteration():
        *_, covariances = em_iteration(X, weights, means, prec_chol, covariance_type, model.reg_covar, centre=centre)
        checked_precisions_cholesky(covariances, covariance_type, floor, model.reg_covar)

    return best_seconds(sklearn_iteration, repeats), best_seconds(gmmlab_iteration, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--covariance-types", nargs="+", default=COVARIANCE_TYPES, choices=COVARIANCE_TYPES)
    parser.add_argument("--N", nargs="+", type=float, default=[1e4])
    parser.add_argument("--D", nargs="+", type=int, default=[2, 16, 64])
    parser.add_argument("--K", nargs="+", type=int, default=[3, 10, 30])
    parser.add_argument("--clusters", nargs="+", default=list(SPREAD), choices=list(SPREAD))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"{'cov':>9} {'clusters':>11} {'N':>8} {'D':>3} {'K':>3} | {'sklearn ms':>10} {'gmmlab ms':>9} {'ratio':>6}")
    results = []
    with threadpool_limits(limits=1):
        for covariance_type, clusters, N, D, K in itertools.product(
            args.covariance_types, args.clusters, args.N, args.D, args.K
        ):
            X = make_data(int(N), D, K, clusters)
            sklearn_seconds, gmmlab_seconds = run_cell(X, K, covariance_type, args.repeats)
            ratio = sklearn_seconds / gmmlab_seconds
            results.append((covariance_type, clusters, int(N), D, K, ratio))
            print(
                f"{covariance_type:>9} {clusters:>11} {int(N):>8.0e} {D:>3} {K:>3} | {sklearn_seconds * 1e3:>10.2f} "
                f"{gmmlab_seconds * 1e3:>9.2f} {ratio:>5.2f}x",
                flush=True,
            )
    print()
    for covariance_type in [*args.covariance_types, "all"]:
        cells = [r for r in results if covariance_type in ("all", r[0])]
        worst = min(cells, key=lambda r: r[5])
        print(
            f"{covariance_type:>9}: {len(cells)} cells, geometric mean {geometric_mean([r[5] for r in cells]):.2f}x, "
            f"worst {worst[5]:.2f}x ({worst[1]}, N={worst[2]:.0e}, D={worst[3]}, K={worst[4]})"
        )


if __name__ == "__main__":
    main()
