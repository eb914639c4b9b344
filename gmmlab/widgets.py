r"""Step through a run of EM one iteration at a time.

:func:`em_stepper` runs :func:`gmmlab.run_em` once, keeps the whole trajectory, and returns an
:class:`EMStepper`: a slider over the iterations with play and step buttons, showing the data coloured
by their responsibilities, the components, and the lower bound so far. It needs a running kernel.

:func:`em_animation` draws the frames of a finished run once, up front, and returns them as a self-contained
HTML stepper (a slider, step and play buttons, a few lines of JavaScript): it works with no kernel and no
widget manager, in the static book, in an exported notebook, or in JupyterLab.

All the drawing happens in the plain function :func:`draw_iteration`, so a static page can draw the same
frames as small multiples. The figure is ordinary matplotlib rendered to PNG, so neither needs ``ipympl``
nor a particular matplotlib backend. Import it explicitly::

    import gmmlab.widgets
    gmmlab.widgets.em_stepper(X, *initial)        # with a kernel
    gmmlab.widgets.em_animation(X, gmmlab.run_em(X, *initial))   # anywhere
"""

import base64
import html
import io
import json
import numbers
import uuid

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._checks import check_data
from .em import e_step, run_em
from .plotting import plot_ellipses, plot_lower_bound, plot_mixture_1d, plot_responsibilities

__all__ = ["EMAnimation", "EMStepper", "draw_iteration", "em_animation", "em_stepper"]


# --------------------------------------------------------------------------------------------- checks


def _check_run(X, run):
    """Check that ``run`` looks like an :class:`gmmlab.EMResult` for the data ``X``; return its length."""
    history = getattr(run, "history", None)
    values = getattr(run, "log_likelihoods", None)
    if history is None or values is None:
        raise ValueError(f"run must be the EMResult returned by gmmlab.run_em; got {type(run).__name__}")
    if len(history) == 0 or len(history) != len(values):
        raise ValueError(
            f"run.history and run.log_likelihoods must be non-empty and of equal length; "
            f"got {len(history)} and {len(values)}"
        )
    n_features = np.asarray(history[0][1]).shape[1]
    if X.shape[1] != n_features:
        raise ValueError(f"X has D = {X.shape[1]} columns but the run's means have D = {n_features}")
    return len(history)


def _check_iteration(iteration, n_frames):
    if isinstance(iteration, bool) or not isinstance(iteration, numbers.Integral):
        raise ValueError(f"iteration must be an integer; got {iteration!r}")
    if not 0 <= iteration < n_frames:
        raise ValueError(f"iteration must lie in 0..{n_frames - 1} (0 is the initialisation); got {iteration}")
    return int(iteration)


def _split_axes(axes):
    """``axes`` is one Axes (data only) or a pair (data, lower bound), the second possibly None."""
    if isinstance(axes, Axes):
        return axes, None
    try:
        data_ax, bound_ax = axes
    except (TypeError, ValueError):
        raise ValueError("axes must be one matplotlib Axes or a pair (data_axes, bound_axes)") from None
    if not isinstance(data_ax, Axes) or not (bound_ax is None or isinstance(bound_ax, Axes)):
        raise ValueError("axes must be one matplotlib Axes or a pair (data_axes, bound_axes)")
    return data_ax, bound_ax


# ------------------------------------------------------------------------------------------ limits


def _padded(low, high, fraction=0.06):
    span = high - low if high > low else max(abs(low), 1.0)
    return low - fraction * span, high + fraction * span


def _grid_1d(X, run):
    """A fixed grid for 1-D plots: the data, widened to show every component of the run (within reason)."""
    data_low, data_high = float(X.min()), float(X.max())
    span = max(data_high - data_low, 1.0)
    means = np.array([np.ravel(m) for _, m, _ in run.history])
    sds = np.sqrt(np.array([np.ravel(c) for _, _, c in run.history]))
    low = max(min(data_low, float((means - 3 * sds).min())), data_low - span)
    high = min(max(data_high, float((means + 3 * sds).max())), data_high + span)
    return np.linspace(*_padded(low, high, 0.02), 600)


def _mixture_density_1d(x, weights, means, variances):
    weights, means, variances = np.ravel(weights), np.ravel(means), np.ravel(variances)
    components = weights[:, None] * np.exp(-0.5 * (x[None, :] - means[:, None]) ** 2 / variances[:, None])
    return (components / np.sqrt(2 * np.pi * variances[:, None])).sum(axis=0)


