"""Throwaway nbgrader courses made from this repository: generate, place submissions, autograde, read the results.

The tests and the benchmarks (benchmarks/autograde.py) grade simulated classes with these. Everything happens in a
directory the caller provides (a pytest tmp_path, a temporary folder), never in the repository, so no gradebook.db,
submitted/ or autograded/ is ever written into the working tree. ``REPO`` is the checkout this package runs from.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from . import manifest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = manifest.names()
COURSE_ID = manifest.course_id()


def environment(**extra):
    """The environment of an nbgrader command: the course's venv first on PATH (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("GMMLAB_GRADEBOOK", None)
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra)
    return env


def nbgrader(*args, cwd, check=True, env=None, timeout=600):
    """Run ``python -m nbgrader <args>`` in ``cwd``; return the CompletedProcess (stdout and stderr merged)."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=cwd, env=env or environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout[-6000:]}")
    return result


def make_course(root, assignments=ASSIGNMENTS):
    """A course directory at ``root``: the repository's config and sources, assignments generated."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
        nbgrader("generate_assignment", assignment, "--force", cwd=root)
    return root


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def grade_id(cell):
    """The nbgrader grade_id of a cell (a notebook node, or a plain dict of a notebook's JSON), or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def strip_solution_markers(source):
    """The solution code of a source cell, as a student would have written it (delimiters removed)."""
    lines = "".join(source).splitlines()
    return "\n".join(line for line in lines if not re.search(r"### (BEGIN|END) SOLUTION", line))


def solution_cells(assignment):
    """{grade_id: source} of every answer cell (code and written) of the instructor version."""
    nb = read_notebook(REPO / "solutions" / assignment / f"{assignment}.ipynb")
    return {
        grade_id(cell): strip_solution_markers(cell["source"])
        for cell in nb.cells
        if is_solution(cell)
    }


def release_notebook(course, assignment):
    return read_notebook(Path(course) / "exercises" / assignment / f"{assignment}.ipynb")


def submission(course, assignment, answers=None):
    """The student version with the answer cells in ``answers`` ({grade_id: source}) filled in."""
    nb = release_notebook(course, assignment)
    answers = dict(answers or {})
    for cell in nb["cells"]:
        if grade_id(cell) in answers:
            cell["source"] = answers.pop(grade_id(cell))
    assert not answers, f"no such answer cells in {assignment}: {sorted(answers)}"
    return nb


def correct_submission(course, assignment, **overrides):
    """A submission with every answer taken from the solutions; ``overrides`` replace some cells' code."""
    answers = solution_cells(assignment)
    answers.update(overrides)
    return submission(course, assignment, answers)


def place(course, student, assignment, notebook):
    """Put a submission where ``nbgrader collect`` would: submitted/<student>/<assignment>/<assignment>.ipynb.

    ``notebook`` is a notebook dict, or a str written as is (for example, a file that is not JSON).
    """
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    text = notebook if isinstance(notebook, str) else json.dumps(notebook, indent=1)
    (folder / f"{assignment}.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text("2025-01-15 12:00:00.000000 UTC")
    return folder


def autograde(course, assignment, *options, check=False):
    """Autograde every submission of ``assignment`` in ``course``; nbgrader's output is returned for the log."""
    return nbgrader("autograde", assignment, "--create", "--force", *options, cwd=course, check=check)


def scores(course, assignment, student):
    """{test grade_id: (score, max_score)} of a student's autograded notebook, read from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(assignment, assignment, student)
        return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}


def messages(course, assignment, student):
    """{grade_id: text of the error outputs} of a student's autograded notebook."""
    nb = read_notebook(Path(course) / "autograded" / student / assignment / f"{assignment}.ipynb")
    result = {}
    for cell in nb["cells"]:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and grade_id(cell):
            result[grade_id(cell)] = "\n".join(f"{o['ename']}: {o['evalue']}" for o in errors)
    return result


def is_visible_test(cell):
    return (grade_id(cell) or "").endswith("_visible")


def run_visible_tests(assignment, overrides=None):
    """{grade_id: error} of the student version (committed exercises/, every answer from the solutions except
    ``overrides``) run cell by cell in a plain namespace, as in the student's own kernel, up to the last test cell.

    Error-free cells are left out, so a correct submission gives {}.
    """
    import warnings

    answers = solution_cells(assignment)
    answers.update(overrides or {})
    nb = read_notebook(REPO / "exercises" / assignment / f"{assignment}.ipynb")
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    last = max(i for i, c in enumerate(cells) if is_grade(c))
    namespace = {"__name__": "__main__"}
    errors = {}
    for index, cell in enumerate(cells[: last + 1]):
        name = grade_id(cell) or f"cell {index}"
        source = answers.get(grade_id(cell), "".join(cell["source"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the student's kernel shows warnings; they fail nothing there
            try:
                exec(compile(source, f"<{name}>", "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - a failing cell is what is recorded
                errors[name] = f"{type(error).__name__}: {error}"
    return errors
