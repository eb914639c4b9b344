"""Red team of the exchange, collect and feedback paths (book/instructors.md, *What a student controls*).

A class of real, temporary OS accounts hands in ps4-em through the exchange, each folder made as a student can
make it (a student owns their folder in the inbound directory and may put anything in it), and the instructor
grades by the documented route: ``nbgrader collect`` with the course's collect, ``nbgrader autograde`` and
``nbgrader generate_feedback``. A secret is planted in the gradebook, in the solutions and in the instructor's
environment. Attacks: links to the gradebook, to the solutions, to another student's submission, to a folder, to
/dev/zero; a submission folder that is itself a link, or named with a time that is not one; a FIFO; a file too large; a back-dated timestamp.txt and
modification times; markup with script and handlers in a written answer and in outputs. Beside them a correct
student hands in an awkward folder (extra files, a link, a file only they can read).
"""

import datetime
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from gmmlab_course import coursedir as course

pytestmark = [pytest.mark.slow(minutes=2), pytest.mark.root]

REPO = course.REPO
ASSIGNMENT = "ps4-em"
SECRET = "rt-secret-" + secrets.token_hex(8)
PREFIX = "gmmlab-redteam-"
LIMITS = ["--SandboxedGrade.cpu_limit=10", "--SandboxedGrade.idle_limit=10"]
HONEST = ["rtcorrect", "rtbook", "rtsolution", "rtpeer", "rtdevzero", "rtfifo", "rtfolder", "rtdirlink", "rthuge",
          "rtmarkup"]
LATE = "rtlate"
STUDENTS = [*HONEST, LATE]
XSS = ('<script>alert("rt-xss")</script><img src="x" onerror="alert(\'rt-xss\')">'
       '<a href="javascript:alert(\'rt-xss\')">link</a>')
SNOOP = '''import os
print(dict(os.environ))
for name in sorted(os.listdir(".")):
    try:
        with open(name, "rb") as handle:
            print(name, handle.read(4000))
    except Exception as error:
        print(name, type(error).__name__)
'''

spec = importlib.util.spec_from_file_location("appendix", REPO / "tests" / "course" / "test_instructors_appendix.py")
appendix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(appendix)


@pytest.fixture
def accounts():
    """The students' OS accounts, made for this test and removed after it (skipped if such users exist)."""
    taken = [s for s in STUDENTS if appendix._exists(s)]
    if taken:
        pytest.skip(f"users {taken} already exist on this machine; the test creates and deletes its own")
    try:
        for student in STUDENTS:
            subprocess.run(["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", student],
                           check=True)
        yield {s: pwd.getpwnam(s).pw_uid for s in STUDENTS}
    finally:
        for student in STUDENTS:
            if appendix._exists(student):
                appendix.remove_account(student)


def plant_secret_in_solutions(root):
    """The secret as a comment inside a solution region: it is in solutions/ only, never released."""
    path = root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = course.read_notebook(path)
    cell = next(c for c in nb.cells if course.grade_id(c) == "bic")
    assert "### BEGIN SOLUTION" in cell.source
    cell.source = cell.source.replace("### BEGIN SOLUTION", f"### BEGIN SOLUTION\n# {SECRET}", 1)
    nbformat.write(nb, str(path))
    return path


def notebook(root, student):
    """The notebook each student hands in."""
    correct = course.solution_cells(ASSIGNMENT)
    for name in correct:
        if name.startswith("written_"):
            correct[name] = "A component on one point has a singular covariance."
    if student in ("rtcorrect", LATE):
        answers = correct
    elif student == "rtmarkup":  # markup in a written answer, printed and displayed as HTML
        answers = {"written_collapse": f"My answer {XSS}\n\n$p(x) > 0$ and `a < b`",
                   "run_em": f"from IPython.display import HTML, display\nprint({XSS!r})\ndisplay(HTML({XSS!r}))\n"
                             "raise NotImplementedError()"}
    else:  # every file it can see, printed into its feedback
        answers = {"run_em": SNOOP + "raise NotImplementedError()"}
    return json.dumps(course.submission(root, ASSIGNMENT, answers), indent=1)


