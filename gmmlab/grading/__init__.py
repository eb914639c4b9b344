"""The checks the problem sets' test cells use: ``graded``, ``expect``, ``expect_close``, ``as_array``, ``grading_rng``.

In your own notebook they check your functions directly, so a test cell tells you what is wrong while you work.
When the course autogrades a submission, the same test cells run in a separate, trusted process and your
functions run in a sandbox from which they are called (the course's grader, ``gmmlab_course.autograde``, links
these checks to the sandbox with :func:`connect`): nothing a notebook defines or changes can alter what a test checks.

Only this module, ``wire`` and ``_server`` run on the student's side; the grader copies exactly these three into
each sandbox. Nothing here imports the course's instructor tools.
"""

import copy
import re
import sys
import types
import warnings

import numpy as np

__all__ = ["as_array", "expect", "expect_close", "given", "graded", "grading_rng"]

LIBRARIES = ("gmmlab", "sklearn")  # a graded function gets no points for calling these
GIVEN = {}  # id -> the course function a notebook hands out ready-made (filled by its setup cell, see given)
_remote = None  # the sandbox, while the trusted grader runs test cells (see connect)
_MISSING = object()


def connect(remote):
    """Make the checks call the student's functions through ``remote`` (the grader's link to a sandbox).

    The trusted grader connects before it runs a notebook's test cells and disconnects (``connect(None)``) after;
    ``remote.function(name, banned, replace)`` returns the student's function and ``remote.rng()`` the hidden
    tests' random numbers.
    """
    global _remote
    _remote = remote


def graded(name, banned=None, replace=None):
    """Your function ``name``, checked and wrapped for a test.

    ``banned`` maps tools this function may not use to a hint, or to (hint, the catalogued mistake's name, as
    :func:`expect` takes it); ``replace`` maps names of other functions to stand-ins used while it runs, so a mistake
    elsewhere is not counted twice.
    """
    if _remote is not None:
        return _remote.function(name, banned, replace)
    return prepare(sys._getframe(1).f_globals, name, banned, replace)


def given(*functions):
    """Declare gmmlab functions this notebook hands out ready-made: its graded functions may call them.

    A later problem set imports the answers of an earlier one from the course package instead of printing them;
    its setup cell calls ``given(e_step, m_step)``. Only gmmlab's own functions can be given, and the grading
    sandbox of each assignment holds only the ones that assignment gives (the course manifest, ``gmmlab_course/course.toml``).
    """
    for function in functions:
        module = str(getattr(function, "__module__", None) or "")
        if not isinstance(function, types.FunctionType) or module.split(".")[0] != "gmmlab" or module.startswith(__name__):
            raise TypeError(f"given() declares gmmlab functions handed out ready-made; {function!r} is not one")
        GIVEN[id(function)] = function


def _is_given(obj):
    return GIVEN.get(id(obj)) is obj


def grading_rng():
    """Random numbers for a hidden test: seeded per student and assignment when graded, fresh otherwise."""
    if _remote is not None:
        return _remote.rng()
    return np.random.default_rng()


# A check that recognises a catalogued mistake names it on the failure's last line, "[mistake: <name>]", so the
# class report (gmmlab_course.report) counts mistakes by name rather than by reading the hints' prose.
MISTAKE_TAG = re.compile(r"^\[mistake: ([a-z0-9][a-z0-9-]*)\]$", re.MULTILINE)


def expect(condition, message, mistake=None):
    """Fail with ``message``, written in the student's terms, unless ``condition`` holds.

    ``mistake`` is the catalogue's name for the mistake this check recognises; it is added as a last line that
    ``MISTAKE_TAG`` matches.
    """
    if not condition:
        if mistake is not None:
            if not MISTAKE_TAG.fullmatch(f"[mistake: {mistake}]"):
                raise ValueError(f"a mistake's name is lower-case letters, digits and hyphens; got {mistake!r}")
            message = f"{message}\n[mistake: {mistake}]"
        raise AssertionError(message)


