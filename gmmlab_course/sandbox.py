"""The sandbox a submission's code runs in while it is graded: bubblewrap, a throwaway uid, limits.

Each submission runs in a fresh process tree (`bwrap`) that sees a read-only system and Python, a restricted copy
of gmmlab (only what its assignment may use), no scikit-learn, no network, no course directory, and a writable
working directory holding a copy of its own files. It runs as a uid of its own (taken from a pool, so parallel
gradings cannot touch each other's processes) with CPU, memory, process and file-size limits. The trusted grader
talks to it over a pipe (gmmlab.grading._server) and kills the whole tree when the notebook is done.

What of gmmlab each assignment's sandbox holds is the ``sandbox`` table of its entry in the course manifest
(``gmmlab_course/course.toml``): the modules are found by importing their names (``gmmlab.em``), never by path, so
a module renamed in gmmlab fails the course's tests, not a class's grading.
"""

import ast
import fcntl
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import gmmlab.grading
from gmmlab.grading import wire

from . import manifest

# What runs on the student's side of the pipe: the checks the test cells call, the wire format and the server.
HARNESS = ("gmmlab.grading", "gmmlab.grading.wire", "gmmlab.grading._server")


def _uid_pool():
    """Uids the sandboxes run as: GMMLAB_SANDBOX_UIDS=first-last, or 61000-61999 (no account should own them)."""
    first, _, last = os.environ.get("GMMLAB_SANDBOX_UIDS", "61000-61999").partition("-")
    return range(int(first), int(last) + 1)


LOCK_DIR = Path(tempfile.gettempdir()) / "gmmlab-grading-uids"
OPT_OUT = "GMMLAB_UNSANDBOXED_GRADING"
SANDBOX_ROOT = "/opt/gmmlab-grading"
WORKDIR = "/home/student"

HIDDEN_PACKAGES = ["sklearn", "gmmlab", "gmmlab_course"]  # masked in site-packages (gmmlab comes from the restricted copy)


class SandboxUnavailable(RuntimeError):
    """Grading cannot be sandboxed on this machine."""


class SandboxCrashed(RuntimeError):
    """The sandboxed process died, broke the protocol or went over a limit."""


