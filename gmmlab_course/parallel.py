"""Grade a whole class over the machine's cores: ``python -m gmmlab_course.parallel <assignment> --jobs 2``.

Run it in the course root. It splits the students with a submission in ``submitted/`` into ``--jobs`` groups and
runs nbgrader's own ``nbgrader autograde <assignment>`` once per group at the same time (each limited to its
group with ``--CourseDirectory.student_id_exclude``), against the one gradebook. The grades are exactly those a
serial ``nbgrader autograde <assignment>`` gives: each submission is graded on its own, in its own sandbox, with
hidden-test data seeded by the course secret, the student and the assignment. A student whose grading failed
for a reason outside the submission (the gradebook was locked for too long) is graded again, alone. Every
submission that could not be graded is named at the end, and the command then exits 1.
"""

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .gradebook import submitted_students


def autograde(root, assignment, students, everyone, extra):
    """Run ``nbgrader autograde`` for ``students`` only; return its output."""
    others = sorted(set(everyone) - set(students))
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, *extra]
    if others:
        command.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
    result = subprocess.run(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    return result.stdout


def graded(root, assignment, student):
    return any((Path(root) / "autograded" / student / assignment).glob("*.ipynb"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="gradings at once (default: the cores)")
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
    extra = ["--create", *(["--force"] if args.force else []), *extra]
    started = time.monotonic()
    # nbgrader adds the assignment to the gradebook on first use: let one student do that before the others
    logs = [autograde(root, args.assignment, students[:1], students, extra)]
    groups = [students[1:][i::args.jobs] for i in range(args.jobs)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        logs += list(pool.map(lambda group: autograde(root, args.assignment, group, students, extra), [g for g in groups if g]))
    log = "\n".join(logs)
    if "database is locked" in log:
        for student in (s for s in students if not graded(root, args.assignment, s)):
            log += autograde(root, args.assignment, [student], students, [*extra, "--force"])
    failed = [s for s in students if not graded(root, args.assignment, s)]
    print(f"{args.assignment}: {len(students) - len(failed)} of {len(students)} submissions graded "
          f"with {args.jobs} job(s) in {time.monotonic() - started:.0f} s")
    for student in failed:
        lines = [line for line in log.splitlines() if f"'{student}'" in line or f"/{student}/" in line]
        reason = next((line for line in reversed(lines) if "rror" in line), lines[-1] if lines else "see nbgrader's log")
        print(f"NOT GRADED: {student}: {reason.strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
