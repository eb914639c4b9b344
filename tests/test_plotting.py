import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Ellipse

import gmmlab
from gmmlab.datasets import THREE_CLUSTERS


def test_points_take_the_colour_of_their_responsibilities():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    resp = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    ax = gmmlab.plot_responsibilities(X, resp, ax=plt.figure().gca())
    colours = ax.collections[0].get_facecolors()[:, :3]
    c0, c1 = np.array(to_rgb(gmmlab.plotting.PALETTE[0])), np.array(to_rgb(gmmlab.plotting.PALETTE[1]))
    np.testing.assert_allclose(colours, [c0, c1, (c0 + c1) / 2], atol=1e-6)


def test_ellipses_follow_the_covariance():
    ax = gmmlab.plot_ellipses(THREE_CLUSTERS.means, THREE_CLUSTERS.covariances, ax=plt.figure().gca(), n_std=[2])
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 3
    for ellipse, mean, cov in zip(ellipses, THREE_CLUSTERS.means, THREE_CLUSTERS.covariances):
        np.testing.assert_allclose(ellipse.center, mean)
        eigenvalues = np.linalg.eigvalsh(cov)
        np.testing.assert_allclose(sorted([ellipse.width, ellipse.height]), 4 * np.sqrt(eigenvalues))


def test_mixture_1d_sums_its_weighted_components():
    X, (weights, means, covariances) = gmmlab.textbook_example()
    ax = gmmlab.plot_mixture_1d(weights, means, covariances, ax=plt.figure().gca(), data=X)
    lines = ax.get_lines()
    components, total = lines[:3], lines[3]
    np.testing.assert_allclose(sum(line.get_ydata() for line in components), total.get_ydata())
    x = total.get_xdata()
    expected = sum(
        w * np.exp(-0.5 * (x - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
        for w, m, v in zip(weights, means.ravel(), covariances.ravel())
    )
    np.testing.assert_allclose(total.get_ydata(), expected)
    np.testing.assert_array_equal(lines[4].get_xdata(), X.ravel())


def test_density_contours_and_lower_bound():
    ax = plt.figure().gca()
    ax.set_xlim(2, 12)
    ax.set_ylim(2, 12)
    gmmlab.plot_density_contours(*THREE_CLUSTERS, ax=ax)
    assert ax.collections, "no contour drawn"
    ax = gmmlab.plot_lower_bound([-30.0, -20.0, -15.0], ax=plt.figure().gca())
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [-30, -20, -15])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])
