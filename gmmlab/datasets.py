"""The course's data: the textbook's 1-D example, the seed blog's 2-D clusters, Old Faithful, and sampling."""

import csv
from importlib import resources
from typing import NamedTuple

import numpy as np

from ._checks import check_covariances, check_means, check_weights


class Mixture(NamedTuple):
    """Parameters of a Gaussian mixture with full covariances."""

    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # (K, D, D)


class TextbookExample(NamedTuple):
    """The running example of *Mathematics for Machine Learning*, ch. 11: seven points and a 3-component start."""

    X: np.ndarray  # (7, 1)
    initial: Mixture


def textbook_example():
    """Data {-3, -2.5, -1, 0, 2, 4, 5} and the initial mixture N(-4, 1), N(0, 0.2), N(8, 3), equal weights.

    The second parameter of each Gaussian is a variance. Returns a :class:`gmmlab.datasets.TextbookExample` with ``X`` of
    shape (7, 1) and ``initial`` as full-covariance parameters (K = 3, D = 1).
    """
    X = np.array([-3.0, -2.5, -1.0, 0.0, 2.0, 4.0, 5.0])[:, None]
    initial = Mixture(
        weights=np.full(3, 1.0 / 3.0),
        means=np.array([[-4.0], [0.0], [8.0]]),
        covariances=np.array([[[1.0]], [[0.2]], [[3.0]]]),
    )
    return TextbookExample(X, initial)


# The generating mixture of the seed blog post's 2-D data: 320, 170 and 510 points.
THREE_CLUSTERS = Mixture(
    weights=np.array([320, 170, 510]) / 1000,
    means=np.array([[5.0, 5.0], [6.5, 8.0], [9.5, 7.5]]),
    covariances=np.array([[[1.0, 0.0], [0.0, 0.7]], [[2.0, -0.7], [-0.7, 1.0]], [[0.7, 0.9], [0.9, 5.0]]]),
)
THREE_CLUSTERS_SIZES = (320, 170, 510)


def three_clusters(random_state=0):
    """The seed blog's 2-D data: exactly 320, 170 and 510 points from its three Gaussians, seeded.

    Returns
    -------
    X : array of shape (1000, 2)
    labels : int array of shape (1000,), the component that generated each point
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

    Returns
    -------
    X : array of shape (n_samples, D), in the order drawn
    z : int array of shape (n_samples,), the latent component of each point
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
    X : array of shape (272, 2)
        Column 0: eruption time in minutes; column 1: waiting time to the next eruption in minutes.
    """
    with resources.files("gmmlab").joinpath("data/old_faithful.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[float(r["eruptions"]), float(r["waiting"])] for r in rows])