def _bound_limits(values):
    """Vertical limits for the lower bound: all values, unless the start is far below the rest.

    The first iteration usually gains far more than all later ones together; then the frame shows
    iterations 1, 2, ... and leaves the initial value below it, so the slow late climb stays visible.
    """
    if len(values) > 2:
        rest = values[1:]
        if values[1] - values[0] > rest.max() - rest.min():
            return _padded(rest.min(), rest.max(), 0.1)
    return _padded(values.min(), values.max())


# ----------------------------------------------------------------------------------------- drawing


def draw_iteration(axes, X, run, iteration, *, legend=False):
    r"""Draw iteration ``iteration`` of an EM run: the model, the data coloured by responsibility, the bound.

    The parameters drawn are :math:`\boldsymbol\theta^{(t)}`, ``run.history[t]`` (``t = 0`` is the
    initialisation). Each point is coloured by its responsibilities under :math:`\boldsymbol\theta^{(t)}`
    (:eq:`eq-responsibilities`), i.e. by the E-step that opens iteration ``t + 1``, mixing the component
    colours in proportion to :math:`r_{nk}` (:func:`gmmlab.plot_responsibilities`).

    - 1-D data: the weighted components :math:`\pi_k\mathcal{N}(x\mid\mu_k,\sigma_k^2)` (dashed) and the
      mixture density :eq:`eq-gmm-density` (solid), drawn by :func:`gmmlab.plot_mixture_1d`, with the data
      as discs on the horizontal axis.
    - 2-D data (or more: the first two coordinates): each component's mean and its 1- and 2-standard-deviation
      ellipses, drawn by :func:`gmmlab.plot_ellipses`.
    - The second panel, if given, shows the lower bound :math:`\mathcal{L}(q^{(t')},\boldsymbol\theta^{(t')})`
      for ``t' = 0 .. t`` (``t + 1`` points), with :math:`q^{(t')}` the posterior under
      :math:`\boldsymbol\theta^{(t')}`. By :eq:`eq-log-likelihood-decomposition` that bound (:eq:`eq-lower-bound`)
      equals the log-likelihood ``run.log_likelihoods[t']``, which never decreases (:eq:`eq-em-monotone`).

    Axis limits depend only on the data and the whole run, not on ``t``, so frames can be compared. When
    the first iteration gains more than all later ones together, the bound's frame starts at iteration 1
    and the initial value (below it) is written in the corner.

    Parameters
    ----------
    axes : matplotlib Axes, or a pair ``(data_axes, bound_axes)``
        The panels to draw on; they are cleared first. ``bound_axes`` may be None.
    X : array of shape (N, D)
        The data the run was fitted to.
    run : EMResult
        What :func:`gmmlab.run_em` returned.
    iteration : int
        ``0 <= iteration <= len(run.history) - 1``.
    legend : bool, default False
        Add a legend to the 1-D panel.

    Returns
    -------
    (data_axes, bound_axes)

    Raises
    ------
    ValueError
        If ``X`` does not match the run, ``iteration`` is out of range, or ``axes`` is not Axes.
    """
    X = check_data(X)
    n_frames = _check_run(X, run)
    t = _check_iteration(iteration, n_frames)
    data_ax, bound_ax = _split_axes(axes)
    weights, means, covariances = run.history[t]
    responsibilities = e_step(X, weights, means, covariances)
    log_likelihoods = np.asarray(run.log_likelihoods, dtype=float)

    data_ax.clear()
    if X.shape[1] == 1:
        grid = _grid_1d(X, run)
        top = max(_mixture_density_1d(grid, *params).max() for params in run.history)
        plot_mixture_1d(weights, means, covariances, ax=data_ax, x=grid)
        plot_responsibilities(X, responsibilities, ax=data_ax, s=55, edgecolors="0.15", zorder=3, clip_on=False)
        data_ax.set_xlim(grid[0], grid[-1])
        data_ax.set_ylim(0, 1.08 * top)
        if legend:
            data_ax.legend(fontsize="small", loc="upper right")
    else:
        plot_responsibilities(X, responsibilities, ax=data_ax, s=8)
        plot_ellipses(means, covariances, ax=data_ax)
        data_ax.set_xlim(*_padded(X[:, 0].min(), X[:, 0].max()))
        data_ax.set_ylim(*_padded(X[:, 1].min(), X[:, 1].max()))
        data_ax.set_xlabel("$x_1$")
        data_ax.set_ylabel("$x_2$")
    label = "initialisation" if t == 0 else f"iteration {t}"
    data_ax.set_title(f"{label}: log-lik. {log_likelihoods[t]:.2f}", fontsize="medium")

    if bound_ax is not None:
        bound_ax.clear()
        plot_lower_bound(log_likelihoods[: t + 1], ax=bound_ax, color="black")
        bound_ax.set_xlim(-0.5, n_frames - 0.5)
        bound_ax.set_ylim(*_bound_limits(log_likelihoods))
        if log_likelihoods[0] < bound_ax.get_ylim()[0]:
            bound_ax.annotate(
                f"initialisation: {log_likelihoods[0]:.1f}\n(below the frame)",
                xy=(0.97, 0.04), xycoords="axes fraction", ha="right", fontsize="small", color="0.35",
            )
        bound_ax.set_ylabel("lower bound = log-likelihood")
        bound_ax.set_title(f"after iteration {t}" if t else "at the initialisation", fontsize="medium")
    return data_ax, bound_ax


