"""The course's grade exports, nbgrader plugins: grades out to a spreadsheet or a learning-management system.

- ``StatusCsvExportPlugin`` (the course's default ``nbgrader export``): nbgrader's CSV with a ``status`` column, so
  a submission that could not be graded is never mistaken for a zero, nor one whose answers graded by hand are
  still pending for its final score.
- ``CanvasExportPlugin``: a gradebook CSV in the format Canvas imports (submissions come in through
  ``gmmlab_course.collect.CanvasCollector``).

One roster mapping joins nbgrader to Canvas, both ways:

==================  ==========================================================================
nbgrader student    Canvas
==================  ==========================================================================
``id``              *SIS Login ID*: the student's login, which is also their account on the
                    course's machine or JupyterHub (nbgrader's exchange identifies students by it)
``lms_user_id``     *ID*: the Canvas user id, the number in the student's Canvas URLs and in the
                    file names of Canvas's submissions zip
``last_name``,      *Student*: "Last, First"
``first_name``
==================  ==========================================================================
"""

import csv
import os

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from .gradebook import submitted_students

GRADED, NOT_GRADED, MISSING = "graded", "not graded", "missing"
NEEDS_MANUAL = "needs manual grading"  # autograded, but answers graded by hand still have no score
UNSCORED = (NOT_GRADED, NEEDS_MANUAL)  # statuses whose score fields are empty, never 0

CSV_COLUMNS = [  # nbgrader's own CSV export, in its order, then the status
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score", "status",
]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _is_graded(coursedir, submission):
    """Every notebook of ``submission`` has an autograded copy and at least one score in the gradebook.

    A failed autograde removes the autograded copy but can leave the submission's rows (and a previous
    grading's scores) in the gradebook, so both are required.
    """
    assignment, student = submission.assignment.name, submission.student.id
    folder = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    for notebook in submission.notebooks:
        if not os.path.isfile(os.path.join(folder, notebook.name + ".ipynb")):
            return False
        grades = list(notebook.grades)
        if grades and all(g.auto_score is None and g.manual_score is None for g in grades):
            return False
    return True


