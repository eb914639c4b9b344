"""Who runs what: gmmlab (students and users) and gmmlab_course (instructors, graders), one manifest for the course.

The course's tools import gmmlab, never the reverse; the student side of grading imports nothing of the instructor
side; the old dotted paths of deployed hubs still resolve, for one release; the manifest is the one list of
problem sets, and adding one is an entry plus its notebook.
"""

import ast
import datetime
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from gmmlab.grading import _moved
from gmmlab_course import coursedir as course
from gmmlab_course import manifest, sandbox

REPO = course.REPO


def imports_of(path):
    """The top-level package names a module imports (absolute imports only)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_dependency_points_one_way():
    """Nothing in gmmlab imports gmmlab_course (the aliases kept for one release forward by name only)."""
    modules = sorted((REPO / "gmmlab").rglob("*.py"))
    assert modules
    offenders = [str(p.relative_to(REPO)) for p in modules if "gmmlab_course" in imports_of(p)]
    assert offenders == []
    uses_gmmlab = [p.name for p in (REPO / "gmmlab_course").glob("*.py") if "gmmlab" in imports_of(p)]
    assert {"sandbox.py", "autograde.py"} <= set(uses_gmmlab)


def test_the_student_side_of_grading_needs_only_the_standard_library_and_numpy():
    """gmmlab.grading, its wire format and its server run in students' kernels and in the sandbox."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "gmmlab", "matplotlib"}
    for name in sandbox.HARNESS:
        path = sandbox.module_file(name)
        assert imports_of(path) <= allowed, f"{path.name} imports {imports_of(path) - allowed}"


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_old_dotted_paths_still_resolve_with_a_warning(old):
    """Deployed hubs name these in their nbgrader configuration; they work for one more release."""
    import importlib

    module = importlib.import_module(old)
    target = importlib.import_module(_moved.MOVED[old][0])
    name = next(n for n in vars(target) if not n.startswith("_") and getattr(target, n).__class__.__name__ != "module")
    with pytest.warns(DeprecationWarning, match=re.escape(_moved.MOVED[old][0])):
        assert getattr(module, name) is getattr(target, name)
    with pytest.raises(AttributeError), warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown name warns nothing and is an AttributeError
        getattr(module, "no_such_name")


@pytest.mark.parametrize("dotted", ["gmmlab.grading.exchange.OwnerCheckedCollect", "gmmlab.grading.export.CanvasCollector",
                                    "gmmlab.grading.export.StatusCsvExportPlugin",
                                    "gmmlab.grading.autograde.SandboxedGrade"])
def test_the_names_deployed_configurations_use(dotted):
    from traitlets.utils.importstring import import_item

    with pytest.warns(DeprecationWarning):
        assert import_item(dotted).__module__.startswith("gmmlab_course.")


