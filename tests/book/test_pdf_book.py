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