def _stepper_figure(figsize):
    """The stepper's figure: the data panel (3/5 of the width) and the lower bound beside it."""
    figure = Figure(figsize=figsize, layout="constrained")
    grid = figure.add_gridspec(1, 5)
    return figure, (figure.add_subplot(grid[0, :3]), figure.add_subplot(grid[0, 3:]))


def _status(run, t):
    """The iteration and its log-likelihood in words (HTML)."""
    values = run.log_likelihoods
    n_iter = len(values) - 1
    change = "" if t == 0 else f", a change of {values[t] - values[t - 1]:+.4g} over iteration {t - 1}"
    last = " (the last iteration of the run)" if t == n_iter else ""
    return f"Iteration <b>{t}</b> of {n_iter}{last}: log-likelihood {values[t]:.4f}{change}."


# ------------------------------------------------------------------------------------------ widget


class EMStepper(widgets.VBox):
    r"""A slider over the iterations of a finished EM run, with play and step buttons.

    Moving the slider (by hand, by the buttons, by the ``ipywidgets.Play`` widget, or by setting
    ``stepper.slider.value`` in code) redraws ``stepper.figure`` with :func:`draw_iteration` and shows it
    in ``stepper.output``: the responsibilities :eq:`eq-responsibilities`, the components, and the lower
    bound :eq:`eq-lower-bound` so far, which never decreases (:eq:`eq-em-monotone`).

    Build one with :func:`em_stepper`; ``EMStepper(X, run)`` wraps a run you already have.

    Attributes
    ----------
    run : EMResult
        The run being shown.
    slider : ipywidgets.IntSlider
        Its value is the iteration shown.
    play : ipywidgets.Play
        Linked to the slider.
    back_button, forward_button : ipywidgets.Button
        One iteration back or forward.
    status : ipywidgets.HTML
        The iteration and its log-likelihood in words.
    output : ipywidgets.Output
        Holds the rendered figure.
    figure : matplotlib.figure.Figure
        The figure that :func:`draw_iteration` draws on.
    axes : tuple
        ``(data_axes, bound_axes)``, the two panels of ``figure``.
    iteration : int
        The iteration currently drawn.
    """

    def __init__(self, X, run, *, interval=700, figsize=(10.0, 4.0), dpi=80, **kwargs):
        X = check_data(X)
        n_frames = _check_run(X, run)
        if isinstance(interval, bool) or not isinstance(interval, numbers.Integral) or interval < 1:
            raise ValueError(f"interval must be a positive number of milliseconds; got {interval!r}")
        self.X, self.run, self.dpi = X, run, dpi
        self.n_iter = n_frames - 1
        self.iteration = None

        self.figure, self.axes = _stepper_figure(figsize)

        self.slider = widgets.IntSlider(
            value=0, min=0, max=self.n_iter, step=1, description="iteration", continuous_update=False
        )
        self.play = widgets.Play(value=0, min=0, max=self.n_iter, step=1, interval=interval, description="play")
        self._link = widgets.link((self.play, "value"), (self.slider, "value"))
        self.back_button = widgets.Button(description="step back", icon="step-backward")
        self.forward_button = widgets.Button(description="step forward", icon="step-forward")
        self.back_button.on_click(lambda _: self.step(-1))
        self.forward_button.on_click(lambda _: self.step(+1))
        self.status = widgets.HTML()
        self.output = widgets.Output()

        self.slider.observe(self._on_slider, names="value")
        controls = widgets.HBox([self.play, self.back_button, self.slider, self.forward_button])
        super().__init__([controls, self.status, self.output], **kwargs)
        self.draw(0)

    def _on_slider(self, change):
        self.draw(change["new"])

    def step(self, delta):
        """Move the slider ``delta`` iterations, staying within 0 .. n_iter."""
        self.slider.value = min(max(self.slider.value + int(delta), 0), self.n_iter)

    def draw(self, iteration):
        """Draw ``iteration`` into the figure and show it in the output area."""
        t = _check_iteration(iteration, self.n_iter + 1)
        draw_iteration(self.axes, self.X, self.run, t, legend=True)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.dpi)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        # Replacing the Output's outputs works with or without a kernel and with any matplotlib backend.
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": f"<EM iteration {t} of {self.n_iter}>"},
                "metadata": {},
            },
        )
        self.status.value = _status(self.run, t)
        self.back_button.disabled = t == 0
        self.forward_button.disabled = t == self.n_iter
        self.iteration = t


