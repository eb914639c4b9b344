import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Ellipse

import gmmlab
from gmmlab.datasets import THREE_CLUSTERS


def test_points_take_the_colour_of_their_responsibilities():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    resp = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    ax = gmmlab.plot_responsibilities(X, resp, ax=plt.figure().gca())
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    colours = np.concatenate([c.get_facecolors()[:, :3] for c in ax.collections])[np.argsort(points[:, 0])]
    c0, c1 = np.array(to_rgb(gmmlab.plotting.PALETTE[0])), np.array(to_rgb(gmmlab.plotting.PALETTE[1]))
    np.testing.assert_allclose(colours, [c0, c1, (c0 + c1) / 2], atol=1e-6)


def grey(rgb):
    """Lightness of colours as greyscale printing shows it (Rec. 709 luma), in [0, 1]."""
    return np.asarray(rgb)[..., :3] @ [0.2126, 0.7152, 0.0722]


def marker_of(collection):
    return tuple(np.round(collection.get_paths()[0].vertices, 3).ravel())


def assert_apart_in_greyscale(ax, X, owner):
    """Points of different components (owner[n]) differ in greyscale: by marker, or by at least 0.15 in grey."""
    looks = {}
    for collection in ax.collections:
        for point, face in zip(collection.get_offsets(), collection.get_facecolors()):
            # 1-D data is drawn along the horizontal axis
            n = int(np.flatnonzero(np.all(np.isclose(X[:, :2], point[: X.shape[1]]), axis=1))[0])
            looks.setdefault(owner[n], set()).add((marker_of(collection), round(float(grey(face)), 2)))
    assert len(looks) >= 3
    for k in looks:
        for j in looks:
            if k < j:
                for marker_k, grey_k in looks[k]:
                    for marker_j, grey_j in looks[j]:
                        assert marker_k != marker_j or abs(grey_k - grey_j) >= 0.15, (k, j, grey_k, grey_j)


def test_components_stay_apart_in_greyscale():
    """Blue and green of the palette are nearly the same grey (0.41 and 0.44): the markers tell them apart."""
    greys = grey([to_rgb(c) for c in gmmlab.plotting.PALETTE[:3]])
    assert abs(greys[0] - greys[2]) < 0.15  # why colour alone is not enough
    X, labels = gmmlab.three_clusters(random_state=0)
    ax = gmmlab.plot_responsibilities(X, np.eye(3)[labels], ax=plt.figure().gca())
    assert_apart_in_greyscale(ax, X, labels)


@pytest.mark.parametrize("dimension", [1, 2])
def test_the_stepper_stays_readable_in_greyscale(dimension):
    """The EM stepper's frames (gmmlab.widgets.draw_iteration): its points, by their most responsible component."""
    if dimension == 1:  # the chapter's 1-D stepper: the textbook example
        X, start = gmmlab.textbook_example()
    else:
        X, _ = gmmlab.three_clusters(random_state=0)
        X = X[::10]
        start = (np.full(3, 1 / 3), X[[0, 1, 2]], np.stack([np.cov(X.T)] * 3))
    run = gmmlab.run_em(X, *start, max_iter=20)
    data_ax, _ = gmmlab.widgets.draw_iteration(plt.figure().gca(), X, run, len(run.history) - 1)
    owner = gmmlab.e_step(X, *run.history[-1]).argmax(axis=1)
    assert_apart_in_greyscale(data_ax, X, owner)


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


# ------------------------------------------------------------------------------------------ the course style


def test_palette_is_okabe_ito_and_components_keep_colour_and_marker():
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert set(gmmlab.plotting.PALETTE) == okabe_ito
    assert len(set(gmmlab.plotting.MARKERS)) == len(gmmlab.plotting.MARKERS) >= len(gmmlab.plotting.PALETTE)
    np.testing.assert_allclose(gmmlab.component_colors(9)[8], gmmlab.component_colors(1)[0])  # cycled


