r"""Maximum likelihood for a Gaussian mixture by gradient ascent, the alternative to EM.

Gradient ascent works on unconstrained parameters :math:`\boldsymbol\eta = (\boldsymbol\omega,
\boldsymbol\mu_{1:K}, \mathbf{A}_{1:K})`: logits :math:`\boldsymbol\omega` give the weights through a
softmax (:eq:`eq-bey2-softmax`), and lower-triangular matrices :math:`\mathbf{A}_k` give Cholesky
factors with a positive diagonal (:eq:`eq-bey2-cholesky-parametrisation`). Every value of
:math:`\boldsymbol\eta` is then a valid mixture, which is what EM gets for free from its M-step. The gradients
are those of :eq:`eq-bey2-grad-logits`, :eq:`eq-bey2-grad-mean` and :eq:`eq-bey2-grad-cholesky`.
"""

from typing import NamedTuple

import numpy as np

from ._checks import check_covariances, check_data, check_means, check_mixture, check_weights
from .gaussian import LOG_2PI
from .likelihood import logsumexp


def weights_from_logits(logits):
    r"""Mixture weights from unconstrained logits, :math:`\pi_k = e^{\omega_k} / \sum_j e^{\omega_j}`.

    Implements :eq:`eq-bey2-softmax` in log space, so very large or very small logits do not overflow.

    Parameters
    ----------
    logits : array-like of shape (K,)
        The logits :math:`\omega_k`, any finite real numbers.

    Returns
    -------
    ndarray of shape (K,)
        Positive weights that sum to 1.

    Raises
    ------
    ValueError
        If ``logits`` is not a finite 1-D array.

    Examples
    --------
    >>> import gmmlab.gradient
    >>> gmmlab.gradient.weights_from_logits([0.0, 0.0, 1000.0]).round(3)
    array([0., 0., 1.])
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or logits.size == 0:
        raise ValueError(f"logits must have shape (K,) with K >= 1; got shape {logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or infinite values")
    return np.exp(logits - logsumexp(logits))


def cholesky_from_free(free_factors):
    r"""Cholesky factors :math:`\mathbf{L}_k` from unconstrained lower-triangular matrices :math:`\mathbf{A}_k`.

    Implements :eq:`eq-bey2-cholesky-parametrisation`: the strictly lower triangle of :math:`\mathbf{L}_k` is
    that of :math:`\mathbf{A}_k`, and its diagonal is :math:`\exp` of the diagonal of
    :math:`\mathbf{A}_k`, so every :math:`\boldsymbol\Sigma_k = \mathbf{L}_k\mathbf{L}_k^\top` is
    positive definite. The upper triangle of :math:`\mathbf{A}_k` is ignored.

    Parameters
    ----------
    free_factors : array-like of shape (K, D, D)
        The matrices :math:`\mathbf{A}_k`.

    Returns
    -------
    ndarray of shape (K, D, D)
        Lower-triangular :math:`\mathbf{L}_k` with a positive diagonal.

    Raises
    ------
    ValueError
        If the shape is not (K, D, D) or an entry is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.gradient
    >>> gmmlab.gradient.cholesky_from_free(np.zeros((1, 2, 2)))[0]  # log-diagonal 0 gives the identity
    array([[1., 0.],
           [0., 1.]])
    """
    free_factors = np.asarray(free_factors, dtype=np.float64)
    if free_factors.ndim != 3 or free_factors.shape[1] != free_factors.shape[2]:
        raise ValueError(f"free_factors must have shape (K, D, D); got shape {free_factors.shape}")
    if not np.all(np.isfinite(free_factors)):
        raise ValueError("free_factors contain NaN or infinite values")
    D = free_factors.shape[1]
    factors = np.tril(free_factors, k=-1)
    factors[:, np.arange(D), np.arange(D)] = np.exp(np.diagonal(free_factors, axis1=1, axis2=2))
    return factors


def free_from_mixture(weights, means, covariances):
    r"""Invert the parametrisation: logits, means and free factors :math:`\mathbf{A}_k` of a mixture.

    The inverse of :eq:`eq-bey2-softmax` (logits :math:`\log\pi_k`, defined up to a constant) and of
    :eq:`eq-bey2-cholesky-parametrisation` (the Cholesky factor with the log of its diagonal on the diagonal).

    Parameters
    ----------
    weights : array-like of shape (K,)
        Mixture weights, positive and summing to 1.
    means : array-like of shape (K, D)
        Component means.
    covariances : array-like of shape (K, D, D)
        Component covariances, each symmetric positive definite.

    Returns
    -------
    logits : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    free_factors : ndarray of shape (K, D, D)

    Raises
    ------
    ValueError
        If the mixture is invalid or a weight is zero (its logit would be :math:`-\infty`).

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab, gmmlab.gradient
    >>> X, initial = gmmlab.textbook_example()
    >>> logits, means, free = gmmlab.gradient.free_from_mixture(*initial)
    >>> w, m, c = gmmlab.gradient.mixture_from_free(logits, means, free)
    >>> bool(np.allclose(w, initial.weights) and np.allclose(c, initial.covariances))
    True
    """
    weights = check_weights(weights)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means must have shape (K, D); got shape {means.shape}")
    means = check_means(means, weights.shape[0], means.shape[1])
    covariances = check_covariances(covariances, weights.shape[0], means.shape[1])
    if np.any(weights <= 0):
        raise ValueError("every weight must be positive: a zero weight has logit -inf and no gradient")
    factors = np.linalg.cholesky(covariances)
    D = means.shape[1]
    free = factors.copy()
    free[:, np.arange(D), np.arange(D)] = np.log(np.diagonal(factors, axis1=1, axis2=2))
    return np.log(weights), means.copy(), free


def mixture_from_free(logits, means, free_factors):
    r"""The mixture :math:`(\boldsymbol\pi, \boldsymbol\mu_{1:K}, \boldsymbol\Sigma_{1:K})` of unconstrained parameters.

    Applies :eq:`eq-bey2-softmax` to the logits and :eq:`eq-bey2-cholesky-parametrisation` to the free
    factors, and forms :math:`\boldsymbol\Sigma_k = \mathbf{L}_k\mathbf{L}_k^\top`.

    Parameters
    ----------
    logits : array-like of shape (K,)
        The logits :math:`\omega_k`.
    means : array-like of shape (K, D)
        Component means.
    free_factors : array-like of shape (K, D, D)
        The matrices :math:`\mathbf{A}_k`.

    Returns
    -------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    covariances : ndarray of shape (K, D, D)

    Examples
    --------
    >>> import numpy as np
    >>> import gmmlab.gradient
    >>> w, m, c = gmmlab.gradient.mixture_from_free(np.zeros(2), np.zeros((2, 1)), np.log(2.0) * np.ones((2, 1, 1)))
    >>> w, c.ravel()
    (array([0.5, 0.5]), array([4., 4.]))
    """
    weights = weights_from_logits(logits)
    factors = cholesky_from_free(free_factors)
    means = _check_free_means(means, weights.shape[0], factors)
    return weights, means.copy(), factors @ np.transpose(factors, (0, 2, 1))


def _check_free_means(means, n_components, factors):
    means = np.asarray(means, dtype=np.float64)
    if factors.shape[0] != n_components:
        raise ValueError(f"free_factors must have one matrix per component: K = {n_components}, got {factors.shape[0]}")
    if means.shape != (n_components, factors.shape[1]):
        raise ValueError(
            f"means must have shape (K, D) = ({n_components}, {factors.shape[1]}); got shape {means.shape}"
        )
    if not np.all(np.isfinite(means)):
        raise ValueError("means contain NaN or infinite values")
    return means


class Gradients(NamedTuple):
    """What :func:`log_likelihood_gradients` returns: the log-likelihood and its gradient, block by block."""

    log_likelihood: float
    """The total log-likelihood :eq:`eq-gmm-log-likelihood` at the given parameters."""
    logits: np.ndarray
    """Gradient with respect to the logits, shape (K,), :eq:`eq-bey2-grad-logits`."""
    means: np.ndarray
    """Gradient with respect to the means, shape (K, D), :eq:`eq-bey2-grad-mean`."""
    free_factors: np.ndarray
    """Gradient with respect to the free factors, shape (K, D, D), lower triangular, :eq:`eq-bey2-grad-cholesky`."""


def log_likelihood_gradients(X, logits, means, free_factors):
    r"""The mixture log-likelihood and its gradient with respect to the unconstrained parameters.

    With responsibilities :math:`r_{nk}`, :math:`N_k = \sum_n r_{nk}` and whitened residuals
    :math:`\mathbf{u}_{nk} = \mathbf{L}_k^{-1}(\mathbf{x}_n - \boldsymbol\mu_k)`, implements

    - :eq:`eq-bey2-grad-logits`: :math:`\partial\ell/\partial\omega_k = N_k - N\pi_k`;
    - :eq:`eq-bey2-grad-mean`: :math:`\partial\ell/\partial\boldsymbol\mu_k = \mathbf{L}_k^{-\top}\sum_n r_{nk}\mathbf{u}_{nk}`;
    - :eq:`eq-bey2-grad-cholesky`: :math:`\mathbf{G}_k` :math:`= \mathbf{L}_k^{-\top}\bigl(\sum_n r_{nk}\mathbf{u}_{nk}\mathbf{u}_{nk}^\top - N_k\mathbf{I}\bigr)`,
      whose lower triangle is the gradient with respect to :math:`\mathbf{A}_k`, with every diagonal
      entry multiplied by :math:`L_{k,dd}` (the chain rule through the exponential).

    Everything is vectorised over points and components, and the responsibilities are computed in log space.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The data points, one per row.
    logits : array-like of shape (K,)
        The logits :math:`\omega_k` of the weights.
    means : array-like of shape (K, D)
        Component means.
    free_factors : array-like of shape (K, D, D)
        The matrices :math:`\mathbf{A}_k` of :eq:`eq-bey2-cholesky-parametrisation`.

    Returns
    -------
    Gradients
        The total log-likelihood and the three gradient blocks.

    Raises
    ------
    ValueError
        If the data or the parameters are not finite or their shapes disagree.

    Examples
    --------
    At an EM fixed point the gradient vanishes:

    >>> import numpy as np
    >>> import gmmlab, gmmlab.gradient
    >>> X, initial = gmmlab.textbook_example()
    >>> fit = gmmlab.run_em(X, *initial, max_iter=500, tol=1e-12)
    >>> free = gmmlab.gradient.free_from_mixture(fit.weights, fit.means, fit.covariances)
    >>> grads = gmmlab.gradient.log_likelihood_gradients(X, *free)
    >>> bool(max(np.abs(g).max() for g in grads[1:]) < 1e-4)
    True
    """
    X = check_data(X)
    weights = weights_from_logits(logits)
    factors = cholesky_from_free(free_factors)
    means = _check_free_means(means, weights.shape[0], factors)
    N, D = X.shape
    if factors.shape[1] != D:
        raise ValueError(f"the parameters have D = {factors.shape[1]} dimensions but X has {D} columns")

    # u[k, n] = L_k^{-1} (x_n - mu_k): batched triangular solves, no explicit inverse or covariance.
    residuals = X[None, :, :] - means[:, None, :]
    whitened = np.linalg.solve(factors, np.transpose(residuals, (0, 2, 1)))  # (K, D, N)
    log_det_factor = np.sum(np.log(np.diagonal(factors, axis1=1, axis2=2)), axis=1)  # log det L_k
    log_gauss = -0.5 * (D * LOG_2PI + np.sum(whitened**2, axis=1)) - log_det_factor[:, None]  # (K, N)
    log_joint = log_gauss.T + np.log(weights)  # (N, K), eq-joint
    log_px = logsumexp(log_joint, axis=1, keepdims=True)
    resp = np.exp(log_joint - log_px)  # eq-responsibilities
    nk = resp.sum(axis=0)

    grad_logits = nk - N * weights
    transposed = np.transpose(factors, (0, 2, 1))
    weighted = np.einsum("kdn,nk->kd", whitened, resp)
    grad_means = np.linalg.solve(transposed, weighted[:, :, None])[:, :, 0]
    scatter = np.einsum("kdn,nk,ken->kde", whitened, resp, whitened) - nk[:, None, None] * np.eye(D)
    grad_factors = np.tril(np.linalg.solve(transposed, scatter))
    diagonal = np.arange(D)
    grad_factors[:, diagonal, diagonal] *= factors[:, diagonal, diagonal]
    return Gradients(float(log_px.sum()), grad_logits, grad_means, grad_factors)


class GradientAscentResult(NamedTuple):
    """What :func:`run_gradient_ascent` returns: the final mixture and the log-likelihood of every iteration."""

    weights: np.ndarray
    """Final mixture weights, shape (K,)."""
    means: np.ndarray
    """Final component means, shape (K, D)."""
    covariances: np.ndarray
    """Final component covariances, shape (K, D, D)."""
    log_likelihoods: list
    """Log-likelihood of the initial parameters (index 0) and after every accepted step."""
    step_sizes: list
    """The step size used by every accepted step (it only shrinks, when a step would lose likelihood)."""
    n_iter: int
    """Number of accepted steps."""
    converged: bool
    """Whether a step raised the log-likelihood by less than ``tol`` before ``max_iter`` ran out."""


def run_gradient_ascent(X, weights, means, covariances, *, step_size=0.1, max_iter=1000, tol=1e-8):
    r"""Maximise the mixture log-likelihood by gradient ascent on the unconstrained parameters.

    Each iteration moves :math:`\boldsymbol\eta \leftarrow \boldsymbol\eta + \rho\,\nabla_{\boldsymbol\eta}\ell/N`
    (:eq:`eq-bey2-ascent-step`), with the gradient of :func:`log_likelihood_gradients` divided by :math:`N`
    so that the step size :math:`\rho` does not depend on the number of points. A step that would lower the
    log-likelihood (or leave it undefined) is rejected and :math:`\rho` is halved, so the iteration never
    goes downhill; the price is that a step size chosen too large is paid for in rejected steps.

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
    step_size : float, default=0.1
        The initial step size :math:`\rho > 0`.
    max_iter : int, default=1000
        Largest number of accepted steps; 0 returns the initial parameters.
    tol : float, default=1e-8
        Stop when an accepted step raises the total log-likelihood by less than this.

    Returns
    -------
    GradientAscentResult
        The final mixture, the log-likelihood after every accepted step and the step sizes used.

    Raises
    ------
    ValueError
        If the initial parameters are invalid, a weight is zero, ``step_size`` is not positive or
        ``max_iter`` is negative.

    Examples
    --------
    >>> import gmmlab, gmmlab.gradient
    >>> X, initial = gmmlab.textbook_example()
    >>> ascent = gmmlab.gradient.run_gradient_ascent(X, *initial, step_size=0.5, max_iter=200)
    >>> bool(ascent.log_likelihoods[-1] > ascent.log_likelihoods[0] + 10)
    True
    """
    X = check_data(X)
    if not np.isfinite(step_size) or step_size <= 0:
        raise ValueError(f"step_size must be a positive number; got {step_size!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    check_mixture(X, weights, means, covariances)
    eta = free_from_mixture(weights, means, covariances)
    current = log_likelihood_gradients(X, *eta)
    log_likelihoods, step_sizes = [current.log_likelihood], []
    N = X.shape[0]
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        candidate = tuple(p + step_size / N * g for p, g in zip(eta, current[1:]))
        with np.errstate(all="ignore"):
            try:
                proposal = log_likelihood_gradients(X, *candidate)
            except (ValueError, np.linalg.LinAlgError):  # overflow to inf or a singular factor: too far
                proposal = None
        if proposal is None or not proposal.log_likelihood >= current.log_likelihood:
            if proposal is not None and current.log_likelihood - proposal.log_likelihood < tol:
                converged = True  # at the top to within tol: a step that loses less than tol gains nothing
                break
            step_size /= 2
            if step_size < 1e-12:
                break
            continue
        n_iter += 1
        eta, gain = candidate, proposal.log_likelihood - current.log_likelihood
        current = proposal
        log_likelihoods.append(current.log_likelihood)
        step_sizes.append(step_size)
        if gain < tol:
            converged = True
            break
    w, m, c = mixture_from_free(*eta)
    return GradientAscentResult(w, m, c, log_likelihoods, step_sizes, n_iter, converged)
