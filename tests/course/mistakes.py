"""The catalogue of common mistakes: plausible wrong answers students hand in, one per entry.

Each entry replaces the code of one answer cell (``function``, which is also the cell's nbgrader grade_id) in an
otherwise correct submission. Autograded, the submission must lose points on ``test`` (a test cell's grade_id)
and that cell's error must contain ``message``, the hint written for this mistake. In the student's own kernel
the function's visible test (``test_<function>_visible``) must fail with ``visible`` (``message`` unless given)
while every other visible test passes, so the student learns what is wrong, in the function that has it. Both
failures end with the line ``[mistake: <name>]`` (``gmmlab.grading.expect(..., mistake=name)``), by which the class
report counts mistakes (a banned tool's entry in ``graded(..., banned=)`` names it too); only the refusal of a graded
function that calls gmmlab or scikit-learn carries no name, as ``gmmlab.grading.graded`` refuses it for any function,
before any check of the test cell runs.
"""

from typing import NamedTuple

from gmmlab_course import manifest


class Mistake(NamedTuple):
    name: str
    assignment: str
    function: str
    source: str
    test: str
    message: str
    shown: str = ""  # what the visible test says, when it is not ``message``

    @property
    def visible(self):
        return self.shown or self.message

    @property
    def tagged(self):
        """Whether the failure names this mistake: all but calls of gmmlab or scikit-learn, which ``graded`` refuses."""
        return self.name not in REFUSED_BY_GRADED


PS1, PS2, PS3, PS4, PS5, PS6 = manifest.names()[:6]  # the course manifest, gmmlab_course/course.toml
REFUSED_BY_GRADED = {"assign-uses-sklearn", "e-step-calls-gmmlab"}

MISTAKES = [
    # ------------------------------------------------------------------ ps1: k-means
    Mistake("assign-argmax", PS1, "assign_clusters", '''
def assign_clusters(X, centers):
    d = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.argmax(d, axis=1)
''', "test_assign_clusters_hidden", "not the argmax"),
    Mistake("assign-wrong-axis", PS1, "assign_clusters", '''
def assign_clusters(X, centers):
    d = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.argmin(d, axis=0)
''', "test_assign_clusters_visible", "must have shape (5,)"),
    Mistake("assign-first-coordinate-only", PS1, "assign_clusters", '''
def assign_clusters(X, centers):
    d = (X[:, None, 0] - centers[None, :, 0]) ** 2
    return np.argmin(d, axis=1)
''', "test_assign_clusters_hidden", "Compare squared Euclidean distances over all D coordinates",
    "compare squared Euclidean distances over all D coordinates"),
    Mistake("assign-uses-sklearn", PS1, "assign_clusters", '''
from sklearn.metrics import pairwise_distances_argmin

def assign_clusters(X, centers):
    return pairwise_distances_argmin(X, centers)
''', "test_assign_clusters_hidden", "do not call gmmlab/scikit-learn"),
    Mistake("update-sum-not-mean", PS1, "update_centers", '''
def update_centers(X, labels, n_clusters):
    return np.array([X[labels == k].sum(axis=0) for k in range(n_clusters)])
''', "test_update_centers_hidden", "not their sum"),
    Mistake("update-global-mean", PS1, "update_centers", '''
def update_centers(X, labels, n_clusters):
    return np.array([X.mean(axis=0) for k in range(n_clusters)])
''', "test_update_centers_hidden", "only the points assigned to cluster k"),
    Mistake("objective-not-squared", PS1, "kmeans_objective", '''
def kmeans_objective(X, centers, labels):
    return float(np.sum(np.linalg.norm(X - centers[labels], axis=1)))
''', "test_kmeans_objective_hidden", "do not take the square root"),
    Mistake("objective-mean", PS1, "kmeans_objective", '''
def kmeans_objective(X, centers, labels):
    return float(np.mean(np.sum((X - centers[labels]) ** 2, axis=1)))
''', "test_kmeans_objective_hidden", "not a mean"),
    Mistake("kmeans-keeps-last-restart", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)
        for _ in range(max_iter):
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
    return centers, labels, kmeans_objective(X, centers, labels)
''', "test_kmeans_hidden", "keep the restart with the smallest objective"),
    Mistake("kmeans-keeps-largest", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)
        for _ in range(max_iter):
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
        J = kmeans_objective(X, centers, labels)
        if best is None or J > best[2]:
            best = (centers, labels, J)
    return best
''', "test_kmeans_hidden", "smallest objective"),
    Mistake("kmeans-one-iteration", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)
        centers = update_centers(X, labels, n_clusters)
        J = kmeans_objective(X, centers, labels)
        if best is None or J < best[2]:
            best = (centers, labels, J)
    return best
