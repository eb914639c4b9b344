"""Seconds nbgrader needs to autograde one submission of each assignment.

Builds a temporary course from solutions/ (nothing is written into the repository), places ``--students``
copies of the solution of every assignment in submitted/, runs ``nbgrader autograde`` once per assignment and
prints the wall-clock seconds per submission, next to the time the same notebook takes to execute with
nbclient alone (kernel start included; median of three runs), which is the floor nbgrader cannot go below.

    .venv/bin/python benchmarks/autograde.py              # 5 submissions per assignment
    .venv/bin/python benchmarks/autograde.py --students 2
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from assignments import course  # noqa: E402


def execute_seconds(path, repeats=3):
    """Median wall-clock seconds of executing the notebook with nbclient (kernel start included)."""
    import statistics

    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeats):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5, help="submissions per assignment (default 5)")
    args = parser.parse_args()
    print(f"{'assignment':<16} {'autograde s/submission':>24} {'plain execution s':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        root = course.make_course(Path(tmp) / "course")
        for assignment in course.ASSIGNMENTS:
            for i in range(args.students):
                course.place(root, f"student{i:02d}", assignment, course.correct_submission(root, assignment))
            start = time.perf_counter()
            course.autograde(root, assignment, check=True)
            per_submission = (time.perf_counter() - start) / args.students
            plain = execute_seconds(course.REPO / "solutions" / assignment / f"{assignment}.ipynb")
            print(f"{assignment:<16} {per_submission:>24.1f} {plain:>18.1f}")


if __name__ == "__main__":
    main()
