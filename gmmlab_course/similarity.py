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
from itertools import combinations
from typing import NamedTuple

import numpy as np
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


def compare(answers, boilerplate=""):
    """Every pair of ``answers`` ({student: code}) that shares any fingerprint, as a :class:`Pair`.

    ``boilerplate`` is code every student was given (starter code, given cells); its fingerprints never count.
    """
    given = fingerprint(boilerplate).hashes if boilerplate.strip() else set()
    prints = {student: fingerprint(code, given) for student, code in answers.items()}
    for a, b in combinations(sorted(prints), 2):
        if prints[a].hashes.isdisjoint(prints[b].hashes):
            continue  # nothing in common: no need for copydetect's slices
        _, shares, slices = compare_files(prints[a], prints[b])
        yield Pair(a, b, float(min(shares)), tuple(float(s) for s in shares), slices)


def similar_pairs(answers, boilerplate="", threshold=DEFAULT_THRESHOLD):
    """The pairs of ``answers`` ({student: code}) whose similarity is at least ``threshold``, most similar first."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the similarity threshold is a share of the code, in (0, 1]; got {threshold!r}")
    pairs = [pair for pair in compare(answers, boilerplate) if pair.similarity >= threshold]
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second))
