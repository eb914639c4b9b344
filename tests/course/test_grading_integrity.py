"""Grading that survives its students: hostile and awkward submissions, graded with the documented command.

One course (problem set 3) grades, with ``nbgrader autograde ps3-em-steps`` in its root, a class of hostile
students (who read files, print the environment, leave processes behind, switch the checks off, reach gmmlab by
other routes, loop, fork and allocate without bound) and awkward ones (duplicated, split, re-ordered cells, lost
metadata, nbformat 4.4). Each hostile one gains nothing and leaks nothing; each awkward one gets the marks its
code earns; no submission is modified or dropped; a parallel run gives the same grades as the serial one.
The limits are CPU seconds and idle seconds, tested with work that can never finish.

Attacks that cannot influence each other share a notebook, so the class is small: the *intruder* snoops, sleeps,
forks, hogs memory and loops forever in one graded function (each stopped on its own, the rest graded); the
*saboteur* switches the checks off and leaves processes behind that edit the gradebook.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gmmlab_course import coursedir as course
from gmmlab.grading import wire
from gmmlab_course import autograde, manifest, replies, sandbox

pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.root]

A = "ps3-em-steps"
FULL = 13
CANARY_ENV = "canary-lms-token-4f9a"
CPU_LIMIT = 4  # CPU seconds: a correct ps3 cell or call uses well under one
LIMITS = [f"--SandboxedGrade.cpu_limit={CPU_LIMIT}", "--SandboxedGrade.idle_limit=8"]
SOLUTION = course.solution_cells(A)

# Snoops where the course really is (as if the student had guessed the path), and around the filesystem.
SNOOP = r'''
import os, glob
found = []
for path in ["{root}/gradebook.db", "{root}/solutions/ps3-em-steps/ps3-em-steps.ipynb", "{root}/.gmmlab/grading-secret",
             "{root}/submitted/solution/ps3-em-steps/ps3-em-steps.ipynb", "{root}"]:
    try:
        found.append((path, open(path).read()[:200] if os.path.isfile(path) else os.listdir(path)))
    except Exception:
        pass
for pattern in ["/*/gradebook.db", "/*/*/gradebook.db", "/*/*/*/gradebook.db", "/*/*/*/*/solutions", "/home/*/*.ipynb"]:
    found += glob.glob(pattern)
print("FOUND", found)
print("ENV", dict(os.environ))
for pid in os.listdir("/proc"):
    try:
        print("PROC", pid, open(f"/proc/{{pid}}/environ").read())
    except Exception:
        pass
for path in ["/etc/shadow", os.path.expanduser("~root/.bash_history")]:
    try:
        print(open(path).read())
    except Exception as error:
        print("no", path, type(error).__name__)
'''

DETACH = r'''
import subprocess, os, sys
code = "import time, glob, sqlite3\nfor _ in range(600):\n    for db in glob.glob('/**/gradebook.db', recursive=True):\n        c = sqlite3.connect(db); c.execute('update grade set auto_score = 13'); c.commit()\n    time.sleep(0.5)\n"
subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    import time
    time.sleep(10**6)
subprocess.Popen(["sleep", "1000000"], start_new_session=True)
'''

SWITCH_OFF = r'''
import numpy as np
import gmmlab.grading as g
expect = lambda *args, **kwargs: None
expect_close = lambda *args, **kwargs: None
as_array = lambda value, *args, **kwargs: np.asarray(value, dtype=float)
graded = lambda name, **kwargs: (lambda *args, **kw: None)
g.expect = g.expect_close = expect
g.graded = graded
np.isclose = lambda *args, **kwargs: np.ones(np.broadcast(*args[:2]).shape, dtype=bool)
np.allclose = lambda *args, **kwargs: True
import builtins
builtins.AssertionError = type("AssertionError", (Exception,), {})
'''

REACH_GMMLAB = {
    "e_step": '''
import importlib, gmmlab

def e_step(X, weights, means, covariances):
    for route in (lambda: vars(gmmlab)["e_step"], lambda: importlib.import_module("gmmlab.em").e_step,
                  lambda: __import__("sklearn.mixture").mixture.GaussianMixture):
        try:
            return route()(X, weights, means, covariances)
        except Exception:
            pass
    return np.full((len(X), len(weights)), 1.0 / len(weights))
''',
    "m_step": '''
def m_step(X, responsibilities):
    import gmmlab
    return getattr(gmmlab, "m_step")(X, responsibilities)
''',
    "lower_bound": '''
def lower_bound(X, weights, means, covariances, responsibilities):
    import sys
    path = [p for p in sys.path if "site-packages" in p]
    namespace = {}
    for p in path:
        try:
            exec(open(p + "/gmmlab/em.py").read(), namespace)
        except Exception:
            pass
    return namespace["lower_bound"](X, weights, means, covariances, responsibilities)
''',
}

RUNAWAY_LOWER_BOUND = '''
def lower_bound(X, weights, means, covariances, responsibilities):
    while True:
        try:
            pass
        except BaseException:
            pass
'''

# Forks until the process limit stops it, then waits for children that never end: the cell is stopped by its CPU limit.
FORK_BOMB = r'''
import os
children = 0
try:
    while True:
        if os.fork() == 0:
            while True:
                pass
        children += 1
except OSError as error:
    print("fork stopped after", children, type(error).__name__)
os.wait()
'''

# Asks for memory until the address-space limit refuses it. np.zeros maps pages without writing them, so the
# limit is reached within a fraction of a CPU second however loaded the machine is (a hog that first writes
# gigabytes can run into the CPU limit on a busy machine instead, which would test the wrong limit).
MEMORY_HOG = r'''
import numpy as np

def hog():
    blocks = []
    while True:
        blocks.append(np.zeros(2**25))  # 256 MiB each

hog()
'''

# Forged replies: the student's code runs in the server's own interpreter, so it can rewrite what the server sends.
# Kept in an answer cell, so the forgery survives every restart of the sandbox.
FORGE_DEEP = '''
import json as _json
_dumps = _json.dumps

def _forged(obj, *args, **kwargs):
    if isinstance(obj, dict) and "ok" in obj:  # every answer to a call: a value nested 200,000 deep
        return _dumps({"id": obj["id"], "ok": True, "value": "[" * 200000 + "]" * 200000})
    return _dumps(obj, *args, **kwargs)

_json.dumps = _forged

def e_step(X, weights, means, covariances):
    return np.full((len(X), len(weights)), 1.0 / len(weights))
'''

FORGE_TYPES = '''
import json as _json
_dumps = _json.dumps

def _forged(obj, *args, **kwargs):
    if isinstance(obj, dict) and "ok" in obj:  # answers of the wrong types: a dict for a value, a number for a message
        return _dumps({"id": obj["id"], "ok": True, "value": {"dict": 5}} if obj["ok"] else {"id": obj["id"], "ok": 3})
    if isinstance(obj, dict) and "stdout" in obj:
        return _dumps({"id": obj["id"], "stdout": 7, "stderr": ["x"], "images": [1, "bm90IGEgcG5n"], "error": "boom"})
    return _dumps(obj, *args, **kwargs)

_json.dumps = _forged

def m_step(X, responsibilities):
    return None
'''

# Replaces the server's figure hook and prints without end: megabytes of output per cell, fake images.
FLOOD = r'''
_figures = lambda limit=8: ["iVBORw0KGgo" + "A" * 4_000_000] * 6 + ["bm90IGEgcG5n"]
print("x" * 5_000_000)
'''

# Writes junk and forged answers (to this request, and to requests not yet sent) to every descriptor it can reach.
WRITE_EVERYWHERE = r'''
import os, json
for fd in range(3, 64):
    for junk in (b"\x00 not json\n", b"[" * 100000 + b"\n",
                 json.dumps({"id": n, "ok": True, "value": "1"}).encode() + b"\n" for n in range(1, 40)):
        try:
            os.write(fd, junk if isinstance(junk, bytes) else b"".join(junk))
        except OSError:
            pass
'''

# Grandchildren that compute, exit and are reaped by the sandbox's init, one after another, for ever: their CPU
# time must still count against the cell.
DOUBLE_FORK = r'''
import os, time
while True:
    if os.fork() == 0:
        if os.fork() == 0:
            end = time.process_time() + 0.5
            while time.process_time() < end:
                pass
        os._exit(0)
    os.wait()
    time.sleep(0.6)
'''

SLEEP_FOREVER = r'''
import time
time.sleep(10**6)
'''


def with_extra_cells(nb, *cells):
    """The notebook with extra code cells (no nbgrader metadata), each given as (code, the grade_id of the cell it
    follows, or None for the end)."""
    nb = json.loads(json.dumps(nb))
    for number, (code, after) in enumerate(cells):
        cell = {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None,
                "id": f"extra-{number}"}
        index = len(nb["cells"]) if after is None else 1 + [course.grade_id(c) for c in nb["cells"]].index(after)
        nb["cells"].insert(index, cell)
    return nb


def hostile_class(root):
    return {
        # reads for the course's files, sleeps, forks, allocates without bound, and loops forever in lower_bound;
        # the sleeper comes before the fork bomb, whose spinning children would otherwise make it compute
        "intruder": with_extra_cells(course.correct_submission(root, A, lower_bound=RUNAWAY_LOWER_BOUND),
                                     (SNOOP.format(root=root), "setup"), (SLEEP_FOREVER, "e_step"),
                                     (FORK_BOMB, "m_step"), (MEMORY_HOG, "lower_bound")),
        # wrong answers, the checks switched off, and processes left behind that set full marks in the gradebook
        "saboteur": with_extra_cells(course.correct_submission(root, A, **{
            "e_step": "def e_step(X, weights, means, covariances):\n    return np.zeros((len(X), len(weights)))",
            "m_step": "def m_step(X, responsibilities):\n    return None",
            "lower_bound": "def lower_bound(X, weights, means, covariances, responsibilities):\n    return 0.0"}),
            (DETACH, None), (SWITCH_OFF, None)),
        "reach_gmmlab": course.correct_submission(root, A, **REACH_GMMLAB),
        # forged replies, of absurd depth and of the wrong types; megabytes of output; grandchildren's CPU
        "forger_deep": course.correct_submission(root, A, e_step=FORGE_DEEP),
        "forger_types": course.correct_submission(root, A, m_step=FORGE_TYPES),
        "flooder": with_extra_cells(course.correct_submission(root, A), *[(FLOOD, None)] * 3),
        "double_forker": with_extra_cells(course.correct_submission(root, A), (DOUBLE_FORK, "lower_bound")),
        "fd_writer": with_extra_cells(course.correct_submission(root, A), (WRITE_EVERYWHERE, "setup"),
                                      (WRITE_EVERYWHERE, None)),
    }


def awkward_class(root):
    """Mangled notebooks; manglings of different cells share a notebook."""
    correct = course.correct_submission(root, A)
    ids = [course.grade_id(c) for c in correct["cells"]]
    out = {}

    nb = json.loads(json.dumps(correct))
    # an answer split in two cells that keep the same metadata
    cell = nb["cells"][ids.index("m_step")]
    helper = dict(json.loads(json.dumps(cell)), source="def _weights(r):\n    return r.sum(axis=0) / r.shape[0]")
    nb["cells"].insert(ids.index("m_step"), helper)
    # a duplicated answer cell: the wrong copy first, the right one last
    wrong = dict(nb["cells"][ids.index("e_step")], source="def e_step(X, weights, means, covariances):\n    return None")
    nb["cells"].insert(ids.index("e_step"), wrong)
    out["duplicated_and_split"] = nb

    nb = json.loads(json.dumps(correct))  # nbformat 4.4 (no cell ids), with a test cell copied below itself
    nb["cells"].insert(ids.index("test_m_step_visible"), json.loads(json.dumps(nb["cells"][ids.index("test_m_step_visible")])))
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        cell.pop("id", None)
    out["old_with_duplicated_test"] = nb

    nb = json.loads(json.dumps(correct))  # the answer cells moved to the end of the notebook
    answers = [c for c in nb["cells"] if course.grade_id(c) in ("e_step", "m_step", "lower_bound")]
    nb["cells"] = [c for c in nb["cells"] if c not in answers] + answers
    out["reordered"] = nb

    nb = json.loads(json.dumps(correct))  # every cell's nbgrader metadata lost, ids regenerated
    for number, cell in enumerate(nb["cells"]):
        cell["metadata"] = {}
        cell["id"] = f"regenerated-{number}"
    out["lost_metadata"] = nb
    return out


def total(root, student):
    return sum(score for score, _ in course.scores(root, A, student).values())


def lost(root, student):
    return {name for name, (score, maximum) in course.scores(root, A, student).items() if score < maximum}


UIDS = "62500-62519"  # this test's own sandbox uids, so gradings elsewhere on the machine do not count


def sandbox_processes():
    first, last = map(int, UIDS.split("-"))
    return {uid: found for uid in range(first, last + 1) if (found := sandbox._processes_of(uid))}


PARALLEL = ["solution", "saboteur", "reach_gmmlab", "lost_metadata"]  # and not_json: enough to split into two jobs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("integrity")
    root = course.make_course(base / "course", [A])
    students = {"solution": course.correct_submission(root, A), **hostile_class(root), **awkward_class(root)}
    for student, nb in students.items():
        course.place(root, student, A, nb)
    # a correct notebook in an awkward folder: a file the sandbox's uid could not read, a folder, a file too large
    odd = course.place(root, "odd_files", A, course.correct_submission(root, A))
    (odd / "data.csv").write_text("1,2\n")
    (odd / "data.csv").chmod(0)
    (odd / "notes").mkdir()
    (odd / "notes" / "todo.txt").write_text("finish")
    with open(odd / "huge.bin", "wb") as handle:
        handle.truncate(sandbox.MAX_FILE_BYTES + 1)
    course.place(root, "not_json", A, '{"cells": [ this is not a notebook')
    parallel = base / "parallel"
    shutil.copytree(root, parallel)
    for folder in (parallel / "submitted").iterdir():  # the serial run grades the whole class, the parallel run part
        if folder.name not in PARALLEL + ["not_json"]:
            shutil.rmtree(folder)
    env = course.environment(LMS_API_TOKEN=CANARY_ENV, GMMLAB_SANDBOX_UIDS=UIDS)
    serial_log = course.nbgrader("autograde", A, "--create", *LIMITS, cwd=root, check=False, env=env, timeout=3000)
    course.nbgrader("generate_feedback", A, cwd=root, env=env, check=False)
    parallel_run = subprocess.run(
        [sys.executable, "-m", "gmmlab_course.parallel", A, "--jobs", "2", *LIMITS], cwd=parallel, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3000)
    return {"root": root, "parallel": parallel, "students": students, "serial_log": serial_log,
            "parallel_run": parallel_run}


def extra_cell_output(root, student, marker):
    """The outputs (text) of the student's extra cell whose code contains ``marker``, in the autograded notebook."""
    nb = json.loads((root / "autograded" / student / A / f"{A}.ipynb").read_text())
    cells = [c for c in nb["cells"] if marker in "".join(c["source"])]
    assert len(cells) == 1, f"{student}'s cell with {marker!r} is not in the autograded notebook once"
    return json.dumps(cells[0].get("outputs", []))


