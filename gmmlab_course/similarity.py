"""Similar submissions: pairs of students whose answer cells share unusually much code, found with copydetect.

`copydetect <https://github.com/blingenf/copydetect>`_ fingerprints code as MOSS does (winnowing, Schleimer,
Wilkerson and Aiken 2003) after Pygments has tokenised it and replaced every name by one letter, so renamed
variables, changed comments and moved functions change little. Fingerprints of the release's starter code and of
the code the notebook gives (``boilerplate``) are removed first, so that only what students wrote is compared.
Everything runs here; nothing is sent anywhere.

A pair's **similarity** is the smaller of its two shares: the part of each student's code (tokens covered by
fingerprints) that is also in the other's. A whole notebook copied with its names renamed, comments changed and
functions reordered keeps a similarity of 1 (names and comments never reach the fingerprints, and they do not
depend on the order of passages). The course's functions are short and their steps prescribed, so independent
solutions share much (two notebooks that differ in a line or two per function reach 0.9): the default threshold,
``DEFAULT_THRESHOLD``, is high, and lowering it shows more pairs to look at.

A high similarity is a reason for a person to look at the two submissions side by side, never evidence on its own:
short functions have few ways to be written, and students may legitimately have worked from the same lecture code.
"""

import io
from typing import NamedTuple

import numpy as np
from scipy import sparse
from copydetect import CodeFingerprint, compare_files

# copydetect's own defaults: a match must span 25 tokens (noise) and every match of 25 tokens is found (guarantee)
NOISE_TOKENS = 25
GUARANTEE_TOKENS = 25
DEFAULT_THRESHOLD = 0.95


class Pair(NamedTuple):
    first: str
    second: str
    similarity: float  # min(share of first found in second, share of second found in first)
    shares: tuple  # (share of first's code in second, share of second's code in first)
    slices: tuple  # copydetect's copied slices (2 x n arrays of character offsets) in each one's code


def fingerprint(code, boilerplate=()):
    """copydetect's fingerprint of Python ``code``, without the hashes in ``boilerplate``."""
    return CodeFingerprint("answer.py", NOISE_TOKENS, GUARANTEE_TOKENS - NOISE_TOKENS + 1,
                           boilerplate=np.asarray(sorted(boilerplate), dtype=np.int64), fp=io.StringIO(code),
                           language="python")


def fingerprints(answers, boilerplate=""):
    """{student: fingerprint} of ``answers`` ({student: code}), without the fingerprints of ``boilerplate`` (code every
    student was given: starter code, given cells)."""
    given = fingerprint(boilerplate).hashes if boilerplate.strip() else set()
    return {student: fingerprint(code, given) for student, code in answers.items()}


def shares(prints):
    """(students, S): ``S[i, j]`` is the share of student i's code also in student j's, copydetect's similarity
    (:func:`copydetect.compare_files`: the tokens under i's fingerprints that j shares, over the tokens under all of
    i's), for every pair at once: one sparse product per student instead of a comparison per pair."""
    students = sorted(prints)
    column = {h: n for n, h in enumerate(sorted(set().union(*(prints[s].hashes for s in students))))}
    rows = [i for i, s in enumerate(students) for _ in prints[s].hashes]
    has = sparse.csr_matrix((np.ones(len(rows)), (rows, [column[h] for s in students for h in prints[s].hashes])),
                            shape=(len(students), len(column)))
    result = np.zeros((len(students), len(students)))
    for i, student in enumerate(students):
        p = prints[student]
        if not p.hash_idx or not p.token_coverage:
            continue
        # window[h, t]: token t lies under an occurrence of hash h (each occurrence covers k tokens)
        pairs = [(column[h], t + offset) for h, ts in p.hash_idx.items() for t in ts for offset in range(p.k)]
        hashes, tokens = np.array(pairs).T
        window = sparse.csr_matrix((np.ones(len(pairs)), (hashes, tokens)), shape=(len(column), len(p.filtered_code)))
        covered = (has @ window) > 0
        result[i] = covered.getnnz(axis=1) / p.token_coverage
    return students, result


def compare(answers, boilerplate="", at_least=0.0):
    """The pairs of ``answers`` ({student: code}) whose similarity is at least ``at_least`` (and above 0), as
    :class:`Pair` with copydetect's own shares and matching passages."""
    prints = fingerprints(answers, boilerplate)
    students, share = shares(prints)
    similarity = np.minimum(share, share.T)
    for i, j in zip(*np.nonzero(np.triu(similarity >= max(at_least - 1e-9, 1e-12), k=1))):
        a, b = students[i], students[j]
        _, exact, slices = compare_files(prints[a], prints[b])
        if min(exact) >= at_least:
            yield Pair(a, b, float(min(exact)), tuple(float(s) for s in exact), slices)


def similar_pairs(answers, boilerplate="", threshold=DEFAULT_THRESHOLD):
    """The pairs of ``answers`` ({student: code}) whose similarity is at least ``threshold``, most similar first."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the similarity threshold is a share of the code, in (0, 1]; got {threshold!r}")
    pairs = list(compare(answers, boilerplate, threshold))
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second))
