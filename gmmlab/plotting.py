"""Figures of the course: one style for every figure, and the plots the chapters share.

:func:`use_style` sets the style once per notebook (every chapter calls it first). Component ``k`` is drawn in
``PALETTE[k]`` with marker ``MARKERS[k]`` in every figure: the palette is Okabe and Ito's, whose colours stay
distinct under the common forms of colour blindness, and the markers tell components apart without colour.
Each plotting function draws on an Axes (the current one if none is given) and returns it.
"""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.gridspec import GridSpec
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator

from .gaussian import gaussian_log_pdf

# Okabe & Ito's colour-blind-safe palette (yellow last: it is faint on white), component k -> PALETTE[k]
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

# Figures at most 7 inches wide are shown in the book's text column at (nearly) their natural size, so 12 pt
# text stays as large as the captions' (16 px); SVG keeps them sharp at any zoom.
STYLE = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "image.cmap": "cividis",
    "font.size": 12,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.fontsize": "small",
    "legend.title_fontsize": "small",
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 200,  # raster output (PNG) at twice the screen resolution
    "svg.fonttype": "path",
    "lines.markersize": 6,
}


def use_style():
    """Apply the course's figure style; in a notebook, also show figures as SVG (and PDF for the PDF book).

    Every chapter calls this once, before its first figure. The inline backend is loaded first, since loading
    it resets the figure formats.

    A figure's SVG output also carries its phone layout (:func:`phone_figure`), drawn by the same formatter:
    the output's metadata for ``image/svg+xml`` holds it under the key ``PHONE_SVG_KEY``, as a second SVG
    document. Jupyter ignores metadata it does not know, so a notebook (on Binder, in JupyterLab) shows the
    normal figure; the book's HTML build (``tools/sphinx/phone_figures.py``) serves the phone SVG to screens
    narrower than 576 px. A figure that cannot be copied (an artist that does not pickle, such as a lambda
    tick formatter) is shown without a phone layout, with a warning.

    Returns
    -------
    None
        Updates ``matplotlib.rcParams`` with ``STYLE`` (the palette ``PALETTE`` as colour cycle, the
        ``cividis`` colour map, 12 pt text, 7 x 3.6 inch figures). In an IPython session whose backend is the
        inline one, it also sets the inline figure formats to SVG (with the phone layout in its metadata) and
        PDF; elsewhere it changes nothing else.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is not None and "inline" in mpl.get_backend():
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", "pdf")
        shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, _svg_with_phone_layout)


# The phone layout: 4.5 inches (432 px as drawn) fit a 390 px phone's column at about 83%, so 12 pt text is
# shown at about 13 px. Panels side by side: at most two on a phone.
PHONE_WIDTH = 4.5
PHONE_COLUMNS = 2
PHONE_SVG_KEY = "gmmlab-phone-svg"


def _svg_with_phone_layout(fig):
    """IPython's SVG formatter for figures: ``(svg, {PHONE_SVG_KEY: phone svg})``, see :func:`use_style`."""
    import warnings

    from IPython.core.pylabtools import print_figure
    from matplotlib_inline.config import InlineBackend

    options = InlineBackend.instance().print_figure_kwargs
    svg = print_figure(fig, "svg", **options)
    if svg is None:  # an empty figure draws nothing
        return None
    try:
        phone = phone_figure(fig)
    except _UncopyableFigure as error:  # the figure is still shown, as drawn
        warnings.warn(f"no phone layout for this figure: {error}", stacklevel=2)
        return svg
    return svg, {PHONE_SVG_KEY: print_figure(phone, "svg", **options)}


class _UncopyableFigure(ValueError):
    """A figure with an artist that does not pickle, so that no phone layout can be made of a copy."""