def test_forged_replies_fail_their_tests_and_nothing_else(graded):
    """A reply the student's code forged fails the test that asked for it; the notebook and the class are graded."""
    root = graded["root"]
    for student in ("forger_deep", "forger_types"):
        assert (root / "autograded" / student / A / f"{A}.ipynb").exists(), f"{student} was not graded"
    assert lost(graded["root"], "forger_deep") >= {"test_e_step_visible", "test_e_step_hidden"}
    assert lost(graded["root"], "forger_types") >= {"test_m_step_visible", "test_m_step_weights"}
    for student in ("forger_deep", "forger_types"):
        assert total(root, student) < FULL
        messages = course.messages(root, A, student)
        assert all("not a number or array" in text or "failed" in text or "did not finish" in text
                   for name, text in messages.items() if name.startswith("test_")), messages


def test_what_student_code_writes_to_any_descriptor_changes_nothing(graded):
    """Junk and forged answers written to every descriptor the student's code can reach: its work is graded as
    it is (full marks for correct work), because only the sandbox's relay, which runs no student code, writes to
    the grader."""
    assert total(graded["root"], "fd_writer") == FULL, course.messages(graded["root"], A, "fd_writer")


def test_output_is_capped_per_cell_and_per_notebook(graded):
    """Three cells that print megabytes and send fake images: the autograded notebook and the feedback stay small,
    and only real PNGs are kept."""
    root = graded["root"]
    notebook = root / "autograded" / "flooder" / A / f"{A}.ipynb"
    feedback = root / "feedback" / "flooder" / A / f"{A}.html"
    assert notebook.stat().st_size < 2 * 2**20 and feedback.stat().st_size < 3 * 2**20
    assert total(root, "flooder") == FULL  # printing is not a mistake
    cells = json.loads(notebook.read_text())["cells"]
    flooding = [c for c in cells if "_figures =" in "".join(c["source"])]
    assert len(flooding) == 3
    for cell in flooding:  # the fake images are gone, and the text is cut
        assert not [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
        assert sum(len(o.get("text", "")) for o in cell["outputs"]) <= 2 * replies.MAX_CELL_TEXT + 100


def test_a_double_forked_process_still_counts_against_the_cell(graded):
    root = graded["root"]
    output = extra_cell_output(root, "double_forker", "os.fork()")
    assert f"it used more than {CPU_LIMIT} s of CPU time" in output, output
    assert total(root, "double_forker") == FULL


def test_a_correct_notebook_in_an_awkward_folder_gets_full_marks(graded):
    root, log = graded["root"], graded["serial_log"].stdout
    assert total(root, "odd_files") == FULL, course.messages(root, A, "odd_files")
    for name in ("huge.bin", "notes"):
        assert f"'{name}'" in log and "not copied into the sandbox" in log, log[-3000:]


def test_hostile_students_gain_nothing(graded):
    root = graded["root"]
    assert total(root, "saboteur") == 0, course.messages(root, A, "saboteur")
    assert total(root, "reach_gmmlab") == 0, course.scores(root, A, "reach_gmmlab")
    # the intruder's correct work keeps its marks; its runaway lower_bound loses its own tests, with a reason
    lower_bound_tests = {"test_lower_bound_visible", "test_lower_bound_hidden"}
    assert lost(root, "intruder") == lower_bound_tests, course.messages(root, A, "intruder")
    assert "lower_bound did not finish" in course.messages(root, A, "intruder")["test_lower_bound_visible"]


def test_runaway_cells_are_stopped_each_by_its_limit(graded):
    root = graded["root"]
    assert "it waited 8 s without computing" in extra_cell_output(root, "intruder", "time.sleep(10**6)")
    fork = extra_cell_output(root, "intruder", "os.fork()")
    assert f"it used more than {CPU_LIMIT} s of CPU time" in fork, fork
    assert "MemoryError" in extra_cell_output(root, "intruder", "np.zeros(2**25)")


def test_nothing_leaks_into_feedback(graded):
    """What a student's code printed, and the feedback they get back, hold nothing of the course's."""
    root = graded["root"]
    secret = (root / ".gmmlab" / "grading-secret").read_text().strip()
    leaks = (CANARY_ENV, secret, str(root), "BEGIN HIDDEN TESTS", "_mvn(", "weighted_scatter", "Model answer")
    for student in graded["students"]:
        nb = json.loads((root / "autograded" / student / A / f"{A}.ipynb").read_text())
        printed = json.dumps([cell.get("outputs", []) for cell in nb["cells"]])
        feedback = (root / "feedback" / student / A / f"{A}.html").read_text()
        for leak in leaks:
            assert leak not in printed, f"{student}'s code printed {leak!r}"
            if leak != str(root):  # the snooping student's own code names the path it tried
                assert leak not in feedback, f"{student}'s feedback contains {leak!r}"
    snoop = (root / "feedback" / "intruder" / A / f"{A}.html").read_text()
    assert "FOUND []" in snoop and "no /etc/shadow" in snoop  # the code ran, and saw nothing of the course


def test_no_process_outlives_its_notebook_and_the_gradebook_stays_put(graded):
    assert sandbox_processes() == {}
    assert "GradingLimit" not in extra_cell_output(graded["root"], "saboteur", "start_new_session=True")  # it ran
    assert total(graded["root"], "saboteur") == 0


def test_awkward_notebooks_get_the_marks_their_code_earns(graded):
    root = graded["root"]
    for student in awkward_class(root):
        assert total(root, student) == FULL, (student, course.messages(root, A, student))


def test_no_submission_is_modified_or_dropped(graded):
    root = graded["root"]
    for student, nb in graded["students"].items():
        path = root / "submitted" / student / A / f"{A}.ipynb"
        assert json.loads(path.read_text()) == json.loads(json.dumps(nb)), f"{student}'s submission changed"
        assert (root / "autograded" / student / A / f"{A}.ipynb").exists(), f"{student} was not graded"
    assert not (root / "autograded" / "not_json" / A).exists()
    report = graded["parallel_run"].stdout
    assert "NOT GRADED: not_json" in report and graded["parallel_run"].returncode == 1
    assert f"{len(PARALLEL)} of {len(PARALLEL) + 1} submissions graded" in report


def test_parallel_grades_equal_serial_grades(graded):
    for student in PARALLEL:
        assert course.scores(graded["parallel"], A, student) == course.scores(graded["root"], A, student), student


def test_hidden_data_are_seeded_per_student_and_assignment():
    def draws(student, cell="test_e_step_hidden", secret=b"s"):
        remote = autograde.Remote(None, secret, (A, A, student))
        remote.cell = cell
        return remote.rng().normal(size=3), remote.rng().normal(size=3)

    first, again = draws("ada"), draws("ada")
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])  # a regrade draws the same
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], draws("bob")[0])
    assert not np.array_equal(first[0], draws("ada", cell="test_lower_bound_hidden")[0])
    assert not np.array_equal(first[0], draws("ada", secret=b"another course")[0])  # not predictable from the release


