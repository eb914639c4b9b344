"""Grade a whole class over the machine's cores: ``python -m gmmlab.grading.parallel <assignment> --jobs 2``.

Run it in the course root. It runs nbgrader's own ``nbgrader autograde <assignment> --student=<id>`` for every
student with a submission in ``submitted/``, ``--jobs`` at a time, against the one gradebook (SQLite waits for
its lock), so the grades are exactly those a serial ``nbgrader autograde <assignment>`` gives: each submission is
graded on its own, with data seeded by the student and the assignment. Every submission that could not be
graded is named at the end, and the command then exits 1.
"""

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def submitted_students(root, assignment):
    folder = Path(root) / "submitted"
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir()) if folder.is_dir() else []


def grade_one(root, assignment, student, extra):
    started = time.monotonic()
    for attempt in range(3):  # another job holding SQLite's lock for too long is the one reason to try again
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", "autograde", assignment, f"--student={student}", *extra],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"),
        )
        if "database is locked" not in result.stdout:
            break
    graded = (Path(root) / "autograded" / student / assignment).is_dir() and result.returncode == 0
    return student, graded, result.stdout, time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    parser.add_argument("--force", action="store_true", help="regrade students already autograded (nbgrader --force)")
    args, extra = parser.parse_known_args(argv)
    root = Path.cwd()
    if not (root / "nbgrader_config.py").exists():
        parser.error("run this in the course root (the folder with nbgrader_config.py)")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    students = submitted_students(root, args.assignment)
    if not students:
        parser.error(f"no submissions of {args.assignment!r} in {root / 'submitted'}")
    extra = (["--force"] if args.force else []) + extra
    # nbgrader creates the assignment and students in the gradebook: do that once, before the parallel runs
    first = grade_one(root, args.assignment, students[0], ["--create", *extra])
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = [first, *pool.map(lambda s: grade_one(root, args.assignment, s, extra), students[1:])]
    failed = [(student, log) for student, graded, log, _ in results if not graded]
    print(f"{args.assignment}: {len(results) - len(failed)} of {len(results)} submissions graded "
          f"with {args.jobs} job(s) in {sum(r[3] for r in results):.0f} s of grading")
    for student, log in failed:
        reason = next((line for line in reversed(log.splitlines()) if "ERROR" in line or "Error" in line), log[-300:])
        print(f"NOT GRADED: {student}: {reason.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
