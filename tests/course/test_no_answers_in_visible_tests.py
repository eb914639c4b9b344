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

Expected values are written out, not computed in view from the test's data: every np.array(...) written in a test
cell that a graded function receives as its data is moved a little, the cell runs again with the solution, and an
expect_close whose answer moved with the data and still passes has an expected value that the cell computes from the
data (a working copy of the function, under any name or none). Comparisons written as expect(np.isclose(...)) are not
seen by this check, and one whose answer does not move is no evidence either way.
"""

import ast
import copy
import re
import sys
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


# ------------------------------------------------ expected values computed from the data in view

class _Moved(ast.NodeTransformer):
    """Moves the floats of every np.array(...) written in a cell that is data a graded function receives (its
    first argument) a little; tables of values for stand-ins stay as they are."""

    def __init__(self, data):
        self.data, self.rng = data, np.random.default_rng(1)

    def is_data(self, node):
        try:
            value = np.asarray(eval(ast.unparse(node), {"np": np}), dtype=float)  # noqa: S307 - literals of our cells
        except Exception:  # noqa: BLE001 - an array built from names is not written-out data
            return False
        return any(np.shape(d) == value.shape and np.array_equal(d, value) for d in self.data)

    def visit_Call(self, node):
        self.generic_visit(node)
        if ast.unparse(node.func) == "np.array" and self.is_data(node):
            for constant in ast.walk(node):
                if isinstance(constant, ast.Constant) and type(constant.value) is float and np.isfinite(constant.value):
                    constant.value += 0.01 * self.rng.normal() * (1 + abs(constant.value))
        return node


def data_arrays(value):
    """The arrays an argument holds: itself, or each of a tuple of them (statistics, ps6)."""
    if isinstance(value, (tuple, list)):
        return [array for part in value for array in data_arrays(part)]
    try:
        return [np.asarray(value, dtype=float)]
    except (TypeError, ValueError):
        return []


def readable_source(source, data=None):
    """The cell as ast.unparse writes it (so that a line is the same line with and without moving ``data``)."""
    tree = ast.parse(source)
    return ast.unparse(_Moved(data).visit(tree) if data is not None else tree)


def run_comparisons(assignment, cells=None, data=None):
    """Run the student version with the solutions; {(test cell, line, occurrence): (actual, passed)} of every
    expect_close call the visible test cells make (line: its text). ``data``: these arrays moved first (_Moved)."""
    from gmmlab import grading

    answers = course.solution_cells(assignment)
    nb = course.read_notebook(course.REPO / "exercises" / assignment / f"{assignment}.ipynb")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    last = max(i for i, c in enumerate(code) if is_grade(c))
    compared, namespace, lines = {}, {"__name__": "__main__"}, {}
    original = grading.expect_close

    def recorded(actual, expected, *args, **kwargs):
        caller = sys._getframe(1)
        cell = caller.f_code.co_filename.strip("<>")
        site = (cell, lines.get(cell, [""] * caller.f_lineno)[caller.f_lineno - 1].strip())
        key = (*site, sum(k[:2] == site for k in compared))
        try:
            original(actual, expected, *args, **kwargs)
            passed = True
        except AssertionError:
            passed = False
        try:
            compared[key] = (np.asarray(actual, dtype=float), passed)
        except (TypeError, ValueError):
            pass

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grading, "expect_close", recorded)  # the setup cell imports it from gmmlab.grading
        for index, cell in enumerate(code[: last + 1]):
            name = course.grade_id(cell) or f"cell {index}"
            source = answers.get(name, (cells or {}).get(name, "".join(cell["source"])))
            if course.is_visible_test(cell):
                source = readable_source(source, data)
                lines[name] = source.splitlines()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                try:
                    exec(compile(source, f"<{name}>", "exec"), namespace)
                except Exception:  # noqa: BLE001 - moved data may stop a cell; what it compared so far is kept
                    pass
    return compared


def computed_in_view(assignment, cells=None):
    """[(test cell, line)] of the expect_close calls that still pass when the data written in a test cell move and
    the solution's answer moves with them: their expected value is computed from the data in view, not written out.
    (A comparison whose answer does not move is no evidence either way; one written as expect(np.isclose(...)) is
    not seen.)"""
    _, _, calls = run_recording(assignment, cells)
    data = [d for name in graded_functions(assignment) for args, _ in calls.get(name, []) if args
            for d in data_arrays(args[0])]
    before, after = run_comparisons(assignment, cells), run_comparisons(assignment, cells, data)
    return sorted(key[:2] for key, (actual, passed) in after.items()
                  if passed and key in before and not same(actual, before[key][0]))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_visible_expected_value_is_computed_from_the_data(assignment):
    found = computed_in_view(assignment)
    assert not found, (
        f"exercises/{assignment}: these visible comparisons compute their expected value from the test's data in view "
        f"(write the values out, computed once from the solution): {found}"
    )


def test_the_data_check_finds_an_m_step_computed_in_view():
    """The ps3 M-step test as it was before #24: check_m_step computed mu = (r.T @ X) / N_k and the scatter."""
    source = '''
mstep = graded("m_step")

def check_m_step(X, r):
    result = mstep(X, r)
    N_k = r.sum(axis=0)
    mu = (r.T @ X) / N_k[:, None]
    expect_close(result[1], mu, "the means")
    expect_close(result[0], [0.36, 0.34, 0.3], "the weights")

check_m_step(np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0], [4.0, 4.0], [6.0, 5.0]]),
             np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.1, 0.6, 0.3], [0.0, 0.2, 0.8]]))
'''
    found = computed_in_view("ps3-em-steps", {"test_m_step_visible": source})
    assert found == [("test_m_step_visible", "expect_close(result[1], mu, 'the means')")], found
