"""Online EM for Gaussian mixtures (Cappé and Moulines), as in "Incomplete and streaming data".

The M-step of a Gaussian mixture is a function of three averages over the data, the expected sufficient
statistics :math:`\\mathbf{s} = (s_0, \\mathbf{s}_1, \\mathbf{S}_2)`. Online EM keeps a running estimate of them: each
batch's E-step gives the batch's averages (:func:`sufficient_statistics`), the running estimate moves towards them by
a step :math:`\\gamma_t` (:func:`online_update`, with :func:`step_size` for the schedule), and the parameters are read
off the running estimate (:func:`parameters_from_statistics`). One step of size 1 over the whole data set is one
iteration of batch EM.
"""

import numbers

import numpy as np

from ._checks import check_data, check_responsibilities


def _check_statistics(statistics, name="statistics"):
    try:
        s0, s1, s2 = (np.asarray(s, dtype=np.float64) for s in statistics)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a tuple (s0, s1, s2) of arrays of shapes (K,), (K, D) and (K, D, D)") from None
    if s0.ndim != 1 or s1.ndim != 2 or s1.shape[0] != s0.shape[0] or s2.shape != (s0.shape[0], s1.shape[1], s1.shape[1]):
        raise ValueError(f"{name} must have shapes (K,), (K, D) and (K, D, D); got {s0.shape}, {s1.shape} and {s2.shape}")
    if not all(np.all(np.isfinite(s)) for s in (s0, s1, s2)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return s0, s1, s2


def sufficient_statistics(X, responsibilities):
    r"""The expected sufficient statistics of a batch, as averages over its points.

    Implements :eq:`eq-inc-sufficient-statistics`:
    :math:`s_{0k} = \frac{1}{N}\sum_n r_{nk}`, :math:`\mathbf{s}_{1k} = \frac{1}{N}\sum_n r_{nk}\mathbf{x}_n` and
    :math:`\mathbf{S}_{2k} = \frac{1}{N}\sum_n r_{nk}\mathbf{x}_n\mathbf{x}_n^\top`. Averages rather than sums, so
    that batches of any size are on one scale and the running estimate of :func:`online_update` is an average too.

    Parameters
    ----------
    X : array-like of shape (N, D)
        The batch's points, one per row.
    responsibilities : array-like of shape (N, K)
        Their responsibilities, for example from :func:`gmmlab.e_step`.

    Returns
    -------
    s0 : ndarray of shape (K,)
        The average responsibility of each component (the rows sum to 1, so these do too).
    s1 : ndarray of shape (K, D)
        The responsibility-weighted average of the points.
    s2 : ndarray of shape (K, D, D)
        The responsibility-weighted average of their outer products.

    Raises
    ------
    ValueError
        If the shapes disagree or a row of the responsibilities is not a probability vector.

    Examples
    --------
    >>> import gmmlab
    >>> X, initial = gmmlab.textbook_example()
    >>> s0, s1, s2 = gmmlab.online.sufficient_statistics(X, gmmlab.e_step(X, *initial))
    >>> s0.round(3)
    array([0.294, 0.287, 0.419])
    """
    X = check_data(X)
    resp = check_responsibilities(responsibilities, X.shape[0])
    n_samples = X.shape[0]
    s0 = resp.mean(axis=0)
    s1 = resp.T @ X / n_samples
    s2 = np.einsum("nk,nd,ne->kde", resp, X, X) / n_samples
    return s0, s1, s2


def online_update(statistics, batch_statistics, step):
    r"""One step of online EM: move the running statistics towards a batch's, :math:`\mathbf{s} \leftarrow (1-\gamma)\,\mathbf{s} + \gamma\,\bar{\mathbf{s}}`.

    Implements :eq:`eq-inc-online-update`, for each of the three statistics. It is a stochastic-approximation step
    towards the statistics that the whole data's E-step would give; with :math:`\gamma = 1` it forgets the past and
    keeps the batch's.

    Parameters
    ----------
    statistics : tuple of ndarray
        The running estimate ``(s0, s1, s2)``, of shapes (K,), (K, D) and (K, D, D).
    batch_statistics : tuple of ndarray
        The batch's ``(s0, s1, s2)`` from :func:`sufficient_statistics`, of the same shapes.
    step : float
        The step size :math:`\gamma_t`, in (0, 1]; see :func:`step_size`.

    Returns
    -------
    s0 : ndarray of shape (K,)
        The updated average responsibilities.
    s1 : ndarray of shape (K, D)
        The updated weighted average of the points.
    s2 : ndarray of shape (K, D, D)
        The updated weighted average of their outer products.

    Raises
    ------
    ValueError
        If the step is not in (0, 1] or the shapes disagree.

    Examples
    --------
    >>> import numpy as np
    >>> from gmmlab.online import online_update
    >>> old = (np.array([0.5, 0.5]), np.zeros((2, 1)), np.ones((2, 1, 1)))
    >>> new = (np.array([0.9, 0.1]), np.ones((2, 1)), np.ones((2, 1, 1)))
    >>> online_update(old, new, 0.25)[0]
    array([0.6, 0.4])
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or not 0 < step <= 1:
        raise ValueError(f"step must be a number in (0, 1]; got {step!r}")
    old = _check_statistics(statistics)
    new = _check_statistics(batch_statistics, "batch_statistics")
    if any(a.shape != b.shape for a, b in zip(old, new)):
        raise ValueError(f"statistics and batch_statistics must have the same shapes; got "
                         f"{[a.shape for a in old]} and {[b.shape for b in new]}")
    s0, s1, s2 = ((1.0 - step) * a + step * b for a, b in zip(old, new))
    return s0, s1, s2


def step_size(t, decay=0.6, offset=1.0):
    r"""The step sizes :math:`\gamma_t = (t + t_0)^{-\kappa}` of online EM, for updates :math:`t = 1, 2, \dots`.

    Implements :eq:`eq-inc-step-size`. With the decay :math:`\kappa` in :math:`(1/2, 1]` the steps satisfy the
    Robbins-Monro conditions :eq:`eq-inc-robbins-monro`, :math:`\sum_t\gamma_t = \infty` and
    :math:`\sum_t\gamma_t^2 < \infty`: large enough in total to travel any distance, small enough that the noise of
    the batches averages out. The estimator's ``partial_fit`` uses the same schedule, with ``learning_decay`` and
    ``learning_offset`` for ``decay`` and ``offset``.

    Parameters
    ----------
    t : int or array-like of int
        The update's index, from 1.
    decay : float, default=0.6
        :math:`\kappa`, in (0.5, 1].
    offset : float, default=1.0
        :math:`t_0 \ge 0`; a larger offset makes the first steps smaller, so that early batches count less.

    Returns
    -------
    float or ndarray
        :math:`\gamma_t`, in (0, 1]; an array of the same shape when ``t`` is an array.

    Raises
    ------
    ValueError
        If ``t`` is not a positive integer, ``decay`` is outside (0.5, 1] or ``offset`` is negative.

    Examples
    --------
    >>> from gmmlab.online import step_size
    >>> round(step_size(1, decay=1.0, offset=0.0), 3), round(step_size(3, decay=1.0, offset=0.0), 3)
    (1.0, 0.333)
    """
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0.5 < decay <= 1:
        raise ValueError(
            f"decay must be in (0.5, 1] so that the steps satisfy the Robbins-Monro conditions (their sum diverges, "
            f"the sum of their squares converges); got {decay!r}"
        )
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real) or not 0 <= offset < np.inf:
        raise ValueError(f"offset must be a non-negative number; got {offset!r}")
    t_array = np.asarray(t)
    if t_array.dtype == bool or not np.issubdtype(t_array.dtype, np.integer) or np.any(t_array < 1):
        raise ValueError(f"t must be a positive integer (the updates are counted from 1); got {t!r}")
    gamma = (t_array + float(offset)) ** -float(decay)
    return float(gamma) if gamma.ndim == 0 else gamma


def parameters_from_statistics(statistics, reg_covar=0.0):
    r"""The M-step from sufficient statistics: the mixture that the statistics :math:`(s_0, \mathbf{s}_1, \mathbf{S}_2)` describe.

    Implements :eq:`eq-inc-parameters-from-statistics`: :math:`\pi_k = s_{0k}/\sum_j s_{0j}`,
    :math:`\boldsymbol\mu_k = \mathbf{s}_{1k}/s_{0k}` and
    :math:`\boldsymbol\Sigma_k = \mathbf{S}_{2k}/s_{0k} - \boldsymbol\mu_k\boldsymbol\mu_k^\top`, the updates
    :eq:`eq-mean-update`, :eq:`eq-covariance-update` and :eq:`eq-weight-update` written in the statistics. The
    covariance is a difference of raw moments, which loses digits for a component far from the origin compared with
    its spread; centre the data first.

    Parameters
    ----------
    statistics : tuple of ndarray
        ``(s0, s1, s2)`` of shapes (K,), (K, D) and (K, D, D), from :func:`sufficient_statistics` or
        :func:`online_update`.
    reg_covar : float, default=0.0
        Added to the diagonal of every covariance (:eq:`eq-reg-covar`).

    Returns
    -------
    weights : ndarray of shape (K,)
        The mixture weights.
    means : ndarray of shape (K, D)
        The component means.
    covariances : ndarray of shape (K, D, D)
        The component covariances.

    Raises
    ------
    ValueError
        If the shapes disagree or a component's :math:`s_{0k}` is not positive.

    Examples
    --------
    On one batch with step 1 it is the M-step of batch EM.

    >>> import numpy as np
    >>> import gmmlab
    >>> from gmmlab.online import parameters_from_statistics, sufficient_statistics
    >>> X, initial = gmmlab.textbook_example()
    >>> R = gmmlab.e_step(X, *initial)
    >>> means = parameters_from_statistics(sufficient_statistics(X, R))[1]
    >>> means.ravel().round(1)
    array([-2.7, -0.4,  3.7])
    """
    s0, s1, s2 = _check_statistics(statistics)
    empty = np.flatnonzero(s0 <= 0)
    if empty.size:
        raise ValueError(f"component {empty[0]} has s0 = {s0[empty[0]]:.3g}: no responsibility, so its mean and "
                         "covariance are undefined; re-initialise it")
    if isinstance(reg_covar, bool) or not isinstance(reg_covar, numbers.Real) or not 0 <= reg_covar < np.inf:
        raise ValueError(f"reg_covar must be a non-negative number; got {reg_covar!r}")
    weights = s0 / s0.sum()
    means = s1 / s0[:, None]
    covariances = s2 / s0[:, None, None] - means[:, :, None] * means[:, None, :]
    covariances = 0.5 * (covariances + covariances.transpose(0, 2, 1))  # exactly symmetric despite rounding
    n_features = means.shape[1]
    covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    return weights, means, covariances
