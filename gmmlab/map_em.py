"""MAP-EM for Gaussian mixtures: EM for the log-likelihood plus a log-prior, as in "EM beyond Gaussian mixtures".

The prior: weights :math:`\\boldsymbol\\pi \\sim \\mathrm{Dir}(\\alpha, \\dots, \\alpha)` with :math:`\\alpha \\ge 1`;
every covariance :math:`\\boldsymbol\\Sigma_k \\sim \\mathcal{W}^{-1}(\\boldsymbol\\Psi, \\nu)` independently, with
:math:`\\nu > D - 1`; a flat prior on the means. The E-step is :func:`gmmlab.e_step` unchanged; only the M-step
and the objective change.
"""

from typing import NamedTuple

import numpy as np

from ._checks import check_data, check_mixture, check_responsibilities, cholesky
from .em import e_step, m_step, n_k
from .likelihood import log_likelihood


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not np.isscalar(alpha) or not np.isfinite(alpha):
        raise ValueError(f"alpha, the Dirichlet parameter, must be a finite number; got {alpha!r}")
    if alpha < 1:
        raise ValueError(
            f"alpha, the Dirichlet parameter, must be at least 1; got alpha = {alpha}. With alpha < 1 the "
            "MAP weights can be negative and the penalised objective is unbounded"
        )
    return float(alpha)


def _check_psi(psi, n_features, proper):
    psi = np.asarray(psi, dtype=np.float64)
    if psi.shape != (n_features, n_features):
        raise ValueError(f"psi, the inverse-Wishart scale matrix, must have shape (D, D) = "
                         f"({n_features}, {n_features}); got shape {psi.shape}")
    if proper:
        cholesky(psi, what="psi, the inverse-Wishart scale matrix,")
        return psi
    if not np.all(np.isfinite(psi)):
        raise ValueError("psi, the inverse-Wishart scale matrix, contains NaN or infinite values")
    if not np.allclose(psi, psi.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(psi).max())):
        raise ValueError("psi, the inverse-Wishart scale matrix, must be symmetric")
    if np.linalg.eigvalsh(psi).min() < -1e-12 * max(1.0, np.abs(psi).max()):
        raise ValueError("psi, the inverse-Wishart scale matrix, must be positive semi-definite")
    return psi


def _check_nu(nu, n_features, proper):
    if isinstance(nu, bool) or not np.isscalar(nu) or not np.isfinite(nu):
        raise ValueError(f"nu, the inverse-Wishart degrees of freedom, must be a finite number; got {nu!r}")
    if proper and nu <= n_features - 1:
        raise ValueError(
            f"nu, the inverse-Wishart degrees of freedom, must exceed D - 1 = {n_features - 1} for a proper prior; "
            f"got nu = {nu}"
        )
    if not proper and nu < -(n_features + 1):
        raise ValueError(
            f"nu, the inverse-Wishart degrees of freedom, must be at least -(D + 1) = {-(n_features + 1)} for the "
            f"MAP update; got nu = {nu}"
        )
    return float(nu)


