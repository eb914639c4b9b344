"""EM at scale: one iteration as sums over chunks of rows (:ref:`em-at-scale`).

Everything an M-step needs is a sum over the points (:eq:`eq-chunk-sums`), so one EM iteration is one pass over
the chunks: :func:`chunk_summary` reduces a chunk to its count, log-likelihood, weighted means and scatters
(:eq:`eq-chunk-summary`), :func:`merge_summaries` merges summaries exactly (:eq:`eq-merge-chunks`), eight at a
time up a tree (``SPLIT_EVERY``), and :func:`m_step_from_summary` finishes the M-step from the merged summary.
:class:`gmmlab.GaussianMixture` runs them on a Dask array's chunks; they need no Dask themselves.
"""

from ._dask import INIT_SAMPLE_ROWS, SPLIT_EVERY, chunk_summary, m_step_from_summary, merge_summaries

__all__ = ["INIT_SAMPLE_ROWS", "SPLIT_EVERY", "chunk_summary", "m_step_from_summary", "merge_summaries"]
