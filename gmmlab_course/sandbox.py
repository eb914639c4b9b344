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
import hashlib
import importlib.util
import json
import os
import queue
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import gmmlab.grading
from gmmlab.grading import wire

from . import manifest, replies

# What runs on the student's side of the pipe: the checks the test cells call, the wire format and the server.
HARNESS = ("gmmlab.grading", "gmmlab.grading.wire", "gmmlab.grading._server")


def _uid_pool():
    """Uids the sandboxes run as: GMMLAB_SANDBOX_UIDS=first-last, or 61000-61999 (no account should own them)."""
    first, _, last = os.environ.get("GMMLAB_SANDBOX_UIDS", "61000-61999").partition("-")
    return range(int(first), int(last) + 1)


# The grader's own directory for uid locks and the matplotlib cache: made by root, under /run, which only root can
# write, never under /tmp, where any user could create it first or plant links for root to follow.
STATE_DIR = Path(os.environ.get("GMMLAB_GRADING_STATE", "/run/gmmlab-grading"))
# Hard-linked copies of the grading environment (see grading_environment): on the file system that holds it, as
# hard links must be, and readable by the sandboxes' uids.
ENVIRONMENTS = Path(os.environ.get("GMMLAB_GRADING_ENVIRONMENTS", "/var/lib/gmmlab-grading"))
OPT_OUT = "GMMLAB_UNSANDBOXED_GRADING"
SANDBOX_ROOT = "/opt/gmmlab-grading"
WORKDIR = "/home/student"

HIDDEN_PACKAGES = ["sklearn", "gmmlab", "gmmlab_course"]  # masked in site-packages (gmmlab comes from the restricted copy)
# Jupyter's system-wide configuration names the exchange (and possibly more of the course): hidden in the sandbox
# (and the grading environment's own etc/jupyter)
JUPYTER_CONFIG_DIRS = ["/etc/jupyter", "/usr/local/etc/jupyter"]

# A submission's other files (data it reads, say) are copied into the sandbox if they are regular files of at most
# this size, this many of them; anything else (links, devices, pipes, sockets, directories, larger files) is left out
# and reported.
MAX_FILE_BYTES = 16 * 2**20
MAX_FILES = 50


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


def grading_environment():
    """The grading Python environment as the sandbox mounts it: for a virtual environment, a copy made of hard
    links under ``ENVIRONMENTS`` (no data copied), so the mount's source path, which the kernel shows inside the
    sandbox (/proc/self/mountinfo), names no course directory. Made once per state of the environment (the copy is
    renewed when a package is installed or removed); where hard links cannot be made (another file system), the
    environment itself is mounted."""
    prefix = os.path.realpath(sys.prefix)
    if prefix == os.path.realpath(sys.base_prefix):
        return prefix
    site = sysconfig.get_path("purelib")
    stamp = hashlib.sha256(repr((prefix, os.stat(site).st_mtime_ns, os.stat(prefix).st_mtime_ns,
                                 sorted((e.name, e.stat(follow_symlinks=False).st_mtime_ns) for e in os.scandir(site)))
                                ).encode()).hexdigest()[:16]
    try:
        os.makedirs(ENVIRONMENTS, mode=0o755, exist_ok=True)
        copy = ENVIRONMENTS / f"python-{stamp}"
        if copy.is_dir():
            return str(copy)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=ENVIRONMENTS))
        os.chmod(building, 0o755)
        shutil.copytree(prefix, building / "env", symlinks=True, copy_function=os.link, dirs_exist_ok=True)
        try:
            os.rename(building / "env", copy)  # atomic: a grader running beside this one uses either copy
        except OSError:
            pass  # the other grader's copy arrived first
        shutil.rmtree(building, ignore_errors=True)
        for old in ENVIRONMENTS.glob("python-*"):  # earlier states of this machine's environments
            if old != copy and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        return str(copy)
    except OSError:  # no hard links across file systems: mount the environment itself
        return prefix


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
    environment = grading_environment()
    prefixes = sorted({os.path.realpath(sys.base_prefix), environment})
    for prefix in prefixes:
        if not prefix.startswith("/usr/"):
            _bind(args, prefix)
    real = os.path.realpath(sys.prefix)
    sites = {os.path.join(environment, os.path.relpath(p, real)) if p.startswith(real) else p
             for p in sys.path if p.endswith("site-packages") and p.startswith((real, *prefixes))}
    for site in sites:
        for name in HIDDEN_PACKAGES:
            if os.path.isdir(os.path.join(site, name)):
                args += ["--tmpfs", os.path.join(site, name)]
        for entry in os.listdir(site):  # editable installs point outside the sandbox; hide them anyway
            if entry.endswith(".pth") and any(n in entry for n in HIDDEN_PACKAGES):
                args += ["--ro-bind", "/dev/null", os.path.join(site, entry)]
    for directory in [*JUPYTER_CONFIG_DIRS, os.path.join(environment, "etc", "jupyter")]:
        if os.path.isdir(directory):
            args += ["--tmpfs", directory]
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
    python = os.path.join(environment, "bin", "python")
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


