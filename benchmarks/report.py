"""Seconds the class report (``python -m gmmlab_course.report``) takes for 200 students x every assignment.

Builds one temporary course per assignment (nothing is written into the repository) with a class of ``--students``
graded notebooks and their gradebook: each student's answer to each function is the solution, or with probability
``--mistake-rate`` one of the catalogue's mistakes (tests/course/mistakes.py), its test cells failing with the
mistake's name as the checks report it; a few rewrites that change no result (``len(X)`` or ``X.shape[0]``, a
conversion of X first, a result returned through a variable) make the answers differ as a class's do. The grades
are stored through nbgrader's API and scored by nbgrader's ``determine_grade``. (tests/course/test_report.py grades
its class for real; here only the report's speed matters.)

Per assignment it prints the CPU seconds of the report (``write_report``: gradebook, notebooks, similarity, figures,
HTML and CSV; its wall seconds beside them) and of a reference run in the same process, reading the same gradebook
and notebooks without analysing them (the floor any report pays), and their ratio; then the total against the
target of one minute for 200 students x 5 assignments on two cores, and the worst assignment. CPU seconds, because
the course's machine is shared: wall seconds there measure the other users' load.

    .venv/bin/python benchmarks/report.py
    .venv/bin/python benchmarks/report.py --students 50 --assignments ps1-kmeans
"""

import argparse
import contextlib
import os
import re
import sys
import tempfile
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import numpy as np
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade, is_grade, is_solution
from sqlalchemy.exc import SAWarning

from gmmlab_course import autograde, report
from gmmlab_course import coursedir as course
from gmmlab_course.gradebook import course_directory

sys.path.insert(0, str(course.REPO / "tests" / "course"))
from mistakes import MISTAKES  # noqa: E402 (the catalogue lives with the tests)

TARGET_SECONDS = 60.0
DUE = datetime(2025, 1, 15, 12, 0)


def restyle(code, rng):
    if rng.random() < 0.5:
        code = code.replace("len(X)", "X.shape[0]")
    if rng.random() < 0.5:
        code = re.sub(r"^(def .*\(X.*:\n)", r"\1    X = np.asarray(X)\n", code, count=1, flags=re.M)
    if rng.random() < 0.5:
        code = re.sub(r"^    return (.+)$", r"    answer = \1\n    return answer", code, flags=re.M)
    return code


def build(root, assignment, students, mistake_rate, rng):
    course.make_course(root, [assignment])
    release = course.release_notebook(root, assignment)
    solution = course.read_notebook(course.REPO / "solutions" / assignment / f"{assignment}.ipynb")
    answers = course.solution_cells(assignment)
    tests = {course.grade_id(c): c.source for c in solution.cells if autograde.is_test(c)}
    catalogue = [m for m in MISTAKES if m.assignment == assignment]
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission, as in every autograde
        gb.update_or_create_assignment(assignment, duedate=DUE)
        for i in range(students):
            sid = f"s{i:03d}"
            gb.update_or_create_student(sid)
            gb.add_submission(assignment, sid, timestamp=DUE - timedelta(hours=int(rng.integers(1, 48))))
            mistakes = {m.function: m for m in catalogue if rng.random() < mistake_rate / 2}
            nb = nbformat.from_dict(release)
            function = None
            for cell in nb.cells:
                grade_id = course.grade_id(cell)
                if is_solution(cell) and cell.cell_type == "code":
                    function = grade_id
                    cell.source = mistakes[grade_id].source.strip() if grade_id in mistakes else restyle(answers[grade_id], rng)
                elif is_solution(cell):
                    cell.source = answers[grade_id]
                elif autograde.is_test(cell):
                    cell.source = tests[grade_id]
                    if function in mistakes and grade_id == mistakes[function].test:
                        m = mistakes[function]
                        cell.outputs = [autograde._test_error(AssertionError(f"{m.message}\n[mistake: {m.name}]"))]
                if is_grade(cell):
                    gb.find_grade(grade_id, assignment, assignment, sid).auto_score = determine_grade(cell)[0]
            folder = root / "autograded" / sid / assignment
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
            (root / "submitted" / sid / assignment).mkdir(parents=True)
        gb.db.commit()


def reference(coursedir, assignment):
    """Read what the report reads, and nothing more."""
    with Gradebook(coursedir.db_url) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            for notebook in submission.notebooks:
                [g.score for g in notebook.grades]
    for path in sorted(Path(coursedir.root, "autograded").glob(f"*/{assignment}/*.ipynb")):
        nbformat.read(str(path), as_version=4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--assignments", nargs="*", default=course.ASSIGNMENTS[:5])
    parser.add_argument("--mistake-rate", type=float, default=0.3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'assignment':<16} {'report CPU s':>10} {'wall s':>7} {'reference CPU s':>14} {'ratio':>7} {'pairs':>6} "
          f"{'mistakes':>9}")
    total, worst = 0.0, None
    with tempfile.TemporaryDirectory() as base:
        for assignment in args.assignments:
            root = Path(base) / assignment
            build(root, assignment, args.students, args.mistake_rate, rng)
            with contextlib.chdir(root):
                coursedir = course_directory()
                started, wall = time.process_time(), time.perf_counter()
                reference(coursedir, assignment)
                floor = time.process_time() - started
                started, wall = time.process_time(), time.perf_counter()
                page = report.write_report(coursedir, assignment)
                seconds, wall = time.process_time() - started, time.perf_counter() - wall
            pairs = len((page.parent / "similar_pairs.csv").read_text().splitlines()) - 1
            kinds = len((page.parent / "mistakes.csv").read_text().splitlines()) - 1
            print(f"{assignment:<16} {seconds:>10.2f} {wall:>7.2f} {floor:>14.2f} {seconds / floor:>7.1f} {pairs:>6} {kinds:>9}")
            total += seconds
            if worst is None or seconds / floor > worst[1]:
                worst = (assignment, seconds / floor)
    print(f"total {total:.1f} CPU s for {args.students} students x {len(args.assignments)} assignments "
          f"({total / TARGET_SECONDS:.2f} of the one-minute target; the report runs on one core, so two cores "
          f"leave one to spare); worst ratio: {worst[0]}, {worst[1]:.1f}x (load average "
          f"{os.getloadavg()[0]:.1f}: wall seconds grow with it, CPU seconds do not)")


if __name__ == "__main__":
    main()
