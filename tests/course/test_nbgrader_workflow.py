"""The instructor's cycle, end to end through nbgrader's exchange, and submissions that try to break it.

Everything runs in temporary directories: a course, an exchange and one home directory per student.
"""

import csv
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gmmlab_course import coursedir as course

pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.root]

# Short limits, so a student's infinite loop costs seconds (the course's own settings are 60 CPU s and 30 idle s).
# They are CPU seconds: a loaded machine does not make correct work hit them.
TIMEOUT = ["--SandboxedGrade.cpu_limit=10", "--SandboxedGrade.idle_limit=10"]
STUDENTS = ["correct", "partial", "blank", "broken"]
CYCLE = ["ps4-em"]  # the assignment with written answers, so the cycle includes manual grading
INFINITE_KMEANS = '''
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    centers = random_centers(X, n_clusters, rng)
    labels = assign_clusters(X, centers)
    while True:  # the labels never get compared, so this never stops
        centers = update_centers(X, labels, n_clusters)
        labels = assign_clusters(X, centers)
'''


def answers_of(student, assignment):
    """The answer cells a simulated student hands in ({grade_id: source})."""
    solution = course.solution_cells(assignment)
    for name in solution:  # students write their own answers, not the model answers
        if name.startswith("written_"):
            solution[name] = f"My answer to {name}: a component that sits on one point has a singular covariance."
    if student == "correct":
        return solution
    if student == "partial":  # two functions right, the rest untouched; one written answer
        return {k: solution[k] for k in ["run_em", "fit_gmm", "written_collapse"]}
    if student == "broken":  # raises on import
        return dict(solution, run_em="import a_module_that_does_not_exist\n\n" + solution["run_em"])
    return {}


def hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).rglob("*") if p.is_file()}


def test_release_fetch_submit_collect_autograde_feedback_export(tmp_path):
    root = course.make_course(tmp_path / "course", CYCLE)
    exchange = f"--Exchange.root={tmp_path / 'exchange'}"
    (tmp_path / "exchange").mkdir()
    for assignment in CYCLE:
        course.nbgrader("release_assignment", assignment, exchange, cwd=root)

    def fetch_work_submit(student):
        home = tmp_path / "students" / student
        home.mkdir(parents=True)
        env = course.environment(USER=student, LOGNAME=student)
        for assignment in CYCLE:
            course.nbgrader("fetch_assignment", assignment, "--course=gmmlab", exchange, cwd=home, env=env)
            path = home / assignment / f"{assignment}.ipynb"
            nb = course.read_notebook(path)
            answers = answers_of(student, assignment)
            for cell in nb["cells"]:
                if course.grade_id(cell) in answers:
                    cell["source"] = answers[course.grade_id(cell)]
            path.write_text(json.dumps(nb, indent=1))
            course.nbgrader("submit", assignment, "--course=gmmlab", f"--student={student}", exchange, cwd=home, env=env)

    with ThreadPoolExecutor(max_workers=2) as pool:  # two students at a time, as on a shared hub
        list(pool.map(fetch_work_submit, STUDENTS))

    for assignment in CYCLE:
        course.nbgrader("collect", assignment, exchange, cwd=root)
        submitted = hashes(root / "submitted")
        log = course.autograde(root, assignment, *TIMEOUT).stdout
        assert hashes(root / "submitted") == submitted, "autograding modified a submission"
        for student in STUDENTS:
            assert (root / "autograded" / student / assignment / f"{assignment}.ipynb").exists(), log[-3000:]

    # Before the written answers are graded, a submission that has any is not given a score yet.
    course.nbgrader("export", "--to=pending.csv", cwd=root)
    with open(root / "pending.csv") as handle:
        pending = {r["student_id"]: (r["status"], r["score"]) for r in csv.DictReader(handle) if r["assignment"] == "ps4-em"}
    assert pending["correct"] == pending["broken"] == ("needs manual grading", ""), pending
    assert pending["blank"] == ("graded", "0.0"), pending  # unchanged answers get 0 automatically

    # Manual grading of the written answers (what the formgrader does: the score, and the flag cleared): full marks
    # for any answer given.
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            for grade in gb.find_submission_notebook("ps4-em", "ps4-em", student).grades:
                if grade.needs_manual_grade:
                    grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        gb.db.commit()

    for assignment in CYCLE:
        course.nbgrader("generate_feedback", assignment, cwd=root)
        course.nbgrader("release_feedback", assignment, exchange, cwd=root)
    home = tmp_path / "students" / "partial"
    env = course.environment(USER="partial", LOGNAME="partial")
    course.nbgrader("fetch_feedback", "ps4-em", "--course=gmmlab", "--student=partial", exchange, cwd=home, env=env)
    assert list((home / "ps4-em" / "feedback").rglob("ps4-em.html")), "the student did not receive feedback"
    for student in STUDENTS:
        for assignment in CYCLE:
            page = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
            # names that only hidden tests use (the visible tests show their own stand-ins on purpose)
            for hidden in ("BEGIN HIDDEN TESTS", "fake_bic", "fake_fit", "grading_rng()", "Model answer", "Rubric"):
                assert hidden not in page, f"hidden test code ({hidden}) in the feedback of {student}/{assignment}"
    partial = (root / "feedback" / "partial" / "ps4-em" / "ps4-em.html").read_text()
    assert "bic is not implemented yet" in partial
    broken = (root / "feedback" / "broken" / "ps4-em" / "ps4-em.html").read_text()
    assert "a_module_that_does_not_exist" in broken and "run_em is not defined" in broken

    course.nbgrader("export", "--to=grades.csv", cwd=root)
    with open(root / "grades.csv") as handle:
        rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(handle)}
    expected = {
        ("correct", "ps4-em"): 18,
        ("partial", "ps4-em"): 4 + 3 + 2,  # run_em, fit_gmm and one written answer
        ("blank", "ps4-em"): 0,
        # the import error stops run_em's cell: its 4 points are lost; the tests of fit_gmm and select_k run them
        # with stand-ins for run_em, so they pass
        ("broken", "ps4-em"): 18 - 4,
    }
    assert rows == expected


