"""Autograding that survives its students: nbgrader preprocessors that grade in a trusted process.

nbgrader normally runs a submission top to bottom in one kernel, test cells included, and scores a test cell by
whether that kernel reported an error, so code in an answer cell can switch the tests off. Here:

- ``NormaliseSubmission`` (before nbgrader's own sanitising) rebuilds the submission on the released notebook:
  duplicated, split, re-ordered or retyped cells, regenerated ids, old nbformat and lost nbgrader metadata are
  matched back to their answer cells (``gmmlab_course.normalise``), so awkward notebooks are graded, not zeroed.
- ``SandboxedGrade`` (instead of nbgrader's ``Execute``) runs every cell but the tests in a sandbox
  (``gmmlab_course.sandbox``) and then runs the test cells, restored from the gradebook, here, in a namespace no
  student code has touched. A test's ``graded("f")`` calls the student's ``f`` in the sandbox and gets back plain
  numbers and arrays; stand-ins a test supplies run here. Hidden-test data are seeded from a course secret, the
  student and the assignment, so a regrade gives the same score.
"""

import contextlib
import hashlib
import hmac
import io
import os
import secrets
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Float

from gmmlab import grading
from gmmlab.grading import wire

from . import gradebook, normalise, sandbox

SECRET = Path(".gmmlab") / "grading-secret"


def course_secret(root):
    """The course's grading secret (made on first use, readable by the instructor only)."""
    path = Path(root) / SECRET
    if not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def is_test(cell):
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def is_given(cell):
    return cell.cell_type == "code" and is_locked(cell) and not is_grade(cell) and not is_solution(cell)


class Remote:
    """What ``gmmlab.grading`` uses (:func:`gmmlab.grading.connect`) while a test cell runs here: the student's functions live in the sandbox."""

    def __init__(self, run, secret, identity):
        self.run, self.secret, self.identity = run, secret, identity
        self.cell, self.draws = "", 0

    def rng(self):
        self.draws += 1
        message = "\0".join([*self.identity, self.cell, str(self.draws)]).encode()
        seed = int.from_bytes(hmac.new(self.secret, message, hashlib.sha256).digest()[:16], "big")
        return np.random.default_rng(seed)

    def function(self, name, banned=None, replace=None):
        replace = dict(replace or {})
        run = self.run

        def call(*args, **kwargs):
            failures = []

            def trusted(function):
                def stand_in(*a, **k):
                    try:
                        return function(*a, **k)
                    except AssertionError as error:  # the test's own check: it holds whatever the student catches
                        failures.append(error)
                        raise
                return stand_in

            try:
                payload = wire.dumps((list(args), kwargs))
            except wire.WireError as error:
                raise RuntimeError(f"test design: an argument of {name} cannot be sent to the sandbox ({error})") from None
            reply = run.call({"op": "call", "name": name, "args": payload, "banned": banned or {}, "replace": list(replace)},
                             {k: trusted(v) for k, v in replace.items()})
            if failures:
                raise failures[0]
            if not reply.get("ok"):
                raise AssertionError(str(reply.get("message", f"{name} failed")))
            try:
                return wire.loads(reply["value"])
            except (KeyError, wire.WireError) as error:
                raise AssertionError(f"{name} returned {error}, which is not a number or array") from None

        return call


class Run:
    """The cells of one submission in one sandbox; after a crash or a limit the sandbox is restarted and the
    cells replayed, except those that never finished."""

    def __init__(self, box, max_restarts):
        self.box, self.max_restarts = box, max_restarts
        self.cells, self.lost, self.restarts = [], set(), 0

    def _restart(self):
        self.box.kill()
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise sandbox.SandboxCrashed("this notebook used up its grading time")
        for index, code, grade_id in self.cells:
            if index not in self.lost:
                try:
                    self.box.request({"op": "exec", "code": code, "cell": index, "grade_id": grade_id})
                except sandbox.SandboxCrashed:
                    self.lost.add(index)
                    return self._restart()

    def execute(self, index, code, grade_id=None):
        self.cells.append((index, code, grade_id))
        try:
            return self.box.request({"op": "exec", "code": code, "cell": index, "grade_id": grade_id})
        except sandbox.SandboxCrashed as crash:
            self.lost.add(index)
            try:
                self._restart()
            except sandbox.SandboxCrashed:
                pass
            return {"error": {"ename": "GradingLimit", "evalue": f"this cell was stopped: {crash}", "traceback": []}}

    def call(self, message, callbacks):
        if self.restarts > self.max_restarts:
            return {"ok": False, "message": "not run: this notebook used up its grading time"}
        try:
            return self.box.request(message, callbacks)
        except sandbox.SandboxCrashed as crash:
            try:
                self._restart()
            except sandbox.SandboxCrashed:
                pass
            return {"ok": False, "message": f"{message['name']} did not finish: {crash}"}