def state_dir():
    """The grader's private directory (``STATE_DIR``, made 0700): refused unless it is a real directory owned by the
    grader and writable by nobody else, so no user can prepare it, or a link inside it, for root to follow."""
    try:
        os.mkdir(STATE_DIR, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(STATE_DIR)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxUnavailable(f"{STATE_DIR} is not a directory of the grader's that only it can write "
                                 "(owner, mode or a link): remove it, or set GMMLAB_GRADING_STATE to another path")
    return STATE_DIR


def _open_private(path):
    """Open (creating) a file of the grader's for writing, never through a link, and check that it is its own."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(descriptor)
        raise SandboxUnavailable(f"{path} is not a regular file of the grader's")
    return os.fdopen(descriptor, "r+")


def submission_files(paths):
    """(the files to copy into the sandbox, [(name, why not)] for the rest): regular files only, never through a link,
    at most ``MAX_FILES`` of at most ``MAX_FILE_BYTES`` each. A file the grader cannot read is left out too, so an
    awkward folder never stops a correct notebook from being graded."""
    chosen, skipped = [], []
    for path in sorted(Path(p) for p in paths):
        try:
            info = os.lstat(path)
        except OSError as error:
            skipped.append((path.name, f"cannot be read ({error.strerror})"))
            continue
        if not stat.S_ISREG(info.st_mode):
            skipped.append((path.name, "is not a regular file (a link, a folder or a device)"))
        elif info.st_size > MAX_FILE_BYTES:
            skipped.append((path.name, f"is larger than {MAX_FILE_BYTES // 2**20} MiB"))
        elif len(chosen) == MAX_FILES:
            skipped.append((path.name, f"is more than the {MAX_FILES} files a submission may bring"))
        elif not os.access(path, os.R_OK):
            skipped.append((path.name, "cannot be read"))
        else:
            chosen.append(path)
    return chosen, skipped


def _acquire_uid():
    locks = state_dir() / "uids"
    try:
        os.mkdir(locks, 0o700)
    except FileExistsError:
        pass
    for uid in _uid_pool():
        handle = _open_private(locks / f"{uid}.lock")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, handle
        except OSError:
            handle.close()
    raise SandboxUnavailable("every sandbox uid is in use")


def _stat_of(pid):
    """(uid, parent pid, state, [utime, stime, cutime, cstime] in seconds) of a process, or None if it is gone."""
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return uid, int(fields[1]), fields[0], [int(f) / tick for f in fields[11:15]]


def _processes_of(uid):
    """{pid: CPU seconds} of every process running as ``uid`` (its own and its waited-for children's)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat_of(entry)) and info[0] == uid and info[2] != "Z":
            found[int(entry)] = sum(info[3])
    return found


def _reaped_by_tree(root_pid, uid):
    """CPU seconds of the sandbox's dead processes that its own init (bubblewrap's, which is not ``uid``) reaped:
    a process forked twice is reparented to that init, and its time is counted only in the init's cutime/cstime."""
    processes = {int(e): info for e in os.listdir("/proc") if e.isdigit() and (info := _stat_of(e))}
    tree, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        if pid in processes and pid not in tree:
            tree.add(pid)
            todo += [child for child, info in processes.items() if info[1] == pid]
    return sum(sum(processes[pid][3][2:]) for pid in tree if processes[pid][0] != uid)


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
        private = state_dir() if self.sandboxed else Path.home() / ".cache"
        self.mpl = matplotlib_cache(private / "gmmlab-grading-mpl")
        self.files, self.skipped = submission_files(files)
        self.uid, self._uid_lock = _acquire_uid() if self.sandboxed else (None, None)
        self.process = None
        self._next_id = 0
        self.cpu_total = 0.0  # CPU seconds the sandboxed processes used, over every restart

    # ------------------------------------------------------------------ life cycle
    def start(self):
        workdir = self.scratch / "work"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir()
        for path in self.files:  # readable by the sandbox's uid whatever the student's mode
            shutil.copyfile(path, workdir / path.name, follow_symlinks=False)
            os.chmod(workdir / path.name, 0o644)
        if self.sandboxed:
            argv = command(self.uid, self.library, workdir, self.mpl)
        else:
            argv = unsandboxed_command(self.library, workdir, self.mpl)
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self._lines = queue.Queue(maxsize=4)  # a flood of lines waits in the pipe, not in the grader's memory
        threading.Thread(target=self._read, args=(self.process.stdout, self._lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines):
        try:
            for line in iter(lambda: stream.readline(wire.MAX_BYTES + 1), b""):
                while not stream.closed:  # a killed server's stream is closed: its unread lines are dropped
                    try:
                        lines.put(line, timeout=0.5)
                        break
                    except queue.Full:
                        continue
            lines.put(None, timeout=0.5)
        except (ValueError, OSError, queue.Full):  # the stream was closed under the read
            pass

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
            self.process.stdout.close()
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
            reaped = _reaped_by_tree(self.process.pid, self.uid) if self.process is not None else 0.0
            return sum(_processes_of(self.uid).values()) + reaped
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def cpu_used(self):
        """CPU seconds the sandboxed processes used so far, over every restart."""
        return self.cpu_total + (self._cpu() if self.process is not None and self.process.poll() is None else 0.0)

    def request(self, message, callbacks=None, cpu_limit=None, wall_limit=None):
        """Send ``message`` and return the server's reply; raise SandboxCrashed on death, garbage or a limit (the
        sandbox's own, or the smaller ``cpu_limit`` and ``wall_limit`` given for this request)."""
        cpu_limit = self.cpu_limit if cpu_limit is None else cpu_limit
        wall_limit = self.wall_limit if wall_limit is None else wall_limit
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
                    reply = replies.parse(line)
                except replies.BadReply as error:
                    raise SandboxCrashed(f"the sandboxed process wrote {error}") from None
                if reply["id"] != self._next_id:
                    raise SandboxCrashed("the sandboxed process wrote a reply to another request")
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
            if cpu - start_cpu + stand_ins > cpu_limit:
                raise SandboxCrashed(f"it used more than {cpu_limit:g} s of CPU time")
            if now - last_progress > self.idle_limit:
                raise SandboxCrashed(f"it waited {self.idle_limit:g} s without computing (sleeping or blocked)")
            if now - start_wall > wall_limit:
                raise SandboxCrashed(f"it ran for more than {wall_limit:g} s")

    def _callback(self, message, callbacks):
        """A stand-in the test supplied, called by the student's function; it runs here, in the trusted process."""
        name, payload = message.get("name"), message.get("args")
        function = callbacks.get(name) if isinstance(name, str) else None
        try:
            if function is None or not isinstance(payload, str):
                raise wire.WireError(f"no stand-in called {str(name)[:60]!r}")
            decoded = wire.loads(payload)
            if not (isinstance(decoded, tuple) and len(decoded) == 2 and isinstance(decoded[0], list)
                    and isinstance(decoded[1], dict)):
                raise wire.WireError("arguments that are not (args, kwargs)")
            args, kwargs = decoded
            reply = {"id": message["id"], "value": wire.dumps(function(*args, **kwargs))}
        except Exception as error:  # the stand-in's error is raised inside the student's function
            reply = {"id": message["id"], "error": f"{type(error).__name__}: {error}"}
        self.process.stdin.write(json.dumps(reply).encode() + b"\n")
        self.process.stdin.flush()
