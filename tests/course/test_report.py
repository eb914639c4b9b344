"""The class report (gmmlab_course.report) on a synthetic class of 200 whose truth is known.

The class sits problem set 1. Every student's answer for each function is either a catalogued mistake
(tests/course/mistakes.py) or one of several correct solutions written differently (``CORRECT`` below: loops or
broadcasting, other idioms, other ways to keep the best restart), drawn with a fixed seed, and then written in the
student's own small ways (``restyle``: rewrites that change no result); a few students copy a
classmate's notebook with the variables renamed, the comments changed and two functions swapped between cells.
Some students are late, two were not graded, one ran out of its grading budget and one submitted nothing.

How the class is graded, faithfully but cheaply (the sandbox would take minutes): each *distinct* answer of a
function is graded once, with the problem set's own test cells from solutions/ (hidden tests included) run as the
trusted grader runs them (``gmmlab_course.autograde.run_trusted``, each failure turned into the notebook output
``autograde._test_error`` makes), the student's functions prepared by ``gmmlab.grading`` exactly as in the sandbox
and every other answer taken from the solution; a restyled answer is graded as the answer it restyles. A test cell of ps1 calls only its own function (the kmeans tests
run stand-ins for the three steps), so a student's autograded notebook is the release with their answers and, in
each test cell, the output of their answer's grading; the copied notebooks are also graded whole, which checks
that assumption. The scores go into a real gradebook through nbgrader's API, each test cell scored by nbgrader's
own ``determine_grade`` from its output, as ``nbgrader autograde`` (its SaveAutoGrades) scores it.
"""

import contextlib
import csv
import hashlib
import io
import keyword
import re
import tokenize
import warnings
from collections import Counter
from datetime import datetime, timedelta

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from nbgrader.utils import determine_grade, is_grade, is_locked, is_solution

from gmmlab import grading
from gmmlab_course import autograde, report, similarity
from gmmlab_course import coursedir as course
from gmmlab_course.gradebook import course_directory
from mistakes import MISTAKES

pytestmark = pytest.mark.slow(minutes=2)  # most of it building and grading the class (2 min on a busy machine)

A = course.ASSIGNMENTS[0]  # ps1-kmeans
N_STUDENTS = 200
COPIES = [(10, 11), (50, 51), (90, 91), (130, 131), (170, 171)]  # (original, copy)
LATE, NOT_GRADED, BUDGET, MISSING = (20, 21, 22), (196, 197), 198, 199
MISTAKE_RATE = 0.25  # per function
DUE = datetime(2025, 1, 15, 12, 0)

# ------------------------------------------------------------------------ correct answers, written differently

ASSIGN = [
    """
def assign_clusters(X, centers):
    d = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.argmin(d, axis=1)
""", """
def assign_clusters(X, centers):
    labels = np.empty(len(X), dtype=int)
    for n in range(len(X)):
        labels[n] = np.argmin(((centers - X[n]) ** 2).sum(axis=1))
    return labels
""", """
def assign_clusters(X, centers):
    cross = X @ centers.T
    d = (X ** 2).sum(axis=1)[:, None] - 2.0 * cross + (centers ** 2).sum(axis=1)[None, :]
    return d.argmin(axis=1)
""", """
def assign_clusters(X, centers):
    return np.array([int(np.argmin([np.sum((x - c) ** 2) for c in centers])) for x in X])
""", """
def assign_clusters(X, centers):
    diff = X[:, np.newaxis] - centers
    return np.einsum("nkd,nkd->nk", diff, diff).argmin(1)
""", """
def assign_clusters(X, centers):
    return np.linalg.norm(X[:, None] - centers[None], axis=-1).argmin(axis=1)
""", """
def assign_clusters(X, centers):
    best = np.full(X.shape[0], np.inf)
    labels = np.zeros(X.shape[0], dtype=int)
    for k, c in enumerate(centers):
        dist = ((X - c) ** 2).sum(axis=1)
        closer = dist < best
        labels[closer] = k
        best[closer] = dist[closer]
    return labels
"""]

