"""The appendix *For instructors* (book/instructors.md), executed: its command blocks run in order and do what it says.

Blocks marked ``:class: admin-run`` run as root, ``instructor-run`` as the instructor in a temporary course root
and ``student-run`` as each of two real, temporary OS accounts (alice and bob) in their own home directories, as
nbgrader runs its own user guide. The only substitutions are the two paths the appendix defines as variables, the
exchange (``EXCHANGE=``) and the system-wide configuration (``SYSTEM_CONFIG=``), moved into a temporary directory;
every user's nbgrader finds that configuration through ``JUPYTER_CONFIG_PATH``, as it would find
``/etc/jupyter``. Between blocks the test does what people do (students fill in their notebooks, an e-mailed
notebook and a Canvas download arrive, a hidden test gets fixed) and checks each block's documented effect.
"""

import csv
import datetime
import importlib.util
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytest
from sqlalchemy.exc import SAWarning

from gmmlab_course import coursedir as course

pytestmark = [pytest.mark.slow(minutes=5), pytest.mark.root]

REPO = course.REPO
APPENDIX = REPO / "book" / "instructors.md"
ASSIGNMENT = "ps4-em"
STUDENTS = ["alice", "bob"]  # OS accounts: they fetch and submit through the exchange
ON_TIME = "2026-03-05 12:00:00.000000 UTC"  # the due date in the appendix is 2026-03-06 17:00 UTC
BLOCK = re.compile(r"^```\{code-block\} bash\n((?::[\w-]+:[^\n]*\n)+)\n(.*?)^```", re.S | re.M)
ROLES = {"admin-run", "instructor-run", "student-run"}
FIXED_TEST_MESSAGE = "the fixed hidden test of bic ran"
PREFIX = "gmmlab-appendix-"  # the temporary machine's shared directory (exchange, homes, system configuration)

spec = importlib.util.spec_from_file_location("canvas_zip", REPO / "tests" / "course" / "fixtures" / "lms" / "canvas_zip.py")
canvas_zip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(canvas_zip)


def appendix_blocks():
    """[(name, role, script)] of the appendix's executable blocks, in order."""
    blocks = []
    for options, script in BLOCK.findall(APPENDIX.read_text()):
        opts = dict(re.findall(r"^:([\w-]+):\s*(.*)$", options, re.M))
        role = opts.get("class", "")
        assert role in ROLES, f"code-block {opts.get('name')!r} has class {role!r}, not one of {sorted(ROLES)}"
        assert opts.get("name"), f"an executable block has no :name: ({script[:60]!r})"
        blocks.append((opts["name"], role, script))
    return blocks


def test_the_appendix_marks_its_blocks():
    names = [name for name, _, _ in appendix_blocks()]
    assert len(names) == len(set(names))
    # every step the appendix documents is executed (a block left unmarked would silently escape the test)
    assert set(CHECKS) <= set(names), set(CHECKS) - set(names)
    assert set(names) <= set(CHECKS), f"no check for {set(names) - set(CHECKS)}: add one to CHECKS"


