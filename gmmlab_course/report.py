"""The class report after grading: what the class got wrong, who needs attention, and which submissions look alike.

Run in the course root after ``nbgrader autograde <assignment>``::

    python -m gmmlab_course.report ps1-kmeans                  # writes reports/ps1-kmeans/
    python -m gmmlab_course.report ps1-kmeans --threshold 0.9  # flag fewer pairs

It reads nbgrader's gradebook (through :class:`nbgrader.api.Gradebook`) and the autograded notebooks
(``autograded/<student>/<assignment>/``), changes neither, and writes ``report.html`` (self-contained: figures
inlined as SVG, no script, nothing fetched) and beside it the CSV files it summarises:

- ``students.csv``: every student's status (``gmmlab_course.export``), score, lateness, reasons and mistakes;
- ``questions.csv``: how many students got each score on each question (a graded function), visible and hidden
  tests apart;
- ``mistakes.csv``: the catalogued mistakes, most frequent first: the students whose tests report each one
  (``[mistake: <name>]``, the last line of a check's failure, :data:`gmmlab.grading.MISTAKE_TAG`) and the book
  section that teaches the point (``gmmlab_course/mistakes.toml``);
- ``attention.csv``: students not graded, waiting for manual grading, late, or stopped by the grading budget;
- ``similar_pairs.csv``: pairs whose answer cells are unusually similar (:mod:`gmmlab_course.similarity`).

Everything is computed on this machine.
"""

import argparse
import base64
import csv
import html
import io
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nh3
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import is_grade, is_locked, is_solution

from gmmlab.grading import MISTAKE_TAG

from . import similarity
from .export import GRADED, MISSING, NEEDS_MANUAL, NOT_GRADED, grade_records
from .gradebook import course_directory

BOOK_URL = "https://gmmlab.github.io/gmmlab/book"
SECTIONS = Path(__file__).with_name("mistakes.toml")
# Okabe-Ito: full marks, partial, none; bars
FULL, PARTIAL, NONE, BAR = "#009E73", "#E69F00", "#D55E00", "#0072B2"
SHOWN_PAIRS = 50  # pairs shown side by side in the page (similar_pairs.csv has them all)


# ------------------------------------------------------------------------------------------ the book's sections


def book_sections(path=SECTIONS):
    """The table of ``mistakes.toml``: {"function": {...}, "mistake": {...}, "section": {...}}."""
    with open(path, "rb") as handle:
        table = tomllib.load(handle)
    return {key: dict(table.get(key, {})) for key in ("function", "mistake", "section")}


def section_of(mistake, function, sections):
    """The section (``"<chapter>#<id>"``) that teaches ``mistake``, found in ``function``'s tests, or None."""
    return sections["mistake"].get(mistake) or sections["function"].get(function)


def section_url(section, book_url=BOOK_URL):
    chapter, _, anchor = section.partition("#")
    return f"{book_url}/{chapter}.html#{anchor}"


# ------------------------------------------------------------------------------------------ reading the class


@dataclass
class Notebook:
    """What the report needs of the released notebook: its questions and its starter code."""

    question: dict  # grade_id of a graded cell -> its question (the answer cell it tests, or itself)
    kind: dict  # grade_id of a graded cell -> "visible", "hidden" or "written"
    answers: list  # grade_ids of the code answer cells, in order
    boilerplate: str  # the starter code of the answer cells and the code the notebook gives


def read_release(path):
    """The questions of the released notebook at ``path``: each test cell belongs to the answer cell above it."""
    nb = nbformat.read(str(path), as_version=4)
    question, kind, answers, boilerplate, current = {}, {}, [], [], None
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if is_solution(cell):
            if cell.cell_type == "code":
                current = grade_id
                answers.append(grade_id)
                boilerplate.append(cell.source)
            elif is_grade(cell):
                question[grade_id], kind[grade_id] = grade_id, "written"
        elif cell.cell_type == "code" and is_grade(cell):
            question[grade_id] = current or grade_id
            kind[grade_id] = "visible" if grade_id.endswith("_visible") else "hidden"
        elif cell.cell_type == "code" and is_locked(cell):
            boilerplate.append(cell.source)
    return Notebook(question, kind, answers, "\n\n".join(boilerplate))


