"""The whole book as one PDF (`make pdf`, which `make test` runs first): every chapter, the mathematics typeset,
every cross-reference resolved, the figures and the solutions printed.

The text is read back with poppler's pdftotext (Debian's poppler-utils, installed by `make pdf`).
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LATEX = ROOT / "_build" / "latex"
PDF = LATEX / "gmmlab-book.pdf"


def toc_documents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def title(document):
    """The first level-1 heading of a chapter's source."""
    text = (ROOT / f"{document}.md").read_text()
    return re.search(r"^# (.+)$", text, flags=re.M).group(1).strip()


def flat(text):
    """Text with hyphenation and line breaks undone and runs of white space made one space."""
    return re.sub(r"\s+", " ", text.replace("-\n", "").replace("\u00ad", ""))


@pytest.fixture(scope="module")
def pdf_text():
    if not PDF.is_file():
        pytest.fail(f"no PDF book at {PDF}: run `make pdf` (make test does)")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: run `make pdf`, which installs Debian's poppler-utils")
    return subprocess.run(["pdftotext", str(PDF), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def latex_log():
    return (LATEX / "gmmlab-book.log").read_text(errors="replace")


def test_every_chapter_is_in_the_pdf(pdf_text):
    text = flat(pdf_text)
    documents = toc_documents()
    assert len(documents) >= 10
    missing = [doc for doc in documents if flat(title(doc)) not in text]
    assert not missing, f"chapters missing from the PDF: {missing}"
    # Chapters are numbered as on the web: k-means is chapter 1, the EM algorithm chapter 7.
    assert re.search(r"\b1 k-means\b", text) and re.search(r"\b7 The EM algorithm\b", text)


def test_no_unresolved_reference(pdf_text, latex_log):
    assert "??" not in pdf_text, "an unresolved reference printed as ??"
    unresolved = re.findall(r"(?:Reference|Citation|Hyper reference) `[^']+' on page \d+ undefined", latex_log)
    assert not unresolved, unresolved[:10]
    assert "There were undefined references" not in latex_log


def test_figures_and_their_numbered_captions(pdf_text):
    sources = " ".join((ROOT / f"{doc}.md").read_text() for doc in toc_documents())
    n_figures = len(re.findall(r"^:    name: fig-", sources, flags=re.M))
    captions = set(re.findall(r"Fig\. (\d+\.\d+): ", pdf_text))
    assert n_figures >= 20 and len(captions) == n_figures, (n_figures, sorted(captions))
    # Each figure is drawn: the book's figures are vector PDFs, and the EM stepper prints its last frame.
    graphics = [line for line in (LATEX / "gmmlab-book.tex").read_text().splitlines() if "\\sphinxincludegraphics" in line]
    assert len(graphics) >= n_figures + 2
    for line in graphics:
        name = re.search(r"\{\{?([^{}]+?)\}?(\.\w+)?\}$", line)
        assert name, line


def test_mathematics_is_typeset(pdf_text, latex_log):
    fonts = subprocess.run(["pdffonts", str(PDF)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"CMMI|LatinModernMath|CMSY", fonts), "no math font in the PDF"
    assert "Missing $ inserted" not in latex_log and "Undefined control sequence" not in latex_log
    # Every labelled equation is numbered as on the web, chapter by chapter: (6.3) is in chapter 6.
    sources = " ".join((ROOT / f"{doc}.md").read_text() for doc in toc_documents())
    n_labelled = len(re.findall(r"^\$\$ \(eq-", sources, flags=re.M))
    numbers = set(re.findall(r"\((\d+\.\d+)\)", pdf_text))
    assert n_labelled >= 30 and len(numbers) >= n_labelled, (n_labelled, len(numbers))
    assert {"1.1", "4.1", "6.3"} <= numbers


def test_solutions_are_printed(pdf_text):
    sources = " ".join((ROOT / f"{doc}.md").read_text() for doc in toc_documents())
    n_solutions = sources.count("```{solution}")
    assert n_solutions >= 10
    assert pdf_text.count("Solution to Exercise") == n_solutions
    assert "Click to show" not in pdf_text
    # The text of a solution, not only its heading.
    assert "quadratic terms cancel" in flat(pdf_text)


# Bold Greek letters of the Unicode mathematical alphabets (bold, bold italic) and the two the book uses most.
BOLD_GREEK = re.compile("[\U0001D6A8-\U0001D6E1\U0001D71C-\U0001D755]")
BOLD_ITALIC_MU, BOLD_SIGMA = "\U0001D741", "\U0001D6BA"
PLAIN_ITALIC_MU = "\U0001D707"


def test_bold_symbols_print_bold(pdf_text):
    """`\\boldsymbol\\mu` prints a bold mu, not the plain one (unicode-math ignores amsmath's \\boldsymbol; the
    preamble of _config.yml maps it to \\symbf). With unicode-math every math letter is a character of Latin
    Modern Math's alphabets, so the face is read from the text: bold italic mu is U+1D741, plain italic U+1D707."""
    fonts = subprocess.run(["pdffonts", str(PDF)], capture_output=True, text=True, check=True).stdout
    assert "LatinModernMath" in fonts, "the PDF's math is not typeset in Latin Modern Math (unicode-math)"
    sources = " ".join((ROOT / f"{doc}.md").read_text() for doc in toc_documents())
    uses = sources.count("\\boldsymbol")
    bold = BOLD_GREEK.findall(pdf_text)
    assert BOLD_ITALIC_MU in bold and BOLD_SIGMA in bold, "no bold mu or Sigma in the PDF"
    # most uses are in the prose's mathematics (a few are in figure labels, drawn by matplotlib)
    assert uses >= 100 and len(bold) >= uses // 2, f"{len(bold)} bold Greek letters printed for {uses} \\boldsymbol"
    # the introduction's notation table, which says that vectors are bold: its mu and Sigma are bold ones
    text = flat(pdf_text)
    start = text.index("Every chapter and every function in")
    notation = text[start : text.index("Logarithms are natural logarithms", start)]
    assert BOLD_ITALIC_MU in notation and BOLD_SIGMA in notation and PLAIN_ITALIC_MU not in notation, notation


def test_parts_are_titled_once(pdf_text):
    """The parts' captions already say "Part I: ..." (as in the HTML's sidebar): LaTeX must not add its own
    "Part I" before them, on the part's page or in the contents."""
    text = flat(pdf_text)
    captions = [part["caption"] for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]]
    assert any(caption.startswith("Part ") for caption in captions)
    for caption in captions:
        assert flat(caption) in text, f"part {caption!r} missing from the PDF"
    # "Part I Part I: ..." on the part's page, "I Part I: ..." in the contents
    doubled = re.findall(r"\b[IVX]+\s+Part [IVX]+:", text)
    assert not doubled, f"parts titled twice: {doubled[:4]}"


# ---------------------------------------------------------------------------------------- the PDF as a textbook
HTML = ROOT / "_build" / "html"
NUMBERED_TITLE = re.compile(r"^(Theorem|Lemma|Definition|Proposition|Corollary|Exercise) (\d+(?:\.\d+)+)\s+\((.*)\)$")


def pages(pdf_text):
    """The PDF's pages, each as flat text (pdftotext ends every page with a form feed), with straight quotes."""
    return [flat(page).replace("\u2019", "'") for page in pdf_text.split("\f")]


def title_start(title):
    """The first words of a box's title, before any formula (MathJax's TeX in the HTML, glyphs in the PDF),
    with straight quotes (the PDF prints the quote of a title curly or straight, as its source has it)."""
    return title.split("\\(")[0].split("$")[0][:24].replace("\u2019", "'")


@pytest.fixture(scope="module")
def html_pages():
    """Every page of the HTML book, parsed once: {document: BeautifulSoup}."""
    from bs4 import BeautifulSoup

    parsed = {}
    for document in toc_documents():
        page = HTML / f"{document}.html"
        if not page.is_file():
            pytest.fail(f"no HTML book at {page}: run `make book` (make test does)")
        parsed[document] = BeautifulSoup(page.read_text(), "html.parser")
    return parsed


@pytest.fixture(scope="module")
def html_boxes(html_pages):
    """(kind, number, title) of every numbered theorem, lemma and exercise of the HTML book, in order."""
    boxes = []
    for soup in html_pages.values():
        for title in soup.select("div.admonition > p.admonition-title"):
            match = NUMBERED_TITLE.match(" ".join(title.get_text().split()))
            if match:
                boxes.append(match.groups())
    return boxes


def test_theorems_and_exercises_are_numbered_as_in_the_html(pdf_text, html_boxes):
    """"Theorem 6.2" and "Exercise 1.1" in both, not "Exercise 1.7.1" (numbered by section) in the PDF."""
    kinds = {kind for kind, _, _ in html_boxes}
    assert {"Theorem", "Lemma", "Exercise"} <= kinds and len(html_boxes) >= 40, kinds
    text = flat(pdf_text).replace("\u2019", "'")
    missing = [f"{kind} {number} ({title})" for kind, number, title in html_boxes
               if f"{kind} {number} ({title_start(title)}" not in text]
    assert not missing, f"{len(missing)} titles of the HTML not in the PDF with the same number: {missing[:5]}"
    by_section = re.findall(r"\b(?:Theorem|Lemma|Exercise) \d+\.\d+\.\d+", text)
    assert not by_section, f"numbered by section, unlike the HTML: {by_section[:5]}"


def test_equations_are_numbered_as_in_the_html(html_pages):
    """Every labelled equation has in the PDF (LaTeX's number, read from the .aux) the number the HTML shows."""
    html_numbers = {}
    for document, soup in html_pages.items():
        for equation in soup.select("div.math[id^=equation-]"):
            number = equation.select_one("span.eqno").get_text().strip().rstrip("#").strip("()")
            html_numbers[(document, equation["id"].removeprefix("equation-"))] = number
    aux = (LATEX / "gmmlab-book.aux").read_text(errors="replace")
    pdf_numbers = {
        (document, label): number
        for document, label, number in re.findall(r"\\newlabel\{equation:([^:}]+):([^}]+)\}\{\{([^}]*)\}", aux)
    }
    assert len(html_numbers) >= 100, len(html_numbers)
    differ = {key: (number, pdf_numbers.get(key)) for key, number in html_numbers.items() if pdf_numbers.get(key) != number}
    assert not differ, f"{len(differ)} equations numbered otherwise in the PDF (HTML, PDF): {dict(list(differ.items())[:5])}"


def test_solutions_are_gathered_at_the_end_of_their_chapter(pdf_text, html_boxes):
    """No exercise's page shows its own solution: each chapter prints its solutions after its references, in a
    section *Solutions*; each exercise ends with a link to its solution, whose title links back."""
    exercises = [(number, title_start(title)) for kind, number, title in html_boxes if kind == "Exercise"]
    assert len(exercises) >= 20
    printed = pages(pdf_text)

    def page_of(pattern):
        found = [i for i, page in enumerate(printed) if re.search(pattern, page)]
        assert found, pattern
        return found[0]

    for number, start in exercises:
        exercise = page_of(r"(?<!Solution to )Exercise " + re.escape(f"{number} ({start}"))
        solution = page_of(r"Solution to Exercise " + re.escape(f"{number} ({start}"))
        assert solution > exercise, f"Exercise {number} and its solution are both on page {exercise + 1}"
        assert "Solution on page" in printed[exercise] + printed[exercise + 1], f"Exercise {number}: no link"
        # the chapter's References come before its solutions, under the heading Solutions
        between = " ".join(printed[exercise : solution + 1])
        assert "References" in between and "Solutions" in between, f"Exercise {number}"
    # the links, both ways: each exercise's to the label before its solution, each solution's to its exercise
    tex = (LATEX / "gmmlab-book.tex").read_text()
    to_solutions = re.findall(r"\\hyperref\[([^\]]+)\]\{\\textit\{Solution on page", tex)
    to_exercises = re.findall(r"\\hyperref\[([^\]]+)\]\{\\textit\{The exercise is on page", tex)
    assert len(to_solutions) == len(to_exercises) == len(exercises) == tex.count("{Solution to")
    labels = set(re.findall(r"\\label\{([^{}]+)\}", tex))
    assert set(to_solutions) <= labels and set(to_exercises) <= labels


def test_paper_is_a4():
    info = subprocess.run(["pdfinfo", str(PDF)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d* x 841\.\d* pts \(A4\)", info), info


def test_tables_and_text_fit_the_page(latex_log):
    """No overfull box of either kind: no line wider than the page (a table, a long code name) and no box taller
    than the room left on its page (a theorem, exercise or code box split across pages, see _config.yml)."""
    assert "Output written on gmmlab-book" in latex_log, "the LaTeX log is not that of a finished run"
    overfull = re.findall(r"^Overfull \\[hv]box \(.*$", latex_log, flags=re.M)
    assert not overfull, f"{len(overfull)} overfull boxes (line of gmmlab-book.tex at the end): {overfull[:8]}"


# Interface words of the web edition; the PDF says what is on paper instead ({only} html / latex blocks).
SCREEN_WORDS = ("click", "rocket icon", "press play", "drag the", "drag through", "hidden until you ask")


def test_wording_is_for_paper(pdf_text):
    text = flat(pdf_text).lower()
    found = [word for word in SCREEN_WORDS if word in text]
    assert not found, f"the PDF speaks of the screen: {found}"
    # the web's wording is there, on the web
    intro = flat((HTML / f"{toc_documents()[0]}.html").read_text()).lower()
    assert "rocket icon" in intro and "hidden until you ask" in intro


def hidden_input_lines():
    """A long line of code of every cell tagged hide-input (set-up whose result, a figure, is what matters)."""
    lines = []
    for document in toc_documents():
        for cell in re.findall(r"```\{code-cell\}[^\n]*\n:tags: \[[^\]]*hide-input[^\]]*\]\n(.*?)```",
                               (ROOT / f"{document}.md").read_text(), flags=re.S):
            code = [line.strip() for line in cell.splitlines() if not line.startswith(":") and not line.strip().startswith("#")]
            lines.append(max(code, key=len))
    return lines


def test_collapsed_code_is_not_printed(pdf_text):
    text = flat(pdf_text).replace(" ", "")
    lines = hidden_input_lines()
    assert len(lines) >= 10, lines
    printed = [line for line in lines if line.replace(" ", "") in text]
    assert not printed, f"{len(printed)} collapsed cells printed: {printed[:3]}"
    # code that is not collapsed is printed
    assert "gmmlab.widgets.em_animation(X2,watched,max_frames=20)" in text