UPDATE = [
    """
def update_centers(X, labels, n_clusters):
    centers = np.zeros((n_clusters, X.shape[1]))
    for k in range(n_clusters):
        centers[k] = X[labels == k].mean(axis=0)
    return centers
""", """
def update_centers(X, labels, n_clusters):
    return np.array([X[labels == k].mean(axis=0) for k in range(n_clusters)])
""", """
def update_centers(X, labels, n_clusters):
    onehot = np.eye(n_clusters)[labels]
    return (onehot.T @ X) / onehot.sum(axis=0)[:, None]
""", """
def update_centers(X, labels, n_clusters):
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, X)
    return sums / np.bincount(labels, minlength=n_clusters)[:, None]
""", """
def update_centers(X, labels, n_clusters):
    out = []
    for k in range(n_clusters):
        members = X[labels == k]
        out.append(members.sum(axis=0) / len(members))
    return np.vstack(out)
""", """
def update_centers(X, labels, n_clusters):
    counts = np.bincount(labels, minlength=n_clusters)
    return np.stack([np.bincount(labels, weights=X[:, d], minlength=n_clusters) for d in range(X.shape[1])], axis=1) / counts[:, None]
"""]

OBJECTIVE = [
    """
def kmeans_objective(X, centers, labels):
    return float(np.sum((X - centers[labels]) ** 2))
""", """
def kmeans_objective(X, centers, labels):
    diff = X - centers[labels]
    return float(np.einsum("nd,nd->", diff, diff))
""", """
def kmeans_objective(X, centers, labels):
    total = 0.0
    for x, z in zip(X, labels):
        total += np.sum((x - centers[z]) ** 2)
    return float(total)
""", """
def kmeans_objective(X, centers, labels):
    return float(sum(np.sum((X[labels == k] - centers[k]) ** 2) for k in range(len(centers))))
""", """
def kmeans_objective(X, centers, labels):
    return float((np.linalg.norm(X - centers[labels], axis=1) ** 2).sum())
"""]

# kmeans: three choice points (keeping the best restart, the Lloyd loop, the empty-cluster test): 36 solutions
KEEP = [
    ("best = None", """
        if best is None or J < best[2]:
            best = (centers, labels, J)""", """
    if best is None:
        raise ValueError("every restart left a cluster empty")
    return best"""),
    ("best_J, best_centers, best_labels = np.inf, None, None", """
        if J < best_J:
            best_J, best_centers, best_labels = J, centers, labels""", """
    if best_centers is None:
        raise ValueError(f"all {n_init} restarts had an empty cluster")
    return best_centers, best_labels, best_J"""),
    ("results = []", """
        results.append((J, centers, labels))""", """
    if len(results) == 0:
        raise ValueError("no restart kept all clusters non-empty")
    J, centers, labels = min(results, key=lambda item: item[0])
    return centers, labels, J"""),
]
LOOP = [
    """
        for _ in range(max_iter):
            if {empty}:
                break
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels""",
    """
        iteration = 0
        while iteration < max_iter and not ({empty}):
            centers = update_centers(X, labels, n_clusters)
            new_labels = assign_clusters(X, centers)
            iteration += 1
            if (new_labels == labels).all():
                break
            labels = new_labels""",
    """
        for it in range(max_iter):
            if {empty}:
                break
            centers = update_centers(X, labels, n_clusters)
            previous, labels = labels, assign_clusters(X, centers)
            if not np.any(previous != labels):
                break""",
]
EMPTY = ["np.unique(labels).size < n_clusters", "len(set(labels.tolist())) < n_clusters",
         "np.bincount(labels, minlength=n_clusters).min() == 0",
         "not all(np.any(labels == k) for k in range(n_clusters))"]


def kmeans_solution(keep, loop, empty):
    start, update, finish = KEEP[keep]
    return f"""
def kmeans(X, n_clusters, n_init=10, max_iter=100, random_state=None):
    rng = np.random.default_rng(random_state)
    {start}
    for _ in range(n_init):
        centers = random_centers(X, n_clusters, rng)
        labels = assign_clusters(X, centers)""" + LOOP[loop].format(empty=EMPTY[empty]) + f"""
        if {EMPTY[empty]}:
            continue
        J = kmeans_objective(X, centers, labels){update}{finish}
"""


CORRECT = {
    "assign_clusters": ASSIGN, "update_centers": UPDATE, "kmeans_objective": OBJECTIVE,
    "kmeans": [kmeans_solution(a, b, c) for a in range(len(KEEP)) for b in range(len(LOOP)) for c in range(len(EMPTY))],
}
FUNCTIONS = list(CORRECT)
CATALOGUE = {f: [m for m in MISTAKES if m.assignment == A and m.function == f] for f in FUNCTIONS}


