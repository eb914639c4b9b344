"""The graded assignments: solutions/ and exercises/ are consistent, and the autograder is trustworthy.

One autograding run per assignment grades, as separate students, the solution, the unmodified exercise and
every entry of the catalogue of common mistakes (tests/course/mistakes.py). The entries go two to a submission,
in two different functions (``pairs``): each must cost points in its own function's tests only, so the pair's
submission still shows every entry's failure, and every other function's tests show that neither costs points
anywhere else (only the partner's tests cannot show it). All of it happens in temporary nbgrader courses; nothing is
written into the repository.
"""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nbgrader.utils import is_grade, is_solution

from gmmlab.grading import MISTAKE_TAG
from gmmlab_course import coursedir as course
from gmmlab_course import manifest
from mistakes import MISTAKES, REFUSED_BY_GRADED

pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.root]

REPO = course.REPO
ASSIGNMENTS = course.ASSIGNMENTS


def pairs(mistakes):
    """The catalogue's entries of one assignment, two to a submission, the two always in different functions:
    [(entry, ...)], each pair taking one entry of the function with the most entries left and one of the next.
    A function with more entries than all others together leaves some alone."""
    left = {}
    for mistake in mistakes:
        left.setdefault(mistake.function, []).append(mistake)
    packs = []
    while left:
        first, *rest = sorted(left, key=lambda f: len(left[f]), reverse=True)
        pack = tuple(left[f].pop(0) for f in [first, *rest[:1]])
        packs.append(pack)
        left = {f: entries for f, entries in left.items() if entries}
    return packs


PACKS = {a: pairs([m for m in MISTAKES if m.assignment == a]) for a in ASSIGNMENTS}
SUBMISSION = {m.name: "+".join(other.name for other in pack) for packs in PACKS.values() for pack in packs for m in pack}
PARTNERS = {m.name: [other for other in pack if other is not m] for packs in PACKS.values() for pack in packs for m in pack}


def balanced_groups(n=2):
    """The assignments in ``n`` temporary courses graded side by side (the machine has two cores), balanced by the
    CPU time a submission takes to grade (the manifest's grading_cpu) times the number of simulated students."""
    load = {a.name: a.grading_cpu * (2 + len(PACKS[a.name])) for a in manifest.assignments()}
    groups = [[] for _ in range(n)]
    for name in sorted(load, key=load.get, reverse=True):
        min(groups, key=lambda g: sum(load[a] for a in g)).append(name)
    return [g for g in groups if g]


GROUPS = balanced_groups()


def notebook(folder, assignment):
    return course.read_notebook(REPO / folder / assignment / f"{assignment}.ipynb")


def _grade_group(root, assignments):
    course.make_course(root, assignments)
    logs = {}
    for assignment in assignments:
        course.place(root, "solution", assignment, course.correct_submission(root, assignment))
        course.place(root, "blank", assignment, course.release_notebook(root, assignment))
        for pack in PACKS[assignment]:
            answers = {mistake.function: mistake.source.strip("\n") for mistake in pack}
            student = SUBMISSION[pack[0].name]
            course.place(root, student, assignment, course.correct_submission(root, assignment, **answers))
        logs[assignment] = course.autograde(root, assignment).stdout
    return {assignment: (root, logs[assignment]) for assignment in assignments}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{assignment: (course root, autograde log)} after grading every simulated student."""
    base = tmp_path_factory.mktemp("graded")
    with ThreadPoolExecutor(max_workers=len(GROUPS)) as pool:
        parts = list(pool.map(lambda item: _grade_group(base / f"course{item[0]}", item[1]), enumerate(GROUPS)))
    return {assignment: value for part in parts for assignment, value in part.items()}


# ----------------------------------------------------------------------------- the committed notebooks


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebooks_are_committed_without_outputs(folder, assignment):
    for cell in notebook(folder, assignment)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{folder}/{assignment}: clear the outputs"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_hold_no_solutions_or_hidden_tests(assignment):
    text = (REPO / "exercises" / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "Model answer", "Rubric"):
        assert marker not in text, f"exercises/{assignment} contains {marker!r}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_match_what_the_notebook_states(assignment):
    nb = notebook("solutions", assignment)
    total, _ = manifest.points(nb)
    assert f"**{total:g} points" in nb.cells[0].source
    # every graded function has a visible test and at least one hidden test
    functions = [course.grade_id(c) for c in nb.cells if is_solution(c) and c.cell_type == "code"]
    tests = [course.grade_id(c) for c in nb.cells if is_grade(c) and c.cell_type == "code"]
    for function in functions:
        assert f"test_{function}_visible" in tests
        assert any(t.startswith(f"test_{function}_") and t != f"test_{function}_visible" for t in tests)


def test_exercises_are_what_nbgrader_generates_from_solutions(graded):
    """exercises/ is exactly nbgrader generate_assignment's output for solutions/ (run `make exercises`)."""
    for assignment in ASSIGNMENTS:
        root, _ = graded[assignment]
        fresh = root / "exercises" / assignment
        committed = REPO / "exercises" / assignment
        fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
        committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
        assert fresh_files == committed_files, f"exercises/{assignment} has other files than nbgrader makes; run `make exercises`"
        for name in fresh_files:
            assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
                f"exercises/{assignment}/{name} differs from what nbgrader generates from solutions/; run `make exercises`"
            )


