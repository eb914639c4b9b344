"""Throughput of gmmlab.GaussianMixture on a Dask array against the in-memory fit, in one process, with one
and with two Dask workers.

For every cell of the grid (full covariances, data drawn from K unit-variance Gaussians whose centres are
spread with standard deviation 3) the script fits the same data from the same start for a fixed number of EM
iterations (``tol=0``), four ways:

- **memory**: a NumPy array in this process, on one BLAS thread (the in-memory fast path);
- **dask 1w** and **dask 2w**: the same rows as a Dask array of eight chunks, which the workers of a
  ``distributed.LocalCluster`` (one or two single-threaded worker processes; Dask sets one BLAS thread per
  worker) draw and keep (``persist``), so every iteration reads the chunks from the workers' memory, as it
  would on a cluster;
- **dask 1t**: the same with one worker that is a thread of this process (``processes=False``), which
  separates the cost of Dask's scheduling from that of running the chunks in another process.

Throughput is rows times iterations per second of wall-clock time, and per CPU second of every process at
work (this one, which runs the client and Dask's scheduler, and the workers): the first is what a user
waits for, the second does not grow when other programs compete for the cores and shows the CPU that Dask's
bookkeeping adds. Each figure is the best of a few runs, the four ways taking turns, and the **ratio**
columns divide a Dask throughput by the in-memory one measured in the same cell. A ratio
below 1 with one worker is the price of the chunked pass (task scheduling, moving summaries, the client's
M-step, and whatever a worker process adds to the chunk computations, which the **1t** columns leave out);
two workers on this 2-core machine can at best double the one-worker throughput. The last column is
the largest relative difference of the fitted means between the Dask and in-memory fits, which should be at
rounding level. Other programs running on the machine lower all the throughputs; compare ratios, and rerun
when the machine is quiet.

    .venv/bin/python benchmarks/dask_fit.py           # N = 1e6; a few minutes
    .venv/bin/python benchmarks/dask_fit.py --quick   # N = 2e5 only
"""

import argparse
import logging
import os
import time
import warnings

import dask.array as da
import numpy as np
import psutil
from distributed import Client, LocalCluster, wait
from threadpoolctl import threadpool_limits

from gmmlab import GaussianMixture

N_ITER = 5
REPEATS = 3
N_CHUNKS = 8


def mixture_chunk(centres, block_info=None):
    """One chunk of the data, drawn from a RandomState seeded by its position: the same rows wherever and
    whenever it is computed, so the workers make their own chunks and the client makes the in-memory copy."""
    info = block_info[None]
    rs = np.random.RandomState(info["chunk-location"][0])
    rows = info["chunk-shape"][0]
    return centres[rs.randint(len(centres), size=rows)] + rs.standard_normal((rows, centres.shape[1]))


