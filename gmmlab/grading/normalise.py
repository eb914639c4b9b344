"""Moved to :mod:`gmmlab_course.normalise` (the course's instructor tools); this alias goes in the next release."""

from ._moved import forward

__getattr__ = forward("gmmlab.grading.normalise")
