"""Online EM (``GaussianMixture.partial_fit``) against batch EM (``fit``) on a million points, in one process.

The data: N points (default 1e6) from a seeded mixture of K = 5 full-covariance Gaussians in D = 4
dimensions, in random order. Both estimators start from the same seed.

- **batch**: ``GaussianMixture(K, n_init=5, random_state=seed).fit(X)`` (five k-means initialisations, EM
  to ``tol=1e-3`` from each, the best kept: one k-means start lands in a poor local optimum on these data
  often enough to make a single fit a poor reference); its average log-likelihood per point on X is the
  *batch optimum*. Its time is the whole fit; the time of one EM pass (one iteration) and the optimum of the
  default single-start fit are printed beside it.
- **online**: ``partial_fit`` on consecutive batches of B points (default 1e3), with the default step
  schedule (``learning_decay=0.6``, ``learning_offset=1``). After each of the first 2 x ``--every`` batches,
  then every ``--every`` batches (outside the timing), the model's average log-likelihood on all of X is
  computed; the run stops at the first check within
  ``--gap`` (default 0.01) nats per point of the batch optimum. Reported: the batches and the fraction of one
  pass over X that took, and the CPU seconds of the ``partial_fit`` calls.
- **memory**: the peak of Python allocations (``tracemalloc``) while each runs, not counting X itself: for
  the online run in a separate whole pass over N and over N / 10 points, each batch drawn when it is needed,
  to show that it does not grow with N; the batch fit has to hold X too, whose size is
  printed beside it.

The ratios printed are online / batch for time (to the target against the whole batch fit) and memory. One
BLAS thread; CPU seconds (``time.process_time``), so other programs on the machine slow both alike.

    .venv/bin/python benchmarks/partial_fit.py              # N = 1e6, batches of 1e3
    .venv/bin/python benchmarks/partial_fit.py --N 1e5      # quicker
"""

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gmmlab import GaussianMixture

K, D = 5, 4


def mixture(seed):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=6.0, size=(K, D))
    factors = 0.5 * rng.normal(size=(K, D, D)) / np.sqrt(D) + np.eye(D)
    weights = rng.dirichlet(np.full(K, 20.0))
    return weights, means, factors


def draw(n, parameters, rng):
    weights, means, factors = parameters
    z = rng.choice(K, size=n, p=weights)
    return means[z] + np.einsum("nij,nj->ni", factors[z], rng.standard_normal((n, D)))


def online_to_target(X, batch, target, every, seed):
    """partial_fit over consecutive batches until the model is within the gap; returns (batches, seconds)."""
    model = GaussianMixture(K, random_state=seed)
    seconds = 0.0
    for t, start in enumerate(range(0, len(X), batch), start=1):
        begin = time.process_time()
        model.partial_fit(X[start : start + batch])
        seconds += time.process_time() - begin
        if (t <= 2 * every or t % every == 0) and model.score(X) >= target:
            return t, seconds, model.score(X)
    return None, seconds, model.score(X)


def online_peak_memory(n_batches, batch, parameters, seed):
    """Peak bytes allocated during n_batches partial_fit calls, each batch drawn when needed."""
    rng = np.random.default_rng(seed + 1)
    model = GaussianMixture(K, random_state=seed)
    tracemalloc.start()
    for _ in range(n_batches):
        model.partial_fit(draw(batch, parameters, rng))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=float, default=1e6)
    parser.add_argument("--batch", type=float, default=1e3)
    parser.add_argument("--gap", type=float, default=0.01, help="nats per point from the batch optimum")
    parser.add_argument("--every", type=int, default=10, help="batches between checks of the log-likelihood")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    N, batch = int(args.N), int(args.batch)
    parameters = mixture(args.seed)
    X = draw(N, parameters, np.random.default_rng(args.seed + 1))
    print(f"N = {N:.0e}, D = {D}, K = {K}, batches of {batch}, target: within {args.gap} nats per point")

    with threadpool_limits(1):
        tracemalloc.start()
        begin = time.process_time()
        batch_model = GaussianMixture(K, n_init=5, random_state=args.seed).fit(X)
        batch_seconds = time.process_time() - begin
        batch_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        optimum = batch_model.score(X)
        begin = time.process_time()
        with warnings.catch_warnings():  # one iteration is not meant to converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            GaussianMixture(K, max_iter=1, tol=0, means_init=batch_model.means_, weights_init=batch_model.weights_,
                            precisions_init=batch_model.precisions_).fit(X)
        pass_seconds = time.process_time() - begin
        single = GaussianMixture(K, random_state=args.seed).fit(X).score(X)
        print(f"batch EM : {batch_model.n_iter_} iterations, {batch_seconds:.2f} s CPU (one EM pass: "
              f"{pass_seconds:.3f} s), optimum {optimum:.5f} nats per point, peak {batch_peak / 1e6:.1f} MB "
              f"+ X {X.nbytes / 1e6:.1f} MB; a single-start fit reaches {single:.5f}")

        batches, online_seconds, reached = online_to_target(X, batch, optimum - args.gap, args.every, args.seed)
        if batches is None:
            print(f"online EM: did NOT reach the target in one pass ({N // batch} batches, {online_seconds:.2f} s "
                  f"CPU); final {reached:.5f}, {optimum - reached:.4f} nats per point below the optimum")
        else:
            print(f"online EM: reached {reached:.5f} ({optimum - reached:.4f} below) after {batches} batches = "
                  f"{batches * batch / N:.3f} of one pass, {online_seconds:.2f} s CPU")
        peaks = {n: online_peak_memory(n // batch, batch, parameters, args.seed) for n in (N // 10, N)}
        for n, peak in peaks.items():
            print(f"online EM peak memory over one pass of N = {n:.0e} ({n // batch} batches): {peak / 1e6:.2f} MB")
    print(f"ratio online / batch: time {online_seconds / batch_seconds:.4f} (online / one EM pass: "
          f"{online_seconds / pass_seconds:.3f}), "
          f"memory {peaks[N] / (batch_peak + X.nbytes):.4f} (batch counted with X), "
          f"online memory N / (N/10) {peaks[N] / peaks[N // 10]:.2f}")


if __name__ == "__main__":
    main()