def phone_figure(fig, width=PHONE_WIDTH):
    """A copy of ``fig`` laid out for a phone's screen: ``width`` inches wide, same text size, at most two columns.

    The copy (a pickle round trip; ``fig`` is not changed) is drawn ``width`` inches wide with constrained layout.
    A figure whose grid has three or more columns is re-gridded in reading order (row by row, left to right)
    onto a grid of ``PHONE_COLUMNS`` columns, or one column when it has three panels (three side by side
    become three one above the other). An axes spanning the whole width, or several rows (a summary panel
    beside the others), gets a whole row, after the rows it spanned; rows of unequal heights (a panel with a
    thin bar under it) move as column stacks, so what was under a panel stays under it. Tick labels hidden
    by ``sharex``/``sharey`` come back where a panel lost the neighbour that showed them. Colorbars of a
    constrained layout, insets, legends and titles follow their axes. Figures of one or two columns keep
    their arrangement, so their "left" and "right" stay true; re-gridded ones name panels by the letters of
    :func:`label_panels`.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure as drawn for the page.
    width : float, default=PHONE_WIDTH
        The phone layout's width in inches.

    Returns
    -------
    matplotlib Figure
        The copy, not registered with pyplot; its height keeps each panel's shape (a flat figure made no
        flatter than 0.75 of its width on a phone, room for titles broken onto two lines).

    Raises
    ------
    ValueError
        If the figure cannot be copied: an artist of it does not pickle (a lambda as tick formatter, say).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 4, figsize=(12, 3.6))
    >>> phone = phone_figure(fig)
    >>> phone.get_size_inches()[0], axes[0].get_subplotspec().get_geometry()[:2]
    (np.float64(4.5), (1, 4))
    >>> phone.axes[3].get_subplotspec().get_geometry()[:2]  # the fourth panel, bottom right of a 2 x 2 grid
    (2, 2)
    >>> plt.close(fig)
    """
    import pickle

    try:
        phone = pickle.loads(pickle.dumps(fig))
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise _UncopyableFigure(f"the figure cannot be copied (pickled) for its phone layout: {error}") from error
    plt.close(phone)  # unpickling a pyplot figure registers the copy with pyplot: it must not be shown itself
    FigureCanvasAgg(phone)  # its own canvas, to measure its text (printing it as SVG swaps in the SVG canvas)
    fig_width, fig_height = fig.get_size_inches()
    if isinstance(fig.get_layout_engine(), (type(None), PlaceHolderLayoutEngine)):  # none, or tight_layout() once
        # a colorbar made without constrained layout sits on a grid of its own, which only the tight layout handles
        nested = any(not isinstance(ax.get_gridspec(), GridSpec) for ax in phone.axes if ax.get_gridspec())
        try:
            phone.set_layout_engine("tight" if nested else "constrained")
        except RuntimeError:  # a colorbar made for the tight layout
            phone.set_layout_engine("tight")
    placed = [(ax, ax.get_subplotspec()) for ax in phone.axes if ax.get_subplotspec() is not None]
    grids = {spec.get_gridspec() for _, spec in placed}
    grid = placed[0][1].get_gridspec() if placed else None
    if len(grids) != 1 or not isinstance(grid, GridSpec) or grid.get_geometry()[1] < 3:
        height = max(fig_height * width / fig_width, min(fig_height, 0.75 * width))
        phone.set_size_inches(width, height)
    else:
        heights = _regrid(phone, placed, grid, fig_width, fig_height, width)
        phone.set_size_inches(width, sum(heights))
    _fit_text(phone)
    return phone


def _fit_text(phone, passes=3):
    """Fits the text of a narrowed figure to its panels: a title or axis label longer than its axes is broken
    once onto another line at a space, and x tick labels that run into each other are turned. Each pass lays the figure out again, which makes room for the change."""
    broken = set()  # once each: breaking again narrows the panels further, which only asks for more breaks
    for _ in range(passes):
        phone.draw_without_rendering()
        renderer = phone.canvas.get_renderer()
        changed = False
        for ax in phone.axes:
            box = ax.get_window_extent(renderer)
            for text, room in [(ax.title, box.width), (ax._left_title, box.width), (ax._right_title, box.width),
                               (ax.xaxis.label, box.width), (ax.yaxis.label, box.height)]:
                if not text.get_visible() or not text.get_text() or id(text) in broken:
                    continue
                extent = text.get_window_extent(renderer)
                length = extent.height if text is ax.yaxis.label else extent.width
                if length > 1.02 * room and _break_line(text):
                    broken.add(id(text))
                    changed = True
            labels = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                             if t.get_visible() and t.get_text()), key=lambda extent: extent.x0)
            if not ax.xaxis.get_tick_params().get("rotation") and any(
                    right.x0 < left.x1 for left, right in zip(labels, labels[1:])):
                ax.tick_params(axis="x", labelrotation=30)
                changed = True
        if not changed:
            return