def test_grading_times_are_the_benchmarks_recorded_output():
    """The appendix shows how long grading takes as the benchmark's own recorded output, never as typed numbers."""
    spec = importlib.util.spec_from_file_location("autograde_benchmark", REPO / "benchmarks" / "autograde.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    section = APPENDIX.read_text().split("## How long grading takes")[1].split("\n## ")[0]
    assert "```{literalinclude} ../benchmarks/recorded/autograde.txt" in section
    prose = re.sub(r"```.*?```", "", section, flags=re.S)
    assert not re.findall(r"\d+\.\d", prose), "a measured number is typed into the prose; show the record instead"
    lines = benchmark.RECORD.read_text().splitlines()
    assert lines[0].startswith("$ .venv/bin/python benchmarks/autograde.py --record"), lines[0]
    assert re.match(r"# measured \d{4}-\d\d-\d\d on .+, \d+ cores, load average", lines[1]), lines[1]
    cpu = lines.index(benchmark.CPU_HEADER)
    assert [line.split()[0] for line in lines[cpu + 1: cpu + 1 + len(course.ASSIGNMENTS)]] == course.ASSIGNMENTS
    rows = lines[lines.index(benchmark.CLASS_HEADER) + 1:]
    assert [row.split()[0] for row in rows] == ["1", "2"]


# ------------------------------------------------------------------------------------------------ the people

class Class:
    """A temporary machine: the course root, the shared directory, the student accounts, and how to run as each."""

    def __init__(self, course_root, shared):
        self.root = course_root
        self.shared = shared
        self.exchange = shared / "exchange"
        self.system_config = shared / "etc-jupyter" / "nbgrader_config.py"
        self.homes = {s: shared / "home" / s for s in STUDENTS}
        self.outputs = {}

    def env(self, **extra):
        return course.environment(JUPYTER_CONFIG_PATH=str(self.system_config.parent), **extra)

    def substitute(self, script):
        script = re.sub(r"^EXCHANGE=\S+", f"EXCHANGE={self.exchange}", script, flags=re.M)
        return re.sub(r"^SYSTEM_CONFIG=\S+", f"SYSTEM_CONFIG={self.system_config}", script, flags=re.M)

    def run(self, script, role, student=None):
        command = ["bash", "-e", "-o", "pipefail", "-c", self.substitute(script)]
        if role == "student-run":
            home = self.homes[student]
            env = self.env(HOME=str(home), USER=student, LOGNAME=student)
            cwd = home
            # The student's own uid and groups. The course's Python may live where only root can reach it (a
            # pyenv under /root), so the student keeps one capability, searching directories: nbgrader still
            # sees, creates and owns everything as the student (what identity and collect's owner check use).
            command = ["setpriv", f"--reuid={student}", f"--regid={student}", "--init-groups",
                       "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--", *command]
        else:
            env = self.env(HOME=str(self.shared / "instructor"))
            cwd = self.root
        return subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=1800)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(f"sqlite:///{self.root / 'gradebook.db'}")

    def scores(self):
        """{student: (raw score, penalty)} of ps4-em in the gradebook."""
        with self.gradebook() as gb:
            return {s.student.id: (s.score, s.late_submission_penalty or 0.0)
                    for s in gb.find_assignment(ASSIGNMENT).submissions}


def make_accounts(shared):
    """Create the students' OS accounts (removed by the caller); skip if such users already exist here."""
    if os.geteuid() != 0:
        pytest.skip("the appendix's student accounts need root to create (useradd); the suite runs as root")
    for student in STUDENTS:  # left behind by an interrupted run of this test (their home says so)
        if _exists(student) and pwd.getpwnam(student).pw_dir.startswith(str(Path(tempfile.gettempdir()) / PREFIX)):
            remove_account(student)
    taken = [s for s in STUDENTS if _exists(s)]
    if taken:
        pytest.skip(f"users {taken} already exist on this machine; the test creates and deletes its own")
    for student in STUDENTS:
        home = shared / "home" / student
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                        "--user-group", student], check=True)
        home.mkdir(parents=True)
        shutil.chown(home, student, student)
        home.chmod(0o700)


def remove_account(student):
    if shutil.which("pkill"):
        subprocess.run(["pkill", "-KILL", "-u", student], check=False)
    subprocess.run(["userdel", student], check=False)


def _exists(user):
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