''', "test_kmeans_hidden", "not a fixed point"),
    Mistake("kmeans-three-iterations", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)
        for _ in range(3):  # a fixed number of iterations instead of "until the labels stop changing"
            centers = update_centers(X, labels, n_clusters)
            labels = assign_clusters(X, centers)
        J = kmeans_objective(X, centers, labels)
        if best is None or J < best[2]:
            best = (centers, labels, J)
    return best
''', "test_kmeans_hidden", "not a fixed point"),
    Mistake("kmeans-ignores-n-init", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    centers = random_centers(X, n_clusters, rng)
    labels = assign_clusters(X, centers)
    for _ in range(max_iter):
        centers = update_centers(X, labels, n_clusters)
        new_labels = assign_clusters(X, centers)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centers, labels, kmeans_objective(X, centers, labels)
''', "test_kmeans_hidden", "it called random_centers 1 time(s)",
    "kmeans called random_centers 1 time(s)"),
    # ------------------------------------------------------------------ ps2: likelihood
    Mistake("log-pdf-explicit-inverse", PS2, "gaussian_log_pdf", '''
def gaussian_log_pdf(X, mean, covariance):
    D = X.shape[1]
    diff = X - mean
    precision = np.linalg.inv(covariance)
    quad = np.einsum("nd,de,ne->n", diff, precision, diff)
    return -0.5 * (D * np.log(2 * np.pi) + np.log(np.linalg.det(covariance)) + quad)
''', "test_gaussian_log_pdf_hidden", "do not form an explicit inverse"),
    Mistake("log-pdf-no-2pi", PS2, "gaussian_log_pdf", '''
def gaussian_log_pdf(X, mean, covariance):
    L = np.linalg.cholesky(covariance)
    z = solve_triangular(L, (X - mean).T, lower=True)
    return -0.5 * (2 * np.sum(np.log(np.diag(L))) + np.sum(z**2, axis=0))
''', "test_gaussian_log_pdf_hidden", "normalising constant"),
    Mistake("log-pdf-half-log-det", PS2, "gaussian_log_pdf", '''
def gaussian_log_pdf(X, mean, covariance):
    D = X.shape[1]
    L = np.linalg.cholesky(covariance)
    z = solve_triangular(L, (X - mean).T, lower=True)
    return -0.5 * (D * np.log(2 * np.pi) + np.sum(np.log(np.diag(L))) + np.sum(z**2, axis=0))
''', "test_gaussian_log_pdf_hidden", "log det Sigma = 2 sum_d log L_dd"),
    Mistake("log-pdf-scipy-stats", PS2, "gaussian_log_pdf", '''
from scipy.stats import multivariate_normal

def gaussian_log_pdf(X, mean, covariance):
    return np.atleast_1d(multivariate_normal(mean, covariance).logpdf(X))
''', "test_gaussian_log_pdf_visible", "scipy.stats"),
    Mistake("logsumexp-naive", PS2, "logsumexp", '''
def logsumexp(a, axis):
    return np.log(np.sum(np.exp(a), axis=axis))
''', "test_logsumexp_hidden", "subtract the maximum before exponentiating"),
    Mistake("logsumexp-forgets-max", PS2, "logsumexp", '''
def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - m), axis=axis))
''', "test_logsumexp_hidden", "add the maximum back"),
    Mistake("likelihood-underflow", PS2, "gmm_log_likelihood", '''
def gmm_log_likelihood(X, weights, means, covariances):
    density = sum(weights[k] * np.exp(gaussian_log_pdf(X, means[k], covariances[k])) for k in range(len(weights)))
    return float(np.sum(np.log(density)))
''', "test_gmm_log_likelihood_hidden", "probabilities underflow for far points: work in log space"),
    Mistake("likelihood-no-weights", PS2, "gmm_log_likelihood", '''
