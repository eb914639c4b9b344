"""CPU seconds per autograded submission, and a class's throughput with 1 and 2 parallel jobs.

Builds temporary courses from solutions/ (nothing is written into the repository) and grades copies of the
solution with the course's documented commands, sandbox included:

- CPU seconds per submission, for each assignment: ``nbgrader autograde`` on 1 and on ``--students`` submissions;
  the difference, divided by the extra submissions, is the cost of one more submission (the fixed cost of
  starting nbgrader is printed beside it). CPU time is summed over every process the grading started, the
  sandboxes included.
- Throughput: ``python -m gmmlab_course.parallel <assignment> --jobs J`` for J = 1 and 2 over ``--class-size``
  submissions of every assignment, in wall-clock seconds, and the minutes a class of 200 students times every
  assignment would take: each run's start-up (the fixed CPU seconds above) once per assignment, and the rest of
  the measured time in proportion to the number of submissions. (At a small ``--class-size`` the start-up is
  much of a run, so the rate in submissions per minute understates a real class's.)

    .venv/bin/python benchmarks/autograde.py                    # 6 submissions, a class of 8 per assignment
    .venv/bin/python benchmarks/autograde.py --students 3 --class-size 4
    .venv/bin/python benchmarks/autograde.py --assignments ps5-map-em --class-size 0   # one assignment's CPU only
    .venv/bin/python benchmarks/autograde.py --record           # also write benchmarks/recorded/autograde.txt

``--record`` writes what it prints, under a header naming the command, the date, the processor and the load
average, to ``benchmarks/recorded/autograde.txt``: the measurement the appendix *For instructors* shows.
"""

import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gmmlab_course import coursedir as course
from gmmlab_course import manifest

RECORD = Path(__file__).resolve().parent / "recorded" / "autograde.txt"
CPU_HEADER = f"{'assignment':<20} {'CPU s/submission':>17} {'fixed CPU s/run':>16}"
# the last column: every assignment measured, for a class of 200
CLASS_HEADER = f"{'jobs':<6} {'class wall s':>12} {'submissions/min':>16} {'200 students, min':>19}"


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def graded_course(base, assignment, students):
    root = course.make_course(base, [assignment])
    for i in range(students):
        course.place(root, f"student{i:03d}", assignment, course.correct_submission(root, assignment))
    return root


def cpu_of_grading(base, assignment, students):
    """CPU seconds of grading ``students`` submissions: nbgrader and the grader (from the operating system) plus
    the sandboxes (which are not children the grader waits for, so the grader logs what they used)."""
    root = graded_course(base, assignment, students)
    before = children_cpu()
    log = course.nbgrader("autograde", assignment, "--create", cwd=root).stdout
    sandboxes = sum(float(s) for s in re.findall(r"([0-9.]+) s of CPU in the sandbox", log))
    return children_cpu() - before + sandboxes


def class_wall_seconds(base, assignment, students, jobs):
    root = graded_course(base, assignment, students)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gmmlab_course.parallel", assignment, "--jobs", str(jobs)], cwd=root,
                   check=True, stdout=subprocess.DEVNULL, env=course.environment())
    return time.perf_counter() - start


def processor():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown processor"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6, help="submissions for the CPU measurement (default 6)")
    parser.add_argument("--class-size", type=int, default=8,
                        help="submissions per assignment for throughput (default 8; 0 skips the throughput runs)")
    parser.add_argument("--assignments", nargs="+", choices=manifest.names(), default=manifest.names(),
                        metavar="NAME", help="the assignments to measure (default: all)")
    parser.add_argument("--record", action="store_true", help="also write the results to benchmarks/recorded/autograde.txt")
    args = parser.parse_args()
    assignments = args.assignments
    os.environ.setdefault("MPLBACKEND", "Agg")
    lines = []

    def report(line=""):
        print(line, flush=True)
        lines.append(line)

    load = os.getloadavg()[0]
    report(CPU_HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fixed = {}
        for assignment in assignments:
            one = cpu_of_grading(tmp / f"{assignment}-1", assignment, 1)
            many = cpu_of_grading(tmp / f"{assignment}-n", assignment, args.students)
            per = (many - one) / (args.students - 1)
            fixed[assignment] = one - per
            report(f"{assignment:<20} {per:>17.2f} {one - per:>16.2f}")
        if args.class_size > 0:
            report()
            report(CLASS_HEADER)
            for jobs in (1, 2):
                walls = {a: class_wall_seconds(tmp / f"class-{jobs}-{a}", a, args.class_size, jobs) for a in assignments}
                wall = sum(walls.values())
                rate = len(assignments) * args.class_size / wall * 60
                class_of_200 = sum(fixed[a] + (walls[a] - fixed[a]) * 200 / args.class_size for a in assignments)
                report(f"{jobs:<6} {wall:>12.1f} {rate:>16.1f} {class_of_200 / 60:>19.1f}")
                for a in assignments:
                    shutil.rmtree(tmp / f"class-{jobs}-{a}", ignore_errors=True)
    if args.record:
        command = " ".join(["benchmarks/autograde.py", *sys.argv[1:]])
        header = [f"$ .venv/bin/python {command}",
                  f"# measured {datetime.date.today().isoformat()} on {processor()}, {os.cpu_count()} cores, "
                  f"load average {load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end"]
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    main()
