"""nbval checks that the problem sets execute (``pytest --nbval-lax``), as the course's design asks.

In solutions/ every cell runs without an error. In exercises/, the student versions, a cell may fail only because
an answer is not written yet (tests/course/nbval_release.py): with a NotImplementedError from an answer cell. Each folder
runs in its own pytest process with one kernel per notebook, from the course's own environment.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow(minutes=1.5)]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_notebooks_execute_under_nbval(folder):
    plugin = ["-p", "nbval_release"] if folder == "exercises" else []
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "course"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q", "-rx",
         *plugin, folder],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    assert " passed" in result.stdout and " failed" not in result.stdout, result.stdout[-3000:]
    if folder == "exercises":  # the blank answers were reached, and only they failed
        assert "waits for the student's answer" in result.stdout, result.stdout[-3000:]
