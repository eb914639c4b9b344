"""Gaussian mixtures on data with entries missing at random: gmmlab's EM with missing values against the
alternatives, and the cost of its iterations, in one process.

**Accuracy.** Training data: N points (default 5000) from a seeded mixture of K = 3 full-covariance Gaussians
in D = 4 dimensions with strongly correlated coordinates; each entry is removed independently with
probability 10%, 30% and 50% (missing completely at random; a row that loses every entry keeps its first).
Every method fits K = 3 components (``n_init=3``, the same seed):

- **gmmlab EM**: ``gmmlab.GaussianMixture`` on the data with NaN (EM on the observed-data likelihood);
- **drop rows**: scikit-learn's ``GaussianMixture`` on the complete rows only;
- **mean imp.**: ``SimpleImputer()`` (column means), then scikit-learn's ``GaussianMixture``;
- **iterative imp.**: ``IterativeImputer(random_state=seed)`` (chained Bayesian ridge regressions), then
  scikit-learn's ``GaussianMixture``;
- **pomegranate full** and **pomegranate diag**: ``GeneralMixtureModel`` of ``Normal`` components with full
  and with diagonal covariances on a ``torch.masked.MaskedTensor`` (it ignores missing entries in its
  statistics), when pomegranate imports (it is not in the course's lock: it needs torch, several GB; install
  it apart with ``pip install --target DIR pomegranate`` and pass ``--pomegranate-path DIR``); a method that
  fails prints pomegranate's error. (pomegranate 1.1.2 with torch 2.14 fails on masked data with full
  covariances; its diagonal mixture cannot represent the correlations, which its parameter error shows.)

Per method: the average log-likelihood per point of 20 000 complete held-out points from the true mixture
(**held-out**, higher is better; the true mixture's own is printed as the ceiling), and the **parameter
error** against the truth, components matched by their means (Hungarian assignment): the mean over
components of |mu_k - mu*_k| + |Sigma_k - Sigma*_k|_F + |pi_k - pi*_k|. The **ratio** columns divide each
alternative's parameter error by gmmlab's (above 1: gmmlab is closer to the truth) and give its held-out
log-likelihood minus gmmlab's (below 0: gmmlab is better).

**Speed.** For N = 1e5 points drawn as above but in D in {2, 4, 8} dimensions (and 16 with ``--wide``), K in
{3, 10}, and each fraction missing: the CPU seconds of one EM iteration on the data with NaN against one on
the complete data, from the same parameters, on one BLAS thread (``time.process_time``, best of 3), and
their ratio; the number of missing-entry patterns (a pattern with many rows is summed on its own, the rows
of rarer ones in batches whatever their pattern); the one-off seconds of grouping the rows by pattern and
planning the iteration (``Patterns.plan``). The target is a ratio of at most 3; the worst cell is printed
last.

    .venv/bin/python benchmarks/missing_data.py            # both parts, a few minutes
    .venv/bin/python benchmarks/missing_data.py --speed    # the speed part only
"""

import argparse
import sys
import time
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import mixture as sklearn_mixture
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from threadpoolctl import threadpool_limits

import gmmlab
from gmmlab._missing import full_covariances

FRACTIONS = (0.1, 0.3, 0.5)
K_TRUE, D_TRUE = 3, 4


def true_mixture(seed, K=K_TRUE, D=D_TRUE):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(K, 10.0))
    means = rng.normal(scale=3.0, size=(K, D))
    A = rng.normal(size=(K, D, D))
    covariances = A @ np.swapaxes(A, 1, 2) / D + 0.5 * np.ones((D, D)) + 0.1 * np.eye(D)
    return weights, means, covariances


def draw(N, mixture, rng):
    weights, means, covariances = mixture
    z = rng.choice(len(weights), size=N, p=weights)
    return means[z] + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances)[z], rng.standard_normal(means[z].shape))