def test_values_cross_the_boundary_without_running_code():
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, None, "x"], {"k": np.int64(3)}, float("inf"), True)
    back = wire.loads(wire.dumps(value))
    assert np.array_equal(back[0], value[0]) and back[1:3] == ([1, 2.5, None, "x"], {"k": 3}) and back[3] == float("inf")
    for shaped in (np.array(2.5), np.ones((1, 1)), np.arange(6.0).reshape(2, 3).T):  # a 0-d array stays 0-d
        assert wire.loads(wire.dumps(shaped)).shape == shaped.shape
    for bad in (np.array([object()]), lambda: 0, object()):
        with pytest.raises(wire.WireError):
            wire.dumps(bad)
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps({"array": "AAAA", "dtype": "|O", "shape": [1]}))


def test_grading_refuses_without_a_sandbox_and_says_how_to_opt_out(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(sandbox.SandboxUnavailable) as error:
        sandbox.check_available()
    assert "bwrap" in str(error.value) and sandbox.OPT_OUT in str(error.value)


def test_each_sandbox_holds_only_what_its_assignment_may_use(tmp_path):
    for entry in manifest.assignments():
        assignment, spec = entry.name, entry.sandbox
        lib = sandbox.build_library(assignment, tmp_path / assignment)
        graded_names = set(course.solution_cells(assignment))
        text = "\n".join(p.read_text() for p in (lib / "gmmlab").glob("*.py"))
        for name in graded_names | {"GaussianMixture", "kmeans", "run_em"}:
            assert f"def {name}(" not in text, f"the {assignment} sandbox holds gmmlab's {name}"


# ------------------------------------------------------------------------------------------ per-notebook budgets

BURN = r'''
import time
end = time.process_time() + 3.5  # just under the cell's CPU limit
while time.process_time() < end:
    pass
'''
NAP = "import time\ntime.sleep(2)  # just under the idle limit\n"
BUDGET_LIMITS = ["--SandboxedGrade.cpu_limit=4", "--SandboxedGrade.idle_limit=3",
                 "--SandboxedGrade.notebook_cpu_limit=8", "--SandboxedGrade.notebook_wall_limit=25"]


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    """Two notebooks whose work can never finish within their budget, each cell within its own limits: fifty cells
    that each compute for 3.5 s (175 CPU seconds against a budget of 8), and a hundred that each sleep for 2 s
    (200 s against a budget of 25)."""
    root = course.make_course(tmp_path_factory.mktemp("budget") / "course", [A])
    course.place(root, "burner", A, with_extra_cells(course.correct_submission(root, A), *[(BURN, "setup")] * 50))
    course.place(root, "napper", A, with_extra_cells(course.correct_submission(root, A), *[(NAP, "setup")] * 100))
    env = course.environment(GMMLAB_SANDBOX_UIDS=UIDS)
    log = course.nbgrader("autograde", A, "--create", *BUDGET_LIMITS, cwd=root, check=False, env=env, timeout=3000)
    return root, log


@pytest.mark.parametrize("student, spent", [("burner", "this notebook used its 8 s of CPU time for grading"),
                                            ("napper", "this notebook used its 25 s of grading time")])
def test_a_notebook_is_stopped_by_its_budget_with_a_reason(budgeted, student, spent):
    root, log = budgeted
    assert log.returncode == 0, log.stdout[-3000:]
    nb = json.loads((root / "autograded" / student / A / f"{A}.ipynb").read_text())
    outputs = [json.dumps(c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code"]
    first = next(i for i, text in enumerate(outputs) if spent in text)  # the cell that found the budget spent
    assert all(f"not run: {spent}" in text for text in outputs[first + 1:]), outputs  # and none ran after it
    assert first < len(outputs) - 20, "the budget stopped the notebook long before its end"
    messages = course.messages(root, A, student)
    assert messages and all("was not run" in text for name, text in messages.items() if name.startswith("test_")), messages
    assert total(root, student) == 0
    assert sandbox_processes() == {}


def test_a_stand_in_asked_for_far_more_than_the_test_gave_fails_that_test():
    """A graded run_em given the test's e_step calls it with 4,000 components: refused before it runs here."""
    calls = []

    def e_step(X, weights, means, covariances):
        calls.append(len(weights))
        return np.full((len(X), len(weights)), 1.0 / len(weights))

    class StudentInSandbox:  # what the sandbox does with a call: the student's run_em calls the stand-in
        def call(self, message, callbacks):
            X, weights, means, covariances = wire.loads(message["args"])[0]
            callbacks["e_step"](X, weights, means, covariances)  # the data it was given: fine
            K = 4000
            try:
                callbacks["e_step"](X, np.full(K, 1 / K), np.zeros((K, 2)), np.tile(np.eye(2), (K, 1, 1)))
            except AssertionError:
                pass  # the student's code catches what the stand-in raised: the test still fails
            return {"ok": True, "value": wire.dumps(0.0)}

    remote = autograde.Remote(StudentInSandbox(), b"s", (A, A, "x"))
    run_em = remote.function("run_em", replace={"e_step": e_step})
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(AssertionError, match="run_em called e_step with arrays far larger than the data"):
        run_em(X, np.full(3, 1 / 3), X[:3], np.tile(np.eye(2), (3, 1, 1)))
    assert calls == [3]


def test_the_graders_directory_cannot_be_prepared_by_a_user(tmp_path, monkeypatch):
    """Uid locks and the font cache live in a directory of the grader's own; a directory or a link that someone
    else made, or that others can write, is refused, and no lock file is opened through a link."""
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    monkeypatch.setattr(sandbox, "STATE_DIR", planted)
    with pytest.raises(sandbox.SandboxUnavailable, match="only it can write"):
        sandbox.state_dir()
    target = tmp_path / "shadow"
    target.write_text("root:secret\n")
    (tmp_path / "link").symlink_to(target)
    monkeypatch.setattr(sandbox, "STATE_DIR", tmp_path / "link")
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.state_dir()
    own = tmp_path / "own"
    monkeypatch.setattr(sandbox, "STATE_DIR", own)
    assert sandbox.state_dir() == own and (own.stat().st_mode & 0o777) == 0o700
    (own / "uids").mkdir()
    (own / "uids" / "62599.lock").symlink_to(target)
    monkeypatch.setenv("GMMLAB_SANDBOX_UIDS", "62599-62599")
    with pytest.raises(OSError):
        sandbox._acquire_uid()
    assert target.read_text() == "root:secret\n"


def test_the_sandbox_sees_no_jupyter_configuration(monkeypatch):
    """Jupyter's system configuration (in /etc, which the sandbox reads) names the exchange: the sandbox's code
    finds nothing there."""
    import secrets

    config = Path("/etc") / f"gmmlab-test-jupyter-{secrets.token_hex(4)}"  # where the sandbox would see it
    config.mkdir()
    try:
        (config / "nbgrader_config.py").write_text("c.Exchange.root = '/srv/secret-exchange'\n")
        monkeypatch.setattr(sandbox, "JUPYTER_CONFIG_DIRS", [str(config)])
        monkeypatch.setenv("GMMLAB_SANDBOX_UIDS", UIDS)
        box = sandbox.Sandbox(A)
        try:
            code = f"import os\nprint(sorted(os.listdir({str(config)!r})))"
            reply = box.request({"op": "exec", "code": code, "cell": 0})
        finally:
            box.close()
    finally:
        shutil.rmtree(config)
    assert reply["stdout"].strip() == "[]", reply


def test_no_path_the_sandbox_can_read_names_the_course(monkeypatch):
    """The course's environment lives in the course directory here (.venv): the sandbox mounts a hard-linked copy
    under a neutral name, so even the mount table it can read does not name the course."""
    monkeypatch.setenv("GMMLAB_SANDBOX_UIDS", UIDS)
    box = sandbox.Sandbox(A)
    try:
        code = "import sys, numpy, matplotlib\nprint(open('/proc/self/mountinfo').read())\nprint(sys.prefix, sys.path)"
        reply = box.request({"op": "exec", "code": code, "cell": 0})
    finally:
        box.close()
    assert reply["error"] is None and "/proc" in reply["stdout"], reply
    assert str(course.REPO) not in reply["stdout"], reply["stdout"]
