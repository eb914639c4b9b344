"""k-means for the estimator's initialisation: the same Lloyd iteration as :func:`gmmlab.kmeans`, made fast.

The teaching :func:`gmmlab.kmeans` measures every distance from an (N, K, D) array of differences and runs
until the centres stop moving, which is clear but slow and memory-hungry. Here

- squared distances come from one matrix product per block of rows,
  :math:`\\|\\mathbf{x}-\\mathbf{s}\\|^2 - 2\\mathbf{x}^\\top\\mathbf{c}_k + \\|\\mathbf{c}_k\\|^2 + 2\\mathbf{s}^\\top\\mathbf{c}_k`
  with centres :math:`\\mathbf{c}_k = \\boldsymbol\\mu_k - \\mathbf{s}` taken relative to the data's mean
  :math:`\\mathbf{s}`, which keeps the cancellation of that formula small without a shifted copy of the data;
- after the first pass, Hamerly's bounds skip every row that provably keeps its centre, and the sums of
  the update step change only by the rows that move;
- seeding is greedy k-means++ and Lloyd's iteration stops, as scikit-learn's ``KMeans`` does, once the
  centres move by less than ``1e-4`` times the data's mean variance.

Given the same starting centres it reaches the same clustering as scikit-learn's ``KMeans`` and, with
``tol=0``, as :func:`gmmlab.kmeans` (``tests/test_estimator.py``). Memory beyond the data is
O(rows per block x max(K, D)) plus a few arrays of length N.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# Rows per block are chosen so a block's distance matrix (rows x K) holds about this many entries (4 MB):
# large enough that the matrix products run near BLAS speed, small enough to stay O(rows x K).
BLOCK_ENTRIES = 1 << 19

# Below this many features the sums of the update come from one bincount per feature; from here on, a
# one-hot matrix product is faster.
SMALL_D = 8

# Lloyd stops when the centres move (squared distance summed over centres) by at most this times the mean
# per-feature variance of the data, the relative tolerance scikit-learn's KMeans uses by default.
RELATIVE_TOL = 1e-4


def _block_rows(n_clusters):
    return max(1, BLOCK_ENTRIES // max(n_clusters, 1))


def _centre_terms(shift, centers):
    """Per centre, the part of the squared distance that does not depend on x.

    With the data's mean ``shift`` = s and centres given relative to it, c_k = mu_k - s,
    ||x - mu_k||^2 = ||x - s||^2 - 2 x.c_k + (||c_k||^2 + 2 s.c_k): one matrix product of the raw rows with
    the centred centres, and no shifted copy of the data. The products x.c_k involve only the small
    centred vectors, so the cancellation stays near machine precision relative to the spread of the data.
    """
    return np.einsum("ij,ij->i", centers, centers) + 2 * (centers @ shift)


def _squared_distances(block, block_sq_norms, centers, centre_terms):
    """Squared distances (rows, K) of a block of raw rows to centred centres, clipped at 0 against rounding."""
    distances = block @ (-2 * centers).T
    distances += centre_terms
    distances += block_sq_norms[:, None]
    np.maximum(distances, 0, out=distances)
    return distances


def _nearest_two(X, sq_norms, shift, centers, rows_of_X=None):
    """For the given rows of X (default all): the nearest centre (:eq:`eq-kmeans-assignment`), and the
    distances (not squared) to it and to the second nearest, from BLAS products in blocks."""
    K = centers.shape[0]
    scaled, terms = (-2 * centers).T, _centre_terms(shift, centers)
    n = X.shape[0] if rows_of_X is None else len(rows_of_X)
    labels, first, second = np.empty(n, dtype=np.intp), np.empty(n), np.full(n, np.inf)
    rows = min(_block_rows(max(K, X.shape[1])), n)
    # One buffer for every block: a fresh multi-megabyte array per block costs more in page faults than
    # the arithmetic it holds.
    buffer = np.empty((rows, K))
    for start in range(0, n, rows):
        block = X[start : start + rows] if rows_of_X is None else X[rows_of_X[start : start + rows]]
        B = block.shape[0]
        scores = np.matmul(block, scaled, out=buffer[:B])
        scores += terms
        nearest = scores.argmin(axis=1, out=labels[start : start + B])
        within = np.arange(B)
        first[start : start + B] = scores[within, nearest]
        if K > 1:
            scores[within, nearest] = np.inf
            second[start : start + B] = scores.min(axis=1)
    # ||x - mu||^2 = ||x - s||^2 + score, clipped at 0 against rounding
    norms = sq_norms if rows_of_X is None else sq_norms[rows_of_X]
    first += norms
    second += norms
    return labels, np.sqrt(np.maximum(first, 0, out=first)), np.sqrt(np.maximum(second, 0, out=second))


def _move_rows(X, shift, rows_of_X, old, new, counts, sums):
    """Move the given rows from clusters ``old`` to ``new`` in the counts and (shifted) sums, in blocks."""
    K = counts.shape[0]
    counts += np.bincount(new, minlength=K) - np.bincount(old, minlength=K)
    rows = _block_rows(X.shape[1])
    for start in range(0, len(rows_of_X), rows):
        block = X[rows_of_X[start : start + rows]] - shift
        to, fro = new[start : start + rows], old[start : start + rows]
        for d in range(X.shape[1]):
            sums[:, d] += np.bincount(to, weights=block[:, d], minlength=K)
            sums[:, d] -= np.bincount(fro, weights=block[:, d], minlength=K)


def _label_sums(X, labels, K):
    """Per cluster, the sum of its rows: the numerator of :eq:`eq-kmeans-update`."""
    N, D = X.shape
    if D < SMALL_D:
        return np.stack([np.bincount(labels, weights=X[:, d], minlength=K) for d in range(D)], axis=1)
    sums = np.zeros((K, D))
    rows = min(_block_rows(K), N)
    one_hot = np.empty((rows, K))
    components = np.arange(K)
    for start in range(0, N, rows):
        block = X[start : start + rows]
        np.equal(labels[start : start + rows, None], components, out=one_hot[: block.shape[0]])
        sums += one_hot[: block.shape[0]].T @ block
    return sums


def greedy_kmeans_plusplus(X, n_clusters, random_state, n_local_trials=None):
    """Greedy k-means++ seeding: each new centre is the best of a few candidates drawn by k-means++.

    As in :func:`gmmlab.kmeans_plusplus`, the first centre is a row drawn uniformly and candidates are drawn
    with probability proportional to their squared distance from the nearest centre so far; of
    ``n_local_trials`` candidates (default ``2 + log K``) the one that lowers the distortion
    :eq:`eq-kmeans-objective` most is kept. This is the seeding scikit-learn's ``KMeans`` uses.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data, float64, finite.
    n_clusters : int
        Number of centres K, ``1 <= K <= N``.
    random_state : numpy.random.RandomState
        Source of the draws.
    n_local_trials : int or None, default=None
        Candidates per centre; None means ``2 + int(log K)``.

    Returns
    -------
    indices : ndarray of shape (K,)
        The rows of ``X`` chosen as centres.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> rows = greedy_kmeans_plusplus(X, 2, np.random.RandomState(0))
    >>> sorted(X[rows, 0] // 5)
    [np.float64(0.0), np.float64(2.0)]
    """
    N = X.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    shift = X.mean(axis=0)
    sq_norms = _row_sq_norms(X, shift)
    indices = [int(random_state.randint(N))]
    closest = np.full(N, np.inf)
    _lower_to_rows(X, sq_norms, shift, indices, closest)
    potential = closest.sum()
    for _ in range(1, n_clusters):
        if potential > 0:
            draws = random_state.uniform(size=n_local_trials) * potential
            candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), N - 1)
        else:  # every row sits on a centre (repeated points): any row will do
            candidates = random_state.randint(N, size=n_local_trials)
        # Distortion after adding each candidate: sum over rows of min(closest, distance to the candidate).
        potentials = _lower_to_rows(X, sq_norms, shift, candidates, closest, keep=False)
        best = int(np.argmin(potentials))
        indices.append(int(candidates[best]))
        potential = _lower_to_rows(X, sq_norms, shift, [indices[-1]], closest)[0]
    return np.array(indices)


def _lower_to_rows(X, sq_norms, shift, rows_of_X, closest, keep=True):
    """For each chosen row p of X, the sum over all rows x of min(closest(x), ||x - p||^2), block by block.

    With ``keep`` (one chosen row), ``closest`` is lowered in place to include the distances to it.
    """
    points = X[rows_of_X] - shift
    scaled, terms = (-2 * points).T, _centre_terms(shift, points)
    N, P = X.shape[0], len(rows_of_X)
    rows = min(_block_rows(P), N)
    buffer = np.empty((rows, P))
    totals = np.zeros(P)
    for start in range(0, N, rows):
        block = X[start : start + rows]
        d = np.matmul(block, scaled, out=buffer[: block.shape[0]])
        d += terms
        d += sq_norms[start : start + rows, None]
        np.maximum(d, 0, out=d)
        np.minimum(d, closest[start : start + rows, None], out=d)
        totals += d.sum(axis=0)
        if keep:
            closest[start : start + rows] = d[:, 0]
    return totals


def _row_sq_norms(X, shift):
    """Squared norms of the rows of X - shift, without a copy of X."""
    rows = BLOCK_ENTRIES
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], rows):
        block = X[start : start + rows] - shift
        out[start : start + rows] = np.einsum("ij,ij->i", block, block)
    return out


def lloyd(X, centers, *, max_iter=300, tol=0.0):
    """Lloyd's algorithm from given centres, as :func:`gmmlab.kmeans` runs it, with BLAS distances in blocks.

    Each iteration assigns every row to its nearest centre (:eq:`eq-kmeans-assignment`) and moves every
    centre to the mean of its rows (:eq:`eq-kmeans-update`); it stops when the centres move by at most
    ``tol`` (squared distance summed over centres), after which the labels are those of the final centres.
    A cluster left empty takes the row farthest from its centre, which lowers :eq:`eq-kmeans-objective`.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data, float64, finite.
    centers : ndarray of shape (K, D)
        Initial centres.
    max_iter : int, default=300
        Maximum number of centre updates.
    tol : float, default=0.0
        Stop when the centres move by at most this much; 0 runs until they stop moving.

    Returns
    -------
    centers : ndarray of shape (K, D)
    labels : ndarray of shape (N,)
        Index of the nearest final centre of every row.
    n_iter : int
        Centre updates made.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> centers, labels, n_iter = lloyd(X, np.array([[0.0], [1.0]]))
    >>> centers.ravel().tolist(), labels.tolist()
    ([0.5, 10.5], [0, 0, 1, 1])
    """
    N, K = X.shape[0], centers.shape[0]
    shift = X.mean(axis=0)
    sq_norms = _row_sq_norms(X, shift)
    centers = np.asarray(centers, dtype=np.float64) - shift
    labels, upper, lower = _nearest_two(X, sq_norms, shift, centers)
    counts = np.bincount(labels, minlength=K).astype(np.float64)
    sums = _label_sums(X, labels, K) - counts[:, None] * shift
    # Distances carry rounding of about eps * ||x - s||^2 / distance; bounds are widened by this much.
    slack = 1e-6 * np.sqrt(max(float(sq_norms.max()), np.finfo(np.float64).tiny))
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if np.any(counts == 0):
            relocated = _relocate_empty_clusters(X, shift, labels, counts, sums, centers)
            upper[relocated], lower[relocated] = 0.0, 0.0
        new_centers = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
        step = np.sqrt(np.sum((new_centers - centers) ** 2, axis=1))
        moved = float(np.sum(step**2))
        centers = new_centers
        # Hamerly's bounds: a row whose distance to its centre (bounded above) is below both its distance to
        # any other centre (bounded below) and half the gap to the nearest other centre keeps its label.
        upper += step[labels]
        # every other centre came at most max_{j != label} step_j closer
        fastest = int(np.argmax(step))
        lower -= step[fastest]
        if K > 1:
            lower[labels == fastest] += step[fastest] - np.partition(step, K - 2)[K - 2]
        gaps = np.sqrt(np.maximum(np.sum((centers[:, None] - centers[None]) ** 2, axis=2), 0))
        np.fill_diagonal(gaps, np.inf)
        bound = np.maximum(lower, 0.5 * gaps.min(axis=1)[labels])
        check = np.flatnonzero(upper + slack > bound - slack)
        changed = np.empty(0, dtype=np.intp)
        if check.size:
            nearest, upper[check], lower[check] = _nearest_two(X, sq_norms, shift, centers, check)
            moves = nearest != labels[check]
            changed, old, new = check[moves], labels[check[moves]], nearest[moves]
            labels[changed] = new
            _move_rows(X, shift, changed, old, new, counts, sums)
        if not changed.size or moved <= tol:
            break
    return centers + shift, labels, n_iter


def _relocate_empty_clusters(X, shift, labels, counts, sums, centers):
    """Give each empty cluster the row farthest from its centre (updating labels, counts and sums in place);
    return the rows moved.

    Rare, so the distances of the rows to their own centres are computed here, in one extra pass.
    """
    sq_norms = _row_sq_norms(X, shift)
    closest = np.empty(X.shape[0])
    terms = _centre_terms(shift, centers)
    rows = _block_rows(centers.shape[0])
    for start in range(0, X.shape[0], rows):
        distances = _squared_distances(X[start : start + rows], sq_norms[start : start + rows], centers, terms)
        closest[start : start + rows] = distances[np.arange(len(distances)), labels[start : start + rows]]
    empty = np.flatnonzero(counts == 0)
    farthest = np.argsort(closest)[::-1][: empty.size]
    relocated = []
    for k, row in zip(empty, farthest):
        if closest[row] <= 0:  # every remaining row sits on its centre (repeated points): nothing to take
            break
        x = X[row] - shift
        old = labels[row]
        counts[old] -= 1
        sums[old] -= x
        counts[k], sums[k] = 1, x
        labels[row] = k
        relocated.append(row)
    return np.array(relocated, dtype=np.intp)


def kmeans_labels(X, n_clusters, random_state, *, max_iter=300):
    """Labels of a k-means fit for the estimator's ``init_params="kmeans"``: greedy k-means++, then Lloyd.

    Lloyd stops when the centres move (squared distance summed over centres) by at most ``1e-4`` times the
    mean per-feature variance of ``X``, as scikit-learn's ``KMeans`` does. Data with fewer distinct points
    than clusters leave some clusters empty; then a ``ConvergenceWarning`` says so, as scikit-learn's does.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data, float64, finite.
    n_clusters : int
        Number of clusters K, ``1 <= K <= N``.
    random_state : numpy.random.RandomState
        Source of the seeding's draws.
    max_iter : int, default=300
        Maximum number of Lloyd iterations.

    Returns
    -------
    labels : ndarray of shape (N,)
        Cluster of every row, in ``0 .. K-1``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.0, 0.2], [5.0, 5.0], [5.0, 5.2]])
    >>> labels = kmeans_labels(X, 2, np.random.RandomState(0))
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """
    tol = RELATIVE_TOL * float(np.mean(X.var(axis=0)))
    seeds = greedy_kmeans_plusplus(X, n_clusters, random_state)
    _, labels, _ = lloyd(X, X[seeds], max_iter=max_iter, tol=tol)
    n_distinct = np.unique(labels).size
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({n_clusters}). "
            "Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return labels