def _outputs(result):
    outputs = []
    for name in ("stdout", "stderr"):
        if result.get(name):
            outputs.append(NotebookNode(output_type="stream", name=name, text=result[name]))
    for image in result.get("images", []):
        outputs.append(from_dict({"output_type": "display_data", "metadata": {},
                                  "data": {"image/png": image, "text/plain": "<Figure>"}}))
    if result.get("error"):
        error = result["error"]
        outputs.append(from_dict({"output_type": "error", "ename": str(error.get("ename")),
                                  "evalue": str(error.get("evalue")), "traceback": [str(t) for t in error.get("traceback", [])]}))
    return outputs


def run_trusted(code, namespace, label):
    """Execute instructor code (a restored test or given cell) here; return (stdout, error or None)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            exec(compile(code, label, "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - a failing test is the expected outcome for wrong work
            return out.getvalue(), error
    return out.getvalue(), None


class SandboxedGrade(NbGraderPreprocessor):
    """nbgrader's Execute step, replaced: student code in the sandbox, tests here (see the module docstring)."""

    cpu_limit = Float(60.0, help="CPU seconds one cell or one call of a graded function may use.").tag(config=True)
    idle_limit = Float(30.0, help="Seconds a cell or call may wait without computing (sleep, blocked I/O).").tag(config=True)
    wall_limit = Float(900.0, help="Wall-clock seconds one cell or call may take at the most.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        identity = (info["assignment"], info["notebook"], info["student"])
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix != ".ipynb"] if folder.is_dir() else []
        box = sandbox.Sandbox(info["assignment"], files, self.cpu_limit, self.idle_limit, self.wall_limit)
        run = Run(box, max_restarts=len(nb.cells) + 5)
        remote = Remote(run, course_secret(coursedir.root), identity)
        grader_cpu = time.process_time()
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and not is_test(cell):
                    grade_id = cell.metadata.nbgrader.get("grade_id") if "nbgrader" in cell.metadata else None
                    cell.outputs = _outputs(run.execute(index, cell.source, grade_id))
            namespace = {"__name__": "__grading__"}
            grading.connect(remote)
            for index, cell in enumerate(nb.cells):
                if is_given(cell):
                    _, error = run_trusted(cell.source, namespace, f"<given {index}>")
                    if error is not None:
                        self.log.warning("given cell %s failed in the grader: %s", index, error)
                elif is_test(cell):
                    remote.cell, remote.draws = cell.metadata.nbgrader["grade_id"], 0
                    stdout, error = run_trusted(cell.source, namespace, f"<test {remote.cell}>")
                    cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=stdout)] if stdout else []
                    if error is not None:
                        cell.outputs.append(_test_error(error))
        finally:
            grading.connect(None)
            box.close()
        self.log.info("%s: %.2f s of CPU in the sandbox, %.2f s in the grader", info["student"], box.cpu_total,
                      time.process_time() - grader_cpu)
        return nb, resources


def _test_error(error):
    if isinstance(error, AssertionError):
        name, text = "AssertionError", str(error)
    else:  # an error in the test code (often from a result of the wrong kind): say where it happened
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<test")]
        where = f" (test line {frames[-1].lineno})" if frames else ""
        name, text = type(error).__name__, f"{error}{where}"
    return from_dict({"output_type": "error", "ename": name, "evalue": text, "traceback": [f"{name}: {text}"]})


class NormaliseSubmission(NbGraderPreprocessor):
    """Rebuild the submission on the released notebook before nbgrader sanitises it (``gmmlab_course.normalise``)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        release = Path(coursedir.format_path(coursedir.release_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
        if not release.exists():
            raise FileNotFoundError(f"{release} is missing: run `nbgrader generate_assignment {info['assignment']}` first")
        gradebook.check_is_current(info, coursedir)
        rebuilt, report = normalise.normalise(nb, release)
        for line in report:
            self.log.warning("%s/%s: %s", info["student"], info["assignment"], line)
        return rebuilt, resources
