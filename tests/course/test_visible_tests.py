"""The tests students see name their mistake, in the function that has it.

The visible test cells run here in a plain Python namespace, as in a student's own kernel (no sandbox, no
grader): the solution passes every one, the blank release fails every one with "not implemented yet", and every
catalogued mistake (tests/course/mistakes.py) fails its own function's visible test with the message written
for it, and with the mistake's name on the last line for the class report, while the tests of every other function
pass, so the student is told what is wrong where it is wrong.
"""

import pytest
from nbgrader.utils import is_solution

from gmmlab.grading import MISTAKE_TAG
from gmmlab_course import coursedir as course
from mistakes import MISTAKES


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS)
def test_the_solution_passes_every_visible_test(assignment):
    assert course.run_visible_tests(assignment) == {}


@pytest.mark.parametrize("assignment", course.ASSIGNMENTS)
def test_the_blank_release_fails_every_visible_test(assignment):
    nb = course.read_notebook(course.REPO / "exercises" / assignment / f"{assignment}.ipynb")
    blank = {course.grade_id(c): c.source for c in nb.cells if is_solution(c)}
    errors = course.run_visible_tests(assignment, blank)
    visible = {course.grade_id(c) for c in nb["cells"] if course.is_visible_test(c)}
    assert visible and set(errors) == visible, errors
    assert all("is not implemented yet" in errors[name] for name in visible), errors


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_mistake_fails_its_own_visible_test_with_its_message(mistake):
    errors = course.run_visible_tests(mistake.assignment, {mistake.function: mistake.source.strip("\n")})
    own = f"test_{mistake.function}_visible"
    assert own in errors, f"{mistake.name} passes {own}"
    assert mistake.visible in errors[own], f"{mistake.name}: {own} says {errors[own]!r}"
    if mistake.tagged:
        assert MISTAKE_TAG.findall(errors[own]) == [mistake.name], f"{mistake.name}: {own} names {errors[own]!r}"
    # the hidden-test cells of the student version only fetch the function, whose checks may already object
    elsewhere = {name for name in errors if not name.startswith(f"test_{mistake.function}_")}
    assert not elsewhere, f"{mistake.name} is also reported elsewhere: {errors}"


def test_graded_functions_may_call_what_the_notebook_gives_and_nothing_else_of_gmmlab(monkeypatch):
    """A later problem set imports earlier answers from gmmlab and declares them given (its setup cell)."""
    import numpy as np

    from gmmlab import grading

    monkeypatch.setattr(grading, "GIVEN", {})  # a fresh kernel: nothing given yet

    namespace = {"__name__": "__main__"}
    exec(
        "from gmmlab import log_likelihood, m_step\n"
        "from gmmlab.grading import given\n"
        "given(log_likelihood)\n"
        "def bic_like(X, w, m, c):\n    return -2 * log_likelihood(X, w, m, c)\n"
        "def computes_with_gmmlab(X, r):\n    return m_step(X, r)\n",
        namespace,
    )
    X, theta = np.array([[0.0], [1.0], [3.0]]), (np.array([1.0]), np.array([[1.0]]), np.array([[[2.0]]]))
    value = grading.prepare(namespace, "bic_like")(X, *theta)
    assert np.isclose(value, 3 * np.log(4 * np.pi) + 5 / 2)  # -2 log N(x | 1, 2) summed over 0, 1, 3
    with pytest.raises(AssertionError, match="do not call gmmlab/scikit-learn"):
        grading.prepare(namespace, "computes_with_gmmlab")
    for not_course_code in (np.mean, len, grading.graded, "log_likelihood"):
        with pytest.raises(TypeError, match="given"):
            grading.given(not_course_code)
