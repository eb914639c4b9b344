"""Tests of gmmlab.widgets: the slider really redraws the iteration it points at.

Every test reads back what was drawn (ellipse centres, line data, point colours) and compares it with the
EM trajectory computed independently by gmmlab.run_em.
"""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

import gmmlab  # noqa: E402
import gmmlab.widgets as gw  # noqa: E402
from gmmlab.plotting import component_colors  # noqa: E402


@pytest.fixture(scope="module")
def clusters():
    """250 points of the seed blog's data and a seeded random start (3 components)."""
    X, _ = gmmlab.three_clusters(random_state=1)
    X = X[::4]  # 250 points keep the tests fast
    rng = np.random.default_rng(0)
    means = rng.multivariate_normal(X.mean(axis=0), np.diag(X.var(axis=0)), size=3)
    return X, (np.full(3, 1 / 3), means, np.tile(np.eye(2), (3, 1, 1)))


@pytest.fixture(scope="module")
def stepper_2d(clusters):
    X, initial = clusters
    return gw.em_stepper(X, *initial, max_iter=12)


@pytest.fixture(scope="module")
def stepper_1d():
    X, initial = gmmlab.textbook_example()
    return gw.em_stepper(X, *initial, max_iter=20)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def ellipse_centres(ax):
    """Distinct centres of the ellipses drawn on ``ax``, in drawing order."""
    centres = []
    for patch in ax.patches:
        if isinstance(patch, Ellipse):
            centre = tuple(np.round(patch.get_center(), 12))
            if centre not in centres:
                centres.append(centre)
    return np.array(centres)


def bound_line(ax):
    (line,) = ax.get_lines()
    return line.get_xdata(), line.get_ydata()


def point_colours(ax, responsibilities):
    """The points' colours and positions, in the order of the data: plot_responsibilities draws one collection
    per most responsible component (with that component's marker), in the order of the components."""
    owner = responsibilities.argmax(axis=1)
    drawn = np.concatenate([np.flatnonzero(owner == k) for k in np.unique(owner)])
    assert len(ax.collections) == len(np.unique(owner))
    colours = np.concatenate([points.get_facecolors()[:, :3] for points in ax.collections])
    offsets = np.concatenate([points.get_offsets() for points in ax.collections])
    in_data_order = np.argsort(drawn)
    return colours[in_data_order], offsets[in_data_order]


# ------------------------------------------------------------------------------------------ 2-D


def test_initial_frame_is_iteration_zero(stepper_2d):
    run = stepper_2d.run
    assert stepper_2d.slider.value == 0
    assert stepper_2d.iteration == 0
    np.testing.assert_allclose(ellipse_centres(stepper_2d.axes[0]), run.history[0][1])


@pytest.mark.parametrize("iteration", [3, 1, 12])
def test_slider_redraws_2d(stepper_2d, clusters, iteration):
    X, _ = clusters
    run = stepper_2d.run
    assert run.n_iter == 12 and not run.converged  # the trajectory really has 13 frames

    stepper_2d.slider.value = iteration
    data_ax, bound_ax = stepper_2d.axes

    # Ellipses are centred on this iteration's means, not on any other iteration's.
    weights, means, covariances = run.history[iteration]
    centres = ellipse_centres(data_ax)
    np.testing.assert_allclose(centres, means)
    assert not np.allclose(centres, run.history[iteration - 1][1])
    # Each component has a 1- and a 2-sd ellipse whose size follows the covariance's eigenvalues.
    widths = sorted(p.width for p in data_ax.patches if isinstance(p, Ellipse))
    expected = sorted(2 * scale * np.sqrt(np.linalg.eigvalsh(cov)[-1]) for cov in covariances for scale in (1.0, 2.0))
    np.testing.assert_allclose(widths, expected)

    # Points are coloured by the responsibilities under these parameters.
    responsibilities = gmmlab.e_step(X, weights, means, covariances)
    colours, offsets = point_colours(data_ax, responsibilities)
    np.testing.assert_allclose(offsets, X)
    np.testing.assert_allclose(colours, np.clip(responsibilities @ component_colors(3), 0, 1), atol=1e-12)

    # The lower bound so far: iteration + 1 points, the run's log-likelihoods.
    xs, ys = bound_line(bound_ax)
    assert len(ys) == iteration + 1
    np.testing.assert_array_equal(xs, np.arange(iteration + 1))
    np.testing.assert_allclose(ys, run.log_likelihoods[: iteration + 1])
    assert np.all(np.diff(ys) >= -1e-9)  # EM never decreases it

    assert f"<b>{iteration}</b>" in stepper_2d.status.value
    assert f"{run.log_likelihoods[iteration]:.4f}" in stepper_2d.status.value


