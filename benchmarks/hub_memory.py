"""Memory of one student on the course's Hub, and what a class needs: ``python benchmarks/hub_memory.py [--record]``.

Run it with the Hub's python (``/opt/gmmlab-hub/venv/bin/python``, or the test's ``/opt/gmmlab-hub-test/venv``), on
an otherwise quiet machine. It starts what a student's server starts, from the Hub's environment: a Jupyter server
(JupyterLab's, as ``jupyterhub-singleuser`` runs it) and a Python kernel, which then imports what the course's
notebooks import (numpy, scipy, scikit-learn, matplotlib, gmmlab) and fits a mixture. For each it reports the
unique set size (USS: the memory the process alone holds, which every further student adds, since the libraries'
pages are shared between all students' processes) and the resident set size (RSS: what it holds, shared pages
included, which the first student adds). Two of each run at once, as two students' would, so that the pages they
share are not counted as either's own. ``--record`` writes the result to benchmarks/recorded/hub-memory.txt, which
book/jupyterhub.md shows.
"""

import argparse
import datetime
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from jupyter_client.manager import start_new_kernel

RECORD = Path(__file__).resolve().parent / "recorded" / "hub-memory.txt"
CLASS = 200
COURSE_IMPORTS = ("import numpy, scipy, sklearn, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot\n"
                  "import gmmlab\nfrom gmmlab import GaussianMixture\nimport numpy as np\n"
                  "GaussianMixture(3, random_state=0).fit(np.random.default_rng(0).normal(size=(500, 2)))")


def mib(pid):
    """(USS, RSS) of a process in MiB, from /proc/<pid>/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024
    return fields["Private_Clean"] + fields["Private_Dirty"], fields["Rss"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(home):
    """A JupyterLab server as a student's, started from this python's environment; wait until it answers."""
    port, token = free_port(), secrets.token_hex(16)
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
               f"--ServerApp.token={token}", f"--ServerApp.root_dir={home}", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    process = subprocess.Popen(command, env={**os.environ, "HOME": str(home)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/lab", params={"token": token}, timeout=30).status_code == 200:
                return process
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise SystemExit("the Jupyter server exited at its start")
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the Jupyter server did not answer within 300 s")


def measure():
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        processes = [server(first), server(second)]
        try:
            rows = [("Jupyter server (JupyterLab), idle", *mib(processes[1].pid))]
        finally:
            for process in processes:
                process.terminate()
                process.wait()
    kernels = [start_new_kernel(kernel_name="python3") for _ in range(2)]
    try:
        rows.append(("Python kernel, started", *mib(kernels[1][0].provisioner.process.pid)))
        for _, client in kernels:
            reply = client.execute_interactive(COURSE_IMPORTS, timeout=300, output_hook=lambda message: None)
            assert reply["content"]["status"] == "ok", reply["content"]
        rows.append(("Python kernel, course imports and a fit", *mib(kernels[1][0].provisioner.process.pid)))
    finally:
        for manager, client in kernels:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return rows


def report(rows):
    load = os.getloadavg()[0]
    (_, server_uss, server_rss), (_, kernel_uss, kernel_rss) = rows[0], rows[2]
    lines = [f"# measured {datetime.date.today()} on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, load average {load:.1f}",
             f"{'process':44s}{'USS MiB':>10s}{'RSS MiB':>10s}"]
    lines += [f"{name:44s}{uss:10.0f}{rss:10.0f}" for name, uss, rss in rows]
    student = server_uss + kernel_uss
    first = server_rss + kernel_rss
    for kernels in (1, 2):
        total = first + (kernels - 1) * kernel_rss + (CLASS - 1) * student + CLASS * (kernels - 1) * kernel_uss
        lines.append(f"{CLASS} students at once, each with a server and {kernels} working kernel"
                     f"{'s' if kernels > 1 else ''}: {total / 1024:.1f} GiB")
    lines.append(f"each further student: {student:.0f} MiB (server and one kernel, USS)")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help=f"write the result to {RECORD}")
    args = parser.parse_args()
    text = report(measure())
    print(text, end="")
    if args.record:
        RECORD.write_text(f"$ python benchmarks/hub_memory.py --record\n{text}")


if __name__ == "__main__":
    main()
