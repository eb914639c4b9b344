"""gmmlab: the reference package of the course on Gaussian mixture models and the EM algorithm.

Teaching functions mirror the book's equations (each docstring names the equation it implements);
:class:`GaussianMixture` is a drop-in for scikit-learn's estimator.
"""

import importlib
import importlib.util

# The public API, one table: {public module: (names gmmlab exports as gmmlab.NAME,
#                                              names used as gmmlab.MODULE.NAME)}.
# __all__ and the imports on first use follow it, and the API page (book/api.md) documents exactly these names
# (tests/package/test_api.py). Every module not listed, and every name starting with "_", is private.
_API = {
    "em": (["EMResult", "e_step", "lower_bound", "m_step", "n_k", "run_em"], []),
    "map_em": (["MAPEMResult", "log_prior", "map_m_step", "penalised_log_likelihood", "run_map_em"], []),
    "bernoulli": (["BernoulliEMResult", "bernoulli_e_step", "bernoulli_log_likelihood", "bernoulli_log_pmf",
                   "bernoulli_m_step", "run_bernoulli_em"], []),
    "missing": (["conditional_gaussian", "e_step_missing", "m_step_missing", "observed_log_likelihood",
                 "run_em_missing"], []),
    "online": ([], ["sufficient_statistics", "online_update", "step_size", "parameters_from_statistics"]),
    "gaussian": (["gaussian_log_pdf"], []),
    "likelihood": (["log_joint", "log_likelihood", "logsumexp"], []),
    "kmeans": (["KMeansResult", "assign_clusters", "kmeans", "kmeans_objective", "kmeans_plusplus",
                "update_centers"], []),
    "mixture": (["ConvergenceWarning", "GaussianMixture", "NotFittedError"], []),
    "impute": (["GaussianMixtureImputer"], []),
    "chunked": ([], ["chunk_summary", "merge_summaries", "m_step_from_summary"]),
    "gradient": ([], ["weights_from_logits", "cholesky_from_free", "free_from_mixture", "mixture_from_free",
                      "log_likelihood_gradients", "Gradients", "run_gradient_ascent", "GradientAscentResult"]),
    "latent_gaussian": ([], ["ppca_e_step", "ppca_m_step", "ppca_log_likelihood", "ppca_closed_form", "run_ppca_em",
                             "PPCAResult"]),
    "widgets": ([], ["em_stepper", "em_animation", "EMAnimation", "EMStepper", "draw_iteration"]),
    "datasets": (["Mixture", "old_faithful", "sample_mixture", "textbook_example", "three_clusters"],
                 ["TextbookExample"]),
    "plotting": (["component_colors", "plot_density_contours", "plot_ellipses", "plot_lower_bound", "plot_mixture_1d",
                  "plot_responsibilities"], ["use_style", "plot_clusters", "match_components", "integer_ticks",
                                             "label_panels", "phone_figure"]),
}

_HOME = {name: module for module, (exported, _) in _API.items() for name in exported}

__all__ = sorted(_HOME)
__version__ = "0.1.0"

# The teaching modules need only numpy and are imported now (which also keeps gmmlab.kmeans the function, not its
# module). The rest are imported on first use (PEP 562): the estimator imports scikit-learn, the plots matplotlib,
# and a script or a grading process that needs neither does not pay for them.
for _module in ("em", "map_em", "bernoulli", "missing", "gaussian", "likelihood", "kmeans", "datasets"):
    _names = _API[_module][0]
    globals().update(zip(_names, (getattr(importlib.import_module(f".{_module}", __name__), n) for n in _names)))
del _module, _names


def __getattr__(name):
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f".{name}", __name__)  # a submodule, e.g. gmmlab.plotting
    raise AttributeError(f"module 'gmmlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME) | set(_API))
