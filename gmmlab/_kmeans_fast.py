"""k-means for the estimator's ``init_params="fast-kmeans"``: the same Lloyd iteration as :func:`gmmlab.kmeans`,
made fast (the default ``"kmeans"`` runs scikit-learn's ``KMeans`` itself, so that a seed gives scikit-learn's
fit also on data with ties, where rounding can break them differently here).

The teaching :func:`gmmlab.kmeans` measures every distance from an (N, K, D) array of differences and runs
until the centres stop moving, which is clear but slow and memory-hungry. Here

- the data are centred once, on their mean row, and stored as columns with a row of ones appended, so
  that the squared distances
  :math:`\\|\\mathbf{x}-\\mathbf{c}_k\\|^2 = \\|\\mathbf{x}\\|^2 - 2\\mathbf{x}^\\top\\mathbf{c}_k + \\|\\mathbf{c}_k\\|^2`
  (less the first term, the same for every centre) of a block of rows to all centres are one matrix
  product; centring keeps the cancellation of that formula small; the result is laid out centre by
  centre, (K, rows), so that the minimum over centres is a fast reduction;
- after the first pass, a row changes cluster only if some centre is now nearer than its own, so only those
  rows are relabelled, and the sums of the update step change only by the rows that move;
- seeding is greedy k-means++, drawing from the random state exactly as scikit-learn's ``KMeans`` does (so
  the same ``random_state`` gives the same seeds), and Lloyd's iteration stops, as scikit-learn's does, once
  the centres move by less than ``1e-4`` times the data's mean variance.

Given the same starting centres it reaches the same clustering as scikit-learn's ``KMeans`` and, with
``tol=0``, as :func:`gmmlab.kmeans` (``tests/package/test_estimator.py``). Memory beyond the data is
one centred copy of it, O(rows per block x K), and a few arrays of length N (2 + log K of them while
seeding, the candidates' distances).
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# Rows per block are chosen so a block's distance matrix (K x rows) holds about this many entries (1 MB):
# large enough that the matrix products run near BLAS speed, small enough to stay in cache.
BLOCK_ENTRIES = 1 << 17

# Below this many features the sums of the update come from one bincount per feature; from here on, a
# one-hot matrix product is faster.
SMALL_D = 8

# Lloyd stops when the centres move (squared distance summed over centres) by at most this times the mean
# per-feature variance of the data, the relative tolerance scikit-learn's KMeans uses by default.
RELATIVE_TOL = 1e-4


def _block_rows(width):
    return max(1, BLOCK_ENTRIES // max(width, 1))


def _mean_rows(X):
    """The mean row of X as one matrix-vector product (numpy's mean over the long axis is several times slower)."""
    return np.full(X.shape[0], 1.0 / X.shape[0]) @ X


def _centred_columns(X, shift):
    """Shape (D + 1, N): the rows of X - shift as columns, then a row of ones (which carries ||c_k||^2)."""
    N, D = X.shape
    columns = np.empty((D + 1, N))
    columns[D] = 1.0
    rows = _block_rows(D)
    for start in range(0, N, rows):
        np.subtract(X[start : start + rows].T, shift[:, None], out=columns[:D, start : start + rows])
    return columns


def _distance_weights(points):
    """[-2 c_k, ||c_k||^2] for every (centred) point c_k: multiplied by a column [x; 1] this is
    ||x - c_k||^2 - ||x||^2."""
    return np.hstack([-2 * points, np.einsum("ij,ij->i", points, points)[:, None]])


def _blocks(N, width):
    rows = min(_block_rows(width), N)
    return rows, range(0, N, rows)


def _greedy_kmeans_plusplus(X, n_clusters, random_state, n_local_trials=None):
    """Greedy k-means++ seeding: each new centre is the best of a few candidates drawn by k-means++.

    As in :func:`gmmlab.kmeans_plusplus`, the first centre is a row drawn uniformly and candidates are drawn
    with probability proportional to their squared distance from the nearest centre so far; of
    ``n_local_trials`` candidates (default ``2 + log K``) the one that lowers the distortion
    :eq:`eq-kmeans-objective` most is kept. This is the seeding scikit-learn's ``KMeans`` uses, and it takes
    its random numbers from ``random_state`` in the same order, so that one seed gives both the same centres.

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
    >>> rows = _greedy_kmeans_plusplus(X, 2, np.random.RandomState(0))
    >>> sorted(X[rows, 0] // 5)
    [np.float64(0.0), np.float64(2.0)]
    """
    columns = _centred_columns(X, _mean_rows(X))
    return _greedy_seeds(columns, n_clusters, random_state, n_local_trials, _sq_norms(columns))


def _sq_norms(columns):
    D = columns.shape[0] - 1
    return np.einsum("ij,ij->j", columns[:D], columns[:D])


def _greedy_seeds(columns, n_clusters, random_state, n_local_trials, sq_norms):
    N = columns.shape[1]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    # scikit-learn draws the first centre with choice(p=uniform weights): one uniform number, the same row.
    indices = [int(random_state.choice(N, p=np.full(N, 1.0 / N)))]
    potential, lowered = _lower_to_rows(columns, sq_norms, indices, np.full(N, np.inf))
    closest, potential = lowered[0], potential[0]
    for _ in range(1, n_clusters):
        if potential > 0:
            draws = random_state.uniform(size=n_local_trials) * potential
            candidates = np.minimum(np.searchsorted(np.cumsum(closest), draws), N - 1)
        else:  # every row sits on a centre (repeated points): any row will do
            candidates = random_state.randint(N, size=n_local_trials)
        # Distortion after adding each candidate: sum over rows of min(closest, distance to the candidate).
        potentials, lowered = _lower_to_rows(columns, sq_norms, candidates, closest)
        best = int(np.argmin(potentials))
        indices.append(int(candidates[best]))
        closest, potential = lowered[best], potentials[best]
    return np.array(indices)


def _lower_to_rows(columns, sq_norms, rows_of_X, closest):
    """For each chosen row p of X, min(closest(x), ||x - p||^2) for every row x (shape (P, N)) and its sum
    over the rows, block by block."""
    D, N = columns.shape[0] - 1, columns.shape[1]
    weights = _distance_weights(columns[:D, rows_of_X].T)
    rows, starts = _blocks(N, len(rows_of_X))
    lowered = np.empty((len(rows_of_X), N))
    for start in starts:
        d = np.matmul(weights, columns[:, start : start + rows], out=lowered[:, start : start + rows])
        d += sq_norms[start : start + rows]
        np.maximum(d, 0, out=d)
        np.minimum(d, closest[start : start + rows], out=d)
    return lowered.sum(axis=1), lowered


def _lloyd_from(X, centers, *, max_iter=300, tol=0.0):
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
    >>> centers, labels, n_iter = _lloyd_from(X, np.array([[0.0], [1.0]]))
    >>> centers.ravel().tolist(), labels.tolist()
    ([0.5, 10.5], [0, 0, 1, 1])
    """
    shift = _mean_rows(X)
    centers, labels, n_iter = _lloyd(_centred_columns(X, shift), np.asarray(centers, dtype=np.float64) - shift, max_iter, tol)
    return centers + shift, labels, n_iter


def _lloyd(columns, centers, max_iter, tol):
    """Lloyd's iteration on centred data stored as columns (``_centred_columns``), from centred centres."""
    K = centers.shape[0]
    labels = _assign(columns, centers)
    counts = np.bincount(labels, minlength=K).astype(np.float64)
    sums = _label_sums(columns, labels, K)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if np.any(counts == 0):
            _relocate_empty_clusters(columns, labels, counts, sums, centers)
        new_centers = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
        moved = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        changed, old = _relabel(columns, centers, labels)
        if changed.size:
            _move_rows(columns, changed, old, labels[changed], counts, sums)
        if not changed.size or moved <= tol:
            break
    return centers, labels, n_iter


def _argmin_over_centres(scores, labels, best):
    """Index (the first among ties, as ``argmin`` gives) and value of the smallest entry of every column of a
    (K, rows) matrix, one centre at a time: for few centres this is several times faster than ``argmin`` over
    the short first axis."""
    labels[:] = 0
    best[:] = scores[0]
    for k in range(1, scores.shape[0]):
        np.copyto(labels, k, where=scores[k] < best)
        np.minimum(best, scores[k], out=best)
    return labels


def _assign(columns, centers):
    """The nearest centre of every row (:eq:`eq-kmeans-assignment`), block by block."""
    N, K = columns.shape[1], centers.shape[0]
    weights = _distance_weights(centers)
    rows, starts = _blocks(N, K)
    buffer, best = np.empty((K, rows)), np.empty(rows)
    labels = np.empty(N, dtype=np.intp)
    for start in starts:
        scores = np.matmul(weights, columns[:, start : start + rows], out=buffer[:, : min(rows, N - start)])
        _argmin_over_centres(scores, labels[start : start + rows], best[: scores.shape[1]])
    return labels


def _relabel(columns, centers, labels):
    """Move to its nearest centre every row for which another centre is now strictly nearer than its own
    (updating ``labels`` in place); return those rows and their previous labels.

    Checking a row costs one minimum and one look-up; only the rows that move need the full comparison.
    """
    N, K = columns.shape[1], centers.shape[0]
    weights = _distance_weights(centers)
    rows, starts = _blocks(N, K)
    buffer = np.empty((K, rows))
    within = np.arange(rows)
    changed, old = [], []
    for start in starts:
        B = min(rows, N - start)
        scores = np.matmul(weights, columns[:, start : start + B], out=buffer[:, :B])
        block_labels = labels[start : start + B]
        own = scores.ravel().take(block_labels * B + within[:B])
        moved = np.flatnonzero(own > scores.min(axis=0))
        if moved.size:
            old.append(block_labels[moved])
            block_labels[moved] = _argmin_over_centres(
                scores[:, moved], np.empty(moved.size, dtype=np.intp), np.empty(moved.size)
            )
            changed.append(start + moved)
    if not changed:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    return np.concatenate(changed), np.concatenate(old)


def _move_rows(columns, rows_of_X, old, new, counts, sums):
    """Move the given rows from clusters ``old`` to ``new`` in the counts and sums."""
    K = counts.shape[0]
    counts += np.bincount(new, minlength=K) - np.bincount(old, minlength=K)
    for d in range(columns.shape[0] - 1):
        values = columns[d, rows_of_X]
        sums[:, d] += np.bincount(new, weights=values, minlength=K) - np.bincount(old, weights=values, minlength=K)


def _label_sums(columns, labels, K):
    """Per cluster, the sum of its (centred) rows: the numerator of :eq:`eq-kmeans-update`."""
    D, N = columns.shape[0] - 1, columns.shape[1]
    if D < SMALL_D:
        return np.stack([np.bincount(labels, weights=columns[d], minlength=K) for d in range(D)], axis=1)
    sums = np.zeros((K, D))
    rows, starts = _blocks(N, K)
    one_hot = np.empty((K, rows))
    components = np.arange(K)[:, None]
    for start in starts:
        B = min(rows, N - start)
        np.equal(components, labels[start : start + B], out=one_hot[:, :B])
        sums += one_hot[:, :B] @ columns[:D, start : start + B].T
    return sums


def _relocate_empty_clusters(columns, labels, counts, sums, centers):
    """Give each empty cluster the row farthest from its centre (updating labels, counts and sums in place).

    Rare, so the distances of the rows to their own centres are computed here, in one extra pass.
    """
    D, N = columns.shape[0] - 1, columns.shape[1]
    own = columns[:D] - centers[labels].T
    closest = np.einsum("ij,ij->j", own, own)
    empty = np.flatnonzero(counts == 0)
    farthest = np.argsort(closest)[::-1][: empty.size]
    for k, row in zip(empty, farthest):
        if closest[row] <= 0:  # every remaining row sits on its centre (repeated points): nothing to take
            break
        x = columns[:D, row]
        old = labels[row]
        counts[old] -= 1
        sums[old] -= x
        counts[k], sums[k] = 1, x
        labels[row] = k


def kmeans_labels(X, n_clusters, random_state, *, max_iter=300):
    """Labels of a k-means fit for the estimator's ``init_params="fast-kmeans"``: greedy k-means++, then Lloyd.

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
    D = X.shape[1]
    columns = _centred_columns(X, _mean_rows(X))
    sq_norms = _sq_norms(columns)
    # the mean per-feature variance is the mean squared distance from the mean row, over D
    tol = RELATIVE_TOL * float(sq_norms.mean()) / D
    seeds = _greedy_seeds(columns, n_clusters, random_state, None, sq_norms)
    _, labels, _ = _lloyd(columns, columns[:D, seeds].T, max_iter, tol)
    n_distinct = np.count_nonzero(np.bincount(labels, minlength=n_clusters))
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({n_clusters}). "
            "Possibly due to duplicate points in X.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return labels
