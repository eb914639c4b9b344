"""k-means: Lloyd's algorithm with k-means++ seeding and restarts."""

from typing import NamedTuple

import numpy as np

from ._checks import check_data, check_n_components


def _squared_distances(X, centers):
    """Matrix of squared Euclidean distances, shape (N, K), computed from differences (no cancellation)."""
    return np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)


def assign_clusters(X, centers):
    r"""Assignment step: each point goes to its nearest centre.

    Implements :eq:`eq-kmeans-assignment`, :math:`z_n = \arg\min_k \|\mathbf{x}_n - \boldsymbol\mu_k\|^2`
    (ties go to the lower index).

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    centers : array-like of shape (K, D)
        The cluster centres.

    Returns
    -------
    labels : ndarray of int of shape (N,)
        The index of the nearest centre of every point.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> gmmlab.assign_clusters(np.array([[0.0], [1.0], [3.0]]), np.array([[0.0], [2.5]]))
    array([0, 0, 1])
    """
    X = check_data(X)
    centers = check_data(centers, name="centers")
    if centers.shape[1] != X.shape[1]:
        raise ValueError(f"centers must have D = {X.shape[1]} columns like X; got shape {centers.shape}")
    return np.argmin(_squared_distances(X, centers), axis=1)


def update_centers(X, labels, n_clusters):
    r"""Update step: each centre moves to the mean of the points assigned to it.

    Implements :eq:`eq-kmeans-update`,
    :math:`\boldsymbol\mu_k = \frac{1}{|C_k|}\sum_{n \in C_k}\mathbf{x}_n`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    labels : array-like of int of shape (N,)
        The cluster of every point, in ``0, ..., n_clusters - 1``.
    n_clusters : int
        The number of clusters K.

    Returns
    -------
    ndarray of shape (K, D)
        The mean of the points of every cluster.

    Raises
    ------
    ValueError
        If a cluster has no points (its mean is undefined); :func:`kmeans` re-seeds such clusters instead.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> gmmlab.update_centers(np.array([[0.0], [1.0], [3.0]]), np.array([0, 0, 1]), n_clusters=2)
    array([[0.5],
           [3. ]])
    """
    X = check_data(X)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape (N,) = ({X.shape[0]},); got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_clusters):
        raise ValueError(f"labels must lie in 0..{n_clusters - 1}")
    counts = np.bincount(labels, minlength=n_clusters)
    if np.any(counts == 0):
        raise ValueError(f"cluster {int(np.flatnonzero(counts == 0)[0])} has no points, so its centre is undefined")
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, X)
    return sums / counts[:, None]


def kmeans_objective(X, centers, labels):
    r"""The distortion :math:`J = \sum_n \|\mathbf{x}_n - \boldsymbol\mu_{z_n}\|^2`.

    Implements :eq:`eq-kmeans-objective`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    centers : array-like of shape (K, D)
        The cluster centres.
    labels : array-like of int of shape (N,)
        The cluster of every point.

    Returns
    -------
    float
        The sum of squared distances of the points from their centres.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> gmmlab.kmeans_objective(np.array([[0.0], [1.0], [3.0]]), np.array([[0.5], [3.0]]), np.array([0, 0, 1]))
    0.5
    """
    X = check_data(X)
    centers = np.asarray(centers, dtype=np.float64)
    labels = np.asarray(labels)
    return float(np.sum((X - centers[labels]) ** 2))


def kmeans_plusplus(X, n_clusters, random_state=None):
    """k-means++ seeding (Arthur & Vassilvitskii, 2007).

    The first centre is a data point drawn uniformly; each further centre is a data point drawn with
    probability proportional to its squared distance from the nearest centre chosen so far.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    n_clusters : int
        The number of centres K, with 1 <= K <= N.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for the random draws.

    Returns
    -------
    centers : ndarray of shape (K, D)
        The chosen data points.
    indices : ndarray of int of shape (K,)
        The rows of ``X`` chosen.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> centers, indices = gmmlab.kmeans_plusplus(X, 2, random_state=0)
    >>> np.sort(centers.ravel()).round()  # one seed in each group
    array([ 0., 10.])
    """
    X = check_data(X)
    check_n_components(n_clusters, X.shape[0])
    rng = np.random.default_rng(random_state)
    indices = [int(rng.integers(X.shape[0]))]
    closest = np.sum((X - X[indices[0]]) ** 2, axis=1)
    for _ in range(1, n_clusters):
        total = closest.sum()
        if total > 0:
            index = int(rng.choice(X.shape[0], p=closest / total))
        else:  # every point coincides with a centre: pick any point not yet chosen
            index = int(rng.choice(np.setdiff1d(np.arange(X.shape[0]), indices)))
        indices.append(index)
        closest = np.minimum(closest, np.sum((X - X[index]) ** 2, axis=1))
    indices = np.array(indices)
    return X[indices].copy(), indices


