"""Helpers of the browser tests: Debian's Chromium driven by Playwright, local servers, the network guard.

Every browser test runs the way a student meets the course, in a real (headless) browser, on this offline
machine:

* the browser is Debian's ``/usr/bin/chromium`` (``make chromium`` installs it), started by Playwright with
  ``executable_path``: Playwright never downloads a browser here (never run ``playwright install``), and
  every launch gets a new, empty profile directory of its own;
* every server a test talks to is started here, on 127.0.0.1 and a free port, and stopped (its whole
  process group, and any kernels it started) when the tests are done, pass or fail;
* every request the browser makes to any host but 127.0.0.1 is blocked and recorded, and a test that
  caused one fails (:class:`NetworkGuard`).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[3]
HTML = REPO / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")

# The flags this machine needs (see the machine notes): no GPU, no QUIC, and none of Chromium's own
# background traffic (updates, sync, ...), which a closed network refuses and which would leave 127.0.0.1.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}


# ------------------------------------------------------------------------------------------ servers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url, process, timeout, what):
    """Poll ``url`` until it answers 200; fail with the server's output if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before answering at {url}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout} s")


def stop_process_group(process, grace=10):
    """Stop ``process`` (started with start_new_session=True), its process group and all its descendants."""
    import psutil

    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        for child in descendants:  # kernels run in process groups of their own
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(sig)
        try:
            process.wait(timeout=grace)
            _, alive = psutil.wait_procs(descendants, timeout=grace)
            if not alive:
                return
        except subprocess.TimeoutExpired:
            pass


@contextlib.contextmanager
def background_server(command, *, url, what, cwd=None, env=None, timeout=60, log=None):
    """Run ``command`` in a process group of its own until the block ends; yield the Popen once ``url`` answers."""
    output = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        try:
            wait_for_http(url, process, timeout, what)
        except RuntimeError as error:
            tail = Path(log).read_text(errors="replace")[-4000:] if log else ""
            pytest.fail(f"{error}\n{tail}")
        yield process
    finally:
        stop_process_group(process)
        if log:
            output.close()


# ------------------------------------------------------------------------------------------ browser


class NetworkGuard:
    """Blocks every request of a browser context that leaves 127.0.0.1, and remembers it."""

    def __init__(self):
        self.blocked = []

    def route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def attach(self, context):
        context.route("**/*", self.route)
        return self

    def check(self):
        blocked, self.blocked = self.blocked, []
        assert not blocked, "requests that leave 127.0.0.1 (blocked):\n" + "\n".join(sorted(set(blocked)))


# ------------------------------------------------------------------------------------------ the repository


def repository_files():
    """The files a clone of the repository would hold: tracked ones and new ones that git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (REPO / name).is_file()})


def snapshot_repository(target):
    """Copy the repository's files (as a clone has them, see :func:`repository_files`) into ``target``."""
    target = Path(target)
    for name in repository_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)
    return target



# ------------------------------------------------------------------------------------------ the course's notebooks


def is_notebook_source(path):
    """Whether a book source is a notebook: an .ipynb, or MyST Markdown with a jupytext/kernelspec header."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return True
    if path.suffix != ".md":
        return False
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    header = text.split("---", 2)[1] if text.count("---") >= 2 else ""
    return "kernelspec:" in header


def chapter_notebooks(root=REPO):
    """Every chapter of the book that is a notebook (book/*.md with a kernelspec, book/*.ipynb), as repo paths."""
    sources = sorted((Path(root) / "book").glob("*.md")) + sorted((Path(root) / "book").glob("*.ipynb"))
    return [path.relative_to(root).as_posix() for path in sources if is_notebook_source(path)]


def student_exercises(root=REPO):
    """Every student exercise, exercises/<name>/<name>.ipynb, as repo paths."""
    return [
        path.relative_to(root).as_posix()
        for path in sorted(Path(root).glob("exercises/*/*.ipynb"))
        if path.stem == path.parent.name
    ]