def test_output_holds_a_new_png_per_iteration(stepper_2d):
    images = []
    for iteration in (2, 5):
        stepper_2d.slider.value = iteration
        (output,) = stepper_2d.output.outputs
        assert output["output_type"] == "display_data"
        png = base64.b64decode(output["data"]["image/png"])
        assert png.startswith(b"\x89PNG")
        assert f"iteration {iteration} of 12" in output["data"]["text/plain"]
        images.append(png)
    assert images[0] != images[1]


def test_axis_limits_do_not_depend_on_the_iteration(stepper_2d):
    limits = []
    for iteration in (0, 6):
        stepper_2d.slider.value = iteration
        data_ax, bound_ax = stepper_2d.axes
        limits.append((data_ax.get_xlim(), data_ax.get_ylim(), bound_ax.get_xlim(), bound_ax.get_ylim()))
    np.testing.assert_allclose(limits[0], limits[1])


# ------------------------------------------------------------------------------------------ 1-D


@pytest.mark.parametrize("iteration", [0, 1, 5])
def test_slider_redraws_1d(stepper_1d, iteration):
    X, _ = gmmlab.textbook_example()
    run = stepper_1d.run
    stepper_1d.slider.value = iteration
    data_ax, bound_ax = stepper_1d.axes
    weights, means, variances = (np.ravel(a) for a in run.history[iteration])

    dashed = [line for line in data_ax.get_lines() if line.get_linestyle() == "--"]
    solid = [line for line in data_ax.get_lines() if line.get_linestyle() == "-"]
    assert len(dashed) == 3 and len(solid) == 1
    x = solid[0].get_xdata()
    components = weights[:, None] * np.exp(-0.5 * (x - means[:, None]) ** 2 / variances[:, None])
    components /= np.sqrt(2 * np.pi * variances[:, None])
    np.testing.assert_allclose(solid[0].get_ydata(), components.sum(axis=0))
    for k, line in enumerate(dashed):
        np.testing.assert_allclose(line.get_ydata(), components[k])
        # Each dashed curve peaks at its component's mean (to the grid spacing) ...
        assert abs(x[np.argmax(line.get_ydata())] - means[k]) <= x[1] - x[0]

    # ... and the published numbers appear: iteration 1 of the textbook example.
    if iteration == 1:
        np.testing.assert_allclose(weights, [0.29, 0.29, 0.42], atol=0.005)
        np.testing.assert_allclose(run.log_likelihoods[1], -14.4, atol=0.05)

    responsibilities = gmmlab.e_step(X, *run.history[iteration])
    colours, offsets = point_colours(data_ax, responsibilities)
    np.testing.assert_allclose(offsets[:, 0], X[:, 0])
    np.testing.assert_allclose(offsets[:, 1], 0)
    np.testing.assert_allclose(colours, np.clip(responsibilities @ component_colors(3), 0, 1), atol=1e-12)

    xs, ys = bound_line(bound_ax)
    assert len(ys) == iteration + 1
    np.testing.assert_allclose(ys, run.log_likelihoods[: iteration + 1])


def test_textbook_run_converges_to_the_published_fit(stepper_1d):
    run = stepper_1d.run
    assert run.converged and stepper_1d.slider.max == run.n_iter
    stepper_1d.slider.value = stepper_1d.slider.max
    np.testing.assert_allclose(run.weights, [0.29, 0.28, 0.43], atol=0.006)
    np.testing.assert_allclose(run.means.ravel(), [-2.75, -0.50, 3.64], atol=0.006)
    np.testing.assert_allclose(run.covariances.ravel(), [0.06, 0.25, 1.63], atol=0.006)
    solid = [line for line in stepper_1d.axes[0].get_lines() if line.get_linestyle() == "-"]
    # The tallest peak of the drawn density sits on the narrow component at -2.75.
    x, y = solid[0].get_data()
    assert abs(x[np.argmax(y)] + 2.75) < 0.05


# -------------------------------------------------------------------------------- buttons and play