def _break_line(text):
    """Breaks the longest line of ``text`` at the space nearest its middle, outside ``$...$``; False if none."""
    lines = text.get_text().split("\n")
    longest = max(range(len(lines)), key=lambda i: len(lines[i]))
    line = lines[longest]
    spaces = [i for i, char in enumerate(line) if char == " " and line[:i].count("$") % 2 == 0 and 0 < i < len(line) - 1]
    if not spaces:
        return False
    cut = min(spaces, key=lambda i: abs(i - len(line) / 2))
    lines[longest:longest + 1] = [line[:cut], line[cut + 1:]]
    text.set_text("\n".join(lines))
    return True


def _regrid(phone, placed, grid, fig_width, fig_height, width):
    """Moves the axes of ``grid`` onto a grid of at most PHONE_COLUMNS columns (see phone_figure); returns
    the new rows' heights in inches."""
    n_rows, n_cols = grid.get_geometry()
    bottoms, tops, lefts, rights = grid.get_grid_positions(phone)
    row_heights = (tops - bottoms) * fig_height
    col_widths = (rights - lefts) * fig_width
    uneven = not np.allclose(row_heights, row_heights[0], rtol=0.05)
    whole_width, cells = [], []
    for ax, spec in placed:
        if len(spec.colspan) == n_cols or len(spec.rowspan) > 1 and not uneven:
            whole_width.append((spec.rowspan.stop - 1, spec.colspan.start, ax, spec))
        else:
            cells.append((ax, spec))
    # units: one panel, or (rows of unequal heights) the stack of panels of one column
    units = {}
    for ax, spec in cells:
        units.setdefault(spec.colspan.start if uneven else (spec.rowspan.start, spec.colspan.start), []).append(spec)
    cell_rows = sorted({spec.rowspan.start for spec in (s for specs in units.values() for s in specs)})
    order = sorted(units)
    columns = 1 if len(order) <= 3 and len(order) % 2 else min(PHONE_COLUMNS, n_cols - 1)
    unit_width = width / columns
    moves, heights = [], []  # (spec of the phone grid's rows, columns) for each axes

    def whole_row(spec):
        moves.append((spec, len(heights), 1, slice(0, columns)))
        heights.append(_phone_height(row_heights[spec.rowspan].sum(), col_widths[spec.colspan].sum(), width, 0.85))

    pending = sorted(whole_width, key=lambda item: item[:2])
    for position, key in enumerate(order):
        column = position % columns
        if column == 0:
            first_row = min(spec.rowspan.start for spec in units[key])
            while pending and pending[0][0] < first_row:
                whole_row(pending.pop(0)[3])
            band = len(heights)
            rows = cell_rows if uneven else [key[0]]
            widest = col_widths[key if uneven else key[1]]
            heights.extend(_phone_height(row_heights[r], widest, unit_width) for r in rows)
        for spec in units[key]:
            row = band + (cell_rows.index(spec.rowspan.start) if uneven else 0)
            moves.append((spec, row, len(spec.rowspan) if uneven else 1, slice(column, column + 1)))
    for *_, spec in pending:
        whole_row(spec)
    new_grid = phone.add_gridspec(len(heights), columns, height_ratios=heights)
    axes_of = {id(spec): ax for ax, spec in placed}
    for spec, row, span, columns_taken in moves:
        axes_of[id(spec)].set_subplotspec(new_grid[row:row + span, columns_taken])
    _show_shared_tick_labels(phone)
    return heights


def _phone_height(height, cell_width, phone_width, tallest=1.25):
    """A panel's height at ``phone_width``: its shape kept, but no flatter than 0.6 of its width (a thin bar stays
    as thin as it was drawn) and no taller than ``tallest`` times it (0.85 for a tall summary panel beside others,
    which is given a whole row)."""
    return min(max(height * phone_width / cell_width, min(height, 0.6 * phone_width)), tallest * phone_width)