FIRST_LINES = ["", "X = np.asarray(X, dtype=float)", "X = np.asarray(X)", "assert X.ndim == 2, 'X must be a 2-D array'"]


def restyle(code, rng):
    """``code`` written a little differently, as each student writes: rewrites that cannot change a result on the
    tests' arrays (``len(X)`` or ``X.shape[0]``, ``axis=`` named or not in ``.sum``/``.mean``/``.argmin``, a first
    line that converts or checks X, the seed passed by name or not, the objective converted to float twice or
    once, a result returned directly or through a variable)."""
    if rng.random() < 0.5:
        code = code.replace("len(X)", "X.shape[0]")
    if rng.random() < 0.5:
        code = re.sub(r"\.(sum|mean|argmin)\(axis=(-?\d)\)", r".\1(\2)", code)
    first = FIRST_LINES[int(rng.integers(len(FIRST_LINES)))]
    if first:
        code = re.sub(r"^(def .*:\n)", rf"\1    {first}\n", code, count=1, flags=re.M)
    if rng.random() < 0.5:
        code = code.replace("np.random.default_rng(random_state)", "np.random.default_rng(seed=random_state)")
    if rng.random() < 0.5:
        code = code.replace("J = kmeans_objective(X, centers, labels)", "J = float(kmeans_objective(X, centers, labels))")
    if rng.random() < 0.5:
        code = re.sub(r"^    return (.+)$", r"    answer = \1\n    return answer", code, flags=re.M)
    return code


# ------------------------------------------------------------------------ copying a classmate

RENAMES = ["value", "tmp", "result", "arr", "acc", "item", "q", "w", "vals", "store", "holder", "thing"]


def disguise(answers, seed):
    """A classmate's answers with local variables renamed, comments replaced and two functions swapped between
    their cells (the graded names are looked up after every cell has run, so the notebook still works)."""
    rng = np.random.default_rng(seed)
    out = {}
    for function, code in answers.items():
        targets = set(re.findall(r"^\s*(?:for\s+)?([a-z_]\w*)(?:\s*,\s*[a-z_]\w*)*\s*(?:=(?!=)|\bin\b)", code, re.M))
        targets |= set(re.findall(r"\bfor\s+\w+\s*,\s*(\w+)\s+in\b", code))
        targets -= set(FUNCTIONS) | {"np", "rng", "X", "centers", "labels", "n_clusters", "n_init", "max_iter",
                                     "random_state", "_"} | set(keyword.kwlist)
        mapping = {name: f"{RENAMES[int(rng.integers(len(RENAMES)))]}_{i}" for i, name in enumerate(sorted(targets))}
        tokens = []
        previous = None
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.NAME and token.string in mapping and previous != ".":
                token = token._replace(string=mapping[token.string])
            if token.type != tokenize.COMMENT:
                tokens.append(token)
            previous = token.string
        body = tokenize.untokenize(tokens)
        out[function] = f"# {function}: my own version, see lecture notes\n{body}"
    out["assign_clusters"], out["update_centers"] = out["update_centers"], out["assign_clusters"]
    return out


# ------------------------------------------------------------------------ grading, as the trusted grader does


class _Remote:
    """What gmmlab.grading calls while a test cell runs: the student's functions prepared as the sandbox prepares them."""

    def __init__(self, namespace, seed):
        self.namespace, self.seed, self.draws = namespace, seed, 0

    def function(self, name, banned=None, replace=None):
        return grading.prepare(self.namespace, name, banned, replace)

    def rng(self):
        self.draws += 1
        return np.random.default_rng([self.seed, self.draws])


def grade(solution_nb, answers):
    """{test grade_id: output list} of a submission whose answer cells are ``answers`` (others: the solution)."""
    seed = int.from_bytes(hashlib.sha256(repr(sorted(answers.items())).encode()).digest()[:8], "big")
    student, trusted = {"__name__": "__main__"}, {"__name__": "__grading__"}
    for cell in solution_nb.cells:
        if autograde.is_given(cell):
            exec(compile(cell.source, "<given>", "exec"), student)
        elif cell.cell_type == "code" and is_solution(cell):
            source = answers.get(course.grade_id(cell), course.strip_solution_markers(cell.source))
            try:
                exec(compile(source, f"<{course.grade_id(cell)}>", "exec"), student)
            except Exception:  # noqa: BLE001 - an answer that fails to run fails its tests, as when graded
                pass
    outputs = {}
    grading.connect(_Remote(student, seed))
    try:
        for index, cell in enumerate(solution_nb.cells):
            if autograde.is_given(cell):
                autograde.run_trusted(cell.source, trusted, f"<given {index}>")
            elif autograde.is_test(cell):
                _, error = autograde.run_trusted(cell.source, trusted, f"<test {course.grade_id(cell)}>")
                outputs[course.grade_id(cell)] = [] if error is None else [autograde._test_error(error)]
    finally:
        grading.connect(None)
    return outputs