def test_step_buttons_move_the_slider(clusters):
    X, initial = clusters
    stepper = gw.em_stepper(X, *initial, max_iter=3)
    assert stepper.back_button.disabled and not stepper.forward_button.disabled

    stepper.forward_button.click()
    stepper.forward_button.click()
    assert stepper.slider.value == 2 and stepper.iteration == 2
    np.testing.assert_allclose(ellipse_centres(stepper.axes[0]), stepper.run.history[2][1])

    stepper.back_button.click()
    assert stepper.slider.value == 1
    np.testing.assert_allclose(ellipse_centres(stepper.axes[0]), stepper.run.history[1][1])

    for _ in range(5):  # cannot run past the last iteration ...
        stepper.forward_button.click()
    assert stepper.slider.value == 3 and stepper.forward_button.disabled
    for _ in range(5):  # ... or before the initialisation
        stepper.back_button.click()
    assert stepper.slider.value == 0 and stepper.back_button.disabled


def test_play_drives_the_slider_and_back():
    X, initial = gmmlab.textbook_example()
    stepper = gw.em_stepper(X, *initial, max_iter=4)
    assert (stepper.play.min, stepper.play.max) == (0, stepper.slider.max)

    stepper.play.value = 3  # what the frontend does on every tick
    assert stepper.slider.value == 3 and stepper.iteration == 3
    assert len(bound_line(stepper.axes[1])[1]) == 4

    stepper.slider.value = 1  # and the play position follows a dragged slider
    assert stepper.play.value == 1
    assert len(bound_line(stepper.axes[1])[1]) == 2


# ------------------------------------------------------------------------------ small multiples


def test_draw_iteration_on_one_axes_for_small_multiples(clusters):
    X, initial = clusters
    run = gmmlab.run_em(X, *initial, max_iter=6)
    fig, axes = plt.subplots(1, 3)
    for ax, iteration in zip(axes, (0, 2, 6)):
        data_ax, bound_ax = gw.draw_iteration(ax, X, run, iteration)
        assert data_ax is ax and bound_ax is None
        np.testing.assert_allclose(ellipse_centres(ax), run.history[iteration][1])
        assert ax.get_title().startswith("initialisation" if iteration == 0 else f"iteration {iteration}:")
    # np.int64 iterations (e.g. from np.arange) are accepted.
    gw.draw_iteration(axes[0], X, run, np.int64(1))
    np.testing.assert_allclose(ellipse_centres(axes[0]), run.history[1][1])


def test_draw_iteration_redraws_on_reused_axes():
    X, initial = gmmlab.textbook_example()
    run = gmmlab.run_em(X, *initial, max_iter=5)
    fig, (ax, bound_ax) = plt.subplots(1, 2)
    gw.draw_iteration((ax, bound_ax), X, run, 4)
    gw.draw_iteration((ax, bound_ax), X, run, 2)
    assert len(ax.get_lines()) == 4  # three components and the mixture, not eight lines
    assert len(bound_line(bound_ax)[1]) == 3


# ------------------------------------------------------------------------------------- bad input


def test_bad_input_raises_value_error(clusters):
    X, initial = clusters
    weights, means, covariances = initial
    run = gmmlab.run_em(X, *initial, max_iter=2)
    fig, ax = plt.subplots()

    with pytest.raises(ValueError, match="iteration must lie in 0..2"):
        gw.draw_iteration(ax, X, run, 3)
    with pytest.raises(ValueError, match="iteration must lie"):
        gw.draw_iteration(ax, X, run, -1)
    with pytest.raises(ValueError, match="iteration must be an integer"):
        gw.draw_iteration(ax, X, run, 1.5)
    with pytest.raises(ValueError, match="iteration must be an integer"):
        gw.draw_iteration(ax, X, run, True)
    with pytest.raises(ValueError, match="D = 1 columns"):
        gw.draw_iteration(ax, X[:, :1], run, 0)
    with pytest.raises(ValueError, match="EMResult"):
        gw.draw_iteration(ax, X, (weights, means, covariances), 0)
    with pytest.raises(ValueError, match="axes must be"):
        gw.draw_iteration("not axes", X, run, 0)
    with pytest.raises(ValueError, match="axes must be"):
        gw.draw_iteration((ax, ax, ax), X, run, 0)

    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        gw.em_stepper(X, *initial, max_iter=0)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        gw.em_stepper(X, weights * 2, means, covariances)
    with pytest.raises(ValueError, match="means must have shape"):
        gw.em_stepper(X, weights, means[:, :1], covariances)
    with pytest.raises(ValueError, match="Reshape 1-D data"):
        gw.em_stepper(X[:, 0], weights, means, covariances)
    with pytest.raises(ValueError, match="interval"):
        gw.EMStepper(X, run, interval=0)

    stepper = gw.EMStepper(X, run)
    with pytest.raises(ValueError, match="iteration must lie"):
        stepper.draw(5)


