"""The course's JupyterHub (deploy/jupyterhub/, book/jupyterhub.md), set up on a temporary machine and used by a class.

``deploy/jupyterhub/setup.sh`` runs as documented, with its paths moved into a temporary directory and its ports to
free ones on 127.0.0.1 (its environment variables); the software comes from ``make hub-env`` (the Hub's pinned
environment at /opt/gmmlab-hub-test, built by ``make test``). The Hub then runs a whole assignment through its REST
API and the users' own servers, as the people of a class would: an admin creates an instructor, a teaching
assistant and three students (real local accounts, made by the Hub) and gives them their groups; the instructor
generates and releases ps1-kmeans in the formgrader; each student fetches it in the Assignments tab of their own
server (nbgrader's assignment-list extension, over HTTP with their token), answers and submits; alice also submits
under bob's name from her terminal; the instructor collects, autogrades (the Hub's autograde service, sandboxed) and
releases feedback, and the students fetch it. Then: who can reach what. Commands run as the appendix gives them, in
terminals of the Hub (login shells, over the terminal's websocket, as a person at the keyboard), and the attacks of
issue 23 are repeated from a student's and a teaching assistant's own servers: the admin token read from process
command lines, the exchange's course folders made first, a grade changed and the course configuration written by a
TA, a process left behind after its server stopped, a memory hog. A second ``setup.sh`` changes nothing; a backup
and a restore bring back the grades; a student who fills the exchange (its own file system) fills no home. Every
account, process and file the test made is removed at the end.

Two cheap checks go with it: the Hub's pins are the course's, and the Hub's collect (OwnerCheckedCollect) leaves
in the exchange whatever one account submitted under another's name, a symbolic link included.
"""

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests
import websocket

from gmmlab_course import coursedir as course

pytestmark = [pytest.mark.slow(minutes=2), pytest.mark.root, pytest.mark.browser]

REPO = course.REPO
DEPLOY = REPO / "deploy" / "jupyterhub"
PREFIX = Path(os.environ.get("GMMLAB_HUB_TEST_PREFIX", "/opt/gmmlab-hub-test"))  # Makefile: HUB_TEST_PREFIX
ASSIGNMENT = "ps1-kmeans"
COURSE = "gmmlab"
TAG = "gmmlab-hub-test-"  # the temporary machine's directory; accounts whose home is under it are the test's
INSTRUCTOR, TA, GRADER = "hubt-instructor", "hubt-ta", "hubt-grader"
STUDENTS = ["hubt-alice", "hubt-bob", "hubt-carol"]
ACCOUNTS = [INSTRUCTOR, TA, *STUDENTS]
WAIT = 300  # seconds: servers coming up and grading on a loaded machine are slow, never wrong


def test_the_hub_environment_is_the_course_environment():
    """deploy/jupyterhub/requirements.txt pins what requirements/lock.txt pins, apart from its documented exceptions."""
    def pins(path):
        return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in
                re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", Path(path).read_text(), re.M)}

    lock, hub = pins(REPO / "requirements" / "lock.txt"), pins(DEPLOY / "requirements.txt")
    assert hub["jupyterhub"] and hub["nbgrader"] == lock["nbgrader"]
    differ = {name for name in hub if name in lock and hub[name] != lock[name]}
    assert differ == {"soupsieve"}, f"the Hub's pins drifted from requirements/lock.txt: {sorted(differ)}"
    assert {"numpy", "scipy", "scikit-learn", "matplotlib", "jupyterlab", "notebook", "ipywidgets"} <= set(hub)