@pytest.mark.parametrize("old", ["gmmlab.grading.parallel", "gmmlab.grading.manual"])
def test_old_commands_still_run(old):
    result = subprocess.run([sys.executable, "-m", old, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage:" in result.stdout, result.stderr


# ------------------------------------------------------------------------------------------------ the manifest


def test_the_manifest_lists_exactly_the_problem_sets_in_the_repository():
    names = manifest.names()
    assert sorted(names) == sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
    assert sorted(names) == sorted(p.name for p in (REPO / "exercises").iterdir() if p.is_dir())
    weeks = [a.due_week for a in manifest.assignments()]
    assert weeks == sorted(weeks) and len(set(weeks)) == len(weeks), "due weeks follow the course order"


@pytest.mark.parametrize("entry", manifest.assignments(), ids=lambda a: a.name)
def test_each_listed_chapter_sets_its_assignment(entry):
    """A chapter named in the manifest exists and names the assignment in its "Practise it" section, and no
    other chapter does."""
    setting = set()
    for page in (REPO / "book").glob("*.md"):
        text = page.read_text()
        section = text.split("## Practise it", 1)[1].split("\n## ", 1)[0] if "## Practise it" in text else ""
        if f"**{entry.name}**" in section:
            setting.add(page.stem)
    assert setting == set(entry.chapters)


@pytest.mark.parametrize("entry", manifest.assignments(), ids=lambda a: a.name)
def test_each_sandbox_module_exists_in_gmmlab(entry):
    for module in entry.sandbox:
        assert sandbox.module_file(f"gmmlab.{module}").is_file()


def test_the_appendix_table_follows_the_manifest_and_the_notebooks():
    """The instructors' appendix lists the assignments in course order with the points their notebooks give."""
    text = (REPO / "book" / "instructors.md").read_text()
    table = text.split("## The assignments", 1)[1].split("\n\n")[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert [r[0].strip("`") for r in rows] == manifest.names()
    for row in rows:
        total, by_hand = manifest.points(REPO / "solutions" / row[0].strip("`") / f"{row[0].strip('`')}.ipynb")
        assert row[-1] == (f"{total:g} ({by_hand:g} by hand)" if by_hand else f"{total:g}"), row


def test_a_new_problem_set_is_one_entry_and_its_notebook(tmp_path, monkeypatch):
    """Add ps6 to a copy of the manifest: the sandbox, the points and nbgrader take it with nothing else edited."""
    toml = manifest.MANIFEST.read_text() + (
        '\n[[assignment]]\nname = "ps6-extra"\nchapters = ["kmeans"]\ndue_week = 12\ngrading_cpu = 1.0\n'
        'sandbox = { _checks = [], datasets = [] }\n')
    (tmp_path / "course.toml").write_text(toml)
    monkeypatch.setattr(manifest, "MANIFEST", tmp_path / "course.toml")
    manifest._read.cache_clear()
    try:
        assert manifest.names()[-1] == "ps6-extra"
        root = course.make_course(tmp_path / "course", [])
        source = root / "solutions" / "ps6-extra"
        source.mkdir(parents=True)
        shutil.copy(REPO / "solutions" / "ps1-kmeans" / "ps1-kmeans.ipynb", source / "ps6-extra.ipynb")
        course.nbgrader("generate_assignment", "ps6-extra", "--force", cwd=root)
        assert (root / "exercises" / "ps6-extra" / "ps6-extra.ipynb").is_file()
        assert manifest.points(source / "ps6-extra.ipynb") == (12, 0)
        library = sandbox.build_library("ps6-extra", tmp_path / "sandbox")
        assert (library / "gmmlab" / "datasets.py").is_file() and not (library / "gmmlab" / "em.py").exists()
        with pytest.raises(ValueError, match="no assignment 'ps7'"):
            sandbox.build_library("ps7", tmp_path / "nothing")
    finally:
        manifest._read.cache_clear()


def test_a_malformed_manifest_names_its_problem(tmp_path, monkeypatch):
    (tmp_path / "course.toml").write_text('course_id = "x"\n[[assignment]]\nname = "ps1"\nchapters = []\n')
    monkeypatch.setattr(manifest, "MANIFEST", tmp_path / "course.toml")
    manifest._read.cache_clear()
    try:
        with pytest.raises(ValueError, match="'ps1' lacks due_week, grading_cpu, sandbox"):
            manifest.assignments()
    finally:
        manifest._read.cache_clear()


def test_schedule_puts_the_default_due_dates_in_the_gradebook(tmp_path):
    """`python -m gmmlab_course.manifest schedule <first day>` in the course root, as the appendix shows."""
    from nbgrader.api import Gradebook

    root = course.make_course(tmp_path / "course", [])
    result = subprocess.run([sys.executable, "-m", "gmmlab_course.manifest", "schedule", "2027-01-11"], cwd=root,
                            env=course.environment(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        due = {a.name: a.duedate for a in gradebook.assignments}
    first = datetime.datetime(2027, 1, 11, 17, 0)
    assert due == {a.name: first + datetime.timedelta(weeks=a.due_week) for a in manifest.assignments()}
    assert f"{manifest.names()[0]:<16} due 2027-01-25 17:00 UTC" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "gmmlab_course.manifest", "schedule", "2027-01-11", "--time", "5pm"],
                         cwd=root, env=course.environment(), capture_output=True, text=True)
    assert bad.returncode == 2 and "--time must be HH:MM" in bad.stderr