def hand_in(inbound, student, uid, root, correct_folder=None):
    """The student's folder in the inbound directory, with its attack; owned by the student, as they would make it."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    when = "not a time at all" if student == "rtfolder" else stamp  # nbgrader's collect stops at such a name
    folder = inbound / f"{student}+{ASSIGNMENT}+{when}+{secrets.token_hex(4)}"
    if student == "rtdirlink":  # the submission folder itself is a link, to the solutions
        folder.symlink_to(root / "solutions" / ASSIGNMENT)
        os.lchown(folder, uid, uid)
        return folder
    folder.mkdir()
    (folder / f"{ASSIGNMENT}.ipynb").write_text(notebook(root, student))
    (folder / "timestamp.txt").write_text(stamp)
    (folder / "submission_secret.txt").write_text(secrets.token_hex(16))
    links = {
        "rtbook": {"gradebook.db": root / "gradebook.db"},
        "rtsolution": {"answers.ipynb": root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"},
        "rtpeer": {"peer": correct_folder, "peer.ipynb": Path(str(correct_folder)) / f"{ASSIGNMENT}.ipynb"},
        "rtdevzero": {"data.npy": Path("/dev/zero")},
        "rtfolder": {"solutions": root / "solutions"},
        "rtcorrect": {"notes-link.txt": root / "gradebook.db"},
    }
    for name, target in links.get(student, {}).items():
        (folder / name).symlink_to(target)
    if student == "rtfifo":
        os.mkfifo(folder / "pipe.txt")
    if student == "rthuge":  # sparse: large to the collector, cheap to make
        with open(folder / "data.bin", "wb") as handle:
            handle.truncate(64 * 2**20)
    if student == "rtcorrect":  # an awkward container: extra files, a folder, a file only the student can read
        (folder / "notes.txt").write_text("my notes")
        (folder / "data").mkdir()
        (folder / "data" / "points.csv").write_text("1,2\n3,4\n")
        (folder / "private.txt").write_text("mine")
        (folder / "private.txt").chmod(0o600)
    if student == LATE:  # back-dated: the file nbgrader would trust, and modification times
        (folder / "timestamp.txt").write_text("2026-01-02 09:00:00.000000 UTC")
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, uid, uid)
    if student == LATE:
        past = datetime.datetime(2026, 1, 2, 9, tzinfo=datetime.timezone.utc).timestamp()
        for path in [*folder.rglob("*"), folder]:
            os.utime(path, (past, past), follow_symlinks=False)
    return folder


def newest_ctime(folder):
    return max(os.lstat(p).st_ctime for p in [folder, *Path(folder).rglob("*")])


@pytest.fixture
def graded_class(tmp_path, accounts):
    shared = Path(tempfile.mkdtemp(prefix=PREFIX))
    shared.chmod(0o755)
    try:
        exchange = shared / "exchange"
        exchange.mkdir(mode=0o1777)
        exchange.chmod(0o1777)
        config = shared / "etc-jupyter" / "nbgrader_config.py"
        config.parent.mkdir()
        # the appendix's system-wide configuration (book/instructors.md, instructors-machine)
        config.write_text(f'c = get_config()\nc.Exchange.root = "{exchange}"\n'
                          'c.ExchangeFactory.collect = "gmmlab_course.collect.OwnerCheckedCollect"\n')
        env = course.environment(JUPYTER_CONFIG_PATH=str(config.parent), GMMLAB_RT_SECRET=SECRET,
                                 HOME=str(shared))
        root = tmp_path / "course"
        root.mkdir()
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
        plant_secret_in_solutions(root)
        course.nbgrader("db", "student", "add", "rtsecretkeeper", f"--first-name={SECRET}", cwd=root, env=env)
        course.nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root, env=env)
        course.nbgrader("release_assignment", ASSIGNMENT, cwd=root, env=env)
        inbound = exchange / "gmmlab" / "inbound"
        folders = {"rtcorrect": hand_in(inbound, "rtcorrect", accounts["rtcorrect"], root)}
        for student in HONEST[1:]:
            folders[student] = hand_in(inbound, student, accounts[student], root, folders["rtcorrect"])
        # the due date: just after the honest submissions; the late one comes after it
        due = max(newest_ctime(f) for s, f in folders.items() if s != "rtdirlink")
        folders[LATE] = hand_in(inbound, LATE, accounts[LATE], root)
        while newest_ctime(folders[LATE]) <= due:  # the kernel's clock has a coarse tick: wait for it to move
            os.chmod(folders[LATE], 0o755)
        duedate = datetime.datetime.fromtimestamp(due, datetime.timezone.utc).replace(tzinfo=None)
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=duedate)

        logs = {"collect": course.nbgrader("collect", ASSIGNMENT, cwd=root, env=env, timeout=600).stdout}
        logs["autograde"] = course.nbgrader("autograde", ASSIGNMENT, "--create", *LIMITS,
                                            "--LateSubmissionPlugin.penalty_method=zero", cwd=root, env=env,
                                            check=False).stdout
        logs["feedback"] = course.nbgrader("generate_feedback", ASSIGNMENT, cwd=root, env=env, check=False).stdout
        yield root, folders, logs, duedate
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_no_attack_through_the_exchange_gains_or_leaks_anything(graded_class):
    root, folders, logs, duedate = graded_class
    collect = logs["collect"]

    # the whole class is collected, except the two that cannot be: a folder that is a link, and one too large
    collected = {p.name for p in (root / "submitted").iterdir()}
    assert collected == set(STUDENTS) - {"rtdirlink", "rthuge"}, collect[-4000:]
    assert re.search(r"rtdirlink: .* not collected: it is a symbolic link", collect), collect[-4000:]
    assert re.search(r"rthuge: .* not collected: its files hold \d+ bytes, more than", collect), collect[-4000:]
    for student, name, why in [("rtbook", "gradebook.db", "a symbolic link"),
                               ("rtsolution", "answers.ipynb", "a symbolic link"),
                               ("rtpeer", "peer", "a symbolic link"), ("rtpeer", "peer.ipynb", "a symbolic link"),
                               ("rtdevzero", "data.npy", "a symbolic link"), ("rtfolder", "solutions", "a symbolic link"),
                               ("rtfifo", "pipe.txt", "a FIFO"), ("rtcorrect", "notes-link.txt", "a symbolic link")]:
        assert re.search(rf"{student}: {re.escape(name)} in .* not collected: {why}", collect), (student, name)

    # nothing but regular files in the instructor's folders, and nothing secret anywhere in them
    for folder in ["submitted", "autograded", "feedback"]:
        for path in (root / folder).rglob("*"):
            mode = os.lstat(path).st_mode
            assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), f"{path} is not a regular file"
            if stat.S_ISREG(mode):
                assert SECRET.encode() not in path.read_bytes(), f"the secret reached {path}"
    awkward = root / "submitted" / "rtcorrect" / ASSIGNMENT
    assert sorted(str(p.relative_to(awkward)) for p in awkward.rglob("*")) == sorted([
        "data", "data/points.csv", "notes.txt", f"{ASSIGNMENT}.ipynb", "private.txt", "submission_secret.txt",
        "timestamp.txt"])

    # every collected submission is graded; no attack gains a point; the awkward correct one gets full marks
    assert "There was an error processing" not in logs["autograde"], logs["autograde"][-4000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        result = {s.student.id: s for s in assignment.submissions}
        automatic = {sid: sum(g.auto_score or 0 for n in s.notebooks for g in n.grades) for sid, s in result.items()}
        most = sum(g.max_score for n in result["rtcorrect"].notebooks for g in n.grades if g.auto_score is not None)
        assert automatic["rtcorrect"] == most > 0, automatic
        for student in collected - {"rtcorrect", LATE}:
            assert automatic[student] == 0, (student, automatic)
        # the late policy sees the kernel's time: the back-dated submission is late and scores 0 in all
        assert result["rtcorrect"].total_seconds_late == 0 and result["rtcorrect"].late_submission_penalty in (0, None)
        late = result[LATE]
        assert late.timestamp > duedate and late.total_seconds_late > 0, (late.timestamp, duedate)
        assert late.late_submission_penalty == automatic[LATE] == most, late.late_submission_penalty
    stamp = (root / "submitted" / LATE / ASSIGNMENT / "timestamp.txt").read_text()
    assert not stamp.startswith("2026-01-02"), stamp

    # feedback: the pages and release_feedback's two files only; no script, handler or javascript: link survives
    for student in collected:
        folder = root / "feedback" / student / ASSIGNMENT
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [f"{ASSIGNMENT}.html", "submission_secret.txt", "timestamp.txt"]), student
    page = (root / "feedback" / "rtmarkup" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "My answer" in page and "$p(x) &gt; 0$" in page, "the written answer is not rendered"
    assert "rt-xss" in page  # the markup is shown as text, or cleaned away, but ...
    assert not re.search(r"<script[^>]*>\s*alert", page), "a student's script reached the feedback"
    for tag in re.findall(r"<[a-zA-Z][^<>]*>", page):  # ... never left in a tag that a browser runs
        assert not re.search(r"\son[a-z]+\s*=|javascript:", tag, re.I) or "rt-xss" not in tag, tag
    graded = (root / "autograded" / "rtmarkup" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    for cell in json.loads(graded)["cells"]:
        for output in cell.get("outputs", []):
            html = "".join(output.get("data", {}).get("text/html", ""))
            assert "<script" not in html and "onerror" not in html, html


def test_a_file_the_collector_cannot_read_is_skipped_and_the_rest_collected(tmp_path, monkeypatch, caplog):
    """Collect as an unprivileged grader (the Hub's): a file only its student can read is named and left out."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from gmmlab_course.collect import OwnerCheckedCollect

    nobody = pwd.getpwnam("nobody")
    shared = Path(tempfile.mkdtemp(prefix=PREFIX))
    try:
        shared.chmod(0o755)
        folder = shared / "submission"
        folder.mkdir()
        (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
        (folder / "secret.txt").write_text(SECRET)
        (folder / "secret.txt").chmod(0o600)  # root's: the grader cannot read it
        dest = shared / "course"
        dest.mkdir()
        os.chown(dest, nobody.pw_uid, nobody.pw_gid)
        config = Config()
        config.CourseDirectory.root = str(dest)
        collect = OwnerCheckedCollect(coursedir=CourseDirectory(config=config),
                                      authenticator=Authenticator(config=config), config=config)
        os.setegid(nobody.pw_gid)
        os.seteuid(nobody.pw_uid)
        try:
            collect.do_copy(str(folder), str(dest / "alice"))
        finally:
            os.seteuid(0)
            os.setegid(0)
        assert sorted(p.name for p in (dest / "alice").iterdir()) == [f"{ASSIGNMENT}.ipynb", "timestamp.txt"]
        assert any("secret.txt" in r.getMessage() and "cannot be read" in r.getMessage() for r in caplog.records)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_feedback_and_formgrader_pages_keep_no_student_markup_that_runs():
    """The sandbox may hand back HTML, SVG or JavaScript outputs, and a submission may hold raw cells and
    attachments: the course's preprocessor and Markdown filter leave none of their script in a page, and ordinary
    Markdown (maths, code, tables, a PNG) still renders."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config

    from gmmlab_course.feedback import SanitiseStudentMarkup

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    markdown = (f"# Answer\n\n{XSS}\n\n$\\sum_k \\pi_k = 1$ and $a < b$\n\n```python\nx = 1 < 2\n```\n\n"
                f"| k | BIC |\n|---|-----|\n| 3 | low |\n\n![fit](data:image/png;base64,{png})\n\n![a](attachment:a.svg)"
                "\n\n![none](attachment:missing.png) ![key](../../gradebook.db)")
    cell = nbformat.v4.new_markdown_cell(markdown)
    cell.attachments = {"a.svg": {"image/svg+xml": '<svg onload="alert(\'rt-xss\')"/>'}}
    code = nbformat.v4.new_code_cell("show()", outputs=[
        nbformat.v4.new_output("display_data", data={
            "text/html": XSS, "text/plain": "shown", "image/svg+xml": '<svg onload="alert(\'rt-xss\')"/>',
            "application/javascript": "alert('rt-xss')", "image/png": png}),
        nbformat.v4.new_output("stream", text=XSS),
    ])
    nb = nbformat.v4.new_notebook(cells=[cell, code, nbformat.v4.new_raw_cell(XSS, metadata={"format": "text/html"})])

    nb, _ = SanitiseStudentMarkup().preprocess(nb, {})
    assert set(nb.cells[1].outputs[0].data) == {"text/html", "text/plain", "image/png"}
    assert nb.cells[0].attachments == {"a.svg": {"image/png": ""}}
    config = Config()
    config.HTMLExporter.filters = {"markdown2html": "gmmlab_course.feedback.markdown2html"}
    page, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert "rt-xss" in page  # shown as text, where it was text
    assert not re.search(r"<script[^>]*>\s*alert", page)
    for tag in re.findall(r"<[a-zA-Z][^<>]*>", page):
        assert not re.search(r"\son[a-z]+\s*=|javascript:", tag, re.I) or "rt-xss" not in tag, tag
    assert "<h1" in page and "<table" in page and f'src="data:image/png;base64,{png}"' in page
    assert "$\\sum_k \\pi_k = 1$" in page and "$a &lt; b$" in page and "&lt;" in page

    # without the course's filter, nbconvert would have put the written answer's markup in the page as is
    bare, _ = HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(XSS)]))
    assert re.search(r"<img[^>]*onerror", bare)


def test_zip_collect_refuses_archives_with_links_or_huge_members(tmp_path):
    """A Canvas download holds neither links nor giant files: an archive that does is not extracted at all."""
    import zipfile

    from gmmlab_course.collect import CanvasExtractor

    extractor = CanvasExtractor(max_member_bytes=2**20)
    for name, build in [
        ("link", lambda z: z.writestr(_link_member("alice_1_2_ps4-em.ipynb"), "/etc/shadow")),
        ("huge", lambda z: z.writestr("bob_3_4_ps4-em.ipynb", b"\0" * (2**20 + 1))),
    ]:
        archive, extracted = tmp_path / name / "archive", tmp_path / name / "extracted"
        archive.mkdir(parents=True)
        extracted.mkdir()
        with zipfile.ZipFile(archive / "submissions.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("carol_5_6_ps4-em.ipynb", "{}")
            build(z)
        with pytest.raises(ValueError, match="was not extracted: its member"):
            extractor.extract(str(archive), str(extracted))
        assert not list(extracted.rglob("*")), name
    (tmp_path / "link" / "archive" / "submissions.zip").unlink()
    with zipfile.ZipFile(tmp_path / "link" / "archive" / "submissions.zip", "w") as z:
        z.writestr("carol_5_6_ps4-em.ipynb", "{}")
    extractor.extract(str(tmp_path / "link" / "archive"), str(tmp_path / "link" / "extracted"))
    assert [p.name for p in (tmp_path / "link" / "extracted").rglob("*.ipynb")] == ["carol_5_6_ps4-em.ipynb"]


def _link_member(name):
    import zipfile

    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info
