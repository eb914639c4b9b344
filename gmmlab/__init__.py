"""gmmlab: the reference package of the course on Gaussian mixture models and the EM algorithm.

Teaching functions mirror the book's equations (each docstring names the equation it implements);
:class:`GaussianMixture` is a drop-in for scikit-learn's estimator.
"""

from .bernoulli import (
    BernoulliEMResult,
    bernoulli_e_step,
    bernoulli_log_likelihood,
    bernoulli_log_pmf,
    bernoulli_m_step,
    run_bernoulli_em,
)
from .datasets import Mixture, old_faithful, sample_mixture, textbook_example, three_clusters
from .em import EMResult, e_step, lower_bound, m_step, n_k, run_em
from .gaussian import gaussian_log_pdf
from .kmeans import KMeansResult, assign_clusters, kmeans, kmeans_objective, kmeans_plusplus, update_centers
from .likelihood import log_joint, log_likelihood, logsumexp
from .map_em import MAPEMResult, log_prior, map_m_step, penalised_log_likelihood, run_map_em
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
    "BernoulliEMResult",
    "ConvergenceWarning",
    "EMResult",
    "GaussianMixture",
    "KMeansResult",
    "MAPEMResult",
    "Mixture",
    "NotFittedError",
    "assign_clusters",
    "bernoulli_e_step",
    "bernoulli_log_likelihood",
    "bernoulli_log_pmf",
    "bernoulli_m_step",
    "component_colors",
    "e_step",
    "gaussian_log_pdf",
    "kmeans",
    "kmeans_objective",
    "kmeans_plusplus",
    "log_joint",
    "log_likelihood",
    "log_prior",
    "logsumexp",
    "lower_bound",
    "m_step",
    "map_m_step",
    "n_k",
    "old_faithful",
    "penalised_log_likelihood",
    "plot_density_contours",
    "plot_ellipses",
    "plot_lower_bound",
    "plot_mixture_1d",
    "plot_responsibilities",
    "run_bernoulli_em",
    "run_em",
    "run_map_em",
    "sample_mixture",
    "textbook_example",
    "three_clusters",
    "update_centers",
]