def _show_shared_tick_labels(phone):
    """Tick labels of shared axes as ``sharex``/``sharey`` show them, in the phone grid: y labels on a panel with
    no sibling to its left in its row, x labels on a panel with no sibling right under it."""
    placed = [(ax, ax.get_subplotspec()) for ax in phone.axes if ax.get_subplotspec() is not None]
    for ax, spec in placed:
        y_siblings = ax.get_shared_y_axes().get_siblings(ax)
        if len(y_siblings) > 1:
            left = any(other in y_siblings and s.rowspan.start == spec.rowspan.start and s.colspan.stop <= spec.colspan.start
                       for other, s in placed)
            ax.yaxis.set_tick_params(labelleft=not left)
        x_siblings = ax.get_shared_x_axes().get_siblings(ax)
        if len(x_siblings) > 1:
            below = any(other in x_siblings and s.rowspan.start == spec.rowspan.stop and s.colspan.start == spec.colspan.start
                        for other, s in placed)
            ax.xaxis.set_tick_params(labelbottom=not below)


def label_panels(axes):
    """Letter the panels (a), (b), (c), ... in the order given, so that captions and prose can name them.

    A figure of three or more columns is re-gridded on a phone (:func:`phone_figure`), so words such as "left"
    and "right" would be wrong there; the letters are drawn in both layouts. A panel with a title gets the
    letter in front of it, one without a title gets it as a title on the left.

    Parameters
    ----------
    axes : sequence of matplotlib Axes
        The panels, in the order of the letters (reading order).

    Returns
    -------
    list of str
        The letters drawn, ``["(a)", "(b)", ...]``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 3)
    >>> axes[1].set_title("k-means")
    Text(0.5, 1.0, 'k-means')
    >>> label_panels(axes)
    ['(a)', '(b)', '(c)']
    >>> axes[1].get_title(), axes[0].get_title(loc="left")
    ('(b) k-means', '(a)')
    >>> plt.close(fig)
    """
    letters = []
    for index, ax in enumerate(np.ravel(axes)):
        if index >= 26:
            raise ValueError(f"label_panels letters at most 26 panels (a to z); got {np.size(axes)}")
        letter = f"({chr(ord('a') + index)})"
        title = ax.get_title()
        if title:
            ax.title.set_text(f"{letter} {title}")  # set_title would reset its font size
        else:
            ax.set_title(letter, loc="left")
        letters.append(letter)
    return letters


def component_colors(n_components):
    """RGB colours of K components, shape (K, 3), from the course palette (cycled).

    Parameters
    ----------
    n_components : int
        Number of components K.

    Returns
    -------
    ndarray of shape (K, 3)
        Row ``k`` is the RGB colour of ``PALETTE[k % len(PALETTE)]``, each channel in [0, 1]; after the
        eight colours of the palette the colours repeat.
    """
    return np.array([to_rgb(PALETTE[k % len(PALETTE)]) for k in range(n_components)])


