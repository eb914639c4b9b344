"""The Binder set-up, checked the way repo2docker would use it, without Docker.

What Binder does with this repository, and what this module does instead:

1. repo2docker installs ``binder/requirements.txt`` (Python from ``binder/runtime.txt``) into a fresh
   environment. -- ``make binder-venv`` builds ``_build/binder/venv`` from those two files only (and
   rebuilds it whenever they change).
2. It copies the repository into the image and runs ``binder/postBuild`` in it. -- The ``lab`` fixture
   copies the repository's files (what a clone holds) into a temporary directory and runs postBuild there
   with that venv first on PATH: gmmlab gets installed and JupyterLab configured exactly as on Binder.
3. A launch button opens ``lab/tree/<path>``. -- The fixture starts that venv's JupyterLab on 127.0.0.1
   with a token, and every test opens ``lab/tree/<path>`` in Debian's Chromium (Playwright), runs the
   notebook, and reads back its cells' outputs. The server, its kernels and the browser are stopped at the
   end whatever happens, and no request of the browser may leave 127.0.0.1.

Every chapter notebook (book/*.md with a kernelspec, book/*.ipynb) must open *as a notebook* (postBuild's
JupyterLab settings) and run all its cells with no error output. The EM stepper the chapter shows
(``gmmlab.widgets.em_animation``, plain HTML and JavaScript) must render and answer its buttons.

Student exercises are different: they contain the stubs students fill in, which raise NotImplementedError.
The rule for them (:func:`unexpected_errors`): run every cell in order, each on its own (so a failing cell
does not abort the rest, as it would with "Run All"), and accept exactly these errors:

* an error caused by a stub: ``NotImplementedError`` itself, or any error whose message or traceback
  names it -- a visible test that calls a stub and reports it (the course's grading helpers turn it into
  "AssertionError: ... is not implemented yet: replace `raise NotImplementedError()` ..."), or re-raises it;
* ``NameError`` for a name that an earlier cell, which itself failed in an accepted way, would have bound
  (a stub cell at the top level, ``answer = ...``, never gets to assign ``answer``).

Any other error -- an import error, missing data, a failed assertion in set-up code, a widget error, a
kernel that died or a cell that never ran -- fails the test. So does a notebook in which no cell ran
cleanly. Chapter cells tagged ``raises-exception`` (the book's own mark for an intended error) may raise.
"""

import ast
import json
import os
import re
import secrets
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser.kit import REPO, background_server, chapter_notebooks, free_port, snapshot_repository, student_exercises

pytestmark = [pytest.mark.slow(minutes=4), pytest.mark.browser]

BINDER_VENV = REPO / "_build" / "binder" / "venv"
NOTEBOOK_TIMEOUT_MS = 300_000
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# ----------------------------------------------------------------------------------------------- JupyterLab, in page

CURRENT_NOTEBOOK = """(path) => {
    const app = window.jupyterapp;
    const widget = app && app.shell.currentWidget;
    if (!widget || !widget.context || widget.context.path !== path) return null;
    return {notebook: widget.node.classList.contains('jp-NotebookPanel') && !!widget.content.widgets,
            className: widget.node.className};
}"""

# Starts running the current notebook: "all" (Run All Cells) or "each" (every code cell on its own, in
# order); sets window.__gmmlabRun.done when finished. Returns at once; the test waits with a timeout.
START_RUN = """async (mode) => {
    const app = window.jupyterapp, panel = app.shell.currentWidget, notebook = panel.content;
    window.__gmmlabRun = {done: false, error: null};
    const run = async () => {
        await panel.context.ready;
        await panel.sessionContext.ready;
        if (mode === 'all') {
            await app.commands.execute('notebook:run-all-cells');
        } else {
            for (let i = 0; i < notebook.widgets.length; i++) {
                if (notebook.widgets[i].model.type !== 'code') continue;
                notebook.activeCellIndex = i;
                notebook.deselectAll();
                await app.commands.execute('notebook:run-cell');
            }
        }
        const kernel = () => panel.sessionContext.session && panel.sessionContext.session.kernel;
        for (let i = 0; i < 600 && kernel() && kernel().status === 'busy'; i++)
            await new Promise(r => setTimeout(r, 100));
    };
    run().then(() => { window.__gmmlabRun.done = true; },
               (e) => { window.__gmmlabRun.error = String(e); window.__gmmlabRun.done = true; });
}"""

