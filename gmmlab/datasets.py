"""The course's data: the textbook's 1-D example, the seed blog's 2-D clusters, Old Faithful, and sampling."""

import csv
from importlib import resources
from typing import NamedTuple

import numpy as np

from ._checks import check_covariances, check_means, check_weights


class Mixture(NamedTuple):
    """Parameters of a Gaussian mixture with full covariances; unpack it into ``(weights, means, covariances)``."""

    weights: np.ndarray
    """Mixture weights, shape (K,), on the probability simplex."""
    means: np.ndarray
    """Component means, shape (K, D)."""
    covariances: np.ndarray
    """Component covariances, shape (K, D, D), each symmetric positive definite."""


class TextbookExample(NamedTuple):
    """The running example of *Mathematics for Machine Learning*, ch. 11: seven points and a 3-component start."""

    X: np.ndarray
    """The seven data points, shape (7, 1)."""
    initial: Mixture
    """The starting mixture, with K = 3 and D = 1."""


def textbook_example():
    """Data {-3, -2.5, -1, 0, 2, 4, 5} and the initial mixture N(-4, 1), N(0, 0.2), N(8, 3), equal weights.

    The second parameter of each Gaussian is a variance.

    Returns
    -------
    TextbookExample
        ``X`` of shape (7, 1) and ``initial``, a :class:`gmmlab.Mixture` with K = 3 and D = 1.

    Examples
    --------
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> X.ravel()
    array([-3. , -2.5, -1. ,  0. ,  2. ,  4. ,  5. ])
    >>> initial.covariances.ravel()
    array([1. , 0.2, 3. ])
    """
    X = np.array([-3.0, -2.5, -1.0, 0.0, 2.0, 4.0, 5.0])[:, None]
    initial = Mixture(
        weights=np.full(3, 1.0 / 3.0),
        means=np.array([[-4.0], [0.0], [8.0]]),
        covariances=np.array([[[1.0]], [[0.2]], [[3.0]]]),
    )
    return TextbookExample(X, initial)


# What Deisenroth, Faisal and Ong print for this example (Mathematics for Machine Learning, chapter 11),
# to the precision they print: quoted, so that the book and its checks cite one transcription. The second
# parameter of each Gaussian is a variance.
TEXTBOOK_PUBLISHED = {
    "log_likelihood": (-28.3, -14.4),  # at the initial mixture, and after one EM cycle
    "responsibilities": (  # at the initial mixture, one row per data point
        (1.0, 0.0, 0.0),
        (1.0, 0.0, 0.0),
        (0.057, 0.943, 0.0),
        (0.001, 0.999, 0.0),
        (0.0, 0.066, 0.934),
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 1.0),
    ),
    "n_k": (2.058, 2.008, 2.934),
    "one_cycle": {"means": (-2.7, -0.4, 3.7), "variances": (0.14, 0.44, 1.53), "weights": (0.29, 0.29, 0.42)},
    "converged": {"weights": (0.29, 0.28, 0.43), "means": (-2.75, -0.50, 3.64), "variances": (0.06, 0.25, 1.63)},
}

# The lower bound the seed blog post prints for its own, unseeded sample of the 2-D data (quoted; a new sample
# cannot reproduce it).
BLOG_PUBLISHED_LOWER_BOUND = -3923.77

# The generating mixture of the seed blog post's 2-D data: 320, 170 and 510 points.
THREE_CLUSTERS = Mixture(
    weights=np.array([320, 170, 510]) / 1000,
    means=np.array([[5.0, 5.0], [6.5, 8.0], [9.5, 7.5]]),
    covariances=np.array([[[1.0, 0.0], [0.0, 0.7]], [[2.0, -0.7], [-0.7, 1.0]], [[0.7, 0.9], [0.9, 5.0]]]),
)
THREE_CLUSTERS_SIZES = (320, 170, 510)


def three_clusters(random_state=0):
    """A seeded sample from the seed blog's three 2-D Gaussians: exactly 320, 170 and 510 points.

    The blog drew its sample without a seed; this is a new sample from the same three Gaussians, whose
    parameters are ``gmmlab.datasets.THREE_CLUSTERS``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator, default=0
        Seed or generator; the book uses the default.

    Returns
    -------
    X : ndarray of shape (1000, 2)
        The points, in blocks of 320, 170 and 510 by generating component.
    labels : ndarray of int of shape (1000,)
        The component that generated each point.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X, labels = gmmlab.three_clusters()
    >>> X.shape, np.bincount(labels)
    ((1000, 2), array([320, 170, 510]))
    """
    rng = np.random.default_rng(random_state)
    parts, labels = [], []
    for k, size in enumerate(THREE_CLUSTERS_SIZES):
        parts.append(rng.multivariate_normal(THREE_CLUSTERS.means[k], THREE_CLUSTERS.covariances[k], size))
        labels.append(np.full(size, k))
    return np.vstack(parts), np.concatenate(labels)


def sample_mixture(n_samples, weights, means, covariances, random_state=None):
    r"""Ancestral sampling from a Gaussian mixture (:eq:`eq-ancestral-sampling`).

    For each point, first draw its component :math:`z_n \sim \mathrm{Categorical}(\boldsymbol\pi)`, then
    :math:`\mathbf{x}_n \sim \mathcal{N}(\boldsymbol\mu_{z_n}, \boldsymbol\Sigma_{z_n})`.

    Parameters
    ----------
    n_samples : int
        Number of points to draw, at least 1.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator for the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, D)
        The points, in the order drawn.
    z : ndarray of int of shape (n_samples,)
        The latent component of each point.

    Examples
    --------
    >>> import gmmlab
    >>> X, z = gmmlab.sample_mixture(5, [0.5, 0.5], [[0.0], [10.0]], [[[1.0]], [[1.0]]], random_state=0)
    >>> X.shape, z.shape
    ((5, 1), (5,))
    """
    weights = check_weights(weights)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means must have shape (K, D); got shape {means.shape}")
    means = check_means(means, weights.shape[0], means.shape[1])
    covariances = check_covariances(covariances, weights.shape[0], means.shape[1])
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    rng = np.random.default_rng(random_state)
    z = rng.choice(weights.shape[0], size=n_samples, p=weights)
    # x = mu + L e with L L^T = Sigma and e standard normal.
    factors = np.linalg.cholesky(covariances)
    noise = rng.standard_normal((n_samples, means.shape[1]))
    X = means[z] + np.einsum("nij,nj->ni", factors[z], noise)
    return X, z


def old_faithful():
    """Old Faithful geyser eruptions (272 rows; public domain, from R's ``datasets``).

    Returns
    -------
    X : ndarray of shape (272, 2)
        Column 0: eruption time in minutes; column 1: waiting time to the next eruption in minutes.

    Examples
    --------
    >>> import gmmlab
    >>> gmmlab.old_faithful().shape
    (272, 2)
    """
    with resources.files("gmmlab").joinpath("data/old_faithful.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[float(r["eruptions"]), float(r["waiting"])] for r in rows])
