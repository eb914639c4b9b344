"""The course manifest (``course.toml`` beside this module): the problem sets, in course order, kept once.

nbgrader's configuration, the grading sandbox, the tests, the benchmarks and the instructors' appendix read the
list from here, so adding a problem set is one entry in ``course.toml`` plus its notebook in ``solutions/``.
The points are not listed: they are the nbgrader points of the notebook itself (:func:`points`).

Put the default due dates in the gradebook, the first day of the course given::

    python -m gmmlab_course.manifest schedule 2027-01-11 [--time 17:00] [--dry-run]
"""

import argparse
import datetime
import functools
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple

MANIFEST = Path(__file__).with_name("course.toml")


class Assignment(NamedTuple):
    name: str
    chapters: tuple  # book pages whose "Practise it" section sets it
    due_week: int  # default due date, in weeks after the course's first day
    grading_cpu: float  # relative CPU cost of grading one submission
    sandbox: dict  # {gmmlab module: [top-level names removed]} its grading sandbox holds


@functools.cache
def _read():
    data = tomllib.loads(MANIFEST.read_text())
    found = []
    for entry in data.get("assignment", []):
        missing = {"name", "chapters", "due_week", "grading_cpu", "sandbox"} - set(entry)
        if missing:
            raise ValueError(f"{MANIFEST}: the entry {entry.get('name', '?')!r} lacks {', '.join(sorted(missing))}")
        found.append(Assignment(entry["name"], tuple(entry["chapters"]), int(entry["due_week"]),
                                float(entry["grading_cpu"]), {k: list(v) for k, v in entry["sandbox"].items()}))
    names = [a.name for a in found]
    if len(set(names)) != len(names):
        raise ValueError(f"{MANIFEST}: an assignment is listed twice: {names}")
    return data["course_id"], tuple(found)


def course_id():
    return _read()[0]


def assignments():
    """Every :class:`Assignment`, in course order."""
    return _read()[1]


def names():
    """The assignments' names, in course order."""
    return [a.name for a in assignments()]


def assignment(name):
    """The :class:`Assignment` called ``name``, or a ValueError that lists the course's."""
    for entry in assignments():
        if entry.name == name:
            return entry
    raise ValueError(f"no assignment {name!r} in the course manifest ({MANIFEST}); it has {', '.join(names())}")


def points(notebook):
    """(total, by hand) nbgrader points of an assignment notebook (a path or a notebook node)."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    graded = [cell for cell in nb.cells if is_grade(cell)]
    total = sum(float(cell.metadata.nbgrader.get("points", 0)) for cell in graded)
    by_hand = sum(float(cell.metadata.nbgrader.get("points", 0)) for cell in graded if is_solution(cell))
    return total, by_hand


def due_dates(first_day, time="17:00"):
    """{assignment: due date} from the course's first day (a date) and each assignment's ``due_week``."""
    clock = datetime.time.fromisoformat(time)
    start = datetime.datetime.combine(first_day, clock, tzinfo=datetime.timezone.utc)
    return {a.name: start + datetime.timedelta(weeks=a.due_week) for a in assignments()}


def schedule(db_url, first_day, time="17:00"):
    """Add every assignment to the gradebook at ``db_url`` with its default due date (existing ones updated)."""
    from nbgrader.api import Gradebook

    dates = due_dates(first_day, time)
    with Gradebook(db_url) as gradebook:
        for name, due in dates.items():
            gradebook.update_or_create_assignment(name, duedate=due.replace(tzinfo=None))
    return dates


def main(argv=None):
    parser = argparse.ArgumentParser(description="The course manifest: list the assignments or schedule them.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the assignments, their chapters and default due weeks")
    plan = commands.add_parser("schedule", help="add every assignment to the gradebook with its default due date")
    plan.add_argument("first_day", type=datetime.date.fromisoformat, help="the course's first day, YYYY-MM-DD")
    plan.add_argument("--time", default="17:00", help="the time of day (UTC) work is due (default 17:00)")
    plan.add_argument("--dry-run", action="store_true", help="print the due dates without writing the gradebook")
    args = parser.parse_args(argv)
    if args.command == "list":
        for a in assignments():
            print(f"{a.name:<16} week {a.due_week:<3} {', '.join(a.chapters)}")
        return 0
    try:
        datetime.time.fromisoformat(args.time)
    except ValueError:
        parser.error(f"--time must be HH:MM, not {args.time!r}")
    if args.dry_run:
        dates = due_dates(args.first_day, args.time)
    else:
        if not Path("nbgrader_config.py").exists():
            parser.error("run this in the course root (the folder with nbgrader_config.py)")
        from .gradebook import course_directory

        dates = schedule(course_directory().db_url, args.first_day, args.time)
    for name, due in dates.items():
        print(f"{name:<16} due {due:%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
