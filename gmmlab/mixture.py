"""``GaussianMixture``: a drop-in for ``sklearn.mixture.GaussianMixture`` built on gmmlab's EM."""

import numbers
import warnings

import numpy as np

from ._checks import check_data, check_means, check_n_components, check_weights
from ._covariances import (
    COVARIANCE_TYPES,
    check_not_degenerate,
    covariances_from_cholesky,
    estimate_parameters,
    log_gaussian_prob,
    n_parameters,
    precisions_cholesky,
    precisions_from_cholesky,
)
from ._fast import em_iteration
from .kmeans import kmeans, kmeans_plusplus
from .likelihood import logsumexp

try:  # Share scikit-learn's exception types when it is installed, so `except` clauses written for it work.
    from sklearn.exceptions import ConvergenceWarning, NotFittedError
except ImportError:  # pragma: no cover - exercised only without scikit-learn

    class ConvergenceWarning(UserWarning):
        """EM stopped at ``max_iter`` before the lower bound changed by less than ``tol``."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator was used before ``fit``."""


INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def _check_random_state(seed):
    """None, an int or a RandomState, as scikit-learn's ``check_random_state`` reads them."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy RandomState; got {seed!r}")


def _check_precisions(precisions, covariance_type, n_components, n_features):
    precisions = np.asarray(precisions, dtype=np.float64)
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    if precisions.shape != shapes[covariance_type]:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must have shape "
            f"{shapes[covariance_type]}; got shape {precisions.shape}"
        )
    if not np.all(np.isfinite(precisions)):
        raise ValueError("precisions_init contains NaN or infinite values")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(f"precisions_init must be positive for covariance_type={covariance_type!r}")
        return precisions
    for k, matrix in enumerate(precisions if covariance_type == "full" else precisions[None]):
        if not np.allclose(matrix, matrix.T) or np.any(np.linalg.eigvalsh(matrix) <= 0):
            raise ValueError(f"precisions_init[{k}] must be symmetric positive definite")
    return precisions


class GaussianMixture:
    """Gaussian mixture fitted by EM, with the constructor, attributes and methods of scikit-learn's.

    Parameters, fitted attributes and methods have scikit-learn's names and meanings, so code written
    for ``sklearn.mixture.GaussianMixture`` runs unchanged. Two differences are deliberate: every
    covariance type is estimated from centred moments (scikit-learn's ``tied``, ``diag`` and ``spherical``
    subtract squared means, which is inaccurate for a tight cluster far from the origin), and
    ``init_params="kmeans"`` uses :func:`gmmlab.kmeans` rather than ``sklearn.cluster.KMeans``.

    Each iteration is one E-step (:eq:`eq-responsibilities`) and one M-step (:eq:`eq-mean-update`,
    :eq:`eq-covariance-update`, :eq:`eq-weight-update`, with ``reg_covar`` as in :eq:`eq-reg-covar`);
    ``lower_bound_`` is the average log-likelihood per point (:eq:`eq-gmm-log-likelihood` divided by N),
    which equals the lower bound :eq:`eq-lower-bound` right after an E-step.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Stop when the average log-likelihood changes by less than this.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
    n_init : int, default 1
        Restarts; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
    weights_init, means_init, precisions_init : arrays or None
    random_state : None, int or numpy RandomState
    warm_start : bool, default False
    verbose : int, default 0
    verbose_interval : int, default 10

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_, n_iter_,
    lower_bound_, lower_bounds_, n_features_in_
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    _PARAMETERS = (
        "n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params",
        "weights_init", "means_init", "precisions_init", "random_state", "warm_start", "verbose",
        "verbose_interval",
    )  # fmt: skip

    def get_params(self, deep=True):
        """The constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._PARAMETERS}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``."""
        for name, value in params.items():
            if name not in self._PARAMETERS:
                raise ValueError(f"invalid parameter {name!r} for GaussianMixture")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = GaussianMixture().get_params()
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if not (v is defaults[k] or _equal(v, defaults[k]))
        ]
        return f"GaussianMixture({', '.join(changed)})"

    # ----------------------------------------------------------------------------------------- checks

    def _check_parameters(self, X):
        if isinstance(self.n_components, bool) or not isinstance(self.n_components, numbers.Integral):
            raise ValueError(f"n_components must be an integer; got {self.n_components!r}")
        check_n_components(self.n_components, X.shape[0])
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {self.covariance_type!r}")
        if self.init_params not in INIT_PARAMS:
            raise ValueError(f"init_params must be one of {INIT_PARAMS}; got {self.init_params!r}")
        for name, low in (("tol", 0.0), ("reg_covar", 0.0)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= low:
                raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        for name, low in (("max_iter", 0), ("n_init", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
        K, D = self.n_components, X.shape[1]
        # Validated copies; the constructor parameters stay exactly as the user passed them.
        self._weights_init = None if self.weights_init is None else check_weights(self.weights_init, K)
        self._means_init = None if self.means_init is None else check_means(self.means_init, K, D)
        self._precisions_init = (
            None
            if self.precisions_init is None
            else _check_precisions(self.precisions_init, self.covariance_type, K, D)
        )

    def _check_fitted(self):
        if not hasattr(self, "means_"):
            raise NotFittedError("This GaussianMixture instance is not fitted yet. Call 'fit' first.")

    def _check_X(self, X):
        X = check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but this GaussianMixture was fitted with {self.n_features_in_}"
            )
        return X

    # ---------------------------------------------------------------------------------- initialisation

    def _initial_responsibilities(self, X, random_state):
        N, K = X.shape[0], self.n_components
        resp = np.zeros((N, K))
        if self.init_params == "kmeans":
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            labels = kmeans(X, K, n_init=1, random_state=seed).labels
            resp[np.arange(N), labels] = 1
        elif self.init_params == "k-means++":
            seed = int(random_state.randint(np.iinfo(np.int32).max))
            _, indices = kmeans_plusplus(X, K, random_state=seed)
            resp[indices, np.arange(K)] = 1
        elif self.init_params == "random":
            resp = random_state.uniform(size=(N, K))
            resp /= resp.sum(axis=1, keepdims=True)
        else:  # random_from_data
            indices = random_state.choice(N, size=K, replace=False)
            resp[indices, np.arange(K)] = 1
        return resp

    def _initialize(self, X, random_state):
        weights, means, covariances = estimate_parameters(
            X, self._initial_responsibilities(X, random_state), self.covariance_type, self.reg_covar
        )
        self.weights_ = weights if self._weights_init is None else self._weights_init.copy()
        self.means_ = means if self._means_init is None else self._means_init.copy()
        if self._precisions_init is None:
            check_not_degenerate(covariances, self.covariance_type, self._variance_floor, self.reg_covar)
            self.covariances_ = covariances
            self.precisions_cholesky_ = precisions_cholesky(covariances, self.covariance_type, self.reg_covar)
        else:
            self.precisions_cholesky_ = _precision_factor(self._precisions_init, self.covariance_type)
            self.covariances_ = covariances_from_cholesky(self.precisions_cholesky_, self.covariance_type)

    # ----------------------------------------------------------------------------------------- fitting

    def fit(self, X, y=None):
        """Estimate the parameters with EM (``n_init`` restarts, keeping the best lower bound); return self."""
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Fit as :meth:`fit` does, then return the most probable component of every point."""
        X = check_data(X)
        if X.shape[0] < 2:
            raise ValueError(f"GaussianMixture needs at least 2 data points; got N = {X.shape[0]}")
        self._check_parameters(X)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = _check_random_state(self.random_state)
        self.n_features_in_ = X.shape[1]
        # Variances below rounding error relative to the data's spread mean a collapsed component.
        self._variance_floor = np.finfo(np.float64).eps * max(float(X.var(axis=0).max()), np.finfo(np.float64).tiny)

        max_lower_bound = -np.inf
        best_params, best_n_iter, best_lower_bounds = None, 0, []
        self.converged_ = False
        for init in range(n_init):
            if self.verbose:
                print(f"Initialization {init}")
            if do_init:
                self._initialize(X, random_state)
            lower_bound = -np.inf if do_init else self.lower_bound_
            lower_bounds = []
            if self.max_iter == 0:
                best_params, best_n_iter = self._get_parameters(), 0
                continue
            converged = False
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                lower_bound, weights, means, covariances = em_iteration(
                    X, self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type, self.reg_covar
                )
                check_not_degenerate(covariances, self.covariance_type, self._variance_floor, self.reg_covar)
                self._set_parameters((weights, means, covariances, None))
                lower_bounds.append(lower_bound)
                change = lower_bound - previous
                if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                    print(f"  Iteration {n_iter}\t change {change:.5f}")
                if abs(change) < self.tol:
                    converged = True
                    break
            if self.verbose:
                print(f"Initialization {'converged' if converged else 'did not converge'}. lower bound {lower_bound:.5f}")
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best_params, best_n_iter, best_lower_bounds = self._get_parameters(), n_iter, lower_bounds
                self.converged_ = converged

        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_parameters(best_params)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = best_lower_bounds
        # A final E-step, so fit_predict(X) agrees with fit(X).predict(X) for any max_iter and tol.
        return self._estimate_weighted_log_prob(X).argmax(axis=1)

    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        self.weights_, self.means_, self.covariances_, prec_chol = params
        if prec_chol is None:
            prec_chol = precisions_cholesky(self.covariances_, self.covariance_type, self.reg_covar)
        self.precisions_cholesky_ = prec_chol
        self.precisions_ = precisions_from_cholesky(prec_chol, self.covariance_type)

    # -------------------------------------------------------------------------------------- prediction

    def _estimate_weighted_log_prob(self, X):
        return log_gaussian_prob(X, self.means_, self.precisions_cholesky_, self.covariance_type) + np.log(
            self.weights_
        )

    def score_samples(self, X):
        """Log-density :math:`\\log p(\\mathbf{x}_n\\mid\\boldsymbol\\theta)` of every row, shape (N,)."""
        self._check_fitted()
        return logsumexp(self._estimate_weighted_log_prob(self._check_X(X)), axis=1)

    def score(self, X, y=None):
        """Average log-likelihood per point (:eq:`eq-gmm-log-likelihood` divided by N)."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X):
        """Responsibilities of every component for every row, shape (N, K) (:eq:`eq-responsibilities`)."""
        self._check_fitted()
        weighted = self._estimate_weighted_log_prob(self._check_X(X))
        return np.exp(weighted - logsumexp(weighted, axis=1, keepdims=True))

    def predict(self, X):
        """The component with the largest responsibility for every row, shape (N,)."""
        self._check_fitted()
        return self._estimate_weighted_log_prob(self._check_X(X)).argmax(axis=1)

    def sample(self, n_samples=1):
        """Draw ``n_samples`` points by ancestral sampling; return ``(X, labels)`` grouped by component."""
        self._check_fitted()
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
        rng = _check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        D = self.means_.shape[1]
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(self.means_, self.covariances_, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, self.covariances_, int(n)) for m, n in zip(self.means_, counts)]
        else:
            parts = [
                m + rng.standard_normal(size=(n, D)) * np.sqrt(c)
                for m, c, n in zip(self.means_, self.covariances_, counts)
            ]
        labels = np.concatenate([np.full(n, k, dtype=int) for k, n in enumerate(counts)])
        return np.vstack(parts), labels

    def _n_parameters(self):
        return n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    def bic(self, X):
        """Bayesian information criterion, :math:`-2\\log p(\\mathcal{X}\\mid\\hat{\\boldsymbol\\theta}) + P\\log N` (:eq:`eq-bic`)."""
        X = self._check_X(X) if hasattr(self, "n_features_in_") else check_data(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion, :math:`-2\\log p(\\mathcal{X}\\mid\\hat{\\boldsymbol\\theta}) + 2P` (:eq:`eq-aic`)."""
        X = self._check_X(X) if hasattr(self, "n_features_in_") else check_data(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()


def _precision_factor(precisions, covariance_type):
    """Factor L with L L^T = P for given precisions (full/tied), or sqrt(P) (diag/spherical)."""
    if covariance_type == "full":
        return np.stack([np.linalg.cholesky(p) for p in precisions])
    if covariance_type == "tied":
        return np.linalg.cholesky(precisions)
    return np.sqrt(precisions)


def _equal(a, b):
    try:
        return bool(np.all(a == b)) and type(a) is type(b)
    except Exception:
        return False
