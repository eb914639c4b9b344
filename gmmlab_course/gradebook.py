"""The course directory as nbgrader sees it: its configuration, who submitted what, and a current gradebook."""

from pathlib import Path

import nbformat
from nbgrader.apps.baseapp import NbGrader
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import is_grade, is_locked, is_solution


class _Configured(NbGrader):
    """An nbgrader application that only loads the configuration (for ``coursedir``)."""

    name = "gmmlab-course"


def course_directory(argv=()):
    """nbgrader's CourseDirectory as ``nbgrader`` commands run here see it (``argv``: ``--Class.trait=value``)."""
    app = _Configured()
    app.initialize(list(argv))
    return app.coursedir


def submissions(coursedir):
    """{assignment: sorted student ids} of the folders ``submitted/<student>/<assignment>/`` of a course.

    ``coursedir`` is nbgrader's CourseDirectory or the course root's path (nbgrader's default folder names).
    """
    if not isinstance(coursedir, CourseDirectory):
        coursedir = CourseDirectory(root=str(Path(coursedir).resolve()))
    top = Path(coursedir.root) / coursedir.submitted_directory
    found = {}
    for student in sorted(top.iterdir()) if top.is_dir() else []:
        for folder in sorted(student.iterdir()) if student.is_dir() and not student.is_symlink() else []:
            if folder.is_dir() and not folder.is_symlink():
                found.setdefault(folder.name, []).append(student.name)
    return found


def submitted_students(coursedir, assignment):
    """The sorted ids of the students with a folder ``submitted/<student>/<assignment>/``."""
    return submissions(coursedir).get(assignment, [])


def _tests_and_given(path):
    """{grade_id: source} of the cells of an instructor notebook that are not the student's to change."""
    return {cell.metadata.nbgrader["grade_id"]: cell.source for cell in nbformat.read(str(path), as_version=4).cells
            if (is_grade(cell) or is_locked(cell)) and not is_solution(cell)}


def check_is_current(info, coursedir):
    """Refuse to grade with test cells older than ``solutions/``: a fixed test would silently not be used."""
    from nbgrader.api import Gradebook, MissingEntry

    source = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
    if not source.exists():
        return
    current = _tests_and_given(source)
    with Gradebook(info["db_url"]) as gb:
        try:
            stored = {cell.name: cell.source for cell in gb.find_notebook(info["notebook"], info["assignment"]).source_cells}
        except MissingEntry:
            return
    stale = sorted(gid for gid, text in current.items() if gid in stored and stored[gid].strip() != text.strip())
    if stale:
        raise RuntimeError(
            f"the gradebook holds older versions of {', '.join(stale)} than {source}: run "
            f"`nbgrader generate_assignment {info['assignment']} --force` in the course root to update it, then autograde again"
        )
