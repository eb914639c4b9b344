"""The instructor tools' old dotted paths, kept for one release so deployed hubs' configurations keep working.

The grader, the exchange collector, the exports, manual and parallel grading moved from ``gmmlab.grading`` to the
course's own package, :mod:`gmmlab_course` (which students never import). Each old module is now an alias that
forwards its names there with a DeprecationWarning; ``python -m gmmlab.grading.parallel`` still runs. Remove these
aliases in the next release.
"""

import importlib
import warnings

MOVED = {  # old module: the modules that now hold its names
    "gmmlab.grading.autograde": ("gmmlab_course.autograde",),
    "gmmlab.grading.exchange": ("gmmlab_course.collect",),
    "gmmlab.grading.export": ("gmmlab_course.export", "gmmlab_course.collect"),
    "gmmlab.grading.manual": ("gmmlab_course.manual",),
    "gmmlab.grading.normalise": ("gmmlab_course.normalise",),
    "gmmlab.grading.parallel": ("gmmlab_course.parallel",),
    "gmmlab.grading.sandbox": ("gmmlab_course.sandbox",),
}


def forward(old):
    """A module ``__getattr__`` for the alias ``old``: each name is looked up in the modules it moved to."""

    def __getattr__(name):
        for target in MOVED[old] if not name.startswith("__") else ():
            module = importlib.import_module(target)
            if hasattr(module, name):
                warnings.warn(f"{old} moved to {target}: use {target}.{name} (the alias goes in the next release)",
                              DeprecationWarning, stacklevel=2)
                return getattr(module, name)
        raise AttributeError(f"module {old!r} (moved to {MOVED[old][0]}) has no attribute {name!r}")

    return __getattr__
