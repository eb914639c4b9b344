"""``GaussianMixtureImputer``: a scikit-learn transformer that fills missing entries in with a Gaussian mixture."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import check_missing_values
from ._missing import Patterns, conditional_blocks, full_covariances
from .mixture import DTYPES, GaussianMixture

__all__ = ["GaussianMixtureImputer"]

# The mixture's own parameters, passed through to the GaussianMixture the imputer fits.
MIXTURE_PARAMETERS = ("n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init", "init_params",
                      "random_state")


class GaussianMixtureImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Impute missing entries (NaN) with a Gaussian mixture fitted to the incomplete data by EM.

    :meth:`fit` fits a :class:`gmmlab.GaussianMixture` to ``X``, NaN entries missing at random (EM on the
    observed-data likelihood; see the *Missing values* section of its docstring). :meth:`transform` fills the
    missing coordinates m of each row in from its observed ones o under that mixture:

    - ``strategy="mean"``: the conditional mean

      .. math::

          \begin{aligned}
          &\mathbb{E}[\mathbf{x}_m\mid\mathbf{x}_o] \\
          &\quad = \sum_k r_k(\mathbf{x}_o)\,\bigl(\boldsymbol\mu_{k,m}
          + \boldsymbol\Sigma_{k,mo}\boldsymbol\Sigma_{k,oo}^{-1}(\mathbf{x}_o - \boldsymbol\mu_{k,o})\bigr),
          \end{aligned}

      with :math:`r_k(\mathbf{x}_o)` the responsibilities of the observed coordinates (:eq:`eq-responsibilities`
      on the marginals), the best guess in squared error;
    - ``strategy="sample"``: a draw from the conditional distribution, a component k with probability
      :math:`r_k(\mathbf{x}_o)` and then :math:`\mathbf{x}_m` from the conditional Gaussian of component k
      (mean as above, covariance
      :math:`\boldsymbol\Sigma_{k,mm} - \boldsymbol\Sigma_{k,mo}\boldsymbol\Sigma_{k,oo}^{-1}\boldsymbol\Sigma_{k,om}`):
      for multiple imputation, transform with several ``random_state`` values. An int ``random_state`` gives
      the same draws at every call.

    Observed entries are returned unchanged. Usable in a ``Pipeline`` before any estimator.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K (1: a single Gaussian, the classical EM imputation).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        The mixture's covariance structure. With ``diag`` and ``spherical`` the coordinates are independent
        within a component, so the imputations use the other coordinates only through the responsibilities.
    strategy : {"mean", "sample"}, default="mean"
        Impute conditional means or draws.
    tol, reg_covar, max_iter, n_init, init_params :
        As for :class:`gmmlab.GaussianMixture`.
    random_state : int, RandomState instance or None, default=None
        Seeds the mixture's initialisation and the draws of ``strategy="sample"``.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The mixture fitted to the incomplete data.
    n_iter_ : int
        EM iterations of the mixture's fit.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray
        Shape (``n_features_in_``,). Column names seen during ``fit``, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmlab import GaussianMixtureImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.9], [0.9, 1.0]], size=500)
    >>> X[:5, 1] = np.nan
    >>> imputer = GaussianMixtureImputer(random_state=0).fit(X)
    >>> filled = imputer.transform(X)
    >>> bool(np.allclose(filled[:5, 1], 0.9 * X[:5, 0], atol=0.2)), bool(np.isnan(filled).any())
    (True, False)
    """

    _parameter_constraints: dict = {
        **{name: GaussianMixture._parameter_constraints[name] for name in MIXTURE_PARAMETERS},
        "strategy": [StrOptions({"mean", "sample"})],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        strategy="mean",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.strategy = strategy
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the mixture to ``X`` by EM with missing values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, NaN where an entry is missing.
        y : None
            Ignored; accepted for scikit-learn's API.

        Returns
        -------
        self : GaussianMixtureImputer
            The fitted imputer.
        """
        values = self._validate(X, reset=True)
        parameters = {name: getattr(self, name) for name in MIXTURE_PARAMETERS}
        self.mixture_ = GaussianMixture(**parameters).fit(values)
        self.n_iter_ = self.mixture_.n_iter_
        return self

    def _validate(self, X, reset):
        """scikit-learn's validation (any array-like; float32 stays float32; a copy), then the course's
        messages for infinity and for rows with nothing observed, naming the row."""
        values = validate_data(self, X, reset=reset, dtype=list(DTYPES), ensure_all_finite=False, copy=True)
        check_missing_values(values)
        return values

    def transform(self, X):
        """Fill the missing entries of ``X`` in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, NaN where an entry is missing (every row needs an observed entry).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            A copy of ``X`` (float32 stays float32) with the missing entries imputed.
        """
        check_is_fitted(self)
        imputed = self._validate(X, reset=False)
        mixture = self.mixture_
        K, D = mixture.n_components, imputed.shape[1]
        weights, means, covariances = (
            np.asarray(value, dtype=np.float64) for value in (mixture.weights_, mixture.means_, mixture.covariances_)
        )
        covariances = full_covariances(covariances, mixture.covariance_type, K, D)
        rng = check_random_state(self.random_state) if self.strategy == "sample" else None
        for rows, m, resp, conditional_means, conditional_covariances in conditional_blocks(
            imputed, Patterns(imputed).groups, weights, means, covariances
        ):
            if self.strategy == "mean":
                imputed[np.ix_(rows, m)] = np.einsum("bk,kbq->bq", resp, conditional_means)
                continue
            # A component per row with probability r_k (inverse CDF), then its conditional Gaussian.
            components = np.minimum((resp.cumsum(axis=1) < rng.random_sample((rows.size, 1))).sum(axis=1), K - 1)
            factors = np.linalg.cholesky(conditional_covariances)
            noise = np.einsum("bij,bj->bi", factors[components], rng.standard_normal((rows.size, m.size)))
            imputed[np.ix_(rows, m)] = conditional_means[components, np.arange(rows.size)] + noise
        return imputed
