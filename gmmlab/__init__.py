"""gmmlab: the reference package of the course on Gaussian mixture models and the EM algorithm.

Teaching functions mirror the book's equations (each docstring names the equation it implements);
:class:`GaussianMixture` is a drop-in for scikit-learn's estimator.
"""

from .datasets import Mixture, old_faithful, sample_mixture, textbook_example, three_clusters
from .em import EMResult, e_step, lower_bound, m_step, n_k, run_em
from .gaussian import gaussian_log_pdf
from .kmeans import KMeansResult, assign_clusters, kmeans, kmeans_objective, kmeans_plusplus, update_centers
from .likelihood import log_joint, log_likelihood, logsumexp
from .mixture import ConvergenceWarning, GaussianMixture, NotFittedError
from .plotting import (
    component_colors,
    plot_density_contours,
    plot_ellipses,
    plot_lower_bound,
    plot_mixture_1d,
    plot_responsibilities,
)

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "EMResult",
    "GaussianMixture",
    "KMeansResult",
    "Mixture",
    "NotFittedError",
    "assign_clusters",
    "component_colors",
    "e_step",
    "gaussian_log_pdf",
    "kmeans",
    "kmeans_objective",
    "kmeans_plusplus",
    "log_joint",
    "log_likelihood",
    "logsumexp",
    "lower_bound",
    "m_step",
    "n_k",
    "old_faithful",
    "plot_density_contours",
    "plot_ellipses",
    "plot_lower_bound",
    "plot_mixture_1d",
    "plot_responsibilities",
    "run_em",
    "sample_mixture",
    "textbook_example",
    "three_clusters",
    "update_centers",
]