class KMeansResult(NamedTuple):
    """What :func:`kmeans` returns for the best of its restarts."""

    centers: np.ndarray
    """Final centres of the best restart, shape (K, D)."""
    labels: np.ndarray
    """Cluster of every point, shape (N,)."""
    objective: float
    """Final distortion :math:`J` of the best restart."""
    history: list
    """Objective after every iteration of the best restart, after its assignment step (non-increasing).

    It starts after the first iteration: unlike :attr:`gmmlab.EMResult.log_likelihoods`, it does not
    include the value at the starting centres."""
    n_iter: int
    """Number of iterations of the best restart."""
    objectives: list
    """Final objective of every restart, in the order they ran."""


def _lloyd(X, centers, max_iter, tol, rng):
    history = []
    labels = assign_clusters(X, centers)
    n_clusters = centers.shape[0]
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        counts = np.bincount(labels, minlength=n_clusters)
        distances = np.sum((X - centers[labels]) ** 2, axis=1)
        for k in np.flatnonzero(counts == 0):
            # An empty cluster takes the point that is currently worst served, which lowers J. That point then
            # sits on its own new centre (distance 0), so a second empty cluster takes another one, and no
            # cluster gives up its only point.
            far = int(np.argmax(np.where(counts[labels] > 1, distances, -np.inf)))
            counts[labels[far]] -= 1
            counts[k] += 1
            labels[far], distances[far] = k, 0.0
        new_centers = update_centers(X, labels, n_clusters)
        shift = np.sum((new_centers - centers) ** 2)
        centers = new_centers
        labels = assign_clusters(X, centers)
        history.append(kmeans_objective(X, centers, labels))
        if shift <= tol:
            break
    return centers, labels, history, n_iter


def kmeans(X, n_clusters, *, n_init=10, max_iter=300, tol=0.0, init="k-means++", random_state=None):
    """Lloyd's algorithm, restarted ``n_init`` times; the restart with the lowest objective wins.

    Alternates :func:`assign_clusters` (:eq:`eq-kmeans-assignment`) and :func:`update_centers`
    (:eq:`eq-kmeans-update`); neither step can increase :eq:`eq-kmeans-objective`, so each restart stops
    when the centres move by no more than ``tol`` (squared distance summed over centres) or after
    ``max_iter`` iterations.

    A cluster left empty by an assignment step is handed, before the update, the point farthest from its
    centre among the clusters that hold at least two points, which never increases the objective (see the
    book's theorem on Lloyd's algorithm).

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    n_clusters : int
        The number of clusters K, with 1 <= K <= N.
    n_init : int, default=10
        Number of restarts; ignored (one run) when ``init`` is an array.
    max_iter : int, default=300
        Largest number of iterations per restart.
    tol : float, default=0.0
        Stop when the centres move by at most this much (squared distance summed over the centres).
    init : {"k-means++", "random"} or array-like of shape (K, D), default="k-means++"
        k-means++ seeding, K distinct data points drawn uniformly, or the starting centres themselves.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for the random starts.

    Returns
    -------
    KMeansResult
        The best restart, with the final objective of every restart in ``objectives``.

    Raises
    ------
    ValueError
        If ``n_clusters`` is not between 1 and N, ``n_init`` is below 1, or ``init`` is not recognised.

    Examples
    --------
    The exercise "k-means by hand" of the book:

    >>> import numpy as np
    >>> import gmmlab
    >>> x = np.array([[0.0], [1.0], [3.0], [8.0], [9.0], [10.0]])
    >>> result = gmmlab.kmeans(x, 2, init=np.array([[0.0], [1.0]]))
    >>> result.centers.ravel().round(3), round(result.objective, 3)
    (array([1.333, 9.   ]), 6.667)
    """
    X = check_data(X)
    check_n_components(n_clusters, X.shape[0])
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1; got {n_init}")
    rng = np.random.default_rng(random_state)
    if not isinstance(init, str):
        init_centers = np.asarray(init, dtype=np.float64)
        if init_centers.shape != (n_clusters, X.shape[1]):
            raise ValueError(f"init must have shape (K, D) = ({n_clusters}, {X.shape[1]}); got {init_centers.shape}")
        n_init = 1
    elif init not in ("k-means++", "random"):
        raise ValueError(f"init must be 'k-means++', 'random' or an array of centres; got {init!r}")
    best = None
    objectives = []
    for _ in range(n_init):
        if not isinstance(init, str):
            centers = init_centers.copy()
        elif init == "k-means++":
            centers, _ = kmeans_plusplus(X, n_clusters, random_state=rng)
        else:
            centers = X[rng.choice(X.shape[0], size=n_clusters, replace=False)].copy()
        centers, labels, history, n_iter = _lloyd(X, centers, max_iter, tol, rng)
        objective = kmeans_objective(X, centers, labels)
        objectives.append(objective)
        if best is None or objective < best.objective:
            best = KMeansResult(centers, labels, objective, history, n_iter, objectives)
    return best._replace(objectives=objectives)