def test_use_style_sets_the_palette_and_text_size():
    with plt.rc_context():
        gmmlab.plotting.use_style()
        cycle = [to_rgb(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
        np.testing.assert_allclose(cycle, gmmlab.component_colors(len(gmmlab.plotting.PALETTE)))
        assert plt.rcParams["font.size"] >= 12
        assert plt.rcParams["savefig.dpi"] >= 2 * plt.rcParams["figure.dpi"]
        line = plt.figure().gca().plot([0, 1])[0]
        np.testing.assert_allclose(to_rgb(line.get_color()), to_rgb(gmmlab.plotting.PALETTE[0]))


def test_plot_clusters_gives_each_cluster_its_colour_and_marker():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0], [9.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 2])
    centres = np.array([[0.5, 0.0], [5.5, 5.0], [9.0, 0.0]])
    ax = gmmlab.plotting.plot_clusters(X, labels, ax=plt.figure().gca(), centers=centres)
    assert len(ax.collections) == 3
    paths = []
    for k, points in enumerate(ax.collections):
        np.testing.assert_allclose(points.get_offsets(), X[labels == k])
        np.testing.assert_allclose(points.get_facecolors()[0, :3], gmmlab.component_colors(3)[k])
        paths.append(points.get_paths()[0].vertices.round(6).tobytes())
    assert len(set(paths)) == 3, "the three clusters share a marker shape"
    marks = [line for line in ax.get_lines() if line.get_marker() == "X"]
    np.testing.assert_allclose([m.get_xydata()[0] for m in marks], centres)


def test_means_stand_out_from_their_own_points():
    ax = gmmlab.plot_ellipses(THREE_CLUSTERS.means, THREE_CLUSTERS.covariances, ax=plt.figure().gca())
    marks = [line for line in ax.get_lines() if line.get_marker() == "X"]
    assert len(marks) == 3
    for k, mark in enumerate(marks):
        np.testing.assert_allclose(to_rgb(mark.get_markerfacecolor()), gmmlab.component_colors(3)[k])
        assert to_rgb(mark.get_markeredgecolor()) == (0.0, 0.0, 0.0)
        assert mark.get_zorder() > max(p.get_zorder() for p in ax.patches)


def test_match_components_undoes_a_relabelling():
    reference = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0], [0.0, 10.0]])
    shuffled = reference[[2, 0, 3, 1]] + 0.1
    order = gmmlab.plotting.match_components(shuffled, reference)
    np.testing.assert_allclose(shuffled[order], reference + 0.1)
    labels = np.array([0, 1, 2, 3])  # point j belongs to shuffled component j
    np.testing.assert_array_equal(np.argsort(order)[labels], [2, 0, 3, 1])
    with pytest.raises(ValueError, match="shape"):
        gmmlab.plotting.match_components(shuffled[:3], reference)


def test_counting_axes_get_integer_ticks():
    ax = gmmlab.plot_lower_bound([-30.0, -20.0, -15.0, -14.0, -13.9], ax=plt.figure().gca())
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    ax = plt.figure().gca()
    ax.plot([0, 1, 2, 3], [2.5, 0.5, 1.0, 3.0])
    gmmlab.plotting.integer_ticks(ax, "xy")
    ax.figure.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_yticks())


# ------------------------------------------------------------------------------------------ the phone layout


def contents(ax):
    """What an axes draws, in order: each line's data, each collection's points, each text, each image."""
    return ([tuple(np.ravel(line.get_xydata())) for line in ax.get_lines()],
            [tuple(np.ravel(c.get_offsets())) for c in ax.collections],
            [t.get_text() for t in ax.texts] + [ax.get_title(loc) for loc in ("left", "center")],
            [image.get_array().shape for image in ax.images], ax.get_legend() is not None)


def panels(shape, figsize, **kwargs):
    fig, axes = plt.subplots(*shape, figsize=figsize, layout="constrained", **kwargs)
    for k, ax in enumerate(np.ravel(axes)):
        ax.plot([0, 1], [k, k + 1], label="line")
        ax.scatter([k], [k])
        ax.text(0.5, 0.5, f"panel {k}", transform=ax.transAxes)
        ax.legend()
    return fig, np.ravel(axes)


@pytest.mark.parametrize("shape, figsize, phone_grid, places", [
    ((1, 4), (12, 3.8), (2, 2), [(0, 0), (0, 1), (1, 0), (1, 1)]),
    ((2, 3), (9, 6.4), (3, 2), [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]),
    ((1, 3), (10.5, 3.6), (3, 1), [(0, 0), (1, 0), (2, 0)]),
    ((1, 2), (7.2, 3.8), (1, 2), [(0, 0), (0, 1)]),  # two side by side keep their arrangement ("left", "right")
])
def test_the_phone_layout_regrids_in_reading_order_and_keeps_every_artist(shape, figsize, phone_grid, places):
    fig, axes = panels(shape, figsize, sharey=True)
    phone = gmmlab.plotting.phone_figure(fig)
    assert phone.get_size_inches()[0] == gmmlab.plotting.PHONE_WIDTH == 4.5
    assert fig.get_size_inches().tolist() == list(figsize) and axes[-1].get_subplotspec().get_geometry()[:2] == shape
    assert len(phone.axes) == len(axes)
    for ax, copy, place in zip(axes, phone.axes, places):
        spec = copy.get_subplotspec()
        assert spec.get_geometry()[:2] == phone_grid and (spec.rowspan.start, spec.colspan.start) == place
        assert contents(copy) == contents(ax)
    phone.canvas.draw()  # the copy lays out and draws
    # sharey shows the tick labels of the first panel of each row only: so does the phone layout, in its rows
    for copy in phone.axes:
        first_column = copy.get_subplotspec().colspan.start == 0
        assert copy.yaxis.get_tick_params()["labelleft"] == first_column
    plt.close(fig)
    plt.close(phone)