def checks_of(solution_nb, function):
    """The test cells after ``function``'s answer cell, up to the next answer cell."""
    cells, current = [], None
    for cell in solution_nb.cells:
        if cell.cell_type == "code" and is_solution(cell):
            current = course.grade_id(cell)
        elif autograde.is_test(cell) and current == function:
            cells.append(course.grade_id(cell))
    return cells


# ------------------------------------------------------------------------ the class


def build_class(root):
    """Make the course, the class and its gradebook under ``root``; return the ground truth."""
    course.make_course(root, [A])
    solution_nb = course.read_notebook(course.REPO / "solutions" / A / f"{A}.ipynb")
    release_nb = course.release_notebook(root, A)
    rng = np.random.default_rng(28)
    answers, planted, graded_as = {}, {}, {}
    for i in range(N_STUDENTS):
        sid = f"s{i:03d}"
        answers[sid], planted[sid] = {}, set()
        for function in FUNCTIONS:
            if rng.random() < MISTAKE_RATE:
                mistake = CATALOGUE[function][int(rng.integers(len(CATALOGUE[function])))]
                answers[sid][function] = restyle(mistake.source.strip("\n"), rng)
                graded_as[(function, answers[sid][function])] = mistake.source.strip("\n")
                planted[sid].add(mistake.name)
            else:
                variant = CORRECT[function][int(rng.integers(len(CORRECT[function])))].strip("\n")
                answers[sid][function] = restyle(variant, rng)
                graded_as[(function, answers[sid][function])] = variant
    for original, copy in COPIES:
        answers[f"s{copy:03d}"] = disguise(answers[f"s{original:03d}"], copy)
        planted[f"s{copy:03d}"] = set(planted[f"s{original:03d}"])

    # each distinct answer of a function graded once; a student's test cells take their answers' outputs
    by_function = {f: checks_of(solution_nb, f) for f in FUNCTIONS}
    copies = {f"s{copy:03d}" for _, copy in COPIES}
    cache, outputs = {}, {}
    for sid, mine in answers.items():
        if sid in copies:  # their functions sit in other cells: graded whole, as distinct submissions
            outputs[sid] = grade(solution_nb, mine)
            continue
        outputs[sid] = {}
        for function in FUNCTIONS:
            source = graded_as[(function, mine[function])]  # restyled: graded as the answer it restyles
            key = (function, source)
            if key not in cache:
                cache[key] = grade(solution_nb, {function: source})
            outputs[sid].update({t: cache[key][t] for t in by_function[function]})
    for original, copy in COPIES:  # a disguised copy computes what its original does: the same tests fail
        assert {t: bool(o) for t, o in outputs[f"s{copy:03d}"].items()} == \
            {t: bool(o) for t, o in outputs[f"s{original:03d}"].items()}, f"s{copy:03d} is not graded as its original"

    # nbgrader's add_submission builds its rows in a way SQLAlchemy 2 warns about (as in every nbgrader autograde)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_assignment(A, duedate=DUE)
        for i in range(N_STUDENTS):
            sid = f"s{i:03d}"
            gb.update_or_create_student(sid)
            if i == MISSING:
                continue
            stamp = DUE + (timedelta(hours=5, minutes=30) if i in LATE else -timedelta(days=1))
            course.place(root, sid, A, course.submission(root, A, answers[sid]))
            (root / "submitted" / sid / A / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            gb.add_submission(A, sid, timestamp=stamp)
            if i in NOT_GRADED:
                continue  # autograding failed: rows in the gradebook, no autograded notebook, no scores
            nb = nbformat.from_dict(release_nb)
            for index, cell in enumerate(nb.cells):
                grade_id = course.grade_id(cell)
                if cell.cell_type == "code" and is_solution(cell):
                    cell.source = answers[sid][grade_id]
                    if i == BUDGET and grade_id == "kmeans":
                        cell.outputs = [nbformat.from_dict({
                            "output_type": "error", "ename": "GradingLimit", "traceback": [],
                            "evalue": f"this notebook used its 300 s of CPU time for grading; this cell (cell {index}) "
                                      "was stopped and the cells after it were not run"})]
                elif autograde.is_test(cell):
                    cell.source = next(c.source for c in solution_nb.cells if course.grade_id(c) == grade_id)
                    cell.outputs = [nbformat.from_dict(o) for o in outputs[sid][grade_id]]
                    if i == BUDGET and grade_id.startswith("test_kmeans_") and "objective" not in grade_id:
                        cell.outputs = [autograde._test_error(AssertionError(
                            "kmeans was not run: this notebook used its 300 s of CPU time for grading"))]
                if is_grade(cell):  # what nbgrader's SaveAutoGrades stores
                    row = gb.find_grade(grade_id, A, A, sid)
                    row.auto_score, _ = determine_grade(cell)
                    row.needs_manual_grade = row.auto_score is None or row.manual_score is not None
            folder = root / "autograded" / sid / A
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / f"{A}.ipynb"))
        gb.db.commit()
    graded = [f"s{i:03d}" for i in range(N_STUDENTS) if i not in NOT_GRADED + (MISSING,)]
    # a mistake is counted by the name its check reports; graded() refuses a few before any check runs, unnamed
    tagged = {m.name for m in MISTAKES if m.tagged}
    truth = Counter(name for sid in graded if sid != f"s{BUDGET:03d}" for name in planted[sid] if name in tagged)
    return {"truth": truth, "planted": planted, "answers": answers}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    truth = build_class(root)
    coursedir = course_dir(root)
    before = snapshot(root)
    page = report.write_report(coursedir, A)
    return {"root": root, "page": page, "coursedir": coursedir, "before": before, **truth}