@dataclass
class Student:
    id: str
    status: str  # graded, not graded, needs manual grading or missing (gmmlab_course.export.grade_records)
    score: float = None  # after the late penalty; None unless graded
    max_score: float = 0.0
    late_seconds: float = 0.0
    penalty: float = 0.0
    reasons: list = field(default_factory=list)
    tests: dict = field(default_factory=dict)  # grade_id -> (score, max_score)
    mistakes: dict = field(default_factory=dict)  # mistake name -> the question whose tests reported it
    answers: str = ""  # the code of the answer cells


def _duration(seconds):
    hours, minutes = divmod(int(round(seconds / 60)), 60)
    days, hours = divmod(hours, 24)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n) or "under a minute"


def _read_autograded(student, path, notebook):
    """Mistakes, the grading budget and the answers of one autograded notebook (read, never written)."""
    nb = nbformat.read(str(path), as_version=4)
    answers = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = str(output.get("evalue", ""))
            if output.get("ename") == "GradingLimit" and not any(r.startswith("grading stopped") for r in student.reasons):
                student.reasons.append(f"grading stopped: {text}")
            if is_grade(cell) and not is_solution(cell):
                # only the failure's last line, where the checks put the tag (a student's own exception text could
                # still end with one: the counts guide a lecture, they grade nothing)
                last = text.rstrip("\n").rsplit("\n", 1)[-1]
                for name in MISTAKE_TAG.findall(last):
                    student.mistakes.setdefault(name, notebook.question.get(grade_id, grade_id))
        if grade_id in notebook.answers:
            answers.append(f"# {grade_id}\n{cell.source}")
    student.answers += "\n\n".join(answers)


def read_class(coursedir, assignment):
    """({student id: Student}, {notebook name: Notebook}) of ``assignment`` in the course ``coursedir``."""
    students, notebooks = {}, {}
    with Gradebook(coursedir.db_url) as gb:
        try:
            names = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        except MissingEntry:
            raise SystemExit(f"the gradebook has no assignment {assignment!r}: run `nbgrader generate_assignment "
                             f"{assignment}` and `nbgrader autograde {assignment}` first") from None
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        for name in names:
            if not (release / f"{name}.ipynb").exists():
                raise SystemExit(f"{release / f'{name}.ipynb'} is missing: run `nbgrader generate_assignment {assignment}`")
            notebooks[name] = read_release(release / f"{name}.ipynb")
        for record in grade_records(gb, coursedir, [assignment]):
            student = Student(record["student_id"], record["status"], max_score=record["max_score"] or 0.0)
            students[student.id] = student
            folder = Path(coursedir.format_path(coursedir.autograded_directory, student.id, assignment))
            if student.status == MISSING:
                student.reasons.append("nothing submitted")
                continue
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:
                submission = None
            if submission is not None:
                student.late_seconds = float(submission.total_seconds_late or 0.0)
                student.penalty = float(submission.late_submission_penalty or 0.0)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        student.tests[grade.name] = (grade.score, grade.max_score)
            if student.status == GRADED:
                student.score = record["score"]
            elif student.status == NOT_GRADED:
                absent = [n for n in names if not (folder / f"{n}.ipynb").exists()]
                student.reasons.append(
                    f"not graded: no autograded {', '.join(absent)}.ipynb (autograding failed or was not run; see "
                    "nbgrader's log)" if absent else "not graded: the gradebook has no score for this submission")
            elif student.status == NEEDS_MANUAL:
                pending = [g.name for nb in submission.notebooks for g in nb.grades if g.needs_manual_grade]
                student.reasons.append(f"needs manual grading: {', '.join(pending)}")
            if student.late_seconds > 0:
                student.reasons.append(f"late by {_duration(student.late_seconds)} (penalty {student.penalty:g})")
            for name, notebook in notebooks.items():
                if (folder / f"{name}.ipynb").exists():
                    _read_autograded(student, folder / f"{name}.ipynb", notebook)
    return students, notebooks


# ------------------------------------------------------------------------------------------ summaries


