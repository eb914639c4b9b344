"""binder/ pins what Binder installs to the course lock, and covers everything the notebooks import."""

import ast
import importlib.metadata
import json
import re
import stat
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path):
    """{canonical name: version} of a requirements file; fails on any line that is not an exact pin."""
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path.relative_to(REPO)}:{number}: not an exact pin: {line!r}"
        assert canonical(match[1]) not in found, f"{path.relative_to(REPO)}:{number}: {match[1]} pinned twice"
        found[canonical(match[1])] = match[2]
    assert found, f"{path.relative_to(REPO)} pins nothing"
    return found


def code_cells(path):
    """The source of every code cell of a notebook (.ipynb) or a MyST Markdown notebook (.md)."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text())
        return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    text = path.read_text()
    return [block for block in re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, flags=re.S | re.M)]


def imported_modules(source):
    """Top-level modules a cell imports (IPython magics and shell lines are dropped before parsing)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!", ":"))]
    tree = ast.parse("\n".join(lines))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def notebooks():
    chapters = [path for path in sorted((REPO / "book").glob("*.md")) if "kernelspec:" in path.read_text()[:600]]
    chapters += sorted((REPO / "book").glob("*.ipynb"))
    assignments = sorted(REPO.glob("exercises/*/*.ipynb")) + sorted(REPO.glob("solutions/*/*.ipynb"))
    return chapters + [path for path in assignments if ".ipynb_checkpoints" not in path.parts]


def test_runtime_is_python_3_11():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_pins_match_the_course_lock():
    lock = pins(REPO / "requirements" / "lock.txt")
    binder = pins(BINDER / "requirements.txt")
    differ = {name: (version, lock.get(name)) for name, version in binder.items() if lock.get(name) != version}
    assert not differ, f"binder/requirements.txt differs from requirements/lock.txt (binder, lock): {differ}"
    # What a student's session needs besides the imports: JupyterLab, jupytext (the .md chapters), a kernel.
    for needed in ("jupyterlab", "jupytext", "ipykernel", "ipywidgets"):
        assert needed in binder, f"binder/requirements.txt does not pin {needed}"


def test_binder_pins_cover_every_notebook_import():
    sources = notebooks()
    assert sources, "no chapter or assignment notebooks found"
    modules = set()
    for path in sources:
        for cell in code_cells(path):
            modules |= imported_modules(cell)
    assert {"numpy", "gmmlab"} <= modules, f"the import scan found too little: {sorted(modules)}"
    distributions = importlib.metadata.packages_distributions()
    binder = pins(BINDER / "requirements.txt")
    missing = {}
    for module in sorted(modules - set(sys.stdlib_module_names) - {"gmmlab"}):  # postBuild installs gmmlab
        providers = {canonical(name) for name in distributions.get(module, [])}
        assert providers, f"notebooks import {module!r}, which no package of the course environment provides"
        if not providers & binder.keys():
            missing[module] = sorted(providers)
    assert not missing, f"notebooks import modules whose packages binder/requirements.txt lacks: {missing}"
    # gmmlab's own dependencies must be there too, since postBuild installs it with --no-deps (not its extras:
    # the instructor tools are not for Binder, whose students import gmmlab only)
    for requirement in importlib.metadata.requires("gmmlab") or []:
        if "extra ==" in requirement:
            continue
        name = canonical(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0])
        assert name in binder, f"gmmlab needs {name}, which binder/requirements.txt lacks"


def test_post_build_installs_gmmlab_and_configures_jupyterlab():
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "binder/postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!"), "binder/postBuild needs a shebang line"
    assert re.search(r"pip install[^\n]*--no-deps[^\n]* \.", text), "postBuild must install gmmlab from the repository"
    assert '"markdown": "Jupytext Notebook"' in text, "postBuild must make JupyterLab open .md chapters as notebooks"


@pytest.mark.parametrize("name", ["postBuild", "requirements.txt", "runtime.txt"])
def test_binder_files_exist(name):
    assert (BINDER / name).is_file()
