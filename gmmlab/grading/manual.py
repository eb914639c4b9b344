"""Moved to :mod:`gmmlab_course.manual` (the course's instructor tools); this alias goes in the next release."""

from ._moved import forward

__getattr__ = forward("gmmlab.grading.manual")

if __name__ == "__main__":  # python -m gmmlab.grading.manual, as deployed hubs and old notes run it
    raise SystemExit(__getattr__("main")())