def grade_records(gradebook, coursedir, assignments=(), students=()):
    """One record per (assignment, student): nbgrader's CSV fields and ``status``.

    ``status`` is ``graded``; ``not graded`` when a submission exists (in the gradebook or in ``submitted/``)
    but has no autograded notebook or no score; ``needs manual grading`` when it is autograded but an answer
    graded by hand still waits for its score (nbgrader's *needs manual grade*), so its total is not final (for
    both, every score field is None, never a partial score or 0); or ``missing`` when the student submitted
    nothing, scored 0 as nbgrader does. Students with a submission in
    ``submitted/`` whom the gradebook does not know are included, as ``not graded``.
    """
    for assignment in gradebook.assignments:
        if assignments and assignment.name not in assignments:
            continue
        on_disk = set(submitted_students(coursedir, assignment.name))
        known = {s.id: s for s in gradebook.students}
        for student_id in sorted(set(known) | on_disk):
            if students and student_id not in students:
                continue
            student = known.get(student_id)
            record = {
                "assignment": assignment.name, "duedate": assignment.duedate, "timestamp": None,
                "student_id": student_id,
                "last_name": student.last_name if student else None,
                "first_name": student.first_name if student else None,
                "email": student.email if student else None,
                "lms_user_id": student.lms_user_id if student else None,
                "max_score": assignment.max_score,
                "raw_score": None, "late_submission_penalty": None, "score": None,
            }
            try:
                submission = gradebook.find_submission(assignment.name, student_id)
            except MissingEntry:
                submission = None
            if submission is None:
                if student_id in on_disk:
                    record["status"] = NOT_GRADED
                else:
                    record.update(status=MISSING, raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                record["timestamp"] = submission.timestamp
                if not _is_graded(coursedir, submission):
                    record["status"] = NOT_GRADED
                elif submission.needs_manual_grade:
                    record["status"] = NEEDS_MANUAL
                else:
                    penalty = submission.late_submission_penalty or 0.0
                    record.update(status=GRADED, raw_score=submission.score, late_submission_penalty=penalty,
                                  score=max(0.0, submission.score - penalty))
            yield record


def _text(value):
    return "" if value is None else str(value)


class _CourseExport(ExportPlugin):
    """An export that knows the course directory (the ``nbgrader export`` app it runs in)."""

    default_file = "grades.csv"

    def records(self, gradebook):
        coursedir = self.parent.coursedir
        return list(grade_records(gradebook, coursedir, [str(a) for a in self.assignment],
                                  [str(s) for s in self.student]))

    def destination(self):
        dest = self.to or self.default_file
        self.log.info("Exporting grades to %s", dest)
        return dest


class StatusCsvExportPlugin(_CourseExport):
    """nbgrader's CSV export (the same columns, properly quoted) with a ``status`` column.

    ``status`` is ``graded``, ``not graded`` (a submission that could not be autograded: its score cells are
    empty, never 0), ``needs manual grading`` (autograded, but answers graded by hand are pending: its score
    cells are empty until every manual grade is in) or ``missing`` (nothing submitted: score 0).
    """

    def export(self, gradebook: Gradebook) -> None:
        records = self.records(gradebook)
        with open(self.destination(), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for record in records:
                writer.writerow([_text(record[key]) for key in CSV_COLUMNS])
        _warn_unscored(self.log, records)


def _warn_unscored(log, records):
    for status in UNSCORED:
        which = [f"{r['student_id']}/{r['assignment']}" for r in records if r["status"] == status]
        if which:
            log.warning("%s (empty score, not 0): %s", status.capitalize(), ", ".join(which))


def canvas_name(record):
    """Canvas's *Student* column: "Last, First", or whichever name is known, or the student id."""
    names = [n for n in (record["last_name"], record["first_name"]) if n]
    return ", ".join(names) if names else record["student_id"]


class CanvasExportPlugin(_CourseExport):
    """A gradebook CSV in Canvas's import format (Grades → Import).

    Columns *Student*, *ID*, *SIS User ID*, *SIS Login ID*, *Section*, then one per assignment, with a
    *Points Possible* row first. Rows follow the module's roster mapping: *ID* is the student's ``lms_user_id``
    and *SIS Login ID* their nbgrader id; *SIS User ID* and *Section* are left empty, as nbgrader does not know
    them. A score is the one after the late penalty; a submission that could not be graded, or whose answers
    graded by hand are still pending, gets an empty cell, which Canvas leaves unchanged; a missing one gets 0.
    Assignments nobody has submitted yet are left out, so an import never gives the class zeros for work that is
    not due.
    """

    default_file = "canvas.csv"

    def export(self, gradebook: Gradebook) -> None:
        records = self.records(gradebook)
        assignments = [a.name for a in gradebook.assignments
                       if any(r["assignment"] == a.name and r["status"] != MISSING for r in records)]
        maximum = {r["assignment"]: r["max_score"] for r in records}
        rows = {}
        for record in records:
            if record["assignment"] not in assignments:
                continue
            row = rows.setdefault(record["student_id"], {
                "Student": canvas_name(record), "ID": _text(record["lms_user_id"]), "SIS User ID": "",
                "SIS Login ID": record["student_id"], "Section": "",
            })
            row[record["assignment"]] = _text(record["score"])
        _warn_unscored(self.log, [r for r in records if r["assignment"] in assignments])
        missing_ids = sorted(s for s, row in rows.items() if not row["ID"])
        if missing_ids:
            self.log.warning("No lms_user_id (Canvas ID) for: %s; Canvas must match them by SIS Login ID",
                             ", ".join(missing_ids))
        with open(self.destination(), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CANVAS_COLUMNS + assignments)
            writer.writerow(["    Points Possible", "", "", "", ""] + [_text(maximum[a]) for a in assignments])
            for student_id in sorted(rows):
                writer.writerow([rows[student_id].get(c, "") for c in CANVAS_COLUMNS + assignments])