def check_available():
    """Raise SandboxUnavailable with what is missing and how to opt out, unless grading can be sandboxed here."""
    missing = [tool for tool in ("bwrap", "setpriv", "prlimit") if shutil.which(tool) is None]
    problems = []
    if missing:
        problems.append(f"{', '.join(missing)} not found (Debian: apt-get install bubblewrap util-linux)")
    if os.geteuid() != 0:
        problems.append("grading must run as root, to run each submission under a throwaway uid")
    if not problems:
        probe = subprocess.run(["bwrap", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "true"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if probe.returncode != 0:
            problems.append(f"bubblewrap cannot create namespaces here: {probe.stdout.strip()}")
    if problems:
        raise SandboxUnavailable(
            "autograding refuses to run student code unsandboxed: " + "; ".join(problems) + ". Fix that, or, knowing "
            f"that student code will then run as you with your files, set {OPT_OUT}=1 to grade without the sandbox."
        )


def _strip(source, names):
    """Module source without its top-level functions, classes and assignments called ``names``."""
    if not names:
        return source
    tree = ast.parse(source)
    kept = []
    for node in tree.body:
        targets = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if not set(targets) & set(names):
            kept.append(node)
    tree.body = kept
    return ast.unparse(tree)


def module_file(name):
    """The source file of module ``name`` of the installed gmmlab (found by name, not by path)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"the grading sandbox needs the module {name}, which this gmmlab does not have as a .py file")
    return Path(spec.origin)


def build_library(assignment, destination):
    """Write the restricted gmmlab of ``assignment`` (and the grading harness) under ``destination``/lib."""
    spec = manifest.assignment(assignment).sandbox
    package = Path(destination) / "lib" / "gmmlab"
    (package / "grading").mkdir(parents=True)
    exports = {}  # public name -> the module that defines it
    for module, removed in spec.items():
        source = module_file(f"gmmlab.{module}").read_text()
        for node in ast.parse(source).body:  # a listed module may only import listed modules
            if isinstance(node, ast.ImportFrom) and node.level == 1 and (node.module or "") not in spec:
                raise ValueError(f"gmmlab/{module}.py imports .{node.module}, which the {assignment} sandbox lacks")
        stripped = _strip(source, removed)
        (package / f"{module}.py").write_text(stripped)
        if not module.startswith("_"):
            exports.update((n.name, module) for n in ast.parse(stripped).body
                           if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_"))
    data = Path(gmmlab.__file__).with_name("data")
    if data.is_dir() and "datasets" in spec:
        shutil.copytree(data, package / "data")
    # Names are imported on first use (PEP 562), so starting the sandbox's server costs no matplotlib or scipy
    # import that the notebook itself does not make.
    (package / "__init__.py").write_text(
        f'"""gmmlab as the {assignment} grading sandbox holds it: data, plots and given functions only."""\n\n'
        f"import importlib\n\n_EXPORTS = {exports!r}\n\n\n"
        "def __getattr__(name):\n"
        "    if name not in _EXPORTS:\n"
        "        raise AttributeError(f'gmmlab.{name} is not available while grading: do not call gmmlab/scikit-learn '\n"
        "                             'in graded functions')\n"
        "    value = getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__():\n"
        "    return sorted(set(globals()) | set(_EXPORTS))\n")
    for name in HARNESS:
        source = module_file(name)
        shutil.copy(source, package / "grading" / source.name)
    return Path(destination) / "lib"


def _ancestors(path):
    parts = Path(path).parts
    return [str(Path(*parts[:i])) for i in range(2, len(parts))]


def _bind(args, source, target=None, writable=False):
    target = target or source
    for directory in _ancestors(target):
        args += ["--perms", "0755", "--dir", directory]
    args += ["--bind" if writable else "--ro-bind", str(source), str(target)]


def command(uid, library, workdir, mpl_cache):
    """The argv that runs the server in a sandbox as ``uid`` (see the module docstring)."""
    limits = ["prlimit", "--as=3221225472", "--nproc=32", "--nofile=256", "--fsize=67108864", "--core=0", "--"]
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
            "--no-new-privs"]
    args = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--clearenv", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    # /tmp first: binds below may lie under /tmp (a course checked out there) and must stay visible on top of it
    args += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(256 * 2**20), "--tmpfs", "/tmp"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            args += ["--ro-bind", f"/{link}", f"/{link}"]
    prefixes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)})
    for prefix in prefixes:
        if not prefix.startswith("/usr/"):
            _bind(args, prefix)
    for site in {p for p in sys.path if p.endswith("site-packages") and p.startswith(tuple(prefixes))}:
        for name in HIDDEN_PACKAGES:
            if os.path.isdir(os.path.join(site, name)):
                args += ["--tmpfs", os.path.join(site, name)]
        for entry in os.listdir(site):  # editable installs point outside the sandbox; hide them anyway
            if entry.endswith(".pth") and any(n in entry for n in HIDDEN_PACKAGES):
                args += ["--ro-bind", "/dev/null", os.path.join(site, entry)]
    _bind(args, library, f"{SANDBOX_ROOT}/lib")
    _bind(args, mpl_cache, f"{SANDBOX_ROOT}/mpl")
    # the working directory is a size-limited tmpfs the server fills with a copy of the submission's files
    _bind(args, workdir, f"{SANDBOX_ROOT}/files")
    for directory in _ancestors(WORKDIR):
        args += ["--perms", "0755", "--dir", directory]
    args += ["--perms", "1777", "--size", str(256 * 2**20), "--tmpfs", WORKDIR, "--chdir", WORKDIR]
    env = {"PATH": "/usr/bin:/bin", "HOME": WORKDIR, "LANG": "C.UTF-8", "PYTHONPATH": f"{SANDBOX_ROOT}/lib",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib", "GMMLAB_MPL_CACHE": f"{SANDBOX_ROOT}/mpl",
           "GMMLAB_FILES": f"{SANDBOX_ROOT}/files",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed on some processors for correct results
        if name in os.environ:
            env[name] = os.environ[name]
    for name, value in env.items():
        args += ["--setenv", name, value]
    python = os.path.join(sys.prefix, "bin", "python")
    return limits + args + ["--"] + drop + [python, "-s", "-m", "gmmlab.grading._server"]


def unsandboxed_command(library, workdir, mpl_cache):
    env = ["env", "-i", f"PATH={os.environ.get('PATH', '/usr/bin')}", f"HOME={workdir}", f"PYTHONPATH={library}",
           "MPLBACKEND=Agg", f"MPLCONFIGDIR={workdir}/.matplotlib", f"GMMLAB_MPL_CACHE={mpl_cache}",
           "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"]
    env += [f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    return env + [sys.executable, "-s", "-m", "gmmlab.grading._server"]


def matplotlib_cache(directory):
    """A matplotlib font cache made once, so no sandbox spends seconds rebuilding it."""
    directory = Path(directory)
    if not any(directory.glob("fontlist-*.json")):
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
                       env=dict(os.environ, MPLCONFIGDIR=str(directory), MPLBACKEND="Agg"))
    return directory


def _acquire_uid():
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    for uid in _uid_pool():
        handle = open(LOCK_DIR / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, handle
        except OSError:
            handle.close()
    raise SandboxUnavailable("every sandbox uid is in use")


def _processes_of(uid):
    """{pid: CPU seconds} of every process running as ``uid``."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":  # dead already, waiting to be reaped
                continue
            found[int(entry)] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return found


class Sandbox:
    """One sandboxed server for one submission; requests are bounded in CPU time, idle time and wall time."""

    def __init__(self, assignment, files=(), cpu_limit=60.0, idle_limit=30.0, wall_limit=900.0):
        self.cpu_limit, self.idle_limit, self.wall_limit = cpu_limit, idle_limit, wall_limit
        self.sandboxed = os.environ.get(OPT_OUT) != "1"
        if self.sandboxed:
            check_available()
        self.scratch = Path(tempfile.mkdtemp(prefix="gmmlab-grading-"))
        os.chmod(self.scratch, 0o711)
        self.library = build_library(assignment, self.scratch)
        self.mpl = matplotlib_cache(Path(tempfile.gettempdir()) / "gmmlab-grading-mpl")
        self.files = [Path(f) for f in files]
        self.uid, self._uid_lock = _acquire_uid() if self.sandboxed else (None, None)
        self.process = None
        self._next_id = 0
        self.cpu_total = 0.0  # CPU seconds the sandboxed processes used, over every restart

    # ------------------------------------------------------------------ life cycle
    def start(self):
        workdir = self.scratch / "work"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir()
        for path in self.files:
            if path.is_file():
                shutil.copy(path, workdir / path.name)
        if self.sandboxed:
            argv = command(self.uid, self.library, workdir, self.mpl)
        else:
            argv = unsandboxed_command(self.library, workdir, self.mpl)
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self._lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout, self._lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines):
        for line in iter(lambda: stream.readline(wire.MAX_BYTES + 1), b""):
            lines.put(line)
        lines.put(None)

    def kill(self, measured=False):
        """End the server and every process it started (the pid namespace dies with it)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.cpu_total += 0.0 if measured else self._cpu()
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
            self.process = None
        if self.uid is not None:
            for _ in range(50):
                alive = _processes_of(self.uid)
                if not alive:
                    break
                for pid in alive:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)

    def close(self):
        if self.process is not None:  # ask first, so a server can exit by itself; then end what is left
            if self.process.poll() is None:
                self.cpu_total += self._cpu()
            try:
                self.process.stdin.close()
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill(measured=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self._uid_lock is not None:
            self._uid_lock.close()

    # ------------------------------------------------------------------ requests
    def _cpu(self):
        if self.uid is not None:
            return sum(_processes_of(self.uid).values())
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def request(self, message, callbacks=None):
        """Send ``message`` and return the server's reply; raise SandboxCrashed on death, garbage or a limit."""
        if self.process is None:
            self.start()
        self._next_id += 1
        message = dict(message, id=self._next_id)
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise SandboxCrashed("the sandboxed process died") from None
        start_wall, start_cpu = time.monotonic(), self._cpu()
        last_cpu, last_progress, last_check, stand_ins = start_cpu, start_wall, start_wall, 0.0
        while True:
            try:
                line = self._lines.get(timeout=0.25)
            except queue.Empty:
                line = ""
            if line is None:
                raise SandboxCrashed("the sandboxed process died (a crash, or a memory or process limit)")
            if line:
                try:
                    reply = json.loads(line)
                except ValueError:
                    raise SandboxCrashed("the sandboxed process wrote something that is not a reply") from None
                if not isinstance(reply, dict) or reply.get("id") != self._next_id:
                    raise SandboxCrashed("the sandboxed process wrote something that is not a reply")
                if reply.get("op") != "callback":
                    return reply
                # the stand-ins run here, on behalf of the student's function: their time counts against it
                before = time.process_time()
                self._callback(reply, callbacks or {})
                stand_ins += time.process_time() - before
                last_progress = time.monotonic()
            now = time.monotonic()
            if now - last_check < 0.25:
                continue
            last_check, cpu = now, self._cpu()
            if cpu > last_cpu + 0.01:
                last_cpu, last_progress = cpu, now
            if cpu - start_cpu + stand_ins > self.cpu_limit:
                raise SandboxCrashed(f"it used more than {self.cpu_limit:g} s of CPU time")
            if now - last_progress > self.idle_limit:
                raise SandboxCrashed(f"it waited {self.idle_limit:g} s without computing (sleeping or blocked)")
            if now - start_wall > self.wall_limit:
                raise SandboxCrashed(f"it ran for more than {self.wall_limit:g} s")

    def _callback(self, message, callbacks):
        """A stand-in the test supplied, called by the student's function; it runs here, in the trusted process."""
        function = callbacks.get(message.get("name"))
        try:
            if function is None:
                raise wire.WireError(f"no stand-in called {message.get('name')!r}")
            args, kwargs = wire.loads(message["args"])
            reply = {"id": message["id"], "value": wire.dumps(function(*args, **kwargs))}
        except Exception as error:  # the stand-in's error is raised inside the student's function
            reply = {"id": message["id"], "error": f"{type(error).__name__}: {error}"}
        self.process.stdin.write(json.dumps(reply).encode() + b"\n")
        self.process.stdin.flush()
