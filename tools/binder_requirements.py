"""Write binder/requirements.txt: what Binder installs, pinned to exactly the versions of requirements/lock.txt.

Binder (repo2docker) reads binder/requirements.txt, then runs binder/postBuild (which installs gmmlab itself).
The Binder image needs less than the course environment (no book build, no nbgrader, no tests), so this
script installs only the packages in TOP_LEVEL into a scratch virtual environment, constrained to the
course lock, and writes its ``pip freeze``: every package Binder installs is pinned, and every pin is the
lock's. ``tests/deploy/test_binder_requirements.py`` checks both, and that the list covers every import of the
chapters and the assignments.

Usage (``make binder-lock``): python3.11 tools/binder_requirements.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock.txt"
OUTPUT = REPO / "binder" / "requirements.txt"

# What a student's session on Binder needs: JupyterLab (opening the MyST chapters as notebooks through
# jupytext), a Python kernel, the widgets, and what the chapters and the assignments import.
TOP_LEVEL = [
    "jupyterlab",
    "jupyterlab-rise",  # RISE: a chapter's notebook presented as slides, its code run live
    "notebook",
    "jupytext",
    "ipykernel",
    "ipywidgets",
    "numpy",
    "scipy",
    "matplotlib",
    "scikit-learn",
    "myst-nb",  # the chapters glue computed numbers into their prose with myst_nb.glue
    "dask",  # "EM in practice" fits a mixture on a local Dask cluster
    "distributed",
]

HEADER = """\
# What Binder (repo2docker) installs: the packages of tools/binder_requirements.py and everything they need,
# pinned to exactly the versions of requirements/lock.txt. Regenerate with: make binder-lock
# binder/postBuild then installs gmmlab from this repository and configures JupyterLab.
"""


def main():
    with tempfile.TemporaryDirectory(prefix="gmmlab-binder-lock-") as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", "-c", str(LOCK), *TOP_LEVEL], check=True)
        frozen = subprocess.run([*pip, "freeze", "--all"], check=True, capture_output=True, text=True).stdout
    # pip and setuptools belong to the image, not to the course's requirements.
    pins = [line for line in frozen.splitlines() if line and not line.startswith(("pip==", "setuptools==", "wheel=="))]
    OUTPUT.write_text(HEADER + "\n".join(pins) + "\n")
    print(f"wrote {len(pins)} pins to {OUTPUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