def as_array(value, what, shape=None):
    """``value`` as a float array (of ``shape``, if given), or a failure that says what was returned instead."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must be a numeric array; got {type(value).__name__}") from None
    if shape is not None:
        expect(array.shape == tuple(shape), f"{what} must have shape {tuple(shape)}; got shape {array.shape}")
    return array


def expect_close(actual, expected, what, hint="", rtol=1e-6, atol=1e-8, mistake=None):
    """Fail unless ``actual`` equals ``expected`` elementwise, naming the first wrong entry (and ``mistake``, as
    :func:`expect` does)."""
    expected = np.asarray(expected, dtype=float)
    actual = as_array(actual, what, expected.shape)
    bad = ~(np.abs(actual - expected) <= atol + rtol * np.abs(expected))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f" at index {where}" if where else ""
        expect(
            False,
            f"{what} {_verb(what)} wrong{at}: you return {actual[where]:.6g}, it should be {expected[where]:.6g}. {hint}".strip(),
            mistake,
        )


def _verb(what):
    """ "is" or "are", agreeing with the head noun of ``what`` ("the covariances of ..." are, "the mean" is)."""
    head = re.split(r"[({:\[]| (?:of|for|at|with|near|in|from|after|on|under)\b", what, maxsplit=1)[0].split()
    return "are" if head and head[-1].endswith("s") and not head[-1].endswith("ss") else "is"


# ------------------------------------------------------------------------------------ checking a function


def _origin(obj):
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    return str(getattr(obj, "__module__", None) or "")


def uses(function, banned, skip=()):
    """Forbidden names used by ``function`` or by the notebook functions it calls (except those in ``skip``)."""
    found, seen, todo = [], set(), [function]
    while todo:
        f = todo.pop()
        if id(f) in seen or not isinstance(f, types.FunctionType):
            continue
        seen.add(id(f))
        codes, objects = [f.__code__], []
        for cell in f.__closure__ or ():
            try:
                objects.append((cell.cell_contents, "a closure variable"))
            except ValueError:  # an empty cell
                pass
        while codes:
            co = codes.pop()
            codes.extend(c for c in co.co_consts if isinstance(c, types.CodeType))
            for name in co.co_names:
                if name.split(".")[0] in LIBRARIES or name in banned:
                    found.append(name)
                elif name in f.__globals__ and name not in skip:
                    objects.append((f.__globals__[name], name))
        for obj, name in objects:
            if _is_given(obj):
                continue
            origin = _origin(obj)
            if origin.split(".")[0] in LIBRARIES or any("." in b and origin.startswith(b) for b in banned):
                found.append(f"{name} (from {origin})")
            elif isinstance(obj, types.FunctionType) and obj.__module__ == f.__module__:
                todo.append(obj)
    return sorted(set(found))


def prepare(namespace, name, banned=None, replace=None):
    """The function ``name`` of ``namespace``, checked, with ``replace`` swapped in while it runs."""
    banned, replace = dict(banned or {}), dict(replace or {})
    function = namespace.get(name)
    if function is None:
        raise AssertionError(f"{name} is not defined: run the cell that defines it and check that it ran without an error")
    if not callable(function):
        raise AssertionError(f"{name} must be a function; it is a {type(function).__name__}")
    origin = _origin(function)
    if origin.split(".")[0] in LIBRARIES:
        raise AssertionError(f"{name} is imported from {origin}: write your own; calling gmmlab/scikit-learn gets no points")
    found = uses(function, banned, skip=replace)
    library = [f for f in found if f.split(".")[0].split(" ")[0] in LIBRARIES or "from gmmlab" in f or "from sklearn" in f]
    if library:
        raise AssertionError(
            f"{name} uses {', '.join(library)}: do not call gmmlab/scikit-learn in graded functions; "
            "this function gets no points until it computes the result itself"
        )
    for key, hint in banned.items():
        hint, mistake = (hint, None) if isinstance(hint, str) else hint  # a pair arrives from the grader as a list
        expect(not any(f == key or f.startswith(key + " ") or f"from {key}" in f for f in found),
               f"{name} uses {key}: {hint}", mistake)

    def call(*args, **kwargs):
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        blocked = {k: v for k, v in sys.modules.items() if k.split(".")[0] in LIBRARIES and k != __name__}
        saved = {k: namespace.get(k, _MISSING) for k in replace}
        try:
            sys.modules.update({k: _Blocked(k) for k in blocked})
            namespace.update(replace)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a warning on stderr would fail the test cell
                return function(*args, **kwargs)
        except NotImplementedError:
            raise AssertionError(f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code") from None
        except AssertionError:
            raise
        except ImportError as error:
            if str(getattr(error, "name", "") or "").split(".")[0] in LIBRARIES:
                raise AssertionError(f"{name} imports {error.name}: do not call gmmlab/scikit-learn in graded functions") from None
            raise AssertionError(f"{name} raised {type(error).__name__}: {error}") from None
        except Exception as error:
            raise AssertionError(f"{name} raised {type(error).__name__}: {error}") from None
        finally:
            sys.modules.update(blocked)
            for k, v in saved.items():
                if v is _MISSING:
                    namespace.pop(k, None)
                else:
                    namespace[k] = v

    return call


class _Blocked(types.ModuleType):
    def __getattr__(self, attribute):
        raise AssertionError(
            f"do not call gmmlab/scikit-learn in graded functions (it used {self.__name__}.{attribute}); "
            "compute the result yourself with numpy"
        )