# The kernel's status once it is idle or dead (or 'no kernel'), else false: the status the test judges is the one
# that ended the wait, because JupyterLab's own requests can make a settled kernel busy again a moment later.
KERNEL_SETTLED = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) return 'no kernel';
    return ['idle', 'dead'].includes(kernel.status) ? kernel.status : false;
}"""

RESULT = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return {notebook: panel.context.model.toJSON(), kernel: kernel ? kernel.status : 'no kernel',
            run: window.__gmmlabRun,
            dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.slice(0, 300))};
}"""

# Scrolls to the last cell that shows an EM stepper and marks its node, so the test can find it.
MARK_STEPPER = """async () => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    let index = -1;
    notebook.widgets.forEach((cell, i) => {
        if (cell.model.type === 'code' && cell.model.sharedModel.getSource().includes('em_animation(')
            && cell.model.outputs.length > 0) index = i;
    });
    if (index < 0) return -1;
    notebook.activeCellIndex = index;
    await notebook.scrollToItem(index, 'start');
    await new Promise(r => setTimeout(r, 500));
    notebook.widgets[index].node.setAttribute('data-gmmlab-stepper', '');
    return index;
}"""


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The repository as Binder builds it (binder venv + postBuild in a copy), served by JupyterLab on 127.0.0.1."""
    python = BINDER_VENV / "bin" / "python"
    if not (BINDER_VENV / ".installed").is_file() or not python.is_file():
        pytest.fail(f"no Binder environment at {BINDER_VENV}: run `make binder-venv` (make test does)")
    root = tmp_path_factory.mktemp("binder")
    home, repo = root / "home", snapshot_repository(root / "repo")
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "IPYTHON", "PYTHON", "VIRTUAL_ENV", "MPL"))}
    env.update(
        PATH=f"{BINDER_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(BINDER_VENV),
        HOME=str(home),  # nothing is read from or written to the real home directory
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONNOUSERSITE="1",
    )
    post_build = subprocess.run(
        ["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )
    assert post_build.returncode == 0, f"binder/postBuild failed:\n{post_build.stdout}\n{post_build.stderr}"
    check = subprocess.run(
        [str(python), "-c", "import gmmlab, sys; print(gmmlab.__file__)"], cwd=root, env=env,
        capture_output=True, text=True,
    )
    assert check.returncode == 0 and str(BINDER_VENV) in check.stdout, f"postBuild did not install gmmlab: {check}"
    # what a student's environment can import: every public module of gmmlab, and none of the instructor tools
    imports = subprocess.run(
        [str(python), "-c", "import importlib, importlib.util, json, gmmlab\n"
         "modules = {m: importlib.import_module(f'gmmlab.{m}').__name__ for m in gmmlab._API}\n"
         "print(json.dumps({'modules': modules, 'nbgrader': importlib.util.find_spec('nbgrader') is not None}))"],
        cwd=root, env=env, capture_output=True, text=True,
    )

    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    command = [
        str(BINDER_VENV / "bin" / "jupyter-lab"), "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
        # lets the test drive JupyterLab's own commands (window.jupyterapp); changes nothing else
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:  # CI runs as root; Binder does not (the flag changes nothing else)
        command.append("--allow-root")
    log = root / "jupyterlab.log"
    with background_server(command, url=f"{base}/api/status?token={token}", what="JupyterLab", cwd=repo,
                           env=env, timeout=120, log=log):
        yield {"base": base, "token": token, "repo": repo, "log": log, "imports": imports}


def shutdown_sessions(lab):
    """Shut down every kernel session of the server (so kernels do not pile up between notebooks)."""
    headers = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(urllib.request.Request(f"{lab['base']}/api/sessions", headers=headers)) as answer:
        sessions = json.load(answer)
    for session in sessions:
        request = urllib.request.Request(f"{lab['base']}/api/sessions/{session['id']}", headers=headers,
                                         method="DELETE")
        urllib.request.urlopen(request).close()


def open_and_run(lab, context, path, mode):
    """Open lab/tree/<path> as a launch button would, run it, and return (page, notebook JSON, kernel status)."""
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(f"{lab['base']}/lab/tree/{path}?reset&token={lab['token']}", wait_until="domcontentloaded")
    handle = page.wait_for_function(CURRENT_NOTEBOOK, arg=path, timeout=120_000)
    opened = handle.json_value()
    assert opened["notebook"], f"lab/tree/{path} did not open as a notebook (opened: {opened['className']})"
    page.evaluate(START_RUN, mode)
    page.wait_for_function("() => window.__gmmlabRun && window.__gmmlabRun.done", timeout=NOTEBOOK_TIMEOUT_MS,
                           polling=500)
    result = page.evaluate(RESULT)
    assert result["run"]["error"] is None, f"running {path} failed in JupyterLab: {result['run']['error']}"
    # the kernel must be alive and settle back to idle (it may be briefly busy with JupyterLab's own requests)
    try:
        settled = page.wait_for_function(KERNEL_SETTLED, timeout=NOTEBOOK_TIMEOUT_MS, polling=250).json_value()
    except PlaywrightTimeoutError:
        settled = f"{page.evaluate(RESULT)['kernel']} for {NOTEBOOK_TIMEOUT_MS // 1000} s"
    assert settled == "idle", f"{path}: kernel is {settled!r} after the run"
    result = page.evaluate(RESULT)
    assert not result["dialogs"], f"{path}: JupyterLab showed dialogs: {result['dialogs']}"
    assert not page_errors, f"{path}: uncaught errors in JupyterLab: {page_errors}"
    return page, result["notebook"]


def source_of(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def errors_of(cell):
    return [output for output in cell.get("outputs", []) if output["output_type"] == "error"]


def describe(index, error):
    return f"cell {index}: {error['ename']}: {error['evalue'][:300]}"


def bound_names(source):
    """Names a cell binds at any level (assignments, defs, imports, loop targets): what later cells may use."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def caused_by_a_stub(error):
    """Whether an error output comes from a student stub: NotImplementedError, raised or reported."""
    traceback = ANSI.sub("", "\n".join(error.get("traceback", [])))
    return any("NotImplementedError" in text for text in (error["ename"], error["evalue"], traceback))