def question_scores(students, notebooks):
    """{(question, kind): (max_score, Counter{score: students})} over the graded students."""
    cells = {}
    for notebook in notebooks.values():
        for grade_id, question in notebook.question.items():
            cells.setdefault((question, notebook.kind[grade_id]), []).append(grade_id)
    result = {}
    for key, ids in cells.items():
        counts, maximum = Counter(), 0.0
        for student in students.values():
            if student.status == GRADED:
                scores = [student.tests[g] for g in ids if g in student.tests]
                maximum = max(maximum, sum(m or 0.0 for _, m in scores))
                counts[sum(s or 0.0 for s, _ in scores)] += 1
        result[key] = (maximum, counts)
    return result


def mistake_counts(students, sections):
    """[(name, question, [student ids], section or None)], most frequent first."""
    found = {}
    for student in students.values():
        for name, question in student.mistakes.items():
            found.setdefault(name, (question, []))[1].append(student.id)
    rows = [(name, question, sorted(ids), section_of(name, question, sections)) for name, (question, ids) in found.items()]
    return sorted(rows, key=lambda row: (-len(row[2]), row[0]))


def attention(students):
    """[(student id, status, reason)] of every student not simply graded on time."""
    return [(s.id, s.status, reason) for s in sorted(students.values(), key=lambda s: s.id) for reason in s.reasons]


# ------------------------------------------------------------------------------------------ figures


@dataclass
class Figure:
    name: str
    figure: object  # a matplotlib Figure
    alt: str