def match_components(means, reference_means):
    """The order of the components of ``means`` that puts each next to its nearest reference component.

    Mixture fits and clusterings number their components arbitrarily. Drawing ``means[order]`` (and every other
    per-component array indexed the same way: responsibilities ``[:, order]``, covariances ``[order]``) gives
    component ``j`` the colour and marker of reference component ``j``, so the same cluster looks the same in
    every panel. The matching minimises the total squared distance between paired means (Hungarian method).

    Parameters
    ----------
    means : array-like of shape (K, D)
        The means to reorder, for example of a fitted mixture or a clustering.
    reference_means : array-like of shape (K, D)
        The means whose numbering (and so colours and markers) is to be kept.

    Returns
    -------
    order : ndarray of shape (K,)
        A permutation of ``0 .. K-1``: ``means[order[j]]`` is the mean paired with ``reference_means[j]``.

    Raises
    ------
    ValueError
        If ``means`` is not 2-D or ``reference_means`` does not have the same shape.
    """
    means = np.asarray(means, dtype=float)
    reference_means = np.asarray(reference_means, dtype=float)
    if means.ndim != 2 or reference_means.shape != means.shape:
        raise ValueError(
            f"means and reference_means must both have shape (K, D); got {means.shape} and {reference_means.shape}"
        )
    from scipy.optimize import linear_sum_assignment  # here, not at the top: scipy.optimize is slow to import

    cost = ((reference_means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    _, order = linear_sum_assignment(cost)
    return order


def integer_ticks(ax, axis="x"):
    """Put ticks on whole numbers only, for an axis that counts (iterations, components).

    At most six ticks, so that the labels of a narrow panel do not run into each other at the style's 12 pt.

    Parameters
    ----------
    ax : matplotlib Axes
        The Axes whose ticks to set.
    axis : {"x", "y", "xy"}, default="x"
        The axis or axes that count: each letter names one.

    Returns
    -------
    matplotlib Axes
        ``ax``, its major tick locator on the named axes replaced.
    """
    for name in axis:
        getattr(ax, f"{name}axis").set_major_locator(MaxNLocator(nbins=6, integer=True))
    return ax


def _axes(ax):
    return plt.gca() if ax is None else ax


def plot_responsibilities(X, responsibilities, ax=None, **scatter_kwargs):
    """Scatter the data, each point's colour the responsibility-weighted mix of the component colours.

    A point owned by one component takes that component's colour; a point shared half and half takes the
    blend. Each point also takes the marker of the component most responsible for it (``MARKERS[k]``), so
    the components stay apart in greyscale, where colours of similar lightness look the same. 1-D data is
    drawn along the horizontal axis.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row; only the first two coordinates are drawn (the first only, on the
        horizontal axis, when D = 1).
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, each row summing to 1, for example from ``gmmlab.e_step``.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    **scatter_kwargs : dict
        Passed to ``ax.scatter`` (the marker size ``s`` is 12 unless given); not ``c`` or ``marker``, which
        this sets.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.
    """
    ax = _axes(ax)
    X = np.asarray(X, dtype=float)
    resp = np.asarray(responsibilities, dtype=float)
    colours = np.clip(resp @ component_colors(resp.shape[1]), 0, 1)
    y = X[:, 1] if X.shape[1] > 1 else np.zeros(X.shape[0])
    scatter_kwargs.setdefault("s", 12)
    owner = resp.argmax(axis=1)
    for k in np.unique(owner):
        members = owner == k
        ax.scatter(X[members, 0], y[members], c=colours[members], marker=MARKERS[k % len(MARKERS)], **scatter_kwargs)
    return ax


def plot_clusters(X, labels, ax=None, centers=None, n_clusters=None, **scatter_kwargs):
    """Scatter 2-D data by hard cluster label: cluster k in ``PALETTE[k]`` with marker ``MARKERS[k]``.

    ``centers`` (K, 2), if given, are drawn as black crosses edged in white, visible on points of any colour.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row, D >= 2; the first two coordinates are drawn.
    labels : array-like of int, shape (N,)
        The cluster of each point, in ``0 .. K-1``.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    centers : array-like of shape (K, 2), optional
        Cluster centres to mark; not drawn by default.
    n_clusters : int, optional
        The number of clusters K, so that a cluster with no points still counts; by default
        ``labels.max() + 1``, and at least ``len(centers)`` when ``centers`` is given. Points with a label
        of ``n_clusters`` or more are not drawn.
    **scatter_kwargs : dict
        Passed to ``ax.scatter`` for every cluster (the marker size ``s`` is 8 unless given); not ``color``,
        ``marker`` or ``linewidths``, which this sets.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.
    """
    ax = _axes(ax)
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    n_clusters = int(labels.max()) + 1 if n_clusters is None else n_clusters
    if centers is not None:
        n_clusters = max(n_clusters, len(centers))
    colors = component_colors(n_clusters)
    scatter_kwargs.setdefault("s", 8)
    for k in range(n_clusters):
        members = labels == k
        if members.any():
            ax.scatter(X[members, 0], X[members, 1], color=colors[k], marker=MARKERS[k % len(MARKERS)],
                       linewidths=0, **scatter_kwargs)
    if centers is not None:
        _mark_centres(ax, np.asarray(centers, dtype=float), ["black"] * n_clusters, size=12)
    return ax


def _mark_centres(ax, centres, colors, size):
    """Thick crosses at the centres, each in its component's colour with a black edge (or black edged in
    white when the colour is black), so a centre stands out on its own points."""
    for k, centre in enumerate(centres):
        edge = "white" if np.allclose(to_rgb(colors[k]), 0) else "black"
        ax.plot(*centre[:2], marker="X", markersize=size, color=colors[k], markeredgecolor=edge,
                markeredgewidth=1.2, linestyle="none", zorder=4)


def plot_ellipses(means, covariances, ax=None, n_std=(1.0, 2.0), colors=None, **patch_kwargs):
    """Draw each 2-D component as ellipses at ``n_std`` standard deviations, and mark its mean.

    The mean is a thick cross in the component's colour with a black edge, visible on the component's own points.
    The ellipse axes are the covariance's eigenvectors with half-lengths ``n_std * sqrt(eigenvalue)``.

    Parameters
    ----------
    means : array-like of shape (K, D)
        Component means, D >= 2; the first two coordinates are drawn.
    covariances : array-like of shape (K, D, D)
        Component covariances; the top-left 2 x 2 block of each (the covariance of the first two
        coordinates) is drawn.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    n_std : float or sequence of float, default=(1.0, 2.0)
        The number of standard deviations of each ellipse; one ellipse per value.
    colors : sequence of K matplotlib colours, optional
        The colour of each component; the course palette (``component_colors(K)``) by default.
    **patch_kwargs : dict
        Passed to each ``matplotlib.patches.Ellipse`` (line width ``lw`` 1.5 and ``zorder`` 3 unless given);
        not ``fill`` or ``edgecolor``, which this sets.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on, its view rescaled to the ellipses.
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
    _mark_centres(ax, means, colors, size=10)
    ax.autoscale_view()
    return ax


def plot_density_contours(weights, means, covariances, ax=None, levels=8, resolution=150, limits=None, **kwargs):
    """Contours of the 2-D mixture density over ``limits`` ((xmin, xmax), (ymin, ymax)) or the current view.

    Parameters
    ----------
    weights : array-like of shape (K,)
        Mixture weights, non-negative and summing to 1.
    means : array-like of shape (K, 2)
        Component means.
    covariances : array-like of shape (K, 2, 2)
        Component covariances, each symmetric positive definite.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    levels : int or array-like, default=8
        Passed to ``ax.contour``: the number of contour levels, or the density values to draw.
    resolution : int, default=150
        The density is evaluated on a grid of ``resolution`` x ``resolution`` points.
    limits : ((xmin, xmax), (ymin, ymax)), optional
        The region to evaluate the density over; the current limits of ``ax`` by default, so draw the data
        first.
    **kwargs : dict
        Passed to ``ax.contour`` (``colors`` "0.3" and ``linewidths`` 0.8 unless given).

    Returns
    -------
    matplotlib Axes
        The Axes drawn on.
    """
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

    Parameters
    ----------
    weights : array-like of shape (K,)
        Mixture weights :math:`\pi_k`.
    means : array-like of shape (K,), (K, 1) or (K, 1, 1)
        Component means :math:`\mu_k`.
    variances : array-like of shape (K,), (K, 1) or (K, 1, 1)
        Component variances :math:`\sigma_k^2`, positive.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    data : array-like of shape (N,) or (N, 1), optional
        Data points to draw on the horizontal axis; none by default.
    x : array of shape (M,), optional
        The points at which the densities are drawn; by default 600 points spanning 3.5 standard deviations
        of the widest component around every mean (and the data, with a margin of 1).
    show_components : bool, default=True
        Draw the weighted components as well as the mixture.

    Returns
    -------
    matplotlib Axes
        The Axes drawn on, its axes labelled; every curve (and the data) carries a label for ``ax.legend()``.
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
    """Plot a lower bound (or log-likelihood) against the EM iteration, starting at iteration 0.

    Parameters
    ----------
    values : array-like of shape (T + 1,)
        The value at each iteration, ``values[0]`` at the initialisation, for example
        ``run_em(...).log_likelihoods``.
    ax : matplotlib Axes, optional
        The Axes to draw on; the current Axes by default.
    label : str, optional
        The line's label in a legend.
    **kwargs : dict
        Passed to ``ax.plot`` (``marker`` "o" and ``markersize`` 3 unless given).

    Returns
    -------
    matplotlib Axes
        The Axes drawn on, with whole-number iteration ticks and labelled axes.
    """
    ax = _axes(ax)
    values = np.asarray(values, dtype=float)
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("markersize", 3)
    ax.plot(np.arange(len(values)), values, label=label, **kwargs)
    integer_ticks(ax)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("lower bound")
    return ax