def gmm_log_likelihood(X, weights, means, covariances):
    log_joint = np.stack([gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    return float(np.sum(logsumexp(log_joint, axis=1)))
''', "test_gmm_log_likelihood_hidden", "weight each component by pi_k"),
    Mistake("mle-unbiased-covariance", PS2, "gaussian_mle", '''
def gaussian_mle(X):
    return X.mean(axis=0), np.cov(X, rowvar=False)
''', "test_gaussian_mle_hidden", "divides by N, not N - 1", "not N - 1 = 3"),
    Mistake("mle-not-centred", PS2, "gaussian_mle", '''
def gaussian_mle(X):
    return X.mean(axis=0), X.T @ X / X.shape[0]
''', "test_gaussian_mle_hidden", "centre the data"),
    Mistake("log-pdf-wrong-sign", PS2, "gaussian_log_pdf", '''
def gaussian_log_pdf(X, mean, covariance):
    D = X.shape[1]
    L = np.linalg.cholesky(covariance)
    z = solve_triangular(L, (X - mean).T, lower=True)
    return 0.5 * (D * np.log(2 * np.pi) + 2 * np.sum(np.log(np.diag(L))) + np.sum(z**2, axis=0))
''', "test_gaussian_log_pdf_hidden", "a log-density is -1/2 [ ... ]: check the signs"),
    Mistake("likelihood-mean", PS2, "gmm_log_likelihood", '''
def gmm_log_likelihood(X, weights, means, covariances):
    log_joint = np.stack([np.log(weights[k]) + gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    return float(np.mean(logsumexp(log_joint, axis=1)))
''', "test_gmm_log_likelihood_hidden", "sum the log-densities of all N points, not their mean"),
    Mistake("mle-variances-only", PS2, "gaussian_mle", '''
def gaussian_mle(X):
    return X.mean(axis=0), np.diag(X.var(axis=0))
''', "test_gaussian_mle_hidden", "the covariance has off-diagonal entries too"),
    # ------------------------------------------------------------------ ps3: E- and M-steps
    Mistake("e-step-not-normalised", PS3, "e_step", '''
def e_step(X, weights, means, covariances):
    return np.stack([weights[k] * np.exp(gaussian_log_pdf(X, means[k], covariances[k])) * 10
                     for k in range(len(weights))], axis=1)
''', "test_e_step_hidden", "each row of responsibilities must sum to 1; row 0 sums to",
    "each row of responsibilities must sum to 1"),
    Mistake("e-step-normalises-columns", PS3, "e_step", '''
def e_step(X, weights, means, covariances):
    log_r = np.stack([np.log(weights[k]) + gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    log_r -= logsumexp(log_r, axis=0)[None, :]
    return np.exp(log_r)
''', "test_e_step_hidden", "normalise each row, over the K components"),
    Mistake("e-step-no-weights", PS3, "e_step", '''
def e_step(X, weights, means, covariances):
    log_r = np.stack([gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    log_r -= logsumexp(log_r, axis=1)[:, None]
    return np.exp(log_r)
''', "test_e_step_hidden", "multiply each density by its weight pi_k"),
    Mistake("e-step-underflow", PS3, "e_step", '''
def e_step(X, weights, means, covariances):
    p = np.stack([weights[k] * np.exp(gaussian_log_pdf(X, means[k], covariances[k])) for k in range(len(weights))], axis=1)
    return p / p.sum(axis=1, keepdims=True)
''', "test_e_step_hidden", "probabilities underflow for far points: work in log space"),
    Mistake("e-step-calls-gmmlab", PS3, "e_step", '''
import gmmlab

def e_step(X, weights, means, covariances):
    return gmmlab.e_step(X, weights, means, covariances)
''', "test_e_step_visible", "do not call gmmlab/scikit-learn"),
    Mistake("m-step-weights-not-divided", PS3, "m_step", '''
def m_step(X, responsibilities):
    N, D = X.shape
    N_k = responsibilities.sum(axis=0)
    means = (responsibilities.T @ X) / N_k[:, None]
    covariances = np.array([(responsibilities[:, k, None] * (X - means[k])).T @ (X - means[k]) / N_k[k]
                            for k in range(len(N_k))])
    return N_k, means, covariances
''', "test_m_step_weights", "weights must sum to 1: divide N_k by N"),
    Mistake("m-step-means-divided-by-n", PS3, "m_step", '''
def m_step(X, responsibilities):
    N, D = X.shape
    N_k = responsibilities.sum(axis=0)
    means = (responsibilities.T @ X) / N
    covariances = np.array([(responsibilities[:, k, None] * (X - means[k])).T @ (X - means[k]) / N_k[k]
                            for k in range(len(N_k))])
    return N_k / N, means, covariances
''', "test_m_step_means", "divides by N_k = sum_n r_nk, not by N"),
    Mistake("m-step-covariance-around-data-mean", PS3, "m_step", '''
def m_step(X, responsibilities):
    N, D = X.shape
    N_k = responsibilities.sum(axis=0)
    means = (responsibilities.T @ X) / N_k[:, None]
    centred = X - X.mean(axis=0)
    covariances = np.array([(responsibilities[:, k, None] * centred).T @ centred / N_k[k] for k in range(len(N_k))])
    return N_k / N, means, covariances
''', "test_m_step_covariances", "the covariance must be computed around the new means"),
    Mistake("m-step-covariance-divided-by-n", PS3, "m_step", '''
def m_step(X, responsibilities):
    N, D = X.shape
    N_k = responsibilities.sum(axis=0)
    means = (responsibilities.T @ X) / N_k[:, None]
    covariances = np.array([(responsibilities[:, k, None] * (X - means[k])).T @ (X - means[k]) / N
                            for k in range(len(N_k))])
    return N_k / N, means, covariances
''', "test_m_step_covariances", "divides by N_k, not by N"),
    Mistake("lower-bound-no-entropy", PS3, "lower_bound", '''
def lower_bound(X, weights, means, covariances, responsibilities):
    log_joint = np.stack([np.log(weights[k]) + gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    return float(np.sum(responsibilities * log_joint))
''', "test_lower_bound_hidden", "include the entropy term"),
    Mistake("lower-bound-zero-log-zero", PS3, "lower_bound", '''
def lower_bound(X, weights, means, covariances, responsibilities):
    log_joint = np.stack([np.log(weights[k]) + gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    r = responsibilities
    return float(np.sum(r * (log_joint - np.log(r))))
''', "test_lower_bound_hidden", "treat 0 log 0 as 0"),
    # ------------------------------------------------------------------ ps4: EM in practice
    Mistake("run-em-stops-immediately", PS4, "run_em", '''
def run_em(X, weights, means, covariances, max_iter=100, tol=1e-6):
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    for _ in range(max_iter):
        responsibilities = e_step(X, weights, means, covariances)
        weights, means, covariances = m_step(X, responsibilities)
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
        if log_likelihoods[-2] - log_likelihoods[-1] < tol:
            break
    return weights, means, covariances, log_likelihoods
''', "test_run_em_hidden", "stop only when an iteration increases it by less than tol"),
    Mistake("run-em-never-stops", PS4, "run_em", '''
def run_em(X, weights, means, covariances, max_iter=100, tol=1e-6):
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    for _ in range(max_iter):
        responsibilities = e_step(X, weights, means, covariances)
        weights, means, covariances = m_step(X, responsibilities)
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
    return weights, means, covariances, log_likelihoods
''', "test_run_em_hidden", "your loop ran all max_iter"),
    Mistake("run-em-stale-e-step", PS4, "run_em", '''
def run_em(X, weights, means, covariances, max_iter=100, tol=1e-6):
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    responsibilities = e_step(X, weights, means, covariances)
    for _ in range(max_iter):
        weights, means, covariances = m_step(X, responsibilities)
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
        if log_likelihoods[-1] - log_likelihoods[-2] < tol:
            break
    return weights, means, covariances, log_likelihoods
''', "test_run_em_hidden", "E-step with the current parameters"),
    Mistake("fit-gmm-keeps-smallest", PS4, "fit_gmm", '''
def fit_gmm(X, n_components, n_init=5, max_iter=100, tol=1e-6, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        w, m, c, lls = run_em(X, *initial_parameters(X, n_components, rng), max_iter=max_iter, tol=tol)
        if best is None or lls[-1] < best[3]:
            best = (w, m, c, lls[-1])
    return best
''', "test_fit_gmm_hidden", "keep the restart with the largest log-likelihood"),
    Mistake("fit-gmm-same-start", PS4, "fit_gmm", '''
def fit_gmm(X, n_components, n_init=5, max_iter=100, tol=1e-6, random_state=None):
    rng = np.random.default_rng(random_state)
    start = initial_parameters(X, n_components, rng)
    best = None
    for _ in range(n_init):
        w, m, c, lls = run_em(X, *start, max_iter=max_iter, tol=tol)
        if best is None or lls[-1] > best[3]:
            best = (w, m, c, lls[-1])
    return best
''', "test_fit_gmm_hidden", "it called initial_parameters 1 time(s)",
    "fit_gmm called initial_parameters 1 time(s)"),
    Mistake("bic-counts-d-squared", PS4, "bic", '''
def bic(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    return -2 * log_likelihood(X, weights, means, covariances) + ((K - 1) + K * D + K * D * D) * np.log(N)
''', "test_bic_hidden", "D(D+1)/2 free parameters"),
    Mistake("bic-wrong-sign", PS4, "bic", '''
def bic(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    return 2 * log_likelihood(X, weights, means, covariances) + ((K - 1) + K * D + K * D * (D + 1) // 2) * np.log(N)
''', "test_bic_hidden", "check the sign of the log-likelihood"),
    Mistake("select-k-argmax", PS4, "select_k", '''
def select_k(X, k_values, n_init=3, random_state=0):
    bics = [bic(X, *fit_gmm(X, K, n_init=n_init, random_state=random_state)[:3]) for K in k_values]
    return k_values[int(np.argmax(bics))], bics
''', "test_select_k_hidden", "choose the K with the smallest BIC"),
    # ------------------------------------------------------------------ ps5: MAP-EM
    Mistake("map-weights-alpha-not-alpha-minus-one", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return (N_k + alpha) / (N + K * alpha), means, covariances
''', "test_map_m_step_hidden", "adds alpha - 1 to each N_k, not alpha"),
    Mistake("map-weights-divided-by-n", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return (N_k + alpha - 1) / N, means, covariances
''', "test_map_m_step_hidden", "divide N_k + alpha - 1 by N + K(alpha - 1), not by N"),
    Mistake("map-means-shrunk", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / (N_k + alpha - 1)[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "The prior on the means is flat"),
    Mistake("map-covariance-divided-by-n-k-plus-nu", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "by N_k + nu + D + 1, not by N_k + nu"),
    Mistake("map-covariance-psi-added-after-dividing", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(r[:, k, None] * (X - means[k])).T @ (X - means[k]) / (N_k[k] + nu + D + 1) + Psi for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "add Psi to the weighted scatter before dividing"),
    Mistake("log-prior-no-covariance-term", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.stats import dirichlet
    return float(dirichlet(np.full(len(weights), alpha)).logpdf(weights))
''', "test_log_prior_hidden", "add the inverse-Wishart log density of every covariance"),
    Mistake("log-prior-inverse-wishart-exponent-nu", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (nu / 2 * np.linalg.slogdet(Psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - nu / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "the factor |Sigma|^(-(nu + D + 1)/2), not |Sigma|^(-nu/2)"),
    Mistake("log-prior-unnormalised", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    D = Psi.shape[0]
    total = (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += -(nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2
    return float(total)
''', "test_log_prior_hidden", "include the normalising constants of both densities"),
    Mistake("log-prior-wishart-not-inverse-wishart", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy import stats
    return float(stats.dirichlet(np.full(len(weights), alpha)).logpdf(weights)
                 + sum(stats.wishart(df=nu, scale=Psi).logpdf(Sigma) for Sigma in covariances))
''', "test_log_prior_hidden", "scipy.stats.invwishart(df=nu, scale=Psi), not scipy.stats.wishart"),
    Mistake("penalised-subtracts-prior", PS5, "penalised_log_likelihood", '''
def penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu):
    return log_likelihood(X, weights, means, covariances) - log_prior(weights, covariances, alpha, Psi, nu)
''', "test_penalised_log_likelihood_hidden", "add the log prior to the log-likelihood, do not subtract it"),
    Mistake("run-map-em-check-wrong-sign", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu)]
    for _ in range(max_iter):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu))
        if objectives[-1] - objectives[-2] > tol:
            raise ValueError("the penalised log-likelihood went the wrong way")
        if abs(objectives[-1] - objectives[-2]) < tol:
            break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "raise only when an iteration decreases it by more than tol"),
    Mistake("run-map-em-no-check", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu)]
    for _ in range(max_iter):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu))
        if abs(objectives[-1] - objectives[-2]) < tol:
            break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "must raise a ValueError when an iteration decreases the penalised objective"),
    Mistake("run-map-em-tracks-log-likelihood", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [log_likelihood(X, weights, means, covariances)]
    for _ in range(max_iter):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(log_likelihood(X, weights, means, covariances))
        if objectives[-1] - objectives[-2] < -tol:
            raise ValueError("the objective decreased")
        if objectives[-1] - objectives[-2] < tol:
            break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden",
    "the penalised objective penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu), not the log-likelihood"),
    Mistake("choose-prior-on-training-likelihood", PS5, "choose_prior_strength", '''
def choose_prior_strength(X_train, X_valid, start, strengths, alpha, nu):
    D = X_train.shape[1]
    scores = []
    for s in strengths:
        weights, means, covariances, _ = run_map_em(X_train, *start, alpha, s * np.eye(D), nu)
        scores.append(log_likelihood(X_train, weights, means, covariances))
    return strengths[int(np.argmax(scores))], scores
''', "test_choose_prior_strength_hidden", "score each strength by the log-likelihood of the validation data X_valid"),
    Mistake("choose-prior-by-penalised-objective", PS5, "choose_prior_strength", '''
def choose_prior_strength(X_train, X_valid, start, strengths, alpha, nu):
    D = X_train.shape[1]
    scores = []
    for s in strengths:
        weights, means, covariances, _ = run_map_em(X_train, *start, alpha, s * np.eye(D), nu)
        scores.append(penalised_log_likelihood(X_valid, weights, means, covariances, alpha, s * np.eye(D), nu))
    return strengths[int(np.argmax(scores))], scores
''', "test_choose_prior_strength_hidden", "not by the penalised objective"),
    Mistake("map-covariance-psi-inverse", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(np.linalg.inv(Psi) + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "add Psi itself to the weighted scatter, not its inverse"),
    Mistake("map-covariance-nu-minus-d-plus-1", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu - (D + 1)) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "divide by N_k + nu + D + 1, not by N_k + nu - D - 1"),
    Mistake("map-covariance-nu-plus-d-minus-1", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D - 1) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "divide by N_k + nu + D + 1, not by N_k + nu + D - 1"),
    Mistake("map-covariance-responsibilities-squared", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] ** 2 * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "by r_nk, not by r_nk^2"),
    Mistake("map-weights-ignore-prior", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(Psi + (r[:, k, None] * (X - means[k])).T @ (X - means[k])) / (N_k[k] + nu + D + 1) for k in range(K)])
    return N_k / N, means, covariances
''', "test_map_m_step_hidden", "the weights are wrong: they ignore the Dirichlet prior"),
    Mistake("map-covariance-ignores-prior", PS5, "map_m_step", '''
def map_m_step(X, responsibilities, alpha, Psi, nu):
    N, D = X.shape
    r = responsibilities
    K = r.shape[1]
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([(r[:, k, None] * (X - means[k])).T @ (X - means[k]) / N_k[k] for k in range(K)])
    return (N_k + alpha - 1) / (N + K * (alpha - 1)), means, covariances
''', "test_map_m_step_hidden", "the covariances are wrong: they ignore the inverse-Wishart prior"),
    Mistake("log-prior-psi-inverse-in-trace", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (nu / 2 * np.linalg.slogdet(Psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(np.linalg.inv(Psi) @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "tr(Psi Sigma^-1), with Psi itself, not its inverse"),
    Mistake("log-prior-log-det-psi-wrong-sign", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (-nu / 2 * np.linalg.slogdet(Psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "the term (nu/2) log|Psi| has a plus sign"),
    Mistake("log-prior-log-det-psi-dropped", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (0.0 - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "include the term (nu/2) log|Psi|"),
    Mistake("log-prior-log-det-psi-half", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (np.linalg.slogdet(Psi)[1] / 2 - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "the term is (nu/2) log|Psi|, not (1/2) log|Psi|"),
    Mistake("log-prior-dirichlet-alpha-not-alpha-minus-one", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln, multigammaln
    K, D = len(weights), Psi.shape[0]
    total = gammaln(K * alpha) - K * gammaln(alpha) + alpha * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (nu / 2 * np.linalg.slogdet(Psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "pi_k^(alpha - 1), not pi_k^alpha"),
    Mistake("log-prior-no-dirichlet-term", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy import stats
    return float(sum(stats.invwishart(df=nu, scale=Psi).logpdf(Sigma) for Sigma in covariances))
''', "test_log_prior_hidden", "add the Dirichlet log density of the weights, log Dir(pi | alpha)"),
    Mistake("log-prior-no-dirichlet-constant", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import multigammaln
    K, D = len(weights), Psi.shape[0]
    total = (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += (nu / 2 * np.linalg.slogdet(Psi)[1] - nu * D / 2 * np.log(2) - multigammaln(nu / 2, D)
                  - (nu + D + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2)
    return float(total)
''', "test_log_prior_hidden", "include the normalising constants of both densities"),
    Mistake("log-prior-no-wishart-constant", PS5, "log_prior", '''
def log_prior(weights, covariances, alpha, Psi, nu):
    from scipy.special import gammaln
    K = len(weights)
    total = gammaln(K * alpha) - K * gammaln(alpha) + (alpha - 1) * np.sum(np.log(weights))
    for Sigma in covariances:
        total += -(nu + Psi.shape[0] + 1) / 2 * np.linalg.slogdet(Sigma)[1] - np.trace(Psi @ np.linalg.inv(Sigma)) / 2
    return float(total)
''', "test_log_prior_hidden", "include the normalising constants of both densities"),
    Mistake("penalised-forgets-log-likelihood", PS5, "penalised_log_likelihood", '''
def penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu):
    return log_prior(weights, covariances, alpha, Psi, nu)
''', "test_penalised_log_likelihood_hidden", "the penalised objective includes the log-likelihood"),
    Mistake("penalised-forgets-prior", PS5, "penalised_log_likelihood", '''
def penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu):
    return log_likelihood(X, weights, means, covariances)
''', "test_penalised_log_likelihood_hidden", "the penalised objective includes the log prior"),
    Mistake("run-map-em-no-initial-objective", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = []
    for iteration in range(1, max_iter + 1):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu))
        if len(objectives) > 1:
            change = objectives[-1] - objectives[-2]
            if change < -tol:
                raise ValueError(f"iteration {iteration} decreased the penalised log-likelihood")
            if change < tol:
                break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "objectives[0] must be the penalised objective of the initial parameters"),
    Mistake("run-map-em-stops-silently-on-decrease", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu)]
    for _ in range(max_iter):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu))
        if objectives[-1] - objectives[-2] < tol:  # a decrease stops the loop too, without a word
            break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "and your loop stopped without a word"),
    Mistake("run-map-em-returns-previous-parameters", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu)]
    for iteration in range(1, max_iter + 1):
        new = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, *new, alpha, Psi, nu))
        change = objectives[-1] - objectives[-2]
        if change < -tol:
            raise ValueError(f"iteration {iteration} decreased the penalised log-likelihood")
        if change < tol:
            break
        weights, means, covariances = new
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "you return are those from before the last iteration"),
    Mistake("run-map-em-ignores-tol", PS5, "run_map_em", '''
def run_map_em(X, weights, means, covariances, alpha, Psi, nu, max_iter=100, tol=1e-6):
    objectives = [penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu)]
    for iteration in range(1, max_iter + 1):
        weights, means, covariances = map_m_step(X, e_step(X, weights, means, covariances), alpha, Psi, nu)
        objectives.append(penalised_log_likelihood(X, weights, means, covariances, alpha, Psi, nu))
        change = objectives[-1] - objectives[-2]
        if change < -1e-6:
            raise ValueError(f"iteration {iteration} decreased the penalised log-likelihood")
        if change < 1e-6:
            break
    return weights, means, covariances, objectives
''', "test_run_map_em_hidden", "by less than the tol you are given"),
    Mistake("choose-prior-warm-start", PS5, "choose_prior_strength", '''
def choose_prior_strength(X_train, X_valid, start, strengths, alpha, nu):
    D = X_train.shape[1]
    scores, theta = [], start
    for s in strengths:  # each fit starts from the previous one
        *theta, _ = run_map_em(X_train, *theta, alpha, s * np.eye(D), nu)
        scores.append(log_likelihood(X_valid, *theta))
    return strengths[int(np.argmax(scores))], scores
''', "test_choose_prior_strength_hidden", "start every fit from the given start, not from the previous fit"),
    Mistake("choose-prior-psi-scalar", PS5, "choose_prior_strength", '''
def choose_prior_strength(X_train, X_valid, start, strengths, alpha, nu):
    scores = []
    for s in strengths:
        weights, means, covariances, _ = run_map_em(X_train, *start, alpha, s, nu)
        scores.append(log_likelihood(X_valid, weights, means, covariances))
    return strengths[int(np.argmax(scores))], scores
''', "test_choose_prior_strength_hidden", "call run_map_em with Psi = s * np.eye(D), a (D, D) matrix"),
    Mistake("logsumexp-squeezes-every-axis", PS2, "logsumexp", '''
def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    return (m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))).squeeze()
''', "test_logsumexp_hidden", "squeeze only the reduced axis"),
    # ------------------------------------------------------------------ ps6: incomplete and streaming data
    Mistake("conditional-mean-sign", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.zeros((len(x), len(x)))
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        conditional_mean[m] = mean[m] - gain @ (x[o] - mean[o])
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "not subtracted"),
    Mistake("conditional-mean-transposed-gain", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.zeros((len(x), len(x)))
    if m.any():
        S_oo, S_om = covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]
        conditional_mean[m] = mean[m] + np.linalg.solve(S_oo, S_om) @ (x[o] - mean[o])
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)] - S_om.T @ np.linalg.solve(S_oo, S_om)
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "np.linalg.solve(Sigma_oo, Sigma_om) is its transpose"),
    Mistake("conditional-full-inverse-block", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.zeros((len(x), len(x)))
    if m.any():
        precision = np.linalg.inv(covariance)  # the whole Sigma inverted, then its observed block taken
        gain = covariance[np.ix_(m, o)] @ precision[np.ix_(o, o)]
        conditional_mean[m] = mean[m] + gain @ (x[o] - mean[o])
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "not the observed block of the inverse, (Sigma^-1)_oo"),
    Mistake("conditional-mean-unconditional", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.zeros((len(x), len(x)))
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        conditional_mean[m] = mean[m]  # the component's mean, whatever was observed
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "a missing entry is not just its mean mu_m"),
    Mistake("conditional-covariance-not-reduced", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.zeros((len(x), len(x)))
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        conditional_mean[m] = mean[m] + gain @ (x[o] - mean[o])
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)]
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "not Sigma_mm"),
    Mistake("conditional-covariance-observed-block", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean, conditional_covariance = np.array(x, dtype=float), np.array(covariance, dtype=float)
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        conditional_mean[m] = mean[m] + gain @ (x[o] - mean[o])
        conditional_covariance[np.ix_(m, m)] = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
        conditional_covariance[np.ix_(m, o)] = 0.0
        conditional_covariance[np.ix_(o, m)] = 0.0
    return conditional_mean, conditional_covariance
''', "test_conditional_gaussian_hidden", "the observed coordinates are known exactly"),
    Mistake("conditional-covariance-zero", PS6, "conditional_gaussian", '''
def conditional_gaussian(x, mean, covariance):
    m = np.isnan(x)
    o = ~m
    conditional_mean = np.array(x, dtype=float)
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        conditional_mean[m] = mean[m] + gain @ (x[o] - mean[o])
    return conditional_mean, np.zeros((len(x), len(x)))  # a filled-in row treated as certain
''', "test_conditional_gaussian_hidden", "not zero (the M-step needs it)"),
    Mistake("e-step-full-density-with-nan", PS6, "e_step_missing", '''
def e_step_missing(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    log_joint = np.column_stack([np.log(weights[k]) + gaussian_log_pdf(X, means[k], covariances[k]) for k in range(K)])
    responsibilities = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
    conditional_means, conditional_covariances = np.empty((N, K, D)), np.empty((N, K, D, D))
    for n in range(N):
        for k in range(K):
            conditional_means[n, k], conditional_covariances[n, k] = conditional_gaussian(X[n], means[k], covariances[k])
    return responsibilities, conditional_means, conditional_covariances
''', "test_e_step_missing_hidden", "a density of the whole row meets the NaN"),
    Mistake("e-step-density-of-completed-row", PS6, "e_step_missing", '''
def e_step_missing(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    log_joint = np.empty((N, K))
    conditional_means, conditional_covariances = np.empty((N, K, D)), np.empty((N, K, D, D))
    for n in range(N):
        for k in range(K):
            conditional_means[n, k], conditional_covariances[n, k] = conditional_gaussian(X[n], means[k], covariances[k])
            # the row completed with its conditional mean, under the whole Gaussian
            log_joint[n, k] = np.log(weights[k]) + gaussian_log_pdf(conditional_means[n, k][None, :], means[k], covariances[k])[0]
    responsibilities = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
    return responsibilities, conditional_means, conditional_covariances
''', "test_e_step_missing_hidden", "not the density N(xhat | mu, Sigma) of the row completed"),
    Mistake("e-step-fills-component-means", PS6, "e_step_missing", '''
def e_step_missing(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    log_joint = np.empty((N, K))
    conditional_means, conditional_covariances = np.empty((N, K, D)), np.empty((N, K, D, D))
    for k in range(K):
        filled = np.where(np.isnan(X), means[k], X)  # a missing entry replaced by the component's mean
        log_joint[:, k] = np.log(weights[k]) + gaussian_log_pdf(filled, means[k], covariances[k])
        for n in range(N):
            conditional_means[n, k], conditional_covariances[n, k] = conditional_gaussian(X[n], means[k], covariances[k])
    responsibilities = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
    return responsibilities, conditional_means, conditional_covariances
''', "test_e_step_missing_hidden", "filling the missing entries with mu_m and using the whole Sigma"),
    Mistake("e-step-imputes-column-means", PS6, "e_step_missing", '''
def e_step_missing(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    imputed = np.where(np.isnan(X), np.nanmean(X, axis=0), X)  # fill the gaps, then the complete-data E-step
    log_joint = np.column_stack([np.log(weights[k]) + gaussian_log_pdf(imputed, means[k], covariances[k]) for k in range(K)])
    responsibilities = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
    return responsibilities, np.repeat(imputed[:, None, :], K, axis=1), np.zeros((N, K, D, D))
''', "test_e_step_missing_hidden", "do not fill the missing entries with the column means"),
    Mistake("e-step-forgets-weights", PS6, "e_step_missing", '''
def e_step_missing(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    log_density = np.empty((N, K))
    conditional_means, conditional_covariances = np.empty((N, K, D)), np.empty((N, K, D, D))
    for n in range(N):
        o = ~np.isnan(X[n])
        for k in range(K):
            log_density[n, k] = gaussian_log_pdf(X[n, o][None, :], means[k][o], covariances[k][np.ix_(o, o)])[0]
            conditional_means[n, k], conditional_covariances[n, k] = conditional_gaussian(X[n], means[k], covariances[k])
    responsibilities = np.exp(log_density - logsumexp(log_density, axis=1)[:, None])
    return responsibilities, conditional_means, conditional_covariances
''', "test_e_step_missing_hidden", "include the weights pi_k"),
    Mistake("m-step-forgets-conditional-covariance", PS6, "m_step_missing", '''
def m_step_missing(X, responsibilities, conditional_means, conditional_covariances):
    r = responsibilities
    N_k = r.sum(axis=0)
    means = np.einsum("nk,nkd->kd", r, conditional_means) / N_k[:, None]
    deviations = conditional_means - means[None, :, :]
    covariances = np.einsum("nk,nki,nkj->kij", r, deviations, deviations) / N_k[:, None, None]
    return N_k / len(X), means, covariances
''', "test_m_step_missing_hidden", "add the conditional covariances"),
    Mistake("m-step-divides-by-n", PS6, "m_step_missing", '''
def m_step_missing(X, responsibilities, conditional_means, conditional_covariances):
    r = responsibilities
    N = len(X)
    N_k = r.sum(axis=0)
    means = np.einsum("nk,nkd->kd", r, conditional_means) / N_k[:, None]
    deviations = conditional_means - means[None, :, :]
    scatter = np.einsum("nk,nki,nkj->kij", r, deviations, deviations) + np.einsum("nk,nkij->kij", r, conditional_covariances)
    return N_k / N, means, scatter / N
''', "test_m_step_missing_hidden", "divide by N_k = sum_n r_nk, not by N"),
    Mistake("m-step-imputes-column-means", PS6, "m_step_missing", '''
def m_step_missing(X, responsibilities, conditional_means, conditional_covariances):
    r = responsibilities
    imputed = np.where(np.isnan(X), np.nanmean(X, axis=0), X)  # the complete-data M-step on mean-imputed data
    N_k = r.sum(axis=0)
    means = (r.T @ imputed) / N_k[:, None]
    covariances = np.array([(r[:, k, None] * (imputed - means[k])).T @ (imputed - means[k]) / N_k[k] for k in range(len(N_k))])
    return N_k / len(X), means, covariances
''', "test_m_step_missing_hidden", "not the data with its missing entries filled by column means"),
    Mistake("m-step-conditional-covariance-unweighted", PS6, "m_step_missing", '''
def m_step_missing(X, responsibilities, conditional_means, conditional_covariances):
    r = responsibilities
    N_k = r.sum(axis=0)
    means = np.einsum("nk,nkd->kd", r, conditional_means) / N_k[:, None]
    deviations = conditional_means - means[None, :, :]
    scatter = np.einsum("nk,nki,nkj->kij", r, deviations, deviations) + conditional_covariances.sum(axis=0)
    return N_k / len(X), means, scatter / N_k[:, None, None]
''', "test_m_step_missing_hidden", "not sum_n C_nk"),
    Mistake("m-step-observed-entries-only", PS6, "m_step_missing", '''
def m_step_missing(X, responsibilities, conditional_means, conditional_covariances):
    r = responsibilities
    N_k = r.sum(axis=0)
    observed = ~np.isnan(X)
    means = (r.T @ np.where(observed, X, 0.0)) / (r.T @ observed)  # each coordinate over the rows that have it
    deviations = conditional_means - means[None, :, :]
    scatter = np.einsum("nk,nki,nkj->kij", r, deviations, deviations) + np.einsum("nk,nkij->kij", r, conditional_covariances)
    return N_k / len(X), means, scatter / N_k[:, None, None]
''', "test_m_step_missing_hidden", "not each coordinate over the rows where it was observed"),
    Mistake("online-update-swapped-step", PS6, "online_update", '''
def online_update(statistics, batch_statistics, step):
    return tuple(step * s + (1 - step) * s_batch for s, s_batch in zip(statistics, batch_statistics))
''', "test_online_update_hidden", "not step s + (1 - step) s_batch"),
    Mistake("online-update-no-forgetting", PS6, "online_update", '''
def online_update(statistics, batch_statistics, step):
    return tuple(s + step * s_batch for s, s_batch in zip(statistics, batch_statistics))
''', "test_online_update_hidden", "the statistics grow with every batch"),
    Mistake("step-size-constant", PS6, "step_size", '''
def step_size(t, decay=0.6, offset=1.0):
    if not 0.5 < decay <= 1:
        raise ValueError(f"decay must be in (0.5, 1]; got {decay}")
    return 0.05  # a small fixed learning rate
''', "test_step_size_hidden", "a constant step breaks the Robbins-Monro conditions"),
    Mistake("step-size-growing", PS6, "step_size", '''
def step_size(t, decay=0.6, offset=1.0):
    if not 0.5 < decay <= 1:
        raise ValueError(f"decay must be in (0.5, 1]; got {decay}")
    return (t + offset) ** decay
''', "test_step_size_hidden", "(t + offset)^decay grows"),
    Mistake("step-size-accepts-slow-decay", PS6, "step_size", '''
def step_size(t, decay=0.6, offset=1.0):
    if not 0 < decay <= 1:  # decreasing steps, but not fast enough for the sum of squares
        raise ValueError(f"decay must be in (0, 1]; got {decay}")
    return (t + offset) ** -decay
''', "test_step_size_hidden", "the sum of the squared steps is infinite"),
    Mistake("step-size-accepts-fast-decay", PS6, "step_size", '''
def step_size(t, decay=0.6, offset=1.0):
    if decay <= 0.5:
        raise ValueError(f"decay must be more than 0.5; got {decay}")
    return (t + offset) ** -decay
''', "test_step_size_hidden", "the steps have a finite sum"),
    # ------------------------------------------------------------------ caught by the visible tests' hard cases
    Mistake("kmeans-identical-restarts", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    start = random_centers(X, n_clusters, rng)
    best = None
    for _ in range(n_init):
        centers = start.copy()
        labels = assign_clusters(X, centers)
        for _ in range(max_iter):
            if np.unique(labels).size < n_clusters:
                break
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
        if np.unique(labels).size < n_clusters:
            continue
        J = kmeans_objective(X, centers, labels)
        if best is None or J < best[2]:
            best = (centers, labels, J)
    return best
''', "test_kmeans_hidden", "it called random_centers 1 time(s)", "kmeans called random_centers 1 time(s)"),
    Mistake("kmeans-ignores-empty-cluster", PS1, "kmeans", '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)
        for _ in range(max_iter):
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
        J = kmeans_objective(X, centers, labels)
        if best is None or J < best[2]:
            best = (centers, labels, J)
    return best
''', "test_kmeans_visible", "abandon a restart as soon as a cluster is left empty"),
    Mistake("log-pdf-upper-triangular", PS2, "gaussian_log_pdf", '''
def gaussian_log_pdf(X, mean, covariance):
    D = X.shape[1]
    L = np.linalg.cholesky(covariance)
    z = solve_triangular(L, (X - mean).T, lower=False)
    return -0.5 * (D * np.log(2 * np.pi) + 2 * np.sum(np.log(np.diag(L))) + np.sum(z**2, axis=0))
''', "test_gaussian_log_pdf_visible", "solve_triangular(L, ..., lower=True)"),
    Mistake("logsumexp-global-max", PS2, "logsumexp", '''
def logsumexp(a, axis):
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m), axis=axis))
''', "test_logsumexp_visible", "take one maximum per row"),
    Mistake("logsumexp-nan-for-minus-inf-row", PS2, "logsumexp", '''
def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
''', "test_logsumexp_visible", "a row whose entries are all -inf has logsumexp -inf"),
    Mistake("m-step-responsibilities-squared", PS3, "m_step", '''
def m_step(X, responsibilities):
    N, D = X.shape
    r = responsibilities
    N_k = r.sum(axis=0)
    means = (r.T @ X) / N_k[:, None]
    covariances = np.array([((r[:, k] ** 2)[:, None] * (X - means[k])).T @ (X - means[k]) / N_k[k] for k in range(len(N_k))])
    return N_k / N, means, covariances
''', "test_m_step_visible", "not by r_nk^2"),
    Mistake("lower-bound-no-log-weights", PS3, "lower_bound", '''
def lower_bound(X, weights, means, covariances, responsibilities):
    log_joint = np.stack([gaussian_log_pdf(X, means[k], covariances[k]) for k in range(len(weights))], axis=1)
    r = responsibilities
    return float(np.sum(r * log_joint) - np.sum(r[r > 0] * np.log(r[r > 0])))
''', "test_lower_bound_hidden", "include log pi_k in every term"),
    Mistake("run-em-ignores-tol", PS4, "run_em", '''
def run_em(X, weights, means, covariances, max_iter=100, tol=1e-6):
    log_likelihoods = [log_likelihood(X, weights, means, covariances)]
    for _ in range(max_iter):
        responsibilities = e_step(X, weights, means, covariances)
        weights, means, covariances = m_step(X, responsibilities)
        log_likelihoods.append(log_likelihood(X, weights, means, covariances))
        if log_likelihoods[-1] - log_likelihoods[-2] < 1e-6:
            break
    return weights, means, covariances, log_likelihoods
''', "test_run_em_visible", "less than the tol you are given"),
    Mistake("fit-gmm-keeps-last", PS4, "fit_gmm", '''
def fit_gmm(X, n_components, n_init=5, max_iter=100, tol=1e-6, random_state=None):
    rng = np.random.default_rng(random_state)
    for _ in range(n_init):
        w, m, c, lls = run_em(X, *initial_parameters(X, n_components, rng), max_iter=max_iter, tol=tol)
    return w, m, c, lls[-1]
''', "test_fit_gmm_hidden", "keep the restart with the largest log-likelihood"),
    Mistake("fit-gmm-hides-collapse", PS4, "fit_gmm", '''
def fit_gmm(X, n_components, n_init=5, max_iter=100, tol=1e-6, random_state=None):
    rng = np.random.default_rng(random_state)
    best = None
    for _ in range(n_init):
        try:
            w, m, c, lls = run_em(X, *initial_parameters(X, n_components, rng), max_iter=max_iter, tol=tol)
        except Exception:
            continue
        if best is None or lls[-1] > best[3]:
            best = (w, m, c, lls[-1])
    return best
''', "test_fit_gmm_visible", "let it propagate"),
    Mistake("bic-counts-k-weights", PS4, "bic", '''
def bic(X, weights, means, covariances):
    N, D = X.shape
    K = len(weights)
    return -2 * log_likelihood(X, weights, means, covariances) + (K + K * D + K * D * (D + 1) // 2) * np.log(N)
''', "test_bic_hidden", "only K - 1 free parameters"),
    Mistake("select-k-drops-random-state", PS4, "select_k", '''
def select_k(X, k_values, n_init=3, random_state=0):
    bics = [bic(X, *fit_gmm(X, K, n_init=n_init)[:3]) for K in k_values]
    return k_values[int(np.argmin(bics))], bics
''', "test_select_k_visible", "pass n_init and random_state on to fit_gmm"),
]