def test_collect_takes_each_students_submissions_only_from_their_own_account(tmp_path, monkeypatch, caplog):
    """OwnerCheckedCollect (the Hub's collect): a folder named after one account but made by another, directly or
    through a symbolic link, is left in the exchange and named in the log; the student's own latest is collected."""
    if os.geteuid() != 0:
        pytest.skip("making folders owned by other accounts needs root")
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from gmmlab_course.collect import OwnerCheckedCollect

    # collect reads the due date from a gradebook, which a new one lacks; its schema version does not matter here,
    # and asking `alembic` for it would start a process
    monkeypatch.setattr("nbgrader.api.get_alembic_version", lambda: "irrelevant")
    inbound = tmp_path / "exchange" / COURSE / "inbound"
    inbound.mkdir(parents=True)
    nobody = pwd.getpwnam("nobody").pw_uid

    def submission(name, hour, uid, text=None):
        folder = inbound / f"{name}+{ASSIGNMENT}+2026-01-05 {hour:02d}:00:00.000000 UTC+{hour:02d}"
        folder.mkdir()
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text or f"{name} at {hour}")
        for path in [folder, *folder.iterdir()]:
            os.chown(path, uid, uid)
        return folder

    submission("root", 9, 0)
    submission("root", 10, 61990)  # made by an account that is not root's
    submission("nobody", 9, nobody)
    submission("nobody", 11, 0)  # root's, under nobody's name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = submission("nobody", 8, nobody, text="nobody's file elsewhere")
    target.rename(elsewhere / "folder")
    (inbound / f"nobody+{ASSIGNMENT}+2026-01-05 12:00:00.000000 UTC+12").symlink_to(elsewhere / "folder")

    (tmp_path / "course").mkdir()
    config = Config()
    config.Exchange.root = str(tmp_path / "exchange")
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.course_id = COURSE
    config.CourseDirectory.assignment_id = ASSIGNMENT
    coursedir = CourseDirectory(config=config)
    collect = OwnerCheckedCollect(coursedir=coursedir, authenticator=Authenticator(config=config), config=config)
    collect.start()

    collected = {s: (tmp_path / "course" / "submitted" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
                 for s in ["root", "nobody"]}
    assert collected == {"root": "root at 9", "nobody": "nobody at 9"}
    rejected = [r.getMessage() for r in caplog.records if "not collected" in r.getMessage()]
    assert len(rejected) == 3, rejected
    assert any("claims to be submitted by nobody but is owned by root" in m for m in rejected)
    assert any("claims to be submitted by root but is owned by uid 61990" in m for m in rejected)


# ------------------------------------------------------------------------------------------------ the machine

def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def exists(user):
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def stop_processes(user):
    """Kill the account's processes (the test's own accounts only)."""
    subprocess.run(["pkill", "-KILL", "-u", user], check=False)


def remove_account(user):
    """Delete the account (--force: a killed server may linger as a zombie until the Hub reaps it)."""
    stop_processes(user)
    subprocess.run(["userdel", "--force", user], check=False, stderr=subprocess.DEVNULL)


def ours(user):
    return exists(user) and pwd.getpwnam(user).pw_dir.startswith(str(Path(tempfile.gettempdir()) / TAG))


def left_behind(user):
    """The account is a test's whose run has ended without removing it: its temporary machine names a test process
    (``pid``) that no longer runs. Another run's live accounts are never touched."""
    if not ours(user):
        return False
    machine = Path(pwd.getpwnam(user).pw_dir).parent.parent
    try:
        os.kill(int((machine / "pid").read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return (machine / "pid").exists() or not machine.exists()
    return False


class Hub:
    """The temporary machine: setup.sh's directories, the running Hub, and how to talk to it as each person."""

    def __init__(self, root):
        self.root = root
        api, proxy_api, formgrader, autograde, public = free_ports(5)
        self.url = f"http://127.0.0.1:{public}"
        self.env = {
            "GMMLAB_HUB_PREFIX": str(PREFIX),
            "GMMLAB_HUB_ETC": str(root / "etc"),
            "GMMLAB_HUB_STATE": str(root / "state"),
            "GMMLAB_HUB_JUPYTER_CONFIG": str(root / "etc-jupyter"),
            "GMMLAB_HUB_EXCHANGE": str(root / "exchange"),
            "GMMLAB_HUB_COURSE_ROOT": str(root / "srv" / "course"),
            "GMMLAB_HUB_GRADER": GRADER,
            "GMMLAB_HUB_HOMES": str(root / "home"),
            "GMMLAB_HUB_URL": self.url,
            "GMMLAB_HUB_API_PORT": str(api),
            "GMMLAB_HUB_PROXY_API_PORT": str(proxy_api),
            "GMMLAB_HUB_FORMGRADER_PORT": str(formgrader),
            "GMMLAB_HUB_AUTOGRADE_PORT": str(autograde),
            "GMMLAB_HUB_SYSTEMD": "0",
            # only the test's accounts (their homes are under root) get this login profile, and only for the test
            "GMMLAB_HUB_PROFILE": f"/etc/profile.d/{root.name}.sh",
            "GMMLAB_HUB_FSIZE": "10M",
            "GMMLAB_HUB_EXCHANGE_SIZE": "64M",
        }
        self.etc = root / "etc"
        self.course_root = root / "srv" / "course"
        self.exchange = root / "exchange"
        self.tokens = {}
        self.process = None

    # -- setting up and starting, as book/jupyterhub.md does
    def setup(self, env=None):
        result = subprocess.run(["bash", str(DEPLOY / "setup.sh")], env={**os.environ, **(env or self.env)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
        assert result.returncode == 0, f"setup.sh failed:\n{result.stdout[-5000:]}"
        return result.stdout

    def start(self):
        """Start the Hub with the command setup.sh printed for a host without systemd."""
        printed = self.setup_log.splitlines()
        at = next(i for i, line in enumerate(printed) if line.startswith("systemd does not run the Hub here"))
        command = printed[at + 1].split()
        assert command == [str(self.etc / "start")], printed[at:]
        env = dict(os.environ)
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self.tokens["admin"] = (self.etc / "admin-token").read_text().strip()
        self.wait(lambda: self.get("/hub/api/", "admin").status_code == 200, "the Hub to answer")
        self.wait(lambda: self.get(f"/services/{COURSE}/api/status", "admin").status_code in (200, 403),
                  "the formgrader service to start")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the Hub stops the servers and services it started
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        proxy = self.root / "state" / "jupyterhub-proxy.pid"  # the Hub starts it in a session of its own
        if proxy.exists():
            try:
                os.kill(int(proxy.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass

    def hub_log(self):
        log = self.root / "state" / "jupyterhub.log"
        return log.read_text()[-6000:] if log.exists() else "(no log)"

    def wait(self, ready, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the Hub exited while waiting for {what}:\n{self.hub_log()}"
            try:
                if ready():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out after {WAIT} s waiting for {what}:\n{self.hub_log()}")

    # -- HTTP as a person (their token), never following redirects: a redirect to the login page is a refusal
    def request(self, method, path, who, **kwargs):
        headers = {"Authorization": f"token {self.tokens[who]}"}
        kwargs.setdefault("allow_redirects", False)
        return requests.request(method, self.url + path, headers=headers, timeout=WAIT, **kwargs)

    def get(self, path, who, **kwargs):
        return self.request("GET", path, who, **kwargs)

    def post(self, path, who, **kwargs):
        return self.request("POST", path, who, **kwargs)

    def formgrader(self, action):
        """The instructor presses a button of the formgrader (its API, as the page does)."""
        response = self.post(f"/services/{COURSE}/formgrader/api/assignment/{ASSIGNMENT}/{action}", INSTRUCTOR)
        assert response.status_code == 200, (action, response.status_code, self.hub_log())
        result = response.json()
        assert result.get("success"), f"formgrader {action} failed:\n{result.get('error')}\n{result.get('log')}"
        return result.get("log") or ""

    def assignments(self, student, action=None):
        """The student's Assignments tab: list, or fetch / submit / fetch_feedback (its HTTP API)."""
        base = f"/user/{student}/assignments"
        if action is None:
            response = self.get(base, student, params={"course_id": COURSE})
        else:
            response = self.post(f"{base}/{action}", student,
                                 data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
        assert response.status_code == 200, (student, action, response.status_code, response.text[:2000])
        return response.json()

    def terminal(self, who, *commands, server=None):
        """Open a terminal of ``who``'s own server (or of ``server``, a URL path such as /services/gmmlab) as its
        page does, type each command and return [(exit status, output)]: a login shell, with the PATH the Hub's
        profile gives, no PATH of the test's."""
        base = server or f"/user/{who}"
        opened = self.post(f"{base}/api/terminals", who)
        if opened.status_code != 200:
            return opened.status_code
        name = opened.json()["name"]
        ws = websocket.create_connection(f"ws{self.url[4:]}{base}/terminals/websocket/{name}", timeout=5,
                                         header=[f"Authorization: token {self.tokens[who]}"])
        results = []
        try:
            ws.send(json.dumps(["set_size", 50, 2000]))
            for i, command in enumerate(commands):
                ws.send(json.dumps(["stdin", f"{command}\recho __END{i}__$?\r"]))
                seen, deadline = "", time.monotonic() + WAIT
                while not (end := re.search(rf"__END{i}__(\d+)", seen)):
                    assert time.monotonic() < deadline, f"no end of `{command}` after {WAIT} s:\n{seen}"
                    try:  # short reads: the server's pings would keep one long read waiting forever
                        kind, *content = json.loads(ws.recv())
                    except websocket.WebSocketTimeoutException:
                        continue
                    if kind == "stdout":
                        seen += content[0]
                    assert kind != "disconnect", seen
                results.append((int(end.group(1)), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", seen)))
        finally:
            ws.close()
            self.request("DELETE", f"{base}/api/terminals/{name}", who)
        return results

    def as_user(self, user, *command, cwd=None):
        """Run a command as ``user``'s account (what their server's terminal runs)."""
        home = pwd.getpwnam(user).pw_dir
        env = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": f"{PREFIX / 'venv' / 'bin'}:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": self.env["GMMLAB_HUB_JUPYTER_CONFIG"]}
        return subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command],
                              cwd=cwd or home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", timeout=WAIT)


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.skip("the Hub creates real accounts and runs as root; the suite runs as root")
    for tool in ["jupyterhub", "jupyterhub-singleuser", "python"]:
        assert (PREFIX / "venv" / "bin" / tool).exists(), f"{PREFIX} has no Hub environment: run `make hub-env`"
    for user in [*ACCOUNTS, GRADER]:  # left behind by an interrupted run of this test (their home says so)
        if left_behind(user):
            remove_account(user)
    taken = [u for u in [*ACCOUNTS, GRADER] if exists(u)]
    if taken:
        pytest.skip(f"users {taken} already exist on this machine; the test creates and deletes its own")
    root = Path(tempfile.mkdtemp(prefix=TAG))
    root.chmod(0o755)
    (root / "pid").write_text(str(os.getpid()))  # this run's accounts are alive while it runs (left_behind)
    h = Hub(root)
    try:
        h.setup_log = h.setup()
        h.start()
        yield h
    finally:
        test_users = [user for user in [*ACCOUNTS, GRADER] if ours(user)]
        for user in test_users:  # their servers first, so the Hub has nothing left to stop
            stop_processes(user)
        h.stop()
        for user in test_users:
            remove_account(user)
        rotations = [f for f in Path("/etc/logrotate.d").glob("gmmlab-hub*") if str(root) in f.read_text()]
        for leftover in [Path(h.env["GMMLAB_HUB_PROFILE"]), *rotations]:
            leftover.unlink(missing_ok=True)
        if subprocess.run(["mountpoint", "-q", str(h.exchange)]).returncode == 0:  # the exchange's file system
            subprocess.run(["umount", str(h.exchange)], check=True)  # (a loop mount: its device goes with it)
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ the class

def answers(student):
    """alice answers everything, bob two of the four functions, carol nothing."""
    solution = course.solution_cells(ASSIGNMENT)
    if student == "hubt-alice":
        return solution
    if student == "hubt-bob":
        return {k: solution[k] for k in ["assign_clusters", "update_centers"]}
    return {}


def work(h, student):
    """The student opens the fetched notebook, writes their answers and saves it (the Contents API, as Lab does)."""
    path = f"/user/{student}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    response = h.get(path, student)
    assert response.status_code == 200, response.text[:2000]
    nb = nbformat.from_dict(response.json()["content"])  # gmmlab_course reads cells as notebook nodes
    mine = answers(student)
    for cell in nb["cells"]:
        if course.grade_id(cell) in mine:
            cell["source"] = mine[course.grade_id(cell)]
    response = h.request("PUT", path, student, json={"type": "notebook", "format": "json", "content": nb})
    assert response.status_code == 200, response.text[:2000]
    return nb


def start_server(h, user):
    response = h.post(f"/hub/api/users/{user}/server", "admin")
    assert response.status_code in (201, 202), response.text + h.hub_log()
    h.wait(lambda: h.get(f"/hub/api/users/{user}", "admin").json()["servers"].get("", {}).get("ready"),
           f"{user}'s server")


def scores(h):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{h.course_root / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        return {s.student.id: s.score for s in assignment.submissions}, assignment.max_score


def add_the_class(h):
    """Run the appendix's "Adding a class" block as written, with this Hub's header file, address and logins in
    place of /etc/gmmlab-hub, port 8000, lee, ta1 and a students.txt; only its last line, which sets passwords
    interactively, is left out. Every curl it runs goes through a shim that records its command line (what
    /proc/<pid>/cmdline shows every user) before running the real curl."""
    page = (REPO / "book" / "jupyterhub.md").read_text()
    block = re.search(r"## Adding a class.*?```bash\n(.*?)```", page, re.S).group(1)
    *commands, passwords = block.strip().splitlines()
    assert passwords.startswith("for login in") and "passwd" in passwords, passwords
    script = "\n".join(commands)
    for documented, ours_ in [("/etc/gmmlab-hub/admin-header", str(h.etc / "admin-header")),
                              ("http://127.0.0.1:8000", h.url), ('"lee"', f'"{INSTRUCTOR}"'), ('"ta1"', f'"{TA}"')]:
        assert documented in script, documented
        script = script.replace(documented, ours_)
    (h.root / "students.txt").write_text("".join(f"{student}\n" for student in STUDENTS))
    shim = h.root / "shim"
    shim.mkdir()
    (shim / "curl").write_text(f'#!/bin/sh\nprintf "%s\\0" "$0" "$@" >> {h.root / "curl-argv"}\n'
                               f'printf "\\n" >> {h.root / "curl-argv"}\nexec {shutil.which("curl")} "$@"\n')
    (shim / "curl").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=h.root, stdout=subprocess.PIPE, env=env,
                          stderr=subprocess.STDOUT, text=True, timeout=WAIT)


def snapshot(*places, skip=("gradebook.db", "gradebook.db-journal", ".nbgrader.log", "__pycache__")):
    """Every file and folder of ``places``: its mode, owner and content (what a second setup.sh must leave alone)."""
    seen = {}
    for place in map(Path, places):
        for path in [place, *(place.rglob("*") if place.is_dir() else [])]:
            if any(part in skip for part in path.parts):
                continue
            info = path.lstat()
            content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            seen[str(path)] = (info.st_mode, info.st_uid, info.st_gid, content)
    return seen


def alive(user):
    """The account's processes that have not ended (a zombie has: nothing may reap it in a container)."""
    uid, found = pwd.getpwnam(user).pw_uid, []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:  # ended while we looked
            continue
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            found.append(status.parent.name)
    return found


def a_grade(h, student):
    """One of ``student``'s grades with points in the gradebook: (id, auto score)."""
    import sqlite3

    with sqlite3.connect(h.course_root / "gradebook.db") as db:
        return db.execute("SELECT g.id, g.auto_score FROM grade g JOIN submitted_notebook n ON n.id = g.notebook_id "
                          "JOIN submitted_assignment a ON a.id = n.assignment_id WHERE a.student_id = ? AND g.auto_score > 0 "
                          "ORDER BY g.id LIMIT 1", (student,)).fetchone()


def documented(command, h):
    """``command`` as the appendix gives it (it must be there), with this Hub's paths in place of the defaults."""
    page = (REPO / "book" / "jupyterhub.md").read_text()
    assert command in page, f"book/jupyterhub.md no longer shows `{command}`"
    return command.replace("/etc/gmmlab-hub", str(h.etc)).replace("/opt/gmmlab-hub", str(PREFIX)).replace(
        "/var/lib/gmmlab-hub", str(h.root / "state"))


def test_a_class_runs_an_assignment_on_the_hub(hub):
    h = hub
    clock = [time.monotonic()]

    def phase(name):  # where the time goes (shown by pytest -s, or with a failure)
        now = time.monotonic()
        print(f"{name}: {now - clock[0]:.1f} s")
        clock[0] = now

    grader = pwd.getpwnam(GRADER)
    course_folders = {name: (h.exchange / COURSE / name).stat() for name in ["inbound", "outbound", "feedback"]}
    assert {name: (oct(st.st_mode & 0o7777), st.st_uid) for name, st in course_folders.items()} == {
        "inbound": ("0o2733", grader.pw_uid), "outbound": ("0o755", grader.pw_uid),
        "feedback": ("0o711", grader.pw_uid)}, "setup.sh made the exchange's course folders unlike nbgrader does"

    # -- the admin adds the class as book/jupyterhub.md says: real accounts, made by the Hub, in their groups
    added = add_the_class(h)
    assert added.returncode == 0, added.stdout[-3000:]
    token = h.tokens["admin"]
    command_lines = (h.root / "curl-argv").read_text().splitlines()
    assert len(command_lines) == 4 and all(f"\0@{h.etc / 'admin-header'}\0" in line for line in command_lines)
    assert not any(token in line for line in command_lines), "the admin token is on a command line"
    members = {group: sorted(h.get(f"/hub/api/groups/{group}", "admin").json()["users"])
               for group in [f"formgrade-{COURSE}", f"instructors-{COURSE}", f"nbgrader-{COURSE}"]}
    assert members == {f"formgrade-{COURSE}": sorted([INSTRUCTOR, TA]), f"instructors-{COURSE}": [INSTRUCTOR],
                       f"nbgrader-{COURSE}": sorted(STUDENTS)}, members
    for user in ACCOUNTS:
        account = pwd.getpwnam(user)
        assert Path(account.pw_dir).parent == h.root / "home" and (Path(account.pw_dir).stat().st_mode & 0o777) == 0o700
        response = h.post(f"/hub/api/users/{user}/tokens", "admin", json={"note": "test_jupyterhub"})
        assert response.status_code == 201, response.text
        h.tokens[user] = response.json()["token"]
    with ThreadPoolExecutor(len(STUDENTS)) as pool:  # the class logs in at once
        list(pool.map(lambda s: start_server(h, s), STUDENTS))

    phase("accounts and servers")
    # -- before the first release, alice tries to take the exchange's course folders, from her server's terminal;
    #    she sees only her own processes (where the host allows /proc hidepid=2)
    alice, bob, carol = STUDENTS
    course_exchange = h.exchange / COURSE
    (on_path, _), (squat, squat_log), (own, _), (pid1, seen) = h.terminal(
        alice, "command -v nbgrader", f"mkdir -p {course_exchange}/inbound {course_exchange}/outbound "
        f"{course_exchange}/feedback && mkdir {course_exchange}/outbound/{ASSIGNMENT}",
        f"test -O {course_exchange}/outbound", "test -e /proc/1")
    assert on_path == 0 and squat != 0 and "Permission denied" in squat_log and own != 0, squat_log
    assert "warning: this host does not let the Hub mount /proc" not in h.setup_log  # this machine lets it
    assert pid1 != 0, f"a student sees root's processes in /proc:\n{seen}"

    # -- the instructor generates and releases the assignment in the formgrader
    h.formgrader("assign")
    h.formgrader("release")

    phase("generate and release")
    # -- each student fetches, works and submits in their own server
    for student in STUDENTS:
        listed = h.assignments(student)
        assert listed["success"] and [a["assignment_id"] for a in listed["value"]] == [ASSIGNMENT], listed
        fetched = h.assignments(student, "fetch")
        assert fetched["success"], fetched
        home = Path(pwd.getpwnam(student).pw_dir)
        assert (home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_uid == pwd.getpwnam(student).pw_uid
    notebooks = {student: work(h, student) for student in STUDENTS}
    for student in STUDENTS:
        submitted = h.assignments(student, "submit")
        assert submitted["success"], submitted
    inbound = h.exchange / COURSE / "inbound"
    for student in STUDENTS:  # each submission is named after, and owned by, its account, and nobody else's
        mine = list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))
        assert len(mine) == 1 and mine[0].stat().st_uid == pwd.getpwnam(student).pw_uid, mine
        assert (mine[0].stat().st_mode & 0o7777, mine[0].stat().st_gid) == (0o770, grader.pw_gid)

    phase("fetch, work, submit")
    # -- alice, in her server's terminal, submits her own (full-marks) notebook under bob's name, after bob
    [(forged, forged_log)] = h.terminal(alice, f"nbgrader submit {ASSIGNMENT} --course={COURSE} --student={bob}")
    assert forged == 0, forged_log[-3000:]
    assert len(list(inbound.glob(f"{bob}+{ASSIGNMENT}+*"))) == 2

    phase("forged submission")
    # -- the instructor collects: bob's own submission, not alice's forgery, which the log names
    log = h.formgrader("collect")
    assert re.search(r"claims to be submitted by hubt-bob but is owned by hubt-alice: not collected", log), log
    collected = json.loads((h.course_root / "submitted" / bob / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())

    def sources(nb):
        return ["".join(cell["source"]) for cell in nb["cells"]]

    assert sources(collected) == sources(notebooks[bob]), "bob's collected submission is not his own"

    phase("collect")
    # -- autograding: instructors only, sandboxed, as root
    for who in [TA, alice]:
        refused = h.post(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", who)
        assert refused.status_code == 403, (who, refused.status_code)
    job = {}

    def autograde():
        started = h.post(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", INSTRUCTOR)
        assert started.status_code == 202, started.text

        def graded():
            job.update(h.get(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", INSTRUCTOR).json())
            return job["state"] == "done"

        h.wait(graded, "autograding")
        return job

    autograde()
    assert job["returncode"] == 0 and "3 of 3 submissions graded" in job["log"], job["log"][-4000:]
    assert "started by hubt-instructor" in job["log"]
    page = h.get(f"/services/{COURSE}-autograde/", INSTRUCTOR)  # the instructors' page shows the run
    assert page.status_code == 200 and ASSIGNMENT in page.text and "exit status 0" in page.text, page.text[:2000]
    got, max_score = scores(h)
    assert got[alice] == max_score and got[carol] == 0 and 0 < got[bob] < max_score, got
    assert all(p.stat().st_uid == grader.pw_uid for p in (h.course_root / "autograded").rglob("*"))

    phase("autograde")
    # -- feedback: generated and released in the formgrader, fetched by each student
    h.formgrader("generate_feedback")
    h.formgrader("release_feedback")
    for student in STUDENTS:
        assert h.assignments(student, "fetch_feedback")["success"]
        pages = list((Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
        assert len(pages) == 1, (student, pages)
        page = pages[0].read_text()
        assert f"{ASSIGNMENT} (Score: {float(got[student])} / {float(max_score)})" in page, (student, got)

    phase("feedback")
    # -- what each person can reach
    bob_home = pwd.getpwnam(bob).pw_dir
    denied = {
        "another student's work": ["cat", f"{bob_home}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"],
        "another student's home": ["ls", bob_home],
        "the list of accounts' homes": ["ls", str(h.root / "home")],
        "the exchange's inbound folder": ["ls", str(inbound)],
        "the course directory": ["ls", str(h.course_root)],
        "the gradebook": ["cat", str(h.course_root / "gradebook.db")],
        "the collected submissions": ["ls", str(h.course_root / "submitted")],
        "the Hub's configuration": ["cat", str(h.etc / "admin-header")],
    }
    for what, command in denied.items():
        result = h.as_user(alice, *command)
        assert result.returncode != 0 and "Permission denied" in result.stdout, f"a student can read {what}"
    assert h.as_user(bob, *denied["another student's work"]).returncode == 0  # bob can: the check itself works
    assert h.as_user(GRADER, *denied["the gradebook"]).returncode == 0
    assert h.get(f"/user/{bob}/api/contents/{ASSIGNMENT}", alice).status_code in (403, 404)
    assert h.get(f"/user/{bob}/api/contents/{ASSIGNMENT}", bob).status_code == 200

    for who, allowed in [(TA, True), (INSTRUCTOR, True), (alice, False)]:
        page = h.get(f"/services/{COURSE}/formgrader", who, allow_redirects=True)  # to its first page
        assert (page.status_code == 200) == allowed, (who, page.status_code, page.url)
        if allowed:
            assert f"/services/{COURSE}/formgrader/" in page.url and "Manage Assignments" in page.text, page.url
        api = h.get(f"/services/{COURSE}/formgrader/api/assignments", who)
        assert (api.status_code == 200) == allowed, (who, api.status_code)
    assert h.get(f"/user/{alice}/formgrader", alice).status_code == 404  # not in a student's own server either
    phase("permissions")

    # -- the teaching assistant: no shell, kernel or file write as the grader account in the formgrader; from their
    #    own server, neither the gradebook nor the course configuration
    formgrader = f"/services/{COURSE}"
    assert h.terminal(TA, "id", server=formgrader) == 403
    assert h.post(f"{formgrader}/api/kernels", TA, json={"name": "python3"}).status_code == 403
    config = h.get(f"{formgrader}/api/contents/nbgrader_config.py", TA)
    assert config.status_code == 200  # reading is allowed
    written = h.request("PUT", f"{formgrader}/api/contents/nbgrader_config.py", TA,
                        json={"type": "file", "format": "text", "content": "import os\n"})
    assert written.status_code == 403, written.status_code
    start_server(h, TA)
    gradebook = h.course_root / "gradebook.db"
    edit = (f"python -c \"import sqlite3; db = sqlite3.connect('{gradebook}'); "
            f"db.execute('UPDATE grade SET manual_score = 12'); db.commit()\"")
    [(sqlite_edit, sqlite_log), (config_write, config_log)] = h.terminal(
        TA, edit, f"echo 'import os' >> {h.course_root / 'nbgrader_config.py'}")
    assert sqlite_edit != 0 and "unable to open database file" in sqlite_log, sqlite_log
    assert config_write != 0 and "Permission denied" in config_log, config_log
    # the root autograder refuses a course configuration that is not root's (as a shell of the grader account
    # would leave it); setup.sh puts root's back
    replaced = h.as_user(GRADER, "sh", "-c", "cp nbgrader_config.py mine.py && mv -f mine.py nbgrader_config.py",
                         cwd=h.course_root)
    assert replaced.returncode == 0 and (h.course_root / "nbgrader_config.py").stat().st_uid == grader.pw_uid
    autograde()
    assert job["returncode"] == 1 and "refusing to run it as root" in job["log"], job["log"][-2000:]
    phase("teaching assistant")

    # -- backup (as root, while the Hub runs); grades changed by the TA in the formgrader and by the instructor in
    #    the formgrader's terminal, both in the audit; the restore brings the grades back
    backup = subprocess.run(documented("/opt/gmmlab-hub/venv/bin/python /etc/gmmlab-hub/lib/gmmlab_hub.py backup",
                                       h).split(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert backup.returncode == 0, backup.stdout
    saved = Path(backup.stdout.strip().splitlines()[-1])
    assert {p.name for p in saved.iterdir()} == {"gradebook.db", "jupyterhub.sqlite", "etc.tar.gz", "state.tar.gz",
                                                 "course.tar.gz", "exchange.tar.gz", "homes.tar.gz"}
    grade_id, auto = a_grade(h, bob)
    changed = h.request("PUT", f"{formgrader}/formgrader/api/grade/{grade_id}", TA,
                        json={"manual_score": auto + 1, "extra_credit": None})
    assert changed.status_code == 200, changed.text[:2000]
    shell_edit = (f"python -c \"import sqlite3; db = sqlite3.connect('gradebook.db'); "
                  f"db.execute('UPDATE grade SET manual_score = 0 WHERE id = ?', ['{grade_id}']); db.commit()\"")
    audit_command = documented("python /etc/gmmlab-hub/lib/gmmlab_hub.py audit", h)
    [(edited, edit_log), (exported, export_log), (listed, trail)] = h.terminal(
        INSTRUCTOR, shell_edit, "nbgrader export", audit_command, server=formgrader)
    assert edited == 0 and exported == 0 and (h.course_root / "grades.csv").exists(), edit_log + export_log
    rows = [line.split(" | ") for line in trail.splitlines() if " | manual_score | " in line]
    assert [row[1:] for row in rows] == [
        [TA, bob, ASSIGNMENT, rows[0][4], "manual_score", "", str(auto + 1)],
        ["(no Hub user: a shell of the grader account)", bob, ASSIGNMENT, rows[0][4], "manual_score",
         str(auto + 1), "0.0"]], trail
    assert scores(h)[0][bob] != got[bob]
    restored = subprocess.run(
        [*documented("/opt/gmmlab-hub/venv/bin/python /etc/gmmlab-hub/lib/gmmlab_hub.py restore", h).split(),
         str(saved)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert restored.returncode == 0, restored.stdout
    assert scores(h) == (got, max_score)
    phase("audit, backup and restore")

    # -- limits: a memory hog, a big file and a process left behind, in a student's server
    [(hog, hog_log), (big, big_log), (nohup, _), (running, _)] = h.terminal(
        carol, "python -c 'bytearray(3 * 2**30)'", "head -c 20M /dev/zero > big",
        "setsid nohup sleep 100000 > /dev/null 2>&1 < /dev/null &",
        # waits until the background process is sleep itself (it starts as setsid, then nohup), up to WAIT
        "until pgrep -u $USER -xf 'sleep 100000'; do sleep 0.1; done")
    assert hog != 0 and "MemoryError" in hog_log, hog_log
    assert big != 0 and (Path(pwd.getpwnam(carol).pw_dir) / "big").stat().st_size == 10 * 2**20, big_log
    assert nohup == 0 and running == 0
    stopped = h.request("DELETE", f"/hub/api/users/{carol}/server", "admin")
    assert stopped.status_code in (202, 204), stopped.text
    h.wait(lambda: not alive(carol), f"every process of {carol} to end with her server")
    # the idle culler runs as a Hub service; /hub/metrics answers the metrics token only
    culler = h.get("/hub/api/services/idle-culler", "admin")
    assert culler.status_code == 200 and "jupyterhub_idle_culler" in culler.json()["command"], culler.text
    os.kill(culler.json()["pid"], 0)  # it runs
    h.tokens["metrics"] = (h.etc / "metrics-token").read_text().strip()
    metrics = h.get("/hub/metrics", "metrics")
    assert metrics.status_code == 200 and "jupyterhub_" in metrics.text
    assert h.get("/hub/metrics", alice).status_code == 403
    log = h.root / "state" / "jupyterhub.log"  # the Hub's log, which logrotate turns
    assert log.stat().st_size and any(f"{log} {{" in f.read_text() for f in Path("/etc/logrotate.d").glob("gmmlab-hub*"))
    phase("limits, culler, metrics")

    # -- `make hub` again (after pulling a new version of the course), told only where its settings are: the class,
    #    its work and every setting are kept, and nothing changes but the course configuration, root's again
    places = [h.etc, h.root / "etc-jupyter", h.exchange, h.course_root, h.env["GMMLAB_HUB_PROFILE"]]
    before = snapshot(*places)
    setup_again = h.setup(env={"GMMLAB_HUB_ETC": str(h.etc)})
    after = snapshot(*places)
    config = str(h.course_root / "nbgrader_config.py")
    assert after[config][1] == 0 and before[config][1] == grader.pw_uid
    assert {k: v for k, v in after.items() if k != config} == {k: v for k, v in before.items() if k != config}
    assert "systemd does not run the Hub here" in setup_again
    assert (h.etc / "admin-token").read_text().strip() == token
    assert scores(h) == (got, max_score) and (h.exchange.stat().st_mode & 0o7777) == 0o1777
    assert len(list(inbound.iterdir())) == len(STUDENTS) + 1 and h.course_root.stat().st_uid == grader.pw_uid
    phase("setup.sh again")

    # -- the exchange is a file system of its own: a student who fills it with submissions fills no one's home
    carol_home = Path(pwd.getpwnam(carol).pw_dir)
    assert subprocess.run(["mountpoint", "-q", str(h.exchange)]).returncode == 0
    assert h.exchange.stat().st_dev != carol_home.stat().st_dev
    start_server(h, carol)
    [(filled, fill_log), (written, write_log)] = h.terminal(
        carol, f"mkdir {inbound}/{carol}+filler && for i in $(seq 20); do head -c 9M /dev/zero > "
        f"{inbound}/{carol}+filler/$i || break; done; test $i -lt 20",
        "head -c 9M /dev/zero > after-the-exchange-filled")
    assert filled == 0 and "No space left on device" in fill_log, fill_log
    assert written == 0 and (carol_home / "after-the-exchange-filled").stat().st_size == 9 * 2**20, write_log
    shutil.rmtree(inbound / f"{carol}+filler")
    phase("the exchange's own file system")
