"""No test cell a student can read implements a function graded in its problem set or a later one.

Every test cell of the student version (exercises/) is scanned; each function it defines is judged two ways:

- by name: it is called like a graded function, or like a reference copy of one (``map_m_step``,
  ``ref_map_m_step``);
- by what it does: it is called with every argument list that a graded function (or a stand-in for it) receives
  while the solution runs that problem set's visible tests, its data moved a little, and if it returns what the
  instructor's solution returns for any of them, it is an implementation of that function, whatever its name and
  however its body is written (a one-dimensional copy of the MAP M-step is caught on one-dimensional data).

Stand-ins answer from tables or with fixed values, so on data they were not written for they refuse or return
something else, and pass.
"""

import ast
import copy
import re
import warnings

import numpy as np
import pytest
from nbgrader.utils import is_grade

from gmmlab_course import coursedir as course

ASSIGNMENTS = course.ASSIGNMENTS


def graded_functions(assignment):
    return [name for name in course.solution_cells(assignment) if not name.startswith("written_")]


def defined_functions(source):
    """Names of the functions a cell defines at its top level."""
    return [node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


# How a copy of a function is named when it is meant as the answer (stand-ins are named for what they do instead:
# table_map_m_step, fixed_log_prior).
REFERENCE = "(ref|reference|correct|true|expected|solution|my|our|exact)"


def run_recording(assignment, cells=None):
    """Run the student version with the solutions, as in the student's kernel, recording what the test cells show.

    Returns (namespace, {test cell: {name: function it defines}}, {graded function: [argument lists it or a
    stand-in for it received]}). ``cells`` replaces the source of test cells ({grade_id: source}).
    """
    from gmmlab import grading

    answers = course.solution_cells(assignment)
    nb = course.read_notebook(course.REPO / "exercises" / assignment / f"{assignment}.ipynb")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    last = max(i for i, c in enumerate(code) if is_grade(c))
    calls, defined, namespace = {}, {}, {"__name__": "__main__"}
    original = grading.prepare

    def record(name, function):
        def recorded(*args, **kwargs):
            calls.setdefault(name, []).append(copy.deepcopy((args, kwargs)))
            return function(*args, **kwargs)
        return recorded

    def prepare(ns, name, banned=None, replace=None):
        replace = {key: record(key, value) for key, value in (replace or {}).items()}
        return record(name, original(ns, name, banned, replace))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grading, "prepare", prepare)
        for index, cell in enumerate(code[: last + 1]):
            name = course.grade_id(cell) or f"cell {index}"
            source = answers.get(name, (cells or {}).get(name, "".join(cell["source"])))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    exec(compile(source, f"<{name}>", "exec"), namespace)
                except Exception:  # noqa: BLE001 - test_visible_tests.py judges the cells; this only records
                    pass
            if is_grade(cell):
                defined[name] = {f: namespace[f] for f in defined_functions(source) if callable(namespace.get(f))}
    return namespace, defined, calls


def same(a, b):
    """The two results are equal: tuples and lists entry by entry, numbers and arrays to 1e-6."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))


def call_quietly(function, args, kwargs):
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def moved(value):
    """A float array moved a little, a tuple or list of them each moved; None for anything else."""
    if isinstance(value, (tuple, list)):  # statistics passed as a tuple of arrays of different shapes (ps6)
        parts = [moved(part) for part in value]
        return None if not parts or any(part is None for part in parts) else type(value)(parts)
    array = np.asarray(value)
    if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
        return None
    noise = np.random.default_rng(0).normal(size=array.shape)
    return array + 0.01 * noise * (1 + np.abs(array))


def perturbed(call):
    """The argument list with its first argument (the data) moved a little: a stand-in's table knows only the
    arguments it was written for, while an implementation answers for these too."""
    args, kwargs = call
    first = moved(args[0]) if args else None
    return call if first is None else ((first, *args[1:]), kwargs)


@pytest.fixture(scope="module")
def runs():
    return {assignment: run_recording(assignment) for assignment in ASSIGNMENTS}


def answers_in_view(runs, assignment, defined):
    """[(test cell, function, graded function it implements, how found)] for ``defined`` of ``assignment``."""
    position = ASSIGNMENTS.index(assignment)
    graded = {g: a for a in ASSIGNMENTS[position:] for g in graded_functions(a)}
    found = []
    for cell, functions in defined.items():
        for name, function in functions.items():
            for target, owner in graded.items():
                if re.fullmatch(rf"({REFERENCE}_)?{re.escape(target)}", name):
                    found.append((cell, name, target, "name"))
                    continue
                namespace, _, calls = runs[owner]
                for args, kwargs in map(perturbed, calls.get(target, [])[:30]):
                    try:
                        mine = call_quietly(function, args, kwargs)
                        answer = call_quietly(namespace[target], args, kwargs)
                    except BaseException:  # noqa: BLE001 - arguments either refuses (a stand-in's table) decide nothing
                        continue
                    if same(mine, answer):
                        found.append((cell, name, target, "behaviour"))
                        break
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_visible_test_cell_implements_a_graded_function(runs, assignment):
    _, defined, _ = runs[assignment]
    found = sorted({(cell, name, target) for cell, name, target, _ in answers_in_view(runs, assignment, defined)})
    assert not found, (
        f"exercises/{assignment}: visible test cells implement graded functions (answer from tables or precomputed "
        f"values instead): {found}"
    )


def test_the_scan_finds_a_renamed_copy_of_a_graded_function(runs):
    """A visible cell that defines the MAP M-step under another name, with other variable names, is found."""
    source = course.solution_cells("ps5-map-em")["map_m_step"]
    tree = ast.parse(source)
    renames = {"map_m_step": "expected_update", "N_k": "counts", "deviations": "d", "covariances": "S"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.name = renames.get(node.name, node.name)
            node.body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        elif isinstance(node, ast.Name):
            node.id = renames.get(node.id, node.id)
    copy_source = ast.unparse(tree)
    assert "map_m_step" not in copy_source
    nb = course.read_notebook(course.REPO / "exercises" / "ps5-map-em" / "ps5-map-em.ipynb")
    cell = next(c for c in nb["cells"] if course.grade_id(c) == "test_map_m_step_visible")
    _, defined, _ = run_recording("ps5-map-em", {"test_map_m_step_visible": copy_source + "\n\n" + "".join(cell["source"])})
    found = answers_in_view(runs, "ps5-map-em", {"test_map_m_step_visible": defined["test_map_m_step_visible"]})
    assert ("test_map_m_step_visible", "expected_update", "map_m_step", "behaviour") in found, found
    # and by name, whatever it does
    found = answers_in_view(runs, "ps5-map-em", {"test_x": {"ref_log_prior": lambda *args: None}})
    assert found == [("test_x", "ref_log_prior", "log_prior", "name")]