def unexpected_errors(notebook):
    """The errors of an exercise run that the rule of this module does not accept (see the docstring)."""
    unbound, problems, clean = set(), [], 0
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or not source_of(cell).strip():
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {index} did not run")
            continue
        errors = errors_of(cell)
        if not errors:
            clean += 1
        for error in errors:
            missing = re.fullmatch(r"name '(\w+)' is not defined", error["evalue"])
            if caused_by_a_stub(error) or (error["ename"] == "NameError" and missing and missing[1] in unbound):
                unbound |= bound_names(source_of(cell))
            else:
                problems.append(describe(index, error))
    if not clean:
        problems.append("no cell ran without an error")
    return problems


def chapter_errors(notebook):
    problems, ran = [], 0
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code" or not source_of(cell).strip():
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("execution_count") is None:
            problems.append(f"cell {index} did not run")
            continue
        ran += 1
        problems += [describe(index, error) for error in errors_of(cell) if "raises-exception" not in tags]
    if not ran:
        problems.append("no code cell ran")
    return problems


# ------------------------------------------------------------------------------------------ tests

CHAPTERS = chapter_notebooks()
EXERCISES = student_exercises()


def test_there_are_chapters_and_exercises_to_run():
    assert CHAPTERS, "no chapter notebooks (book/*.md with a kernelspec header) found"
    assert EXERCISES, "no student exercises (exercises/<name>/<name>.ipynb) found"


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_runs_on_binder(lab, guarded_context, path):
    context, _ = guarded_context
    try:
        page, notebook = open_and_run(lab, context, path, mode="all")
        problems = chapter_errors(notebook)
        assert not problems, f"{path} on Binder:\n" + "\n".join(problems)
        if shows_the_stepper(lab["repo"] / path):
            check_em_stepper(page, path)
    finally:
        shutdown_sessions(lab)


@pytest.mark.parametrize("path", EXERCISES)
def test_exercise_runs_on_binder(lab, guarded_context, path):
    context, _ = guarded_context
    try:
        _, notebook = open_and_run(lab, context, path, mode="each")
        problems = unexpected_errors(notebook)
        assert not problems, f"{path} on Binder, errors other than the students' stubs:\n" + "\n".join(problems)
    finally:
        shutdown_sessions(lab)