def em_stepper(X, weights, means, covariances, *, max_iter=50, tol=1e-8, reg_covar=0.0, **kwargs):
    r"""Run EM from the given initialisation and return a widget that steps through its iterations.

    The whole trajectory is computed up front by :func:`gmmlab.run_em` (E-step :eq:`eq-responsibilities`,
    M-step :eq:`eq-mean-update`, :eq:`eq-covariance-update`, :eq:`eq-weight-update`), so moving the slider
    only redraws. Works for 1-D data (weighted densities) and 2-D data (ellipses); see :func:`draw_iteration`.

    Parameters
    ----------
    X : array of shape (N, D)
        The data points, one per row; for D > 2 the first two coordinates are drawn.
    weights : array of shape (K,)
        Initial mixture weights, non-negative and summing to 1.
    means : array of shape (K, D)
        Initial component means.
    covariances : array of shape (K, D, D)
        Initial component covariances, each symmetric positive definite.
    max_iter : int, default=50
        Largest number of iterations, passed to :func:`gmmlab.run_em`; must be at least 1.
    tol : float, default=1e-8
        Passed to :func:`gmmlab.run_em`: stop when an iteration raises the log-likelihood by less than this.
    reg_covar : float, default=0.0
        Passed to :func:`gmmlab.run_em`: added to the diagonal of every covariance.
    **kwargs : dict
        Passed to :class:`EMStepper` (``interval`` in ms between frames when playing, ``figsize``, ``dpi``).

    Returns
    -------
    EMStepper
        Display it as the last expression of a notebook cell.

    Raises
    ------
    ValueError
        For invalid data or parameters (as :func:`gmmlab.run_em`), or ``max_iter < 1``.
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer (there must be an iteration to show); got {max_iter!r}")
    X = check_data(X)
    run = run_em(X, weights, means, covariances, max_iter=max_iter, tol=tol, reg_covar=reg_covar)
    return EMStepper(X, run, **kwargs)


# ---------------------------------------------------------------------------------- without a kernel


def _frames_to_show(n_frames, max_frames):
    """Every iteration of a short run; of a long one, the first ``max_frames // 2`` and the rest spread evenly."""
    if n_frames <= max_frames:
        return list(range(n_frames))
    dense = max_frames // 2
    spread = np.linspace(dense, n_frames - 1, max_frames - dense).round().astype(int)
    return sorted(set(range(dense)) | set(spread.tolist()))


def _png(figure, dpi):
    """The figure as a PNG with an adaptive palette of 128 colours (a third of the size, no visible change)."""
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    image = Image.open(buffer).convert("RGB").quantize(128)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# The player: plain JavaScript over the frames in the JSON beside it; nothing is loaded from anywhere.
_PLAYER_SCRIPT = """(function () {
  var root = document.getElementById("%(id)s");
  var data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  var slider = root.querySelector("input[type=range]"), image = root.querySelector("img");
  var status = root.querySelector(".gmmlab-em-status"), play = root.querySelector("[data-step=play]");
  var back = root.querySelector("[data-step=back]"), forward = root.querySelector("[data-step=forward]");
  var timer = null;
  function show(i) {
    i = Math.max(0, Math.min(data.frames.length - 1, i));
    slider.value = i;
    slider.setAttribute("aria-valuetext", "iteration " + data.iterations[i]);
    image.src = "data:image/png;base64," + data.frames[i];
    image.alt = data.alts[i];
    status.innerHTML = data.status[i];
    root.dataset.iteration = data.iterations[i];
    back.disabled = i === 0;
    forward.disabled = i === data.frames.length - 1;
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "\u25B6 play"; }
  slider.addEventListener("input", function () { stop(); show(+slider.value); });
  back.addEventListener("click", function () { stop(); show(+slider.value - 1); });
  forward.addEventListener("click", function () { stop(); show(+slider.value + 1); });
  play.addEventListener("click", function () {
    if (timer) { stop(); return; }
    if (+slider.value === data.frames.length - 1) show(0);
    play.textContent = "\u275A\u275A pause";
    timer = setInterval(function () {
      if (+slider.value >= data.frames.length - 1) stop(); else show(+slider.value + 1);
    }, %(interval)d);
  });
  show(0);
})();"""