def course_dir(root):
    """nbgrader's CourseDirectory as `python -m gmmlab_course.report` sees it, run in ``root``."""
    with contextlib.chdir(root):
        return course_directory()


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / "autograded").rglob("*")) if p.is_file()} | \
        {"gradebook.db": (root / "gradebook.db").read_bytes()}


def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------ the tests


def test_every_planted_mistake_is_counted_exactly(made):
    assert len(made["truth"]) >= 10, "the class plants most of ps1's catalogue"
    found = {row["mistake"]: int(row["students"]) for row in rows(made["page"].parent / "mistakes.csv")}
    assert found == dict(made["truth"])
    counts = [int(row["students"]) for row in rows(made["page"].parent / "mistakes.csv")]
    assert counts == sorted(counts, reverse=True), "mistakes are listed most frequent first"
    for row in rows(made["page"].parent / "mistakes.csv"):
        assert row["section"] and row["url"].startswith(report.BOOK_URL), f"{row['mistake']} has no book section"


def test_every_planted_pair_and_no_independent_pair_is_flagged(made):
    flagged = {(row["first"], row["second"]) for row in rows(made["page"].parent / "similar_pairs.csv")}
    planted = {tuple(sorted((f"s{a:03d}", f"s{b:03d}"))) for a, b in COPIES}
    assert flagged == planted


def test_statuses_and_reasons(made):
    reasons = {}
    for row in rows(made["page"].parent / "attention.csv"):
        reasons.setdefault(row["student_id"], []).append(row["reason"])
    for i in LATE:
        assert any(r.startswith("late by 5 h 30 min") for r in reasons[f"s{i:03d}"])
    for i in NOT_GRADED:
        assert any("no autograded" in r for r in reasons[f"s{i:03d}"])
    assert any("grading stopped: this notebook used its 300 s of CPU time" in r for r in reasons[f"s{BUDGET:03d}"])
    assert reasons[f"s{MISSING:03d}"] == ["nothing submitted"]
    assert set(reasons) == {f"s{i:03d}" for i in (*LATE, *NOT_GRADED, BUDGET, MISSING)}


def test_question_scores_split_visible_and_hidden(made):
    table = rows(made["page"].parent / "questions.csv")
    kinds = {(row["question"], row["tests"]) for row in table}
    assert kinds == {(f, k) for f in FUNCTIONS for k in ("visible", "hidden")}
    graded = N_STUDENTS - len(NOT_GRADED) - 1
    for f in FUNCTIONS:
        for k in ("visible", "hidden"):
            assert sum(int(r["students"]) for r in table if (r["question"], r["tests"]) == (f, k)) == graded
    # a student whose planted mistakes avoid a function has its full marks (every test cell scores all or nothing)
    students = {row["student_id"]: row for row in rows(made["page"].parent / "students.csv")}
    for sid, mistakes in made["planted"].items():
        if students[sid]["status"] == "graded" and not mistakes and sid != f"s{BUDGET:03d}":
            assert float(students[sid]["score"]) == float(students[sid]["max_score"]), sid