def test_binder_imports_every_public_module_without_the_instructor_tools(lab):
    """pip install of the course on Binder's pinned environment, which has no nbgrader: gmmlab imports whole."""
    import gmmlab

    result = lab["imports"]
    assert result.returncode == 0, f"a public gmmlab module does not import on Binder:\n{result.stderr[-3000:]}"
    found = json.loads(result.stdout)
    assert set(found["modules"]) == set(gmmlab._API)
    assert found["nbgrader"] is False, "Binder's environment holds nbgrader, which students do not need"


def shows_the_stepper(path):
    """Whether a code cell of the chapter calls gmmlab.widgets.em_animation (prose that names it does not count)."""
    import jupytext

    cells = jupytext.read(path).cells
    return any(c.cell_type == "code" and re.search(r"\bem_animation\(", c.source) for c in cells)


def test_the_stepper_check_runs_in_the_chapter_that_shows_it():
    """check_em_stepper runs inside the chapters whose code shows the stepper: "The EM algorithm" is one."""
    showing = [path for path in CHAPTERS if shows_the_stepper(REPO / path)]
    assert "book/em-algorithm.md" in showing, f"the stepper is checked on Binder in {showing} only"


def check_em_stepper(page, path):
    """The EM stepper renders in JupyterLab, and its buttons move it one iteration forward and back."""
    from playwright.sync_api import expect

    index = page.evaluate(MARK_STEPPER)
    assert index >= 0, f"{path}: no cell shows an EM stepper"
    player = page.locator("[data-gmmlab-stepper] .gmmlab-em-player").first
    status = player.locator(".gmmlab-em-status")
    expect(status).to_contain_text("Iteration 0 of", timeout=30_000)
    image = player.locator("img")
    expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,"), timeout=30_000)
    first_frame = image.get_attribute("src")
    back = player.get_by_role("button", name="step back")
    forward = player.get_by_role("button", name="step forward")
    expect(back).to_be_disabled()
    forward.click()
    expect(status).to_contain_text("Iteration 1 of", timeout=30_000)
    expect(image).not_to_have_attribute("src", first_frame, timeout=30_000)
    expect(back).to_be_enabled()
    back.click()
    expect(status).to_contain_text("Iteration 0 of", timeout=30_000)
    expect(back).to_be_disabled()


# ------------------------------------------------------------------------------------------ the exercise rule itself


def _cell(source, *errors, count=1):
    outputs = [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": list(traceback)}
               for ename, evalue, *traceback in errors]
    return {"cell_type": "code", "source": source, "execution_count": count, "outputs": outputs, "metadata": {}}


def test_exercise_rule_accepts_stubs_and_what_depends_on_them():
    notebook = {"cells": [
        _cell("import numpy as np"),
        _cell("def f(x):\n    raise NotImplementedError()"),
        _cell("f(1)", ("NotImplementedError", "", "\x1b[0;31mNotImplementedError\x1b[0m")),
        _cell("check(f)", ("AssertionError", "f is not implemented yet: replace `raise NotImplementedError()`")),
        _cell("answer = 2\nraise NotImplementedError()", ("NotImplementedError", "")),
        _cell("assert answer == 2", ("NameError", "name 'answer' is not defined")),
    ]}
    assert unexpected_errors(notebook) == []


def test_exercise_rule_rejects_everything_else():
    notebook = {"cells": [
        _cell("import numpy as np"),
        _cell("import missing", ("ModuleNotFoundError", "No module named 'missing'")),
        _cell("load()", ("FileNotFoundError", "data.csv")),
        _cell("assert other == 1", ("NameError", "name 'other' is not defined")),
        _cell("never()", count=None),
    ]}
    problems = unexpected_errors(notebook)
    assert len(problems) == 4, problems
    assert unexpected_errors({"cells": [_cell("f()", ("NotImplementedError", ""))]}) == [
        "no cell ran without an error"
    ]


def test_chapter_rule_rejects_any_error_but_intended_ones():
    intended = _cell("1/0", ("ZeroDivisionError", "division by zero"))
    intended["metadata"]["tags"] = ["raises-exception"]
    assert chapter_errors({"cells": [_cell("x = 1"), intended]}) == []
    assert chapter_errors({"cells": [_cell("f()", ("NotImplementedError", ""))]}) != []
    assert chapter_errors({"cells": [_cell("x = 1", count=None)]}) != []