# ------------------------------------------------------------------------------- without a kernel


def player_data(animation):
    """The frames, iterations and texts that the HTML stepper carries (its JSON script)."""
    import json
    import re

    markup = animation.html
    bundle = animation._repr_mimebundle_()
    assert bundle["text/html"] == markup and bundle["image/png"] == animation.last_frame
    (payload,) = re.findall(r'<script type="application/json">(.*?)</script>', markup, flags=re.S)
    return json.loads(payload.replace("<\\/", "</")), markup


def test_animation_frames_are_the_iterations_of_the_run():
    from PIL import Image

    X, initial = gmmlab.textbook_example()
    run = gmmlab.run_em(X, *initial, max_iter=100)
    data, markup = player_data(gw.em_animation(X, run, dpi=100))
    assert data["iterations"] == list(range(len(run.history)))  # a short run: every iteration
    assert len(data["frames"]) == len(data["alts"]) == len(data["status"]) == len(run.history)
    images = [base64.b64decode(frame) for frame in data["frames"]]
    assert all(image.startswith(b"\x89PNG") for image in images)
    assert len(set(images)) == len(images), "two iterations drew the same frame"
    width, _ = Image.open(__import__("io").BytesIO(images[0])).size
    assert width >= 700  # 7.2 inches at 100 dpi, less the tight margins
    for t, status in enumerate(data["status"]):
        assert f"<b>{t}</b>" in status and f"{run.log_likelihoods[t]:.4f}" in status
    # The page shows the initialisation until the slider moves, and carries its own player.
    assert data["frames"][0] in markup.split('<script type="application/json">')[0]
    assert 'type="range"' in markup and f'max="{len(run.history) - 1}"' in markup
    assert "http" not in markup.split("<script>")[1], "the player must load nothing"
    # Media without JavaScript (the PDF book) show the last iteration.
    assert data["frames"][-1] == gw.em_animation(X, run, dpi=100).last_frame


def test_animation_frames_are_drawn_by_draw_iteration():
    """The frame of iteration t is pixel for pixel what draw_iteration draws for t."""
    X, initial = gmmlab.textbook_example()
    run = gmmlab.run_em(X, *initial, max_iter=3)
    data, _ = player_data(gw.em_animation(X, run, dpi=50))
    figure, axes = gw._stepper_figure((7.2, 3.4))
    gw.draw_iteration(axes, X, run, 2, legend=True)
    assert base64.b64decode(data["frames"][2]) == gw._png(figure, 50)


def test_long_runs_show_early_iterations_and_the_last(clusters):
    assert gw._frames_to_show(5, 25) == [0, 1, 2, 3, 4]
    shown = gw._frames_to_show(58, 20)
    assert len(shown) <= 20 and shown[:10] == list(range(10)) and shown[-1] == 57
    assert shown == sorted(set(shown))
    X, initial = clusters
    run = gmmlab.run_em(X, *initial, max_iter=30)
    data, _ = player_data(gw.em_animation(X, run, max_frames=6, dpi=40))
    assert data["iterations"][0] == 0 and data["iterations"][-1] == run.n_iter and len(data["frames"]) <= 6


def test_animation_bad_input(clusters):
    X, initial = clusters
    run = gmmlab.run_em(X, *initial, max_iter=2)
    with pytest.raises(ValueError, match="max_frames must be an integer of at least 2"):
        gw.em_animation(X, run, max_frames=1)
    with pytest.raises(ValueError, match="dpi must be"):
        gw.em_animation(X, run, dpi=0)
    with pytest.raises(ValueError, match="interval must be"):
        gw.em_animation(X, run, interval=2.5)
    with pytest.raises(ValueError, match="EMResult"):
        gw.em_animation(X, initial)
    with pytest.raises(ValueError, match="D = 1 columns"):
        gw.em_animation(X[:, :1], run)