def figures(students, questions, mistakes):
    """The report's figures, each with its alt text."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.ticker import MaxNLocator

    made = []
    graded = [s.score for s in students.values() if s.status == GRADED]
    maximum = max((s.max_score for s in students.values()), default=0.0)
    fig = MplFigure(figsize=(6.4, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(graded, bins=[b - 0.5 for b in range(int(maximum) + 2)], color=BAR, edgecolor="white")  # a bar per point
    ax.set_xlabel(f"score after late penalty (points, of {maximum:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    mean = sum(graded) / len(graded) if graded else float("nan")
    made.append(Figure("scores", fig, f"Histogram of the scores of the {len(graded)} graded students, out of "
                                      f"{maximum:g} points; mean {mean:.1f}."))

    keys = [k for k in questions if k[1] != "written"] + [k for k in questions if k[1] == "written"]
    fig = MplFigure(figsize=(6.4, 0.35 * len(keys) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    labels, full, partial, none = [], [], [], []
    for question, kind in keys:
        top, counts = questions[(question, kind)]
        labels.append(f"{question} ({kind})")
        full.append(sum(n for s, n in counts.items() if top and s >= top))
        none.append(sum(n for s, n in counts.items() if s <= 0))
        partial.append(sum(counts.values()) - full[-1] - none[-1])
    y = list(range(len(keys)))[::-1]
    ax.barh(y, full, color=FULL, label="full marks")
    ax.barh(y, partial, left=full, color=PARTIAL, label="part")
    ax.barh(y, none, left=[f + p for f, p in zip(full, partial)], color=NONE, label="none", hatch="//")
    ax.set_yticks(y, labels)
    ax.set_xlabel("graded students")
    ax.set_ylabel("question (tests)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(loc="outside lower center", ncols=3, fontsize="small")
    worst = min(range(len(keys)), key=lambda i: full[i] / max(full[i] + partial[i] + none[i], 1)) if keys else None
    made.append(Figure("questions", fig, "Stacked bars, one per question and kind of test: how many graded students "
                       "got full marks, part of the marks or none." + (
                           f" Fewest full marks: {labels[worst]}, {full[worst]} students." if worst is not None else "")))

    top = mistakes[:15]
    fig = MplFigure(figsize=(6.4, 0.35 * max(len(top), 1) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(list(range(len(top)))[::-1], [len(ids) for _, _, ids, _ in top], color=BAR)
    ax.set_yticks(list(range(len(top)))[::-1], [name for name, *_ in top])
    ax.set_xlabel("students whose tests report the mistake")
    ax.set_ylabel("catalogued mistake")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    made.append(Figure("mistakes", fig, "Horizontal bars of the most frequent catalogued mistakes: " + (
        "; ".join(f"{name}, {len(ids)} students" for name, _, ids, _ in top[:5]) if top else "none was reported") + "."))
    return made


def svg_data_uri(figure):
    """The figure as an SVG data URI, text kept as text (searchable, and readable by screen readers' tools)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gmmlab-report"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


# ------------------------------------------------------------------------------------------ writing


def _csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _code(code, slices):
    """A student's code, escaped, its passages in ``slices`` marked; then cleaned with nh3 (student text)."""
    from copydetect.utils import highlight_overlap

    marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True) if len(slices) and slices.size \
        else (html.escape(code), 0)
    return nh3.clean(marked, tags={"mark"}, attributes={})


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} th, td {{ border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
pre {{ background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: .8rem; }} mark {{ background: #f0e442; }}
.note {{ border-left: 4px solid #0072b2; padding-left: 1rem; }}
</style></head><body>
{body}
</body></html>
"""


def render(assignment, students, questions, mistakes, needs, pairs, made, threshold, book_url, sections):
    e = html.escape
    graded = [s for s in students.values() if s.status == GRADED]
    parts = [f"<h1>Class report: {e(assignment)}</h1>",
             f"<p>{len(students)} students: {len(graded)} graded, "
             + ", ".join(f"{sum(s.status == status for s in students.values())} {status}"
                         for status in (NOT_GRADED, NEEDS_MANUAL, MISSING)) + ".</p>"]
    pictures = {f.name: f for f in made}

    def image(name):
        f = pictures[name]
        return f'<figure><img src="{svg_data_uri(f.figure)}" alt="{e(f.alt)}"><figcaption>{e(f.alt)}</figcaption></figure>'

    parts += ["<h2>Scores</h2>", image("scores"), "<h3>Per question, visible and hidden tests apart</h3>", image("questions"),
              "<table><tr><th>question</th><th>tests</th><th>points</th><th>students per score</th></tr>"]
    for (question, kind), (top, counts) in questions.items():
        spread = ", ".join(f"{score:g}: {n}" for score, n in sorted(counts.items()))
        parts.append(f"<tr><td>{e(question)}</td><td>{kind}</td><td>{top:g}</td><td>{e(spread)}</td></tr>")
    parts.append("</table>")

    parts += ["<h2>Mistakes, most frequent first</h2>", image("mistakes"),
              "<table><tr><th>mistake</th><th>question</th><th>students</th><th>taught in</th></tr>"]
    for name, question, ids, section in mistakes:
        where = (f'<a href="{e(section_url(section, book_url))}">{e(sections["section"].get(section, section))}</a>'
                 if section else "no section in gmmlab_course/mistakes.toml")
        parts.append(f"<tr><td>{e(name)}</td><td>{e(question)}</td><td>{len(ids)} of {len(graded)}</td><td>{where}</td></tr>")
    parts.append("</table>")

    parts += ["<h2>Students to look at</h2>",
              "<table><tr><th>student</th><th>status</th><th>reason</th></tr>"]
    parts += [f"<tr><td>{e(sid)}</td><td>{e(status)}</td><td>{e(reason)}</td></tr>" for sid, status, reason in needs]
    parts.append("</table>" if needs else "</table><p>None: every student was graded, on time, within the budget.</p>")

    parts += ["<h2>Similar submissions</h2>",
              '<p class="note">These pairs share an unusual share of their answer code (copydetect\'s winnowing '
              "fingerprints, starter and given code discounted, names and comments ignored). A high similarity is a "
              "prompt for a human look at the two submissions, never an accusation and never evidence of copying on "
              "its own: short functions have few ways to be written, and students may have worked from the same "
              f"lecture code. Threshold: {threshold:g} (similarity = the smaller of the two shares).</p>"]
    if not pairs:
        parts.append("<p>No pair reaches the threshold.</p>")
    if len(pairs) > SHOWN_PAIRS:
        parts.append(f"<p>{len(pairs)} pairs reach the threshold; the {SHOWN_PAIRS} most similar are shown here, "
                     "all of them in similar_pairs.csv. So many usually means the threshold is too low for this "
                     "assignment.</p>")
    for pair in pairs[:SHOWN_PAIRS]:
        a, b = students[pair.first], students[pair.second]
        parts.append(f"<h3>{e(a.id)} and {e(b.id)}: similarity {pair.similarity:.2f} "
                     f"({pair.shares[0]:.2f} of {e(a.id)}'s code, {pair.shares[1]:.2f} of {e(b.id)}'s)</h3>"
                     f'<div class="pair"><div><p>{e(a.id)}</p><pre>{_code(a.answers, pair.slices[0])}</pre></div>'
                     f'<div><p>{e(b.id)}</p><pre>{_code(b.answers, pair.slices[1])}</pre></div></div>')
    return PAGE.format(title=e(f"Class report: {assignment}"), body="\n".join(parts))


def write_report(coursedir, assignment, output=None, threshold=similarity.DEFAULT_THRESHOLD, book_url=BOOK_URL):
    """Write the report of ``assignment`` into ``output`` (default ``reports/<assignment>`` in the course root);
    return the path of ``report.html``."""
    sections = book_sections()
    students, notebooks = read_class(coursedir, assignment)
    output = Path(output or Path(coursedir.root) / "reports" / assignment)
    output.mkdir(parents=True, exist_ok=True)
    questions = question_scores(students, notebooks)
    mistakes = mistake_counts(students, sections)
    needs = attention(students)
    boilerplate = "\n\n".join(nb.boilerplate for nb in notebooks.values())
    pairs = similarity.similar_pairs({s.id: s.answers for s in students.values() if s.answers.strip()},
                                     boilerplate, threshold)
    made = figures(students, questions, mistakes)

    order = list(questions)
    _csv(output / "students.csv",
         ["student_id", "status", "score", "max_score", "seconds_late", "late_penalty", "mistakes", "reasons"]
         + [f"{q} ({k})" for q, k in order],
         [[s.id, s.status, "" if s.score is None else s.score, s.max_score, s.late_seconds, s.penalty,
           ";".join(sorted(s.mistakes)), "; ".join(s.reasons)]
          + ["" if s.status != GRADED else _question_score(s, notebooks, q, k) for q, k in order]
          for s in sorted(students.values(), key=lambda s: s.id)])
    _csv(output / "questions.csv", ["question", "tests", "max_score", "score", "students"],
         [[q, k, top, score, n] for (q, k), (top, counts) in questions.items() for score, n in sorted(counts.items())])
    _csv(output / "mistakes.csv", ["mistake", "question", "students", "section", "section_title", "url", "student_ids"],
         [[name, question, len(ids), section or "", sections["section"].get(section, "") if section else "",
           section_url(section, book_url) if section else "", ";".join(ids)] for name, question, ids, section in mistakes])
    _csv(output / "attention.csv", ["student_id", "status", "reason"], needs)
    _csv(output / "similar_pairs.csv", ["first", "second", "similarity", "share_of_first", "share_of_second"],
         [[p.first, p.second, f"{p.similarity:.4f}", f"{p.shares[0]:.4f}", f"{p.shares[1]:.4f}"] for p in pairs])
    page = output / "report.html"
    page.write_text(render(assignment, students, questions, mistakes, needs, pairs, made, threshold, book_url, sections))
    return page


def _question_score(student, notebooks, question, kind):
    return sum(student.tests.get(g, (0.0, 0.0))[0] or 0.0 for nb in notebooks.values()
               for g, q in nb.question.items() if q == question and nb.kind[g] == kind)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gmmlab_course.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="the nbgrader assignment, after `nbgrader autograde <assignment>`")
    parser.add_argument("--output", help="the report's folder (default: reports/<assignment> in the course root)")
    parser.add_argument("--threshold", type=float, default=similarity.DEFAULT_THRESHOLD,
                        help="flag pairs whose similarity (the smaller share of each one's answer code found in the "
                             f"other's) is at least this (default {similarity.DEFAULT_THRESHOLD})")
    parser.add_argument("--book-url", default=BOOK_URL, help=f"where the book's pages are (default {BOOK_URL})")
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold <= 1.0:
        parser.error(f"--threshold is a share of the code, in (0, 1]; got {args.threshold:g}")
    page = write_report(course_directory(), args.assignment, args.output, args.threshold, args.book_url)
    print(f"The class report is in {page}")


if __name__ == "__main__":
    main()