def test_the_phone_layout_gives_a_summary_panel_a_row_and_keeps_a_bar_under_its_picture():
    fig = plt.figure(figsize=(11, 6.2), layout="constrained")  # the small multiples of em-algorithm
    grid = fig.add_gridspec(2, 4)
    frames = [fig.add_subplot(grid[i // 3, i % 3]) for i in range(6)]
    summary = fig.add_subplot(grid[:, 3])
    phone = gmmlab.plotting.phone_figure(fig)
    spec = phone.axes[frames.index(frames[-1])].get_subplotspec()
    assert spec.get_geometry()[:2] == (4, 2) and (spec.rowspan.start, spec.colspan.start) == (2, 1)
    spec = phone.axes[fig.axes.index(summary)].get_subplotspec()
    assert (spec.rowspan.start, spec.colspan) == (3, range(0, 2))
    fig = plt.figure(figsize=(11, 3.2), layout="constrained")  # pictures with a bar under two of them
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 0.08])
    for j in range(3):
        fig.add_subplot(grid[0, j]).imshow(np.eye(3))
        if j:
            fig.add_subplot(grid[1, j]).barh(0, 1)
    phone = gmmlab.plotting.phone_figure(fig)
    rows = [ax.get_subplotspec().rowspan.start for ax in phone.axes]
    assert rows == [0, 2, 3, 4, 5] and phone.axes[0].get_subplotspec().get_geometry()[:2] == (6, 1)
    plt.close("all")


def test_a_figure_shows_its_phone_layout_in_the_svg_outputs_metadata():
    fig, _ = panels((1, 3), (10.5, 3.6))
    svg, metadata = gmmlab.plotting._svg_with_phone_layout(fig)
    phone = metadata[gmmlab.plotting.PHONE_SVG_KEY]
    assert svg.lstrip().startswith("<?xml") and phone.lstrip().startswith("<?xml")
    width = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', phone)[1])
    assert 0.9 * 4.5 * 72 < width <= (4.5 + 2 * 0.1) * 72  # drawn 4.5 inches wide, cropped with 0.1 inch margins
    fig.axes[0].xaxis.set_major_formatter(lambda x, pos: "x")  # a lambda does not pickle: no phone layout
    with pytest.warns(UserWarning, match="no phone layout"):
        assert isinstance(gmmlab.plotting._svg_with_phone_layout(fig), str)
    with pytest.raises(ValueError, match="cannot be copied"):
        gmmlab.plotting.phone_figure(fig)
    plt.close(fig)


def test_label_panels_letters_the_panels_in_order():
    fig, axes = plt.subplots(1, 3)
    axes[1].set_title("k-means", fontsize="small")
    assert gmmlab.plotting.label_panels(axes) == ["(a)", "(b)", "(c)"]
    assert [axes[0].get_title(loc="left"), axes[1].get_title(), axes[2].get_title(loc="left")] == ["(a)", "(b) k-means", "(c)"]
    assert axes[1].title.get_fontsize() < plt.rcParams["font.size"] + 1  # the title keeps its size
    with pytest.raises(ValueError, match="at most 26 panels"):
        gmmlab.plotting.label_panels([axes[0]] * 27)
    plt.close(fig)


def test_the_phone_layout_breaks_text_too_long_for_its_panel():
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.6), layout="constrained")
    axes[0].set_title("a title as long as this one fits a panel of 3.6 inches")
    axes[1].set_xlabel("an axis label of $\\lambda$ (0 = uniform, 1 = posterior)")
    axes[1].plot(["random", "random_from_data", "k-means++", "kmeans"], [1, 2, 3, 4])
    phone = gmmlab.plotting.phone_figure(fig)
    assert "\n" not in axes[0].get_title() and "\n" in phone.axes[0].get_title()
    assert phone.axes[1].get_xlabel().count("$") == 2 and "\n" in phone.axes[1].get_xlabel()  # not inside $...$
    assert phone.axes[1].xaxis.get_tick_params().get("rotation") and not axes[1].xaxis.get_tick_params().get("rotation")
    plt.close(fig)