@pytest.fixture
def machine(tmp_path):
    shared = Path(tempfile.mkdtemp(prefix=PREFIX))  # outside pytest's private tmp, so students reach it
    shared.chmod(0o755)
    (shared / "home").mkdir(mode=0o755)
    (shared / "instructor").mkdir()
    try:
        make_accounts(shared)
        root = tmp_path / "course"
        root.mkdir()
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions", root / "solutions")
        yield Class(root, shared)
    finally:
        for student in STUDENTS:
            if _exists(student) and str(pwd.getpwnam(student).pw_dir).startswith(str(shared)):
                remove_account(student)
        shutil.rmtree(shared, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ what people do

def answers(student):
    solution = course.solution_cells(ASSIGNMENT)
    for name in solution:
        if name.startswith("written_"):
            solution[name] = f"{student}'s answer to {name}: the component's covariance becomes singular."
    if student == "bob":  # two functions and one written answer
        return {k: solution[k] for k in ["run_em", "fit_gmm", "written_collapse"]}
    return solution


def notebook_text(root, student):
    return json.dumps(course.submission(root, ASSIGNMENT, answers(student)), indent=1)


def work_on_notebook(m, student):
    path = m.homes[student] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_uid == pwd.getpwnam(student).pw_uid, "fetch_assignment did not run as the student"
    path.write_text(notebook_text(m.root, student))
    shutil.chown(path, student, student)


def submitted_on_time(m):
    """The students submitted the day before the deadline. The test runs later than the appendix's due date and
    collect times a submission by the kernel's clock, which a test cannot set back, so the collected time (the
    instructor's file) is moved, after checking that it is the clock's and not the student's timestamp.txt."""
    for student in STUDENTS:
        stamp = m.root / "submitted" / student / ASSIGNMENT / "timestamp.txt"
        inbound = next((m.exchange / "gmmlab" / "inbound").glob(f"{student}+{ASSIGNMENT}+*")) / "timestamp.txt"
        collected = datetime.datetime.strptime(stamp.read_text(), "%Y-%m-%d %H:%M:%S.%f %Z")
        assert abs(collected.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()) < 3600, stamp.read_text()
        assert inbound.exists() and stamp.read_text() != inbound.read_text()
        stamp.write_text(ON_TIME)


def email_arrives(m):
    (m.root / "carol-ps4-em.ipynb").write_text(notebook_text(m.root, "carol"))


def canvas_download(m):
    blank = json.dumps(course.release_notebook(m.root, ASSIGNMENT), indent=1)
    canvas_zip.write_canvas_zip(m.root / "submissions.zip", ASSIGNMENT, notebook_text(m.root, "dave"), blank)


def instructor_tries_it(m):
    """A stray: the instructor's own test submission, placed by hand (graded, then removed in step 8)."""
    course.place(m.root, "tester", ASSIGNMENT, course.release_notebook(m.root, ASSIGNMENT))


def fix_hidden_test(m):
    """Fix a hidden test in solutions/ (so that it visibly changes the grade), and check that the course refuses
    to regrade until the gradebook has it."""
    path = m.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = course.read_notebook(path)  # a NotebookNode: course.grade_id reads cell.metadata
    cell = next(c for c in nb.cells if course.grade_id(c) == "test_bic_hidden")
    assert "### END HIDDEN TESTS" in cell.source
    cell.source = cell.source.replace("### END HIDDEN TESTS",
                                      f'raise AssertionError("{FIXED_TEST_MESSAGE}")\n### END HIDDEN TESTS')
    path.write_text(json.dumps(nb, indent=1))
    stale = course.nbgrader("autograde", ASSIGNMENT, "--force", cwd=m.root, env=m.env(), check=False)
    assert stale.returncode != 0, "autograde graded with a gradebook older than solutions/"
    assert f"nbgrader generate_assignment {ASSIGNMENT} --force" in stale.stdout, stale.stdout[-3000:]
    assert "test_bic_hidden" in stale.stdout, "the refusal does not name the changed test"


BEFORE = {
    "instructors-submit": lambda m, s: work_on_notebook(m, s),
    "instructors-hand-placed": lambda m, s: email_arrives(m),
    "instructors-zip-collect": lambda m, s: canvas_download(m),
    "instructors-autograde": lambda m, s: instructor_tries_it(m),
    "instructors-regrade": lambda m, s: fix_hidden_test(m),
}
AFTER = {"instructors-collect": lambda m, s: submitted_on_time(m)}

# ------------------------------------------------------------------------------------------------ what must hold


def check_machine(m, out, student):
    assert stat.S_IMODE(m.exchange.stat().st_mode) == 0o1777
    assert f'c.Exchange.root = "{m.exchange}"' in m.system_config.read_text()
    assert 'c.ExchangeFactory.collect = "gmmlab_course.collect.OwnerCheckedCollect"' in m.system_config.read_text()


def check_roster(m, out, student):
    with m.gradebook() as gb:
        assert {s.id: s.lms_user_id for s in gb.students} == {
            "alice": "10001", "bob": "10002", "carol": "10003", "dave": "10004", "erin": "10005", "frank": "10006"}


def check_generate(m, out, student):
    assert (m.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    with m.gradebook() as gb:
        assert gb.find_assignment(ASSIGNMENT).max_score == 18


def check_release(m, out, student):
    assert (m.exchange / "gmmlab" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    with m.gradebook() as gb:
        assert str(gb.find_assignment(ASSIGNMENT).duedate) == "2026-03-06 17:00:00"


def check_late_policy(m, out, student):
    assert (m.root / "late_policy.py").exists()
    assert 'late_policy.TenPercentPerDay' in (m.root / "nbgrader_config.py").read_text()


def check_fetch(m, out, student):
    assert "ps4-em" in out, f"{student} does not see the released assignment (exchange configuration?)"
    assert (m.homes[student] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()


def check_submit(m, out, student):
    uid = pwd.getpwnam(student).pw_uid
    mine = list((m.exchange / "gmmlab" / "inbound").glob(f"{student}+{ASSIGNMENT}+*"))
    assert len(mine) == 1 and mine[0].stat().st_uid == uid, "the submission is not named after its OS account"


def check_collect(m, out, student):
    assert "cheating attempt" not in out
    for s in STUDENTS:
        assert (m.root / "submitted" / s / ASSIGNMENT / "submission_secret.txt").exists()


def check_hand_placed(m, out, student):
    folder = m.root / "submitted" / "carol" / ASSIGNMENT
    assert (folder / f"{ASSIGNMENT}.ipynb").exists() and not (folder / "submission_secret.txt").exists()


def check_zip_collect(m, out, student):
    for s in ["dave", "erin"]:
        assert (m.root / "submitted" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists(), out[-3000:]
    dave = json.loads((m.root / "submitted" / "dave" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    assert dave == json.loads(notebook_text(m.root, "dave"))
    assert not list((m.root / "submitted").glob("*/ps4-em/notes.txt"))
    assert "lms_user_id 99999" in out and "2 files collected" in out, out[-3000:]
    assert not (m.root / "submitted" / "99999").exists()


def check_autograde(m, out, student):
    assert "There was an error processing assignment 'ps4-em' for student 'erin'" in out, out[-3000:]
    scores = m.scores()
    late = round(0.1 * 12, 2)  # carol: 16 hours late, one started day: 10% of her 12 autograded points
    assert scores["alice"] == (12, 0) and scores["dave"] == (12, 0) and scores["bob"] == (7, 0), scores
    assert scores["carol"] == (12, late) and scores["tester"] == (0, 0), scores
    assert not (m.root / "autograded" / "erin" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()


def check_report(m, out, student):
    report = m.root / "reports" / ASSIGNMENT
    assert "<script" not in (report / "report.html").read_text()
    with open(report / "students.csv") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert rows["erin"]["status"] == "not graded" and float(rows["carol"]["seconds_late"]) > 0, rows
    # their written answers are not graded yet: no score, as the export gives none (see check_export)
    assert {rows[r]["status"] for r in ["alice", "dave"]} == {"needs manual grading"}, rows
    with open(report / "attention.csv") as handle:
        attention = {r["student_id"] for r in csv.DictReader(handle)}
    assert {"erin", "carol"} <= attention, attention


def check_manual(m, out, student):
    assert re.search(r"alice\s+ps4-em\s+written_collapse", out) and re.search(r"bob\s+ps4-em\s+written_collapse", out)
    with m.gradebook() as gb:
        alice = gb.find_grade("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice")
        bob = gb.find_grade("written_collapse", ASSIGNMENT, ASSIGNMENT, "bob")
        assert (alice.score, alice.needs_manual_grade) == (2, False)
        assert (bob.score, bob.needs_manual_grade) == (1, False)
        comment = gb.find_comment("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice").comment
        assert comment == "Right: the likelihood is unbounded."


def check_feedback(m, out, student):
    released = list((m.exchange / "gmmlab" / "feedback").glob("*.html"))
    assert len(released) == 2, released  # alice and bob; carol's and dave's are sent by hand
    for s in ["alice", "bob", "carol", "dave"]:
        assert (m.root / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html").exists()
    assert "Right: the likelihood is unbounded." in (m.root / "feedback" / "alice" / ASSIGNMENT / "ps4-em.html").read_text()


def check_fetch_feedback(m, out, student):
    pages = list((m.homes[student] / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
    assert len(pages) == 1, out[-2000:]
    if student == "alice":
        assert "Right: the likelihood is unbounded." in pages[0].read_text()


def check_remove_student(m, out, student):
    with m.gradebook() as gb:
        assert "tester" not in {s.id for s in gb.students}
        assert "tester" not in {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert not any((m.root / d / "tester").exists() for d in ["submitted", "autograded", "feedback"])


def check_export(m, out, student):
    with open(m.root / "grades.csv") as handle:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}
    got = {k: (r["status"], r["score"]) for k, r in rows.items() if k[1] == ASSIGNMENT}
    assert got == {
        # alice, carol and dave wrote all three answers, of which only alice's written_collapse has a grade yet
        ("alice", ASSIGNMENT): ("needs manual grading", ""),
        ("bob", ASSIGNMENT): ("graded", "8.0"),  # 7 autograded + 1 by hand; his unchanged answers got 0
        ("carol", ASSIGNMENT): ("needs manual grading", ""),
        ("dave", ASSIGNMENT): ("needs manual grading", ""),
        ("erin", ASSIGNMENT): ("not graded", ""),
        ("frank", ASSIGNMENT): ("missing", "0.0"),
    }, got
    assert "Needs manual grading (empty score, not 0): alice/ps4-em, carol/ps4-em, dave/ps4-em" in out, out[-3000:]

    with open(m.root / "canvas.csv") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert table[1] == ["    Points Possible", "", "", "", "", "18.0"]
    assert ["Liddell, Alice", "10001", "", "alice", "", ""] in table
    assert ["Marley, Bob", "10002", "", "bob", "", "8.0"] in table
    assert ["Brockovich, Erin", "10005", "", "erin", "", ""] in table
    assert ["Abagnale, Frank", "10006", "", "frank", "", "0.0"] in table
    assert len(table) == 2 + 6


def check_regrade(m, out, student):
    nb = course.read_notebook(m.root / "autograded" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert FIXED_TEST_MESSAGE in json.dumps(nb), "the regrade did not run the fixed hidden test"
    assert "NOT GRADED: erin" in out, f"the parallel report does not name the submission it could not grade:\n{out[-3000:]}"
    # the fixed test's 2 points are lost by everyone who implemented bic; manual scores are kept (bob's 1);
    # carol's late penalty is recomputed from her new score
    late = round(0.1 * 10, 2)
    assert m.scores() == {"alice": (10 + 2, 0), "bob": (7 + 1, 0), "carol": (10, late), "dave": (10, 0), "erin": (0, 0)}
    with m.gradebook() as gb:
        assert gb.find_grade("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice").score == 2
        assert gb.find_comment("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice").comment


CHECKS = {
    "instructors-machine": check_machine,
    "instructors-roster": check_roster,
    "instructors-generate": check_generate,
    "instructors-release": check_release,
    "instructors-late-policy": check_late_policy,
    "instructors-fetch": check_fetch,
    "instructors-submit": check_submit,
    "instructors-collect": check_collect,
    "instructors-hand-placed": check_hand_placed,
    "instructors-zip-collect": check_zip_collect,
    "instructors-autograde": check_autograde,
    "instructors-report": check_report,
    "instructors-manual": check_manual,
    "instructors-feedback": check_feedback,
    "instructors-fetch-feedback": check_fetch_feedback,
    "instructors-remove-student": check_remove_student,
    "instructors-export": check_export,
    "instructors-regrade": check_regrade,
}
# Blocks documented to exit with an error: erin's unreadable notebook is named and everyone else is graded.
FAILS = {"instructors-autograde", "instructors-regrade"}


def test_the_appendix_runs_as_written(machine):
    m = machine
    for name, role, script in appendix_blocks():
        for student in (STUDENTS if role == "student-run" else [None]):
            BEFORE.get(name, lambda m, s: None)(m, student)
            started = time.monotonic()
            result = m.run(script, role, student)
            print(f"{name} ({student or role}): {time.monotonic() - started:.0f} s")
            who = f"{name} ({student or role})"
            if name in FAILS:
                assert result.returncode != 0, f"{who} should report the submission it cannot grade"
            else:
                assert result.returncode == 0, f"{who} failed ({result.returncode}):\n{result.stdout[-6000:]}"
            CHECKS[name](m, result.stdout, student)
            AFTER.get(name, lambda m, s: None)(m, student)

    # What nbgrader alone does not protect, and the course's collect does: alice submits under bob's id; the
    # collect the appendix configures leaves it in the exchange, says so, and collects bob's own.
    alice = m.run("nbgrader submit ps4-em --course=gmmlab --student=bob", "student-run", "alice")
    assert alice.returncode == 0, alice.stdout[-3000:]
    shutil.rmtree(m.root / "submitted" / "bob" / ASSIGNMENT)
    collect = m.run("nbgrader collect ps4-em", "instructor-run")
    assert "claims to be submitted by bob but is owned by alice: not collected" in collect.stdout, collect.stdout
    assert (m.root / "submitted" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == notebook_text(m.root, "bob")


# ------------------------------------------------------------------------------------------------ the manual script

def small_gradebook(path):
    """A gradebook holding one written answer (2 points) of ps4-em, submitted by alice and not yet graded."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{path}", "gmmlab") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        gb.add_grade_cell("written_collapse", ASSIGNMENT, ASSIGNMENT, max_score=2, cell_type="markdown")
        gb.add_solution_cell("written_collapse", ASSIGNMENT, ASSIGNMENT)
        gb.add_student("alice")
        with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy 2's autoflush warning
            warnings.simplefilter("ignore", SAWarning)
            gb.add_submission(ASSIGNMENT, "alice")


def manual(root, *args, **env):
    return subprocess.run([sys.executable, "-m", "gmmlab_course.manual", *args], cwd=root,
                          env=course.environment(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_manual_grading_script_uses_the_gradebook_nbgrader_uses(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", course.environment()["PATH"])  # a new gradebook runs `alembic` from the venv
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    elsewhere = tmp_path / "secure" / "gmmlab-2026.db"
    elsewhere.parent.mkdir()
    small_gradebook(elsewhere)

    result = manual(root, ASSIGNMENT, "--pending", GMMLAB_GRADEBOOK=str(elsewhere))
    assert result.returncode == 0 and re.search(r"alice\s+ps4-em\s+written_collapse", result.stdout), result.stdout
    result = manual(root, ASSIGNMENT, "alice", "written_collapse", "1.5", "--comment", "Half right.",
                    GMMLAB_GRADEBOOK=str(elsewhere))
    assert result.returncode == 0, result.stdout
    assert not (root / "gradebook.db").exists(), "GMMLAB_GRADEBOOK was ignored"
    with Gradebook(f"sqlite:///{elsewhere}") as gb:
        grade = gb.find_grade("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice")
        assert (grade.score, grade.needs_manual_grade) == (1.5, False)
        assert gb.find_comment("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice").comment == "Half right."
        assert not gb.find_submission(ASSIGNMENT, "alice").needs_manual_grade
    from gmmlab_course.manual import pending, set_grade

    with Gradebook(f"sqlite:///{elsewhere}") as gb:
        assert pending(gb, ASSIGNMENT) == []
        for args, message in [
            (["alice", "written_collapse", 3], "must be between 0 and 2; got 3"),
            (["alice", "written_colapse", 1], "has no graded cell 'written_colapse'; its graded cells are written_collapse"),
            (["mallory", "written_collapse", 1], "no submission of ps4-em (notebook ps4-em) by 'mallory'"),
        ]:
            with pytest.raises(ValueError, match=re.escape(message)):
                set_grade(gb, ASSIGNMENT, *args)
        assert gb.find_grade("written_collapse", ASSIGNMENT, ASSIGNMENT, "alice").score == 1.5  # errors change nothing


# ------------------------------------------------------------------------------------------------ the exports

def test_exports_never_turn_an_ungraded_submission_into_a_zero(tmp_path, monkeypatch):
    """grades.csv's status and Canvas's empty cell, for every way a submission can be (un)graded."""
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", course.environment()["PATH"])  # a new gradebook runs `alembic` from the venv
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "gmmlab") as gb:
        for assignment in ["ps1-kmeans", ASSIGNMENT]:
            gb.add_assignment(assignment)
            gb.add_notebook(assignment, assignment)
            gb.add_grade_cell("test_a", assignment, assignment, max_score=3, cell_type="code")
        gb.add_grade_cell("written_a", ASSIGNMENT, ASSIGNMENT, max_score=2, cell_type="markdown")
        gb.add_solution_cell("written_a", ASSIGNMENT, ASSIGNMENT)
        for student, lms in [("alice", "1"), ("bob", "2"), ("carol", "3"), ("dave", "4"), ("eve", "5")]:
            gb.add_student(student, last_name=student.title(), first_name="A", lms_user_id=lms)
        for student in ["alice", "bob", "dave", "eve"]:
            with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy 2's autoflush warning
                warnings.simplefilter("ignore", SAWarning)
                gb.add_submission(ASSIGNMENT, student)
            course.place(root, student, ASSIGNMENT, course.release_notebook(REPO, ASSIGNMENT))
        for student in ["alice", "dave", "eve"]:  # scored; dave's autograded copy is gone (a later autograde failed)
            grade = gb.find_grade("test_a", ASSIGNMENT, ASSIGNMENT, student)
            grade.auto_score, grade.needs_manual_grade = 3, False  # as autograde leaves a passed test
        # the written answer: alice's is graded by hand, eve's still waits for it (as autograde leaves a changed answer)
        alice_written = gb.find_grade("written_a", ASSIGNMENT, ASSIGNMENT, "alice")
        alice_written.manual_score, alice_written.needs_manual_grade = 1.5, False
        gb.find_grade("written_a", ASSIGNMENT, ASSIGNMENT, "eve").needs_manual_grade = True
        gb.db.commit()
        assert gb.find_submission(ASSIGNMENT, "eve").needs_manual_grade
    for student in ["alice", "eve"]:
        (root / "autograded" / student / ASSIGNMENT).mkdir(parents=True)
        (root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{}")
    course.place(root, "zed", ASSIGNMENT, "{}")  # collected, never autograded: not in the gradebook at all

    result = course.nbgrader("export", cwd=root)
    with open(root / "grades.csv") as handle:
        rows = {(r["student_id"], r["assignment"]): (r["status"], r["raw_score"], r["score"])
                for r in csv.DictReader(handle)}
    assert rows == {
        ("alice", ASSIGNMENT): ("graded", "4.5", "4.5"),  # 3 autograded + 1.5 by hand
        ("eve", ASSIGNMENT): ("needs manual grading", "", ""),  # 3 autograded so far: not the score
        ("eve", "ps1-kmeans"): ("missing", "0.0", "0.0"),
        ("bob", ASSIGNMENT): ("not graded", "", ""),  # submitted, no score
        ("carol", ASSIGNMENT): ("missing", "0.0", "0.0"),
        ("dave", ASSIGNMENT): ("not graded", "", ""),  # old scores, but no autograded notebook
        ("zed", ASSIGNMENT): ("not graded", "", ""),
        **{(s, "ps1-kmeans"): ("missing", "0.0", "0.0") for s in ["alice", "bob", "carol", "dave"]},
    }
    assert f"Needs manual grading (empty score, not 0): eve/{ASSIGNMENT}" in result.stdout, result.stdout[-2000:]

    result = course.nbgrader("export", "--exporter=gmmlab_course.export.CanvasExportPlugin", "--to=canvas.csv", cwd=root)
    with open(root / "canvas.csv") as handle:
        table = list(csv.reader(handle))
    assert table == [  # ps1-kmeans has no submissions yet: left out, so nobody gets a 0 for it
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["    Points Possible", "", "", "", "", "5.0"],
        ["Alice, A", "1", "", "alice", "", "4.5"],
        ["Bob, A", "2", "", "bob", "", ""],
        ["Carol, A", "3", "", "carol", "", "0.0"],
        ["Dave, A", "4", "", "dave", "", ""],
        ["Eve, A", "5", "", "eve", "", ""],  # Canvas keeps its cell unchanged until the manual grade is in
        ["zed", "", "", "zed", "", ""],
    ]
    assert f"Needs manual grading (empty score, not 0): eve/{ASSIGNMENT}" in result.stdout, result.stdout[-2000:]