def test_the_page_is_self_contained_readable_and_says_what_similarity_means(made):
    page = made["page"].read_text()
    assert "<script" not in page and "http://" not in page.replace(report.BOOK_URL, "")
    assert re.findall(r'src="([^"]+)"', page) and all(s.startswith("data:image/svg+xml;base64,")
                                                       for s in re.findall(r'src="([^"]+)"', page))
    assert "never an accusation" in page
    assert page.count("<mark>") > 0, "matching passages are marked"
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert len(alts) == 3 and all(len(a) > 40 for a in alts)


def test_the_figures_have_labelled_axes(made):
    students, notebooks = report.read_class(made["coursedir"], A)
    questions = report.question_scores(students, notebooks)
    mistakes = report.mistake_counts(students, report.book_sections())
    for figure in report.figures(students, questions, mistakes):
        for ax in figure.figure.axes:
            assert ax.get_xlabel() and ax.get_ylabel(), figure.name
        assert figure.alt


def test_the_report_changes_neither_the_gradebook_nor_the_notebooks(made):
    assert snapshot(made["root"]) == made["before"]


def test_student_text_is_escaped(made, tmp_path):
    """Code from a student's notebook reaches the page only escaped (and cleaned with nh3)."""
    marked = report._code("x = '<script>alert(1)</script>' <b>", np.array([[0], [5]]))
    assert "<script" not in marked and "<b>" not in marked and "<mark>" in marked


# ------------------------------------------------------------------------ the book sections: one source of truth


def _heading_ids(chapter):
    from docutils.nodes import make_id

    text = (course.REPO / "book" / f"{chapter}.md").read_text()
    title = re.search(r"^# (.+)$", text, re.M).group(1).strip()
    return title, {make_id(h.strip()): h.strip() for h in re.findall(r"^#{2,4} (.+)$", text, re.M)}


def test_every_graded_function_and_catalogued_mistake_has_a_book_section():
    sections = report.book_sections()
    for assignment in course.ASSIGNMENTS:
        release = report.read_release(course.REPO / "solutions" / assignment / f"{assignment}.ipynb")
        for grade_id, function in release.question.items():
            if release.kind[grade_id] != "written":
                assert function in sections["function"], \
                    f"{assignment}: add the section that teaches {function} to gmmlab_course/mistakes.toml"
    for mistake in MISTAKES:
        assert report.section_of(mistake.name, mistake.function, sections), \
            f"{mistake.name}: no section in gmmlab_course/mistakes.toml (by its name or its function {mistake.function})"


def test_every_section_is_a_heading_of_the_book_with_its_title():
    sections = report.book_sections()
    used = set(sections["function"].values()) | set(sections["mistake"].values())
    assert used <= set(sections["section"]), f"no title for {sorted(used - set(sections['section']))}"
    for section, title in sections["section"].items():
        chapter, _, anchor = section.partition("#")
        chapter_title, ids = _heading_ids(chapter)
        assert anchor in ids, f"{section}: book/{chapter}.md has no heading with the id {anchor}"
        assert title == f"{chapter_title}: {ids[anchor]}", f"{section}: the title should be {chapter_title}: {ids[anchor]}"


def test_the_shares_of_all_pairs_at_once_are_copydetects(made):
    """similarity.shares (one sparse product per student) gives what copydetect's compare_files gives per pair."""
    from copydetect import compare_files

    students, _ = report.read_class(made["coursedir"], A)
    prints = similarity.fingerprints({s.id: s.answers for s in students.values() if s.answers.strip()})
    names, share = similarity.shares(prints)
    rng = np.random.default_rng(0)
    for i, j in [(0, 1), *(rng.choice(len(names), 2, replace=False) for _ in range(60))]:
        _, exact, _ = compare_files(prints[names[i]], prints[names[j]])
        assert (share[i, j], share[j, i]) == pytest.approx(exact, abs=1e-12)
    with pytest.raises(ValueError, match="threshold"):
        similarity.similar_pairs({}, threshold=0)