def test_the_catalogue_covers_every_assignment():
    assert len(MISTAKES) >= 50
    packed = [m for packs in PACKS.values() for pack in packs for m in pack]
    assert sorted(m.name for m in packed) == sorted(m.name for m in MISTAKES), "an entry is graded twice or never"
    assert all(len({m.function for m in pack}) == len(pack) for packs in PACKS.values() for pack in packs)
    assert {m.assignment for m in MISTAKES} == set(ASSIGNMENTS)
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)
    assert REFUSED_BY_GRADED <= {m.name for m in MISTAKES}  # the entries whose failures carry no name
    for mistake in MISTAKES:
        ids = {course.grade_id(c) for c in notebook("solutions", mistake.assignment).cells}
        assert mistake.function in ids and mistake.test in ids, mistake.name


# ----------------------------------------------------------------------------- the autograder


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_score_full_marks(graded, assignment):
    root, log = graded[assignment]
    scores = course.scores(root, assignment, "solution")
    assert scores, log[-3000:]
    for name, (score, maximum) in scores.items():
        if name.startswith("test_"):
            assert score == maximum, f"{name}: {course.messages(root, assignment, 'solution').get(name)}"
        else:  # written answers wait for the grader
            assert name.startswith("written_")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unmodified_exercises_score_zero(graded, assignment):
    root, log = graded[assignment]
    scores = course.scores(root, assignment, "blank")
    assert scores and all(score == 0 for score, _ in scores.values()), scores
    messages = course.messages(root, assignment, "blank")
    assert all("is not implemented yet" in text for name, text in messages.items() if name.startswith("test_"))


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_each_common_mistake_loses_points_with_its_message(graded, mistake):
    root, log = graded[mistake.assignment]
    student = SUBMISSION[mistake.name]
    scores = course.scores(root, mistake.assignment, student)
    messages = course.messages(root, mistake.assignment, student)
    score, maximum = scores[mistake.test]
    message = messages.get(mistake.test, "")
    assert score < maximum, f"{mistake.name} passed {mistake.test}"
    assert mistake.message in message, f"{mistake.name}: {mistake.test} says {message!r}"
    if mistake.tagged:  # the class report counts it by this name
        assert MISTAKE_TAG.findall(message) == [mistake.name], f"{mistake.name}: {mistake.test} names {message!r}"
    # graded as in the student's kernel: the function's visible test loses its point with the same message
    visible = f"test_{mistake.function}_visible"
    message = messages.get(visible, "")
    assert scores[visible][0] < scores[visible][1] and mistake.visible in message, f"{mistake.name}: {visible} says {message!r}"
    # the mistake costs no points in the tests of other functions (they run with independent stand-ins), except
    # those of its partner in the submission, which fail for the partner's own mistake
    own = {name for name in scores
           if any(re.match(rf"test_{re.escape(m.function)}_", name) for m in [mistake, *PARTNERS[mistake.name]])}
    others = [name for name in scores if name.startswith("test_") and name not in own]
    assert others, f"{mistake.name}: no test of another function to show that it costs points only in its own"
    for name in others:
        assert scores[name][0] == scores[name][1], f"{mistake.name} (graded with {student}) also lost points on {name}: {messages.get(name)}"
