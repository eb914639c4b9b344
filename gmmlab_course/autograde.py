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

from . import gradebook, normalise, replies, sandbox

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

            bound = replies.StandInBound(args, kwargs)

            def trusted(stand_in_name, function):
                def stand_in(*a, **k):
                    try:
                        bound.check(stand_in_name, name, a, k)  # it runs here, without the sandbox's limits
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
                             {k: trusted(k, v) for k, v in replace.items()})
            if failures:
                raise failures[0]
            return replies.call_value(reply, name)

        return call


class Run:
    """The cells of one submission in one sandbox, within the notebook's budget of CPU and wall-clock time; after a
    crash or a limit the sandbox is restarted and the cells replayed, except those that never finished."""

    def __init__(self, box, max_restarts, cpu_budget=float("inf"), wall_budget=float("inf")):
        self.box, self.max_restarts = box, max_restarts
        self.cpu_budget, self.wall_budget, self.started = cpu_budget, wall_budget, time.monotonic()
        self.cells, self.lost, self.restarts = [], set(), 0
        self.spent = None  # why the notebook's budget ran out, once it has

    def _limits(self):
        """(CPU, wall) seconds the next request may take: the cell's limits, within what is left of the notebook's."""
        cpu = self.cpu_budget - self.box.cpu_used()
        wall = self.wall_budget - (time.monotonic() - self.started)
        if self.spent is None and cpu <= 0:
            self.spent = f"this notebook used its {self.cpu_budget:g} s of CPU time for grading"
        elif self.spent is None and wall <= 0:
            self.spent = f"this notebook used its {self.wall_budget:g} s of grading time"
        return min(self.box.cpu_limit, max(cpu, 0.0)), min(self.box.wall_limit, max(wall, 0.0))

    def _request(self, message, callbacks=None):
        cpu, wall = self._limits()
        if self.spent is not None:
            raise sandbox.SandboxCrashed(self.spent)
        try:
            return self.box.request(message, callbacks, cpu_limit=cpu, wall_limit=wall)
        except sandbox.SandboxCrashed:
            self._limits()  # a request stopped by the notebook's budget says so, and nothing of the notebook runs on
            if self.spent is not None:
                self.box.kill()
                raise sandbox.SandboxCrashed(self.spent) from None
            raise

    def _restart(self):
        self.box.kill()
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise sandbox.SandboxCrashed("this notebook used up its grading time")
        for index, code, grade_id in self.cells:
            if index not in self.lost:
                try:
                    self._request({"op": "exec", "code": code, "cell": index, "grade_id": grade_id})
                except sandbox.SandboxCrashed:
                    self.lost.add(index)
                    if self.spent is not None:
                        raise
                    return self._restart()

    def execute(self, index, code, grade_id=None):
        if self.spent is not None:
            return {"error": {"ename": "GradingLimit", "evalue": f"not run: {self.spent}", "traceback": []}}
        self.cells.append((index, code, grade_id))
        try:
            return self._request({"op": "exec", "code": code, "cell": index, "grade_id": grade_id})
        except sandbox.SandboxCrashed as crash:
            self.lost.add(index)
            if self.spent is None:
                try:
                    self._restart()
                except sandbox.SandboxCrashed:
                    pass
            if self.spent is not None:
                return {"error": {"ename": "GradingLimit", "evalue": f"{self.spent}; this cell (cell {index}) was "
                                  f"stopped and the cells after it were not run", "traceback": []}}
            return {"error": {"ename": "GradingLimit", "evalue": f"this cell was stopped: {crash}", "traceback": []}}

    def call(self, message, callbacks):
        if self.spent is not None:
            return {"ok": False, "message": f"{message['name']} was not run: {self.spent}"}
        if self.restarts > self.max_restarts:
            return {"ok": False, "message": "not run: this notebook used up its grading time"}
        try:
            return self._request(message, callbacks)
        except sandbox.SandboxCrashed as crash:
            if self.spent is None:
                try:
                    self._restart()
                except sandbox.SandboxCrashed:
                    pass
            return {"ok": False, "message": f"{message['name']} did not finish: {crash}"}


def _outputs(result, budget):
    """Notebook outputs of a cell's reply, checked and capped (gmmlab_course.replies)."""
    stdout, stderr, images, error = replies.cell_result(result, budget)
    outputs = [NotebookNode(output_type="stream", name=name, text=text)
               for name, text in (("stdout", stdout), ("stderr", stderr)) if text]
    outputs += [from_dict({"output_type": "display_data", "metadata": {},
                           "data": {"image/png": image, "text/plain": "<Figure>"}}) for image in images]
    if error:
        outputs.append(from_dict({"output_type": "error", **error}))
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
    notebook_cpu_limit = Float(300.0, help="CPU seconds the sandbox may use for a whole notebook, its cells and "
                               "the calls of its tests together.").tag(config=True)
    notebook_wall_limit = Float(900.0, help="Wall-clock seconds a whole notebook may take to grade.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = CourseDirectory(parent=self)
        identity = (info["assignment"], info["notebook"], info["student"])
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        files = [p for p in folder.iterdir() if p.suffix != ".ipynb"] if folder.is_dir() else []
        box = sandbox.Sandbox(info["assignment"], files, self.cpu_limit, self.idle_limit, self.wall_limit)
        for name, why in box.skipped:
            self.log.warning("%s: the file %r next to the notebook %s: not copied into the sandbox", info["student"],
                             name, why)
        run = Run(box, max_restarts=len(nb.cells) + 5, cpu_budget=self.notebook_cpu_limit,
                  wall_budget=self.notebook_wall_limit)
        budget = replies.OutputBudget()
        remote = Remote(run, course_secret(coursedir.root), identity)
        grader_cpu = time.process_time()
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and not is_test(cell):
                    grade_id = cell.metadata.nbgrader.get("grade_id") if "nbgrader" in cell.metadata else None
                    cell.outputs = _outputs(run.execute(index, cell.source, grade_id), budget)
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