def remove_at_random(X, fraction, rng):
    missing = rng.random(X.shape) < fraction
    missing[missing.all(axis=1), 0] = False
    holes = X.copy()
    holes[missing] = np.nan
    return holes


def parameter_error(fitted, truth):
    weights, means, covariances = fitted
    true_weights, true_means, true_covariances = truth
    cost = np.linalg.norm(means[:, None] - true_means[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols] + np.linalg.norm(covariances[rows] - true_covariances[cols], axis=(1, 2))
                         + np.abs(weights[rows] - true_weights[cols])))


def held_out(fitted, X_test):
    """Average log-likelihood per point of complete data under (weights, means, full covariances)."""
    return gmmlab.log_likelihood(X_test, *fitted) / len(X_test)


def pomegranate_fits(holes, seed):
    """{label: (weights, means, full covariances) or the reason it did not run}, for pomegranate's full and
    diagonal ``Normal`` components on a ``MaskedTensor`` (missing entries masked)."""
    try:
        import torch
        from pomegranate.distributions import Normal
        from pomegranate.gmm import GeneralMixtureModel
    except ImportError as error:
        return {"pomegranate": f"not run: pomegranate does not import here ({error}); see --pomegranate-path"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        masked = torch.masked.MaskedTensor(torch.tensor(np.nan_to_num(holes)), mask=torch.tensor(~np.isnan(holes)))
    results = {}
    for covariance_type in ("full", "diag"):
        label = f"pomegranate {covariance_type}"
        torch.manual_seed(seed)
        model = GeneralMixtureModel([Normal(covariance_type=covariance_type) for _ in range(K_TRUE)], max_iter=100,
                                    random_state=seed)
        try:
            with warnings.catch_warnings():  # torch's notice that MaskedTensor is a prototype, at every call
                warnings.simplefilter("ignore", UserWarning)
                model.fit(masked)
        except Exception as error:  # pomegranate's own limitation, reported rather than hidden
            results[label] = f"failed on missing values: {type(error).__name__}: {error}"
            continue
        weights = model.priors.detach().numpy()
        means = np.array([d.means.detach().numpy() for d in model.distributions])
        covs = np.array([d.covs.detach().numpy() for d in model.distributions])
        if covariance_type == "diag":
            covs = full_covariances(covs, "diag", K_TRUE, holes.shape[1])
        results[label] = (weights / weights.sum(), means, covs)
    return results


def accuracy(N, seed):
    truth = true_mixture(seed)
    rng = np.random.default_rng(seed + 1)
    X, X_test = draw(N, truth, rng), draw(20_000, truth, rng)
    print(f"Accuracy: N = {N}, D = {D_TRUE}, K = {K_TRUE}, entries missing at random; held-out = average "
          f"log-likelihood of 20 000 complete points (the true mixture's: {held_out(truth, X_test):.4f})")
    header = f"{'missing':>7} {'method':<15} {'held-out':>9} {'param err':>9} {'err ratio':>9} {'held-out diff':>13}"
    print(header)
    worst = {}
    for fraction in FRACTIONS:
        holes = remove_at_random(X, fraction, np.random.default_rng(seed + 2))
        complete = holes[~np.isnan(holes).any(axis=1)]

        def sklearn_fit(data):
            model = sklearn_mixture.GaussianMixture(K_TRUE, n_init=3, random_state=seed).fit(data)
            return model.weights_, model.means_, model.covariances_

        ours_model = gmmlab.GaussianMixture(K_TRUE, n_init=3, random_state=seed).fit(holes)
        results = {"gmmlab EM": (ours_model.weights_, ours_model.means_, ours_model.covariances_)}
        results["drop rows"] = sklearn_fit(complete) if len(complete) >= K_TRUE else "not run: no complete rows"
        results["mean imp."] = sklearn_fit(SimpleImputer().fit_transform(holes))
        results["iterative imp."] = sklearn_fit(IterativeImputer(random_state=seed).fit_transform(holes))
        results.update(pomegranate_fits(holes, seed))
        ours_error = parameter_error(results["gmmlab EM"], truth)
        ours_held_out = held_out(results["gmmlab EM"], X_test)
        for method, fitted in results.items():
            if isinstance(fitted, str):
                print(f"{fraction:>7.0%} {method:<15} {fitted}")
                continue
            error, score = parameter_error(fitted, truth), held_out(fitted, X_test)
            line = f"{fraction:>7.0%} {method:<15} {score:>9.4f} {error:>9.4f}"
            if method != "gmmlab EM":
                line += f" {error / ours_error:>9.2f} {score - ours_held_out:>13.4f}"
                worst[(fraction, method)] = error / ours_error
            print(line)
        print(f"{'':>7} ({len(complete)} complete rows of {N})")
    cell = min(worst, key=worst.get)
    print(f"Worst cell for gmmlab (smallest error ratio): {cell[1]} at {cell[0]:.0%} missing, "
          f"{worst[cell]:.2f}x gmmlab's parameter error")


def iteration_seconds(data, parameters, covariance_type, repeats=3):
    data.iteration(*parameters, covariance_type, 1e-6)  # warm-up (and the complete rows' centre)
    best = np.inf
    for _ in range(repeats):
        begin = time.process_time()
        data.iteration(*parameters, covariance_type, 1e-6)
        best = min(best, time.process_time() - begin)
    return best


def speed(N, dimensions, seed):
    print(f"\nSpeed: N = {N:.0e}, one BLAS thread, CPU seconds per EM iteration from the same parameters "
          "(full covariances)")
    print(f"{'D':>3} {'K':>3} {'missing':>7} {'patterns':>8} {'group s':>8} {'complete s':>10} {'missing s':>10} "
          f"{'ratio':>7}")
    worst = (0.0, None)
    for D in dimensions:
        for K in (3, 10):
            truth = true_mixture(seed, K, D)
            X = draw(N, truth, np.random.default_rng(seed + 3))
            model = gmmlab.GaussianMixture(K, covariance_type="full", max_iter=2, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X)
            parameters = (model.weights_, model.means_, model.precisions_cholesky_)
            complete = model._data(X, reset=False)
            complete.prepare(None, False)
            complete_seconds = iteration_seconds(complete, parameters, "full")
            for fraction in FRACTIONS:
                holes = remove_at_random(X, fraction, np.random.default_rng(seed + 4))
                begin = time.process_time()
                data = model._data(holes, reset=False)
                data.patterns.plan(holes)
                group_seconds = time.process_time() - begin
                seconds = iteration_seconds(data, parameters, "full")
                ratio = seconds / complete_seconds
                worst = max(worst, (ratio, (D, K, fraction)))
                print(f"{D:>3} {K:>3} {fraction:>7.0%} {len(data.patterns.groups):>8} {group_seconds:>8.3f} "
                      f"{complete_seconds:>10.4f} {seconds:>10.4f} {ratio:>6.2f}x")
    ratio, (D, K, fraction) = worst
    print(f"Worst cell: D = {D}, K = {K}, {fraction:.0%} missing: an iteration with missing values costs "
          f"{ratio:.2f}x the complete-data one (target: at most 3x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=5000, help="training points of the accuracy part")
    parser.add_argument("--speed-N", type=float, default=1e5)
    parser.add_argument("--speed", action="store_true", help="the speed part only")
    parser.add_argument("--wide", action="store_true", help="also D = 16 in the speed part (slow)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pomegranate-path", help="a directory holding pomegranate and torch (pip install "
                        "--target DIR pomegranate), searched after the environment's own packages")
    args = parser.parse_args()
    if args.pomegranate_path:
        sys.path.append(args.pomegranate_path)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if not args.speed:
            accuracy(args.N, args.seed)
        speed(int(args.speed_N), (2, 4, 8, 16) if args.wide else (2, 4, 8), args.seed)


if __name__ == "__main__":
    main()
