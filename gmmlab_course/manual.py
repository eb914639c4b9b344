"""Grade a written answer from the command line: a score and a comment, as the formgrader would enter them.

    python -m gmmlab_course.manual ps4-em alice written_collapse 2 --comment "Right, and well argued."
    python -m gmmlab_course.manual ps4-em --pending

Run it in the course root. It finds the gradebook the way every ``nbgrader`` command does, by loading nbgrader's
configuration (``nbgrader_config.py`` of the course, so ``GMMLAB_GRADEBOOK`` too, and the system's and user's
Jupyter configuration), and it clears the answer's "needs manual grade" flag as the formgrader does, so the
formgrader, the feedback and the export all count the score.
"""

import argparse
import sys

from nbgrader.api import Gradebook, MissingEntry

from .gradebook import course_directory


def pending(gradebook, assignment):
    """[(student, notebook, cell, max_score)] of the answers of ``assignment`` that still need a manual grade."""
    found = []
    for submission in gradebook.find_assignment(assignment).submissions:
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.needs_manual_grade:
                    found.append((submission.student.id, notebook.name, grade.name, grade.max_score))
    return sorted(found)


def set_grade(gradebook, assignment, student, cell, score, comment=None, notebook=None):
    """Give ``student``'s answer ``cell`` of ``assignment`` the ``score`` (and ``comment``); return the Grade.

    Raises ValueError, naming the problem, for an unknown submission or cell, a cell that is not graded by hand,
    or a score outside [0, max_score].
    """
    notebook = notebook or assignment
    try:
        submitted = gradebook.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        raise ValueError(f"no submission of {assignment} (notebook {notebook}) by {student!r} in the gradebook; "
                         "has it been autograded?") from None
    grades = {g.name: g for g in submitted.grades}
    if cell not in grades:
        raise ValueError(f"{assignment} has no graded cell {cell!r}; its graded cells are {', '.join(sorted(grades))}")
    grade = grades[cell]
    if grade.cell.cell_type != "markdown" and grade.auto_score is not None:
        raise ValueError(f"{cell!r} is autograded (a test cell); give manual scores to written answers only")
    if not 0 <= score <= grade.max_score:
        raise ValueError(f"the score of {cell!r} must be between 0 and {grade.max_score:g}; got {score:g}")
    grade.manual_score = score
    grade.needs_manual_grade = False  # what the formgrader does once a score is entered
    if comment is not None:
        gradebook.find_comment(cell, notebook, assignment, student).manual_comment = comment
    gradebook.db.commit()
    return grade


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m gmmlab_course.manual",
        description="Score (and comment on) a written answer in the gradebook nbgrader uses here.")
    parser.add_argument("assignment")
    parser.add_argument("student", nargs="?")
    parser.add_argument("cell", nargs="?", help="the answer cell's grade_id, e.g. written_collapse")
    parser.add_argument("score", nargs="?", type=float)
    parser.add_argument("--comment", help="feedback shown to the student under the answer")
    parser.add_argument("--notebook", help="the notebook's name, if not the assignment's")
    parser.add_argument("--pending", action="store_true", help="list the answers that still need a manual grade")
    args, nbgrader_args = parser.parse_known_args(argv)
    unknown = [a for a in nbgrader_args if not (a.startswith("--") and "." in a.split("=")[0])]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")

    coursedir = course_directory(nbgrader_args)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            if args.pending:
                rows = pending(gradebook, args.assignment)
                for student, notebook, cell, maximum in rows:
                    print(f"{student}\t{notebook}\t{cell}\t(out of {maximum:g})")
                if not rows:
                    print(f"No answer of {args.assignment} needs a manual grade.")
                return 0
            if args.student is None or args.cell is None or args.score is None:
                parser.error("give STUDENT CELL SCORE (or --pending)")
            gradebook.find_assignment(args.assignment)
            grade = set_grade(gradebook, args.assignment, args.student, args.cell, args.score, args.comment,
                              args.notebook)
        except MissingEntry:
            print(f"error: no assignment {args.assignment!r} in the gradebook {coursedir.db_url}", file=sys.stderr)
            return 1
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{args.student} {args.assignment} {args.cell}: {grade.manual_score:g} of {grade.max_score:g}"
              f"{' with a comment' if args.comment is not None else ''} ({coursedir.db_url})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