def make_problem(N, D, K, seed=0):
    """The data as a Dask array of N_CHUNKS chunks and the same rows in memory, and a common start."""
    centres = np.random.default_rng(seed).normal(scale=3.0, size=(K, D))
    rows = -(-N // N_CHUNKS)
    chunks = ((rows,) * (N // rows) + ((N % rows,) if N % rows else ()), (D,))
    chunked = da.map_blocks(mixture_chunk, centres, chunks=chunks, dtype=np.float64, meta=np.empty((0, 0)))
    X = chunked.compute(scheduler="sync")
    rng = np.random.default_rng(seed + 1)
    start = dict(
        weights_init=np.full(K, 1.0 / K),
        means_init=X[rng.choice(N, K, replace=False)],
        precisions_init=np.stack([np.eye(D) / X.var(axis=0).mean()] * K),
    )
    return chunked, X, start


def cpu_seconds(pids):
    """CPU seconds (user and system) used so far by the given processes together."""
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in set(pids))


def fit_seconds(X, K, start, pids):
    """Wall-clock seconds and CPU seconds of the processes ``pids`` (this one, where the client and the
    scheduler run, and the workers) for N_ITER EM iterations from ``start``; and the fitted model."""
    model = GaussianMixture(K, tol=0.0, max_iter=N_ITER, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 never converges, by design
        cpu, wall = cpu_seconds(pids), time.perf_counter()
        model.fit(X)
        return time.perf_counter() - wall, cpu_seconds(pids) - cpu, model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only N = 2e5")
    args = parser.parse_args()
    N = 200_000 if args.quick else 1_000_000
    quiet = dict(threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR)
    clusters = {workers: LocalCluster(n_workers=workers, processes=True, **quiet) for workers in (1, 2)}
    clusters["1t"] = LocalCluster(n_workers=1, processes=False, **quiet)
    print(
        f"{N_ITER} EM iterations per fit, best of {REPEATS}; throughput in million rows x iterations per second "
        "of wall-clock time, and per CPU second of all the processes at work"
    )
    print(
        f"{'N':>9} {'D':>3} {'K':>3} {'chunks':>6} | {'memory':>7} {'dask 1w':>8} {'dask 2w':>8} {'dask 1t':>8} | "
        f"{'1w/mem':>6} {'2w/mem':>6} {'2w/1w':>6} {'1t/mem':>6} | {'CPU: mem':>8} {'1w':>6} {'2w':>6} {'1t':>6} "
        f"{'1w/mem':>6} {'1t/mem':>6} | {'max rel diff':>12}"
    )
    ratios, cpu_ratios = {1: [], 2: [], "1t": []}, {1: [], "1t": []}
    try:
        for D in (2, 16):
            for K in (3, 10):
                lazy, X, start = make_problem(N, D, K)
                times = {"memory": [], 1: [], 2: [], "1t": []}
                cpu = {"memory": [], 1: [], 2: [], "1t": []}
                differences = []
                for _ in range(REPEATS):
                    with threadpool_limits(limits=1):
                        seconds, cpu_used, reference = fit_seconds(X, K, start, [os.getpid()])
                    times["memory"].append(seconds)
                    cpu["memory"].append(cpu_used)
                    for workers, cluster in clusters.items():
                        with Client(cluster) as client:
                            chunked = client.persist(lazy)  # each worker draws its own chunks
                            wait(chunked)
                            pids = [os.getpid(), *client.run(os.getpid).values()]
                            with threadpool_limits(limits=1):  # the thread worker runs in this process
                                seconds, cpu_used, model = fit_seconds(chunked, K, start, pids)
                            del chunked
                        times[workers].append(seconds)
                        cpu[workers].append(cpu_used)
                        difference = np.abs(model.means_ - reference.means_).max() / np.abs(reference.means_).max()
                        differences.append(difference)
                throughput = {key: N * N_ITER / min(values) / 1e6 for key, values in times.items()}
                per_cpu = {key: N * N_ITER / min(values) / 1e6 for key, values in cpu.items()}
                for workers in ratios:
                    ratios[workers].append(throughput[workers] / throughput["memory"])
                for workers in cpu_ratios:
                    cpu_ratios[workers].append(per_cpu[workers] / per_cpu["memory"])
                n_chunks = lazy.numblocks[0]
                print(
                    f"{N:>9} {D:>3} {K:>3} {n_chunks:>6} | {throughput['memory']:>7.2f} {throughput[1]:>8.2f} "
                    f"{throughput[2]:>8.2f} {throughput['1t']:>8.2f} | {ratios[1][-1]:>5.2f}x {ratios[2][-1]:>5.2f}x "
                    f"{throughput[2] / throughput[1]:>5.2f}x {ratios['1t'][-1]:>5.2f}x | {per_cpu['memory']:>8.2f} "
                    f"{per_cpu[1]:>6.2f} {per_cpu[2]:>6.2f} {per_cpu['1t']:>6.2f} {cpu_ratios[1][-1]:>5.2f}x "
                    f"{cpu_ratios['1t'][-1]:>5.2f}x | {max(differences):>12.1e}",
                    flush=True,
                )
    finally:
        for cluster in clusters.values():
            cluster.close()
    geometric = {workers: float(np.exp(np.mean(np.log(values)))) for workers, values in ratios.items()}
    per_cpu_mean = {workers: float(np.exp(np.mean(np.log(values)))) for workers, values in cpu_ratios.items()}
    print(
        f"Dask throughput / in-memory throughput, geometric mean over cells: one worker {geometric[1]:.2f}x, "
        f"two workers {geometric[2]:.2f}x, one thread worker {geometric['1t']:.2f}x; per CPU second, one worker "
        f"{per_cpu_mean[1]:.2f}x, one thread worker {per_cpu_mean['1t']:.2f}x"
    )


if __name__ == "__main__":
    main()