def test_broken_submissions_are_graded_or_rejected_and_never_modified(tmp_path):
    assignment = "ps1-kmeans"
    root = course.make_course(tmp_path / "course", [assignment])
    solution = course.solution_cells(assignment)

    course.place(root, "reference", assignment, course.correct_submission(root, assignment))
    course.place(root, "loops", assignment, course.correct_submission(root, assignment, kmeans=INFINITE_KMEANS))
    course.place(root, "import_error", assignment, course.correct_submission(
        root, assignment, assign_clusters="import numpyy as np\n\n" + solution["assign_clusters"]))

    nb = course.correct_submission(root, assignment)  # deletes a test cell and the markdown around it
    nb["cells"] = [c for c in nb["cells"] if course.grade_id(c) != "test_update_centers_hidden"]
    course.place(root, "deleted_cell", assignment, nb)

    nb = course.correct_submission(root, assignment)  # turns an answer cell and a test cell into markdown
    for cell in nb["cells"]:
        if course.grade_id(cell) in ("assign_clusters", "test_kmeans_visible"):
            cell["cell_type"] = "markdown"
            cell.pop("outputs", None), cell.pop("execution_count", None)
    course.place(root, "retyped_cell", assignment, nb)

    nb = course.correct_submission(root, assignment, kmeans_objective=(
        "def kmeans_objective(X, centers, labels):\n    return 0.0"))  # a wrong answer, and its test "fixed"
    for cell in nb["cells"]:
        if course.grade_id(cell) in ("test_kmeans_objective_visible", "test_kmeans_objective_hidden"):
            cell["source"] = "pass"
    course.place(root, "edited_test", assignment, nb)

    course.place(root, "not_json", assignment, '{"cells": [ this is not a notebook')

    before = hashes(root / "submitted")
    result = course.autograde(root, assignment, *TIMEOUT)
    assert hashes(root / "submitted") == before, "autograding modified or removed a submission"

    # the file that is not a notebook is rejected with a message naming the student; everyone else is graded
    assert result.returncode != 0
    assert "There was an error processing assignment 'ps1-kmeans' for student 'not_json'" in result.stdout
    assert "JSON" in result.stdout
    assert not (root / "autograded" / "not_json" / assignment / f"{assignment}.ipynb").exists()

    def total(student):
        return sum(score for score, _ in course.scores(root, assignment, student).values())

    def lost(student):
        return {name for name, (score, maximum) in course.scores(root, assignment, student).items() if score < maximum}

    assert total("reference") == 12
    assert lost("loops") == {"test_kmeans_visible", "test_kmeans_hidden"}
    assert "kmeans did not finish: it used more than 10 s of CPU time" in course.messages(root, assignment, "loops")["test_kmeans_hidden"]
    # kmeans's tests run it with stand-ins for assign_clusters, so the broken cell costs only its own tests
    assert lost("import_error") == {"test_assign_clusters_visible", "test_assign_clusters_hidden"}
    assert "assign_clusters is not defined" in course.messages(root, assignment, "import_error")["test_assign_clusters_hidden"]
    assert total("deleted_cell") == 12  # the deleted test cell was put back and run
    assert total("retyped_cell") == 12  # the cell types were restored
    assert lost("edited_test") == {"test_kmeans_objective_visible", "test_kmeans_objective_hidden"}  # tests restored
