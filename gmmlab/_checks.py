"""Input validation shared by the teaching functions and the estimator.

Every check raises ``ValueError`` with a message that names the problem in the course's notation, so a
student sees "weights must sum to 1" rather than a NaN or a numpy traceback three calls deep.
"""

import sys

import numpy as np

# Weights and responsibility rows must sum to 1; this much rounding is forgiven.
SUM_TOLERANCE = 1e-6


def non_finite_message(name, row):
    """The error message for NaN or infinity, naming the first row that holds one."""
    return f"{name} contains NaN or infinite values (first in row {row}); remove or impute them"


def check_missing_values(X, name="X", first_row=0):
    """Raise ``ValueError`` naming the first row with an infinite value, or with every entry NaN (counted from
    ``first_row``, the number of X's first row in a larger array, such as a Dask chunk's in its array).

    Where NaN marks a missing entry (the estimator's missing-at-random data), infinity is not missing: it is
    a value no Gaussian gives, so it is refused; and a row with nothing observed says nothing about the
    mixture (it is usually a parsing error), so it is refused too rather than silently ignored.
    """
    infinite = np.isinf(X)
    if infinite.any():
        raise ValueError(infinite_message(name, first_row + int(np.argwhere(infinite)[0, 0])))
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        raise ValueError(empty_row_message(name, first_row + int(np.argmax(empty))))


def infinite_message(name, row):
    """The error message for an infinite value where NaN marks a missing entry, naming its row."""
    return (
        f"{name} contains infinite values (first in row {row}); NaN marks a missing entry, but infinity is not "
        "missing: remove the row or replace the value"
    )


def empty_row_message(name, row):
    """The error message for a row with every entry missing (NaN), naming it."""
    return (
        f"{name} has every entry missing (NaN) in row {row}: a row with nothing observed carries no information "
        "about the mixture; drop it"
    )


def empty_column_message(name, column):
    """The error message for a feature with every entry missing (NaN), naming it."""
    return (
        f"{name} has every entry of feature {column} missing (NaN): nothing can be estimated for it; drop the "
        "column"
    )


def check_data(X, name="X", dtypes=(np.float64,), allow_nan=False):
    """Return ``X`` as a float array of shape (N, D), or raise an error saying what is wrong.

    The array keeps its dtype if it is one of ``dtypes`` (the estimator passes float64 and float32) and is
    converted to the first of them otherwise. The exception types are scikit-learn's for the same input:
    ``TypeError`` for a sparse matrix and for an entry that is not a number at all (as ``float()`` raises),
    ``ValueError`` otherwise; the messages also carry the phrases scikit-learn's estimator checks look for.
    With ``allow_nan`` NaN entries are kept as missing values (:func:`check_missing_values`).
    """
    sparse = sys.modules.get("scipy.sparse")  # a sparse matrix exists only once scipy.sparse is imported
    if sparse is not None and sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix, and sparse input is not supported (dense data is required): "
            f"pass {name}.toarray()"
        )
    if np.iscomplexobj(X):
        raise ValueError(f"{name} contains complex numbers (Complex data not supported); pass real numbers")
    dtype = getattr(X, "dtype", None)
    try:
        X = np.asarray(X, dtype=dtype if dtype in dtypes else dtypes[0])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name} must be a numeric array of shape (N, D): {error}") from None
    if X.ndim != 2:
        hint = (
            " Reshape 1-D data with X.reshape(-1, 1) if it holds one feature."
            " Reshape your data with X.reshape(1, -1) if it holds a single point."
            if X.ndim == 1
            else ""
        )
        raise ValueError(f"{name} must be a 2-D array of shape (N, D); got {X.ndim}-D with shape {X.shape}.{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row; got shape {X.shape}")
    if X.shape[1] == 0:
        raise ValueError(
            f"{name} must have at least one column: it has 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            "is required."
        )
    if not np.all(np.isfinite(X)):
        if allow_nan:
            check_missing_values(X, name)
        else:
            raise ValueError(non_finite_message(name, int(np.argwhere(~np.isfinite(X))[0, 0])))
    return X


def check_n_components(n_components, n_samples):
    """Raise ``ValueError`` unless 1 <= K <= N."""
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ValueError(f"the number of components K must be an integer; got {n_components!r}")
    if n_components < 1:
        raise ValueError(f"the number of components K must be at least 1; got K = {n_components}")
    if n_components > n_samples:
        raise ValueError(
            f"more components than data points: K = {n_components} but N = {n_samples}; "
            "each component needs data to estimate it"
        )


def check_weights(weights, n_components=None):
    """Return the mixture weights as a float array of shape (K,) on the probability simplex."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1:
        raise ValueError(f"weights must have shape (K,); got shape {weights.shape}")
    if n_components is not None and weights.shape[0] != n_components:
        raise ValueError(f"weights must have shape ({n_components},), one per component; got shape {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights contain NaN or infinite values")
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(f"weights must lie in [0, 1]; got min {weights.min():.5g}, max {weights.max():.5g}")
    if abs(weights.sum() - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"weights must sum to 1; they sum to {weights.sum():.6g}")
    return weights


def check_means(means, n_components, n_features):
    """Return the means as a float array of shape (K, D)."""
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"means must have shape (K, D) = ({n_components}, {n_features}); got shape {means.shape}"
        )
    if not np.all(np.isfinite(means)):
        raise ValueError("means contain NaN or infinite values")
    return means


def cholesky(matrix, what="covariance"):
    """Lower Cholesky factor of a symmetric positive-definite matrix, or a ``ValueError`` naming ``what``."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{what} contains NaN or infinite values")
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(matrix).max())):
        raise ValueError(f"{what} must be symmetric")
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{what} is not positive definite (it is singular or has a negative eigenvalue); "
            "a component may have collapsed onto too few distinct points: add a small reg_covar to its diagonal"
        ) from None


def check_covariances(covariances, n_components, n_features):
    """Return full covariances of shape (K, D, D) after checking each is symmetric positive definite."""
    covariances = np.asarray(covariances, dtype=np.float64)
    expected = (n_components, n_features, n_features)
    if covariances.shape != expected:
        raise ValueError(f"covariances must have shape (K, D, D) = {expected}; got shape {covariances.shape}")
    for k in range(n_components):
        cholesky(covariances[k], what=f"covariances[{k}]")
    return covariances


def check_mixture(X, weights, means, covariances):
    """Validate data and full-covariance mixture parameters together; return them as float arrays."""
    X = check_data(X)
    weights = np.asarray(weights, dtype=np.float64)
    n_components = weights.shape[0] if weights.ndim == 1 else None
    weights = check_weights(weights, n_components)
    means = check_means(means, weights.shape[0], X.shape[1])
    covariances = check_covariances(covariances, weights.shape[0], X.shape[1])
    return X, weights, means, covariances


def check_responsibilities(responsibilities, n_samples, n_components=None):
    """Return responsibilities of shape (N, K) whose rows are probability vectors."""
    resp = np.asarray(responsibilities, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != n_samples or (n_components is not None and resp.shape[1] != n_components):
        want = f"({n_samples}, {'K' if n_components is None else n_components})"
        raise ValueError(f"responsibilities must have shape (N, K) = {want}; got shape {resp.shape}")
    if not np.all(np.isfinite(resp)):
        raise ValueError("responsibilities contain NaN or infinite values")
    if np.any(resp < 0):
        raise ValueError("responsibilities must be non-negative")
    row_sums = resp.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > SUM_TOLERANCE)
    if bad.size:
        raise ValueError(f"each row of responsibilities must sum to 1; row {bad[0]} sums to {row_sums[bad[0]]:.6g}")
    return resp