def em_animation(X, run, *, max_frames=25, figsize=(7.2, 3.4), dpi=200, interval=700):
    r"""Step through a finished EM run with no kernel: the frames drawn up front, a slider and buttons in HTML.

    Each frame is :func:`draw_iteration` of one iteration (the responsibilities :eq:`eq-responsibilities`,
    the components and the lower bound :eq:`eq-lower-bound` so far), rendered to PNG at ``dpi`` (twice the
    screen resolution by default, so the frames stay sharp). A run longer than ``max_frames`` shows its
    first ``max_frames // 2`` iterations and then evenly spaced ones up to the last; the status line always
    names the iteration shown. The page needs no kernel, no widget manager and no network.

    Parameters
    ----------
    X : array of shape (N, D)
        The data the run was fitted to.
    run : EMResult
        What :func:`gmmlab.run_em` returned.
    max_frames : int, default 25
        At most this many frames (at least 2): each adds some 50 KB to the page.
    figsize : (width, height) in inches
    dpi : int, default 200
    interval : int, default 700
        Milliseconds between frames when playing.

    Returns
    -------
    EMAnimation
        Display it as the last expression of a notebook cell: a notebook or the HTML book shows the stepper,
        the PDF book (which cannot run JavaScript) the frame of the last iteration.

    Raises
    ------
    ValueError
        If ``X`` does not match the run, or ``max_frames``, ``dpi`` or ``interval`` is not a positive integer.
    """
    X = check_data(X)
    n_frames = _check_run(X, run)
    for name, value, least in (("max_frames", max_frames, 2), ("dpi", dpi, 1), ("interval", interval, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least}; got {value!r}")
    iterations = _frames_to_show(n_frames, max_frames)
    figure, axes = _stepper_figure(figsize)
    frames, alts, status = [], [], []
    for t in iterations:
        draw_iteration(axes, X, run, t, legend=True)
        frames.append(base64.b64encode(_png(figure, dpi)).decode("ascii"))
        label = "the initialisation" if t == 0 else f"iteration {t}"
        alts.append(
            f"EM at {label} of {n_frames - 1}: left, the data coloured by their responsibilities with the "
            f"components; right, the lower bound so far, now {run.log_likelihoods[t]:.2f}."
        )
        status.append(_status(run, t))
    data = {"iterations": iterations, "frames": frames, "alts": alts, "status": status}
    element_id = f"gmmlab-em-{uuid.uuid4().hex[:12]}"
    payload = json.dumps(data).replace("</", "<\\/")  # JSON inside <script> must not close it
    width = round(figsize[0] * 96)  # CSS pixels of the figure at its natural size; the PNG holds dpi/96 times more
    markup = f"""<div class="gmmlab-em-player" id="{element_id}" data-iteration="0" style="max-width:{width}px">
<div class="gmmlab-em-controls" role="group" aria-label="Step through the EM iterations">
<button type="button" data-step="play">&#9654; play</button>
<button type="button" data-step="back">&#9664; step back</button>
<input type="range" min="0" max="{len(iterations) - 1}" step="1" value="0" aria-label="EM iteration"
 style="flex:1 1 8em;min-width:6em">
<button type="button" data-step="forward">step forward &#9654;</button>
</div>
<p class="gmmlab-em-status" aria-live="polite">{status[0]}</p>
<img src="data:image/png;base64,{frames[0]}" alt="{html.escape(alts[0])}" width="{width}"
 style="max-width:100%;height:auto">
<script type="application/json">{payload}</script>
<script>{_PLAYER_SCRIPT % {"id": element_id, "interval": interval}}</script>
</div>"""
    return EMAnimation(markup, frames[-1], f"<EM stepper: {len(iterations)} frames, iterations 0 to {iterations[-1]}>")


class EMAnimation:
    """What :func:`em_animation` returns: the stepper as HTML (``.html``), with the last frame for media that
    run no JavaScript (``.last_frame``, a base64 PNG)."""

    def __init__(self, html, last_frame, text):
        self.html, self.last_frame, self.text = html, last_frame, text

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html, "image/png": self.last_frame, "text/plain": self.text}
