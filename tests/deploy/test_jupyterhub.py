"""The course's JupyterHub (deploy/jupyterhub/, book/jupyterhub.md), set up on a temporary machine and used by a class.

``deploy/jupyterhub/setup.sh`` runs as documented, with its paths moved into a temporary directory and its ports to
free ones on 127.0.0.1 (its environment variables); the software comes from ``make hub-env`` (the Hub's pinned
environment at /opt/gmmlab-hub-test, built by ``make test``). The Hub then runs a whole assignment through its REST
API and the users' own servers, as the people of a class would: an admin creates an instructor, a teaching
assistant and three students (real local accounts, made by the Hub) and gives them their groups; the instructor
generates and releases ps1-kmeans in the formgrader; each student fetches it in the Assignments tab of their own
server (nbgrader's assignment-list extension, over HTTP with their token), answers and submits; alice also submits
under bob's name from her terminal; the instructor collects, autogrades (the Hub's autograde service, sandboxed) and
releases feedback, and the students fetch it. Then: who can reach what. Every account, process and file the test
made is removed at the end.

Two cheap checks go with it: the Hub's pins are the course's, and the Hub's collect (OwnerCheckedCollect) leaves
in the exchange whatever one account submitted under another's name, a symbolic link included.
"""

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

import pytest
import requests

from gmmlab_course import coursedir as course

pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.root, pytest.mark.browser]

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
        }
        self.course_root = root / "srv" / "course"
        self.exchange = root / "exchange"
        self.tokens = {}
        self.process = None

    # -- setting up and starting, as book/jupyterhub.md does
    def setup(self):
        result = subprocess.run(["bash", str(DEPLOY / "setup.sh")], env={**os.environ, **self.env},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
        assert result.returncode == 0, f"setup.sh failed:\n{result.stdout[-5000:]}"
        return result.stdout

    def start(self):
        etc = Path(self.env["GMMLAB_HUB_ETC"])
        env_file = dict(line.split("=", 1) for line in (etc / "env").read_text().splitlines() if "=" in line)
        env = {**os.environ, **env_file, "PATH": f"{PREFIX / 'venv' / 'bin'}:{os.environ['PATH']}"}
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.log = open(self.root / "hub.log", "w")
        self.process = subprocess.Popen(
            [str(PREFIX / "venv" / "bin" / "jupyterhub"), "-f", str(etc / "jupyterhub_config.py")],
            cwd=self.env["GMMLAB_HUB_STATE"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.tokens["admin"] = (etc / "admin-token").read_text().strip()
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
        if self.process:
            self.log.close()

    def hub_log(self):
        return (self.root / "hub.log").read_text()[-6000:]

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
        assert response.status_code == 200, (action, response.status_code, response.text[:2000])
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
        if ours(user):
            remove_account(user)
    taken = [u for u in [*ACCOUNTS, GRADER] if exists(u)]
    if taken:
        pytest.skip(f"users {taken} already exist on this machine; the test creates and deletes its own")
    root = Path(tempfile.mkdtemp(prefix=TAG))
    root.chmod(0o755)
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
    nb = response.json()["content"]
    mine = answers(student)
    for cell in nb["cells"]:
        if course.grade_id(cell) in mine:
            cell["source"] = mine[course.grade_id(cell)]
    response = h.request("PUT", path, student, json={"type": "notebook", "format": "json", "content": nb})
    assert response.status_code == 200, response.text[:2000]
    return nb


def start_server(h, user):
    response = h.post(f"/hub/api/users/{user}/server", "admin")
    assert response.status_code in (201, 202), response.text
    h.wait(lambda: h.get(f"/hub/api/users/{user}", "admin").json()["servers"].get("", {}).get("ready"),
           f"{user}'s server")


def scores(h):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{h.course_root / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        return {s.student.id: s.score for s in assignment.submissions}, assignment.max_score


def add_the_class(h):
    """Run the appendix's "Adding a class" block as written, with this Hub's token file, address and logins in place
    of /etc/gmmlab-hub, port 8000, lee, ta1 and a students.txt; only its last line, which sets passwords
    interactively, is left out."""
    page = (REPO / "book" / "jupyterhub.md").read_text()
    block = re.search(r"## Adding a class.*?```bash\n(.*?)```", page, re.S).group(1)
    *commands, passwords = block.strip().splitlines()
    assert passwords.startswith("for login in") and "passwd" in passwords, passwords
    script = "\n".join(commands)
    for documented, ours_ in [("/etc/gmmlab-hub/admin-token", str(Path(h.env["GMMLAB_HUB_ETC"]) / "admin-token")),
                              ("http://127.0.0.1:8000", h.url), ('"lee"', f'"{INSTRUCTOR}"'), ('"ta1"', f'"{TA}"')]:
        assert documented in script, documented
        script = script.replace(documented, ours_)
    (h.root / "students.txt").write_text("".join(f"{student}\n" for student in STUDENTS))
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=h.root, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=WAIT)


def test_a_class_runs_an_assignment_on_the_hub(hub):
    h = hub
    clock = [time.monotonic()]

    def phase(name):  # where the time goes (shown by pytest -s, or with a failure)
        now = time.monotonic()
        print(f"{name}: {now - clock[0]:.1f} s")
        clock[0] = now

    # -- the admin adds the class as book/jupyterhub.md says: real accounts, made by the Hub, in their groups
    added = add_the_class(h)
    assert added.returncode == 0, added.stdout[-3000:]
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
    for student in STUDENTS:  # each submission is named after, and owned by, its account
        mine = list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))
        assert len(mine) == 1 and mine[0].stat().st_uid == pwd.getpwnam(student).pw_uid, mine

    phase("fetch, work, submit")
    # -- alice, from her server's terminal, submits her own (full-marks) notebook under bob's name, after bob
    forged = h.as_user("hubt-alice", "nbgrader", "submit", ASSIGNMENT, f"--course={COURSE}", "--student=hubt-bob")
    assert forged.returncode == 0, forged.stdout[-3000:]
    assert len(list(inbound.glob(f"hubt-bob+{ASSIGNMENT}+*"))) == 2

    phase("forged submission")
    # -- the instructor collects: bob's own submission, not alice's forgery, which the log names
    log = h.formgrader("collect")
    assert re.search(r"claims to be submitted by hubt-bob but is owned by hubt-alice: not collected", log), log
    collected = json.loads((h.course_root / "submitted" / "hubt-bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    def sources(nb):
        return ["".join(cell["source"]) for cell in nb["cells"]]

    assert sources(collected) == sources(notebooks["hubt-bob"]), "bob's collected submission is not his own"

    phase("collect")
    # -- autograding: instructors only, sandboxed, as root
    for who in [TA, "hubt-alice"]:
        refused = h.post(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", who)
        assert refused.status_code == 403, (who, refused.status_code)
    started = h.post(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", INSTRUCTOR)
    assert started.status_code == 202, started.text
    job = {}

    def graded():
        job.update(h.get(f"/services/{COURSE}-autograde/api/autograde/{ASSIGNMENT}", INSTRUCTOR).json())
        return job["state"] == "done"

    h.wait(graded, "autograding")
    assert job["returncode"] == 0 and "3 of 3 submissions graded" in job["log"], job["log"][-4000:]
    assert "started by hubt-instructor" in job["log"]
    page = h.get(f"/services/{COURSE}-autograde/", INSTRUCTOR)  # the instructors' page shows the run
    assert page.status_code == 200 and ASSIGNMENT in page.text and "exit status 0" in page.text, page.text[:2000]
    got, max_score = scores(h)
    assert got["hubt-alice"] == max_score and got["hubt-carol"] == 0 and 0 < got["hubt-bob"] < max_score, got
    grader = pwd.getpwnam(GRADER).pw_uid  # what root wrote is the course's again
    assert all(p.stat().st_uid == grader for p in (h.course_root / "autograded").rglob("*"))

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
    alice, bob = STUDENTS[0], STUDENTS[1]
    bob_home = pwd.getpwnam(bob).pw_dir
    denied = {
        "another student's work": ["cat", f"{bob_home}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"],
        "another student's home": ["ls", bob_home],
        "the exchange's inbound folder": ["ls", str(inbound)],
        "the course directory": ["ls", str(h.course_root)],
        "the gradebook": ["cat", str(h.course_root / "gradebook.db")],
        "the collected submissions": ["ls", str(h.course_root / "submitted")],
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

    # -- `make hub` again (after pulling a new version of the course): the class and its work are kept
    token, env_file = h.tokens["admin"], (h.root / "etc" / "env").read_text()
    h.setup()
    assert (h.root / "etc" / "admin-token").read_text().strip() == token
    assert (h.root / "etc" / "env").read_text() == env_file
    assert scores(h) == (got, max_score) and (h.exchange.stat().st_mode & 0o7777) == 0o1777
    assert len(list(inbound.iterdir())) == len(STUDENTS) + 1 and h.course_root.stat().st_uid == grader
    phase("setup.sh again")