def log_prior(weights, covariances, *, alpha, psi, nu):
    r"""Log-density of the prior, :math:`\log\mathrm{Dir}(\boldsymbol\pi;\alpha)` :math:`+ \sum_k\log\mathcal{W}^{-1}(\boldsymbol\Sigma_k;\boldsymbol\Psi,\nu)`.

    Implements :eq:`eq-bey-log-prior` with both normalising constants, taken from ``scipy.stats.dirichlet`` and
    ``scipy.stats.invwishart``: the value is the log-density of the proper prior on the weights and the covariances.
    The flat prior on the means is improper; it contributes a constant, taken to be zero, so the prior on all the
    parameters, and with it the posterior of a mixture, is improper, and :eq:`eq-bey-penalised` is an
    unnormalised log-posterior rather than a log-density.

    Parameters
    ----------
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.
    alpha : float
        The Dirichlet parameter, shared by all components; at least 1.
    psi : array-like of shape (D, D)
        The inverse-Wishart scale matrix, symmetric positive definite.
    nu : float
        The inverse-Wishart degrees of freedom; more than D - 1.

    Returns
    -------
    float
        The log prior density; :math:`-\infty` if a weight is 0 and ``alpha > 1``.

    Raises
    ------
    ValueError
        If a prior parameter or a parameter of the mixture is invalid; the message names it.

    Examples
    --------
    With alpha = 1 the Dirichlet is uniform on the simplex, with density (K - 1)! = 1 for K = 2.

    >>> import numpy as np
    >>> import gmmlab
    >>> round(gmmlab.log_prior([0.3, 0.7], np.stack([np.eye(2)] * 2), alpha=1, psi=np.eye(2), nu=4), 4)
    -8.4483
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariances.ndim != 3 or covariances.shape[1] != covariances.shape[2]:
        raise ValueError(f"covariances must have shape (K, D, D); got shape {covariances.shape}")
    n_features = covariances.shape[1]
    # check_mixture validates the weights and covariances together; a dummy point and zero means stand in.
    _, weights, _, covariances = check_mixture(np.zeros((1, n_features)), weights,
                                               np.zeros((len(covariances), n_features)), covariances)
    alpha = _check_alpha(alpha)
    psi = _check_psi(psi, n_features, proper=True)
    nu = _check_nu(nu, n_features, proper=True)
    from scipy.stats import dirichlet, invwishart  # imported here: scipy.stats is slow to import

    with np.errstate(divide="ignore", invalid="ignore"):
        log_dirichlet = dirichlet.logpdf(weights, np.full(len(weights), alpha))
    log_dirichlet = -np.inf if np.isnan(log_dirichlet) else log_dirichlet
    log_invwishart = sum(invwishart.logpdf(sigma, df=nu, scale=psi) for sigma in covariances)
    return float(log_dirichlet + log_invwishart)


def penalised_log_likelihood(X, weights, means, covariances, *, alpha, psi, nu):
    r"""The MAP-EM objective :math:`\log p(\mathcal{X}\mid\boldsymbol\theta)` :math:`+ \log p(\boldsymbol\theta)`.

    Implements :eq:`eq-bey-penalised`: :func:`gmmlab.log_likelihood` plus :func:`log_prior`.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Mixture weights on the probability simplex.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.
    alpha : float
        The Dirichlet parameter; at least 1.
    psi : array-like of shape (D, D)
        The inverse-Wishart scale matrix, symmetric positive definite.
    nu : float
        The inverse-Wishart degrees of freedom; more than D - 1.

    Returns
    -------
    float
        The penalised log-likelihood (the unnormalised log-posterior of the parameters; the posterior itself is
        improper, because the prior on the means is flat).

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> round(gmmlab.penalised_log_likelihood(X, *initial, alpha=2, psi=[[0.5]], nu=2), 2)
    -31.55
    """
    return log_likelihood(X, weights, means, covariances) + log_prior(weights, covariances, alpha=alpha, psi=psi, nu=nu)


def map_m_step(X, responsibilities, *, alpha, psi, nu):
    r"""MAP M-step: the parameters that maximise the penalised lower bound for fixed responsibilities.

    Implements :eq:`eq-bey-map-m-step`:
    :math:`\pi_k = \frac{N_k + \alpha - 1}{N + K(\alpha - 1)}`,
    :math:`\boldsymbol\mu_k = \frac{1}{N_k}\sum_n r_{nk}\mathbf{x}_n` (the flat prior leaves the mean update
    :eq:`eq-mean-update` alone) and
    :math:`\boldsymbol\Sigma_k = \frac{\boldsymbol\Psi + \sum_n r_{nk}(\mathbf{x}_n-\boldsymbol\mu_k)(\mathbf{x}_n-\boldsymbol\mu_k)^\top}{N_k + \nu + D + 1}`.
    The means and the scatter matrices come from :func:`gmmlab.m_step`.

    The prior is proper only for ``nu > D - 1`` and positive-definite ``psi`` (what :func:`log_prior` and
    :func:`run_map_em` require). The update itself is defined more widely, for ``nu >= -(D + 1)`` and
    positive semi-definite ``psi``, so that its limits can be taken: ``alpha = 1``, ``psi = 0`` and
    ``nu = -(D + 1)`` give :func:`gmmlab.m_step` exactly.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    responsibilities : array-like of shape (N, K)
        Responsibilities :math:`r_{nk}`, each row summing to 1.
    alpha : float
        The Dirichlet parameter; at least 1.
    psi : array-like of shape (D, D)
        The inverse-Wishart scale matrix, symmetric positive semi-definite.
    nu : float
        The inverse-Wishart degrees of freedom; at least -(D + 1).

    Returns
    -------
    weights : ndarray of shape (K,)
        The MAP weights.
    means : ndarray of shape (K, D)
        The responsibility-weighted means.
    covariances : ndarray of shape (K, D, D)
        The MAP covariances, positive definite whenever ``psi`` is.

    Raises
    ------
    ValueError
        If a prior parameter is invalid (the message names it), the responsibilities are invalid, or a
        component has :math:`N_k = 0`.

    Examples
    --------
    A prior with alpha = 2 moves every weight towards 1/K; psi adds to every covariance, divided by
    N_k + nu + D + 1.

    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> weights, means, covariances = gmmlab.map_m_step(X, gmmlab.e_step(X, *initial), alpha=2, psi=[[0.5]], nu=2)
    >>> weights.round(3)
    array([0.306, 0.301, 0.393])
    >>> covariances.ravel().round(3)
    array([0.131, 0.23 , 0.718])
    """
    X = check_data(X)
    resp = check_responsibilities(responsibilities, X.shape[0])
    n_features = X.shape[1]
    alpha = _check_alpha(alpha)
    psi = _check_psi(psi, n_features, proper=False)
    nu = _check_nu(nu, n_features, proper=False)
    _, means, ml_covariances = m_step(X, resp)               # eq-mean-update, eq-covariance-update
    nk = n_k(resp)
    scatter = nk[:, None, None] * ml_covariances              # sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T
    covariances = (psi + scatter) / (nk + nu + n_features + 1)[:, None, None]
    n_components = resp.shape[1]
    weights = (nk + alpha - 1) / (X.shape[0] + n_components * (alpha - 1))
    return weights, means, covariances


class MAPEMResult(NamedTuple):
    """What :func:`run_map_em` returns: the final parameters and the objective of every iteration."""

    weights: np.ndarray
    """Final mixture weights, shape (K,)."""
    means: np.ndarray
    """Final component means, shape (K, D)."""
    covariances: np.ndarray
    """Final component covariances, shape (K, D, D)."""
    responsibilities: np.ndarray
    """Responsibilities at the final parameters, shape (N, K)."""
    objectives: list
    """Penalised log-likelihood :eq:`eq-bey-penalised` of the initial parameters (index 0) and after every
    iteration."""
    log_likelihoods: list
    """The log-likelihood part of every entry of ``objectives``."""
    history: list
    """``(weights, means, covariances)`` of the initial parameters (index 0) and after every iteration."""
    n_iter: int
    """Number of iterations run (E-step and MAP M-step pairs)."""
    converged: bool
    """Whether an iteration raised the penalised log-likelihood by less than ``tol`` before ``max_iter`` ran out."""


def run_map_em(X, weights, means, covariances, *, alpha, psi, nu, max_iter=100, tol=1e-8):
    r"""MAP-EM: alternate :func:`gmmlab.e_step` and :func:`map_m_step` until the penalised objective stops rising.

    No iteration decreases the penalised log-likelihood :eq:`eq-bey-penalised` (:eq:`eq-bey-map-monotone`), and
    with a positive-definite ``psi`` no covariance can become singular, so no component collapses. The loop stops
    when an iteration raises the objective by less than ``tol``, or after ``max_iter`` iterations.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    weights : array-like of shape (K,)
        Initial mixture weights, positive and summing to 1.
    means : array-like of shape (K, D)
        Initial component means.
    covariances : array-like of shape (K, D, D)
        Initial component covariances, each symmetric positive definite.
    alpha : float
        The Dirichlet parameter; at least 1.
    psi : array-like of shape (D, D)
        The inverse-Wishart scale matrix, symmetric positive definite.
    nu : float
        The inverse-Wishart degrees of freedom; more than D - 1.
    max_iter : int, default=100
        Largest number of iterations; 0 returns the initial parameters.
    tol : float, default=1e-8
        Stop when an iteration raises the penalised log-likelihood by less than this.

    Returns
    -------
    MAPEMResult
        The final parameters, their responsibilities, and the penalised objective, the log-likelihood and the
        parameters of every iteration (index 0 is the initialisation).

    Raises
    ------
    ValueError
        If the data, the initial parameters or the prior are invalid (the message names which), or ``max_iter``
        is negative.

    Examples
    --------
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> result = gmmlab.run_map_em(X, *initial, alpha=2, psi=[[0.5]], nu=2)
    >>> result.converged, result.n_iter
    (True, 4)
    >>> round(result.objectives[0], 2), round(result.objectives[-1], 2)
    (-31.55, -12.97)
    """
    X, weights, means, covariances = check_mixture(X, weights, means, covariances)
    if max_iter < 0:
        raise ValueError(f"max_iter must be non-negative; got {max_iter}")
    prior = dict(alpha=alpha, psi=psi, nu=nu)
    history = [(weights, means, covariances)]
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    objectives = [log_likelihoods[0] + log_prior(weights, covariances, **prior)]
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), **prior)
        history.append((weights, means, covariances))
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
        objectives.append(log_likelihoods[-1] + log_prior(weights, covariances, **prior))
        if objectives[-1] - objectives[-2] < tol:
            converged = True
            break
    responsibilities = e_step(X, weights, means, covariances)
    return MAPEMResult(
        weights, means, covariances, responsibilities, objectives, log_likelihoods, history, n_iter, converged
    )
