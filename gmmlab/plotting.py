"""Figures of the course. Each function draws on an Axes (a new one if none is given) and returns it."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Ellipse

from .gaussian import gaussian_log_pdf

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def component_colors(n_components):
    """RGB colours of K components, shape (K, 3), from a fixed palette (cycled)."""
    return np.array([to_rgb(PALETTE[k % len(PALETTE)]) for k in range(n_components)])


def _axes(ax):
    return plt.gca() if ax is None else ax


def plot_responsibilities(X, responsibilities, ax=None, **scatter_kwargs):
    """Scatter the data, each point's colour the responsibility-weighted mix of the component colours.

    A point owned by one component takes that component's colour; a point shared half and half takes the
    blend. 1-D data is drawn along the horizontal axis.
    """
    ax = _axes(ax)
    X = np.asarray(X, dtype=float)
    resp = np.asarray(responsibilities, dtype=float)
    colours = np.clip(resp @ component_colors(resp.shape[1]), 0, 1)
    y = X[:, 1] if X.shape[1] > 1 else np.zeros(X.shape[0])
    scatter_kwargs.setdefault("s", 12)
    ax.scatter(X[:, 0], y, c=colours, **scatter_kwargs)
    return ax


def plot_ellipses(means, covariances, ax=None, n_std=(1.0, 2.0), colors=None, **patch_kwargs):
    """Draw each 2-D component as ellipses at ``n_std`` standard deviations, and mark its mean.

    The ellipse axes are the covariance's eigenvectors with half-lengths ``n_std * sqrt(eigenvalue)``.
    """
    ax = _axes(ax)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    colors = component_colors(len(means)) if colors is None else colors
    patch_kwargs.setdefault("lw", 1.5)
    patch_kwargs.setdefault("zorder", 3)  # above scatter points, which share the component colours
    for k, (mean, cov) in enumerate(zip(means, covariances)):
        eigenvalues, eigenvectors = np.linalg.eigh(cov[:2, :2])
        angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
        for scale in np.atleast_1d(n_std):
            width, height = 2 * scale * np.sqrt(np.maximum(eigenvalues[::-1], 0))
            ax.add_patch(
                Ellipse(mean[:2], width, height, angle=angle, fill=False, edgecolor=colors[k], **patch_kwargs)
            )
        ax.plot(*mean[:2], marker="x", color=colors[k], markersize=9, mew=2, zorder=patch_kwargs["zorder"])
    ax.autoscale_view()
    return ax


def plot_density_contours(weights, means, covariances, ax=None, levels=8, resolution=150, limits=None, **kwargs):
    """Contours of the 2-D mixture density over ``limits`` ((xmin, xmax), (ymin, ymax)) or the current view."""
    ax = _axes(ax)
    if limits is None:
        limits = (ax.get_xlim(), ax.get_ylim())
    xs = np.linspace(*limits[0], resolution)
    ys = np.linspace(*limits[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    density = sum(w * np.exp(gaussian_log_pdf(points, m, c)) for w, m, c in zip(weights, means, covariances))
    kwargs.setdefault("colors", "0.3")
    kwargs.setdefault("linewidths", 0.8)
    ax.contour(grid_x, grid_y, density.reshape(grid_x.shape), levels=levels, **kwargs)
    return ax


def plot_mixture_1d(weights, means, variances, ax=None, data=None, x=None, show_components=True):
    r"""Plot a 1-D mixture density (solid) with its weighted components :math:`\pi_k\mathcal{N}(x\mid\mu_k,\sigma_k^2)` (dashed).

    ``means`` and ``variances`` may have shape (K,), (K, 1) or (K, 1, 1). ``data``, if given, is drawn as
    discs on the horizontal axis.
    """
    ax = _axes(ax)
    weights = np.ravel(weights)
    means = np.ravel(means)
    variances = np.ravel(variances)
    if x is None:
        spread = 3.5 * np.sqrt(variances.max())
        low, high = means.min() - spread, means.max() + spread
        if data is not None:
            low, high = min(low, np.min(data) - 1), max(high, np.max(data) + 1)
        x = np.linspace(low, high, 600)
    components = weights[:, None] * np.exp(
        -0.5 * (x[None, :] - means[:, None]) ** 2 / variances[:, None]
    ) / np.sqrt(2 * np.pi * variances[:, None])
    colors = component_colors(len(weights))
    if show_components:
        for k in range(len(weights)):
            ax.plot(x, components[k], "--", color=colors[k], zorder=3, label=rf"$\pi_{k + 1}\mathcal{{N}}(x\mid\mu_{k + 1},\sigma_{k + 1}^2)$")
    # The mixture goes under the dashed components: where they do not overlap it would hide them.
    ax.plot(x, components.sum(axis=0), color="black", lw=2, zorder=2, label="mixture $p(x)$")
    if data is not None:
        ax.plot(np.ravel(data), np.zeros(np.size(data)), "o", color="0.2", markersize=7, clip_on=False, label="data")
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    return ax


def plot_lower_bound(values, ax=None, label=None, **kwargs):
    """Plot a lower bound (or log-likelihood) against the EM iteration, starting at iteration 0."""
    ax = _axes(ax)
    values = np.asarray(values, dtype=float)
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("markersize", 3)
    ax.plot(np.arange(len(values)), values, label=label, **kwargs)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("lower bound")
    return ax
