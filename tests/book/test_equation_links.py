"""The problem sets cite the book's equations by the number the book shows, linked to the equation on its page.

The book numbers every labelled display equation, ``$$ ... $$ (label)``, as <chapter>.<n>: chapters are numbered
continuously through the numbered parts of _toc.yml (Jupyter Book's multitoc numbering), and n counts the labelled
equations of the chapter in order (Sphinx's ``math_numfig`` with ``numfig_secnum_depth`` 1). Its anchor on the
page is ``#equation-<label>``. A markdown cell links ``[(8.1)](<html.baseurl>book/em-in-practice.html#equation-eq-reg-covar)``;
a test's message, which cannot link, says ``book equation (8.1)``. A label such as ``eq-reg-covar`` means nothing to
a student, so none is left bare. When the built book is present (_build/html), its pages are checked too.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
LABELLED = re.compile(r"^\$\$\s*\((eq-[A-Za-z0-9-]+)\)\s*$", re.M)
LINK = re.compile(r"\[\((\d+\.\d+)\)\]\((\S+?)#equation-(eq-[A-Za-z0-9-]+)\)")
CITED = re.compile(r"book equations? \((\d+\.\d+)\)")
BARE = re.compile(r"(?<!#equation-)\beq-[a-z0-9]")


def config():
    return yaml.safe_load((REPO / "_config.yml").read_text())


def equations():
    """{label: (page, number as the book shows it)} of every numbered equation of the book."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = [chapter["file"] for part in toc["parts"] if part.get("numbered") for chapter in part["chapters"]]
    found = {}
    for chapter, page in enumerate(pages, start=1):
        for n, label in enumerate(LABELLED.findall((REPO / f"{page}.md").read_text()), start=1):
            found[label] = (page, f"{chapter}.{n}")
    return found


def cells(folder, assignment):
    nb = json.loads((REPO / folder / assignment / f"{assignment}.ipynb").read_text())
    return [(cell["cell_type"], "".join(cell["source"])) for cell in nb["cells"]]


def test_the_book_has_a_public_address_and_numbers_its_equations():
    baseurl = config()["html"]["baseurl"]
    assert re.fullmatch(r"https://\S+/", baseurl), baseurl
    numbers = equations()
    assert numbers["eq-kmeans-objective"] == ("book/kmeans", "1.1")  # the first numbered chapter is k-means
    first_of_eight = LABELLED.findall((REPO / "book" / "em-in-practice.md").read_text())[0]
    assert numbers[first_of_eight] == ("book/em-in-practice", "8.1")  # Part II continues Part I's numbering
    assert len(set(numbers.values())) == len(numbers)


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_equation_reference_shows_the_books_number_and_links_to_it(folder, assignment):
    numbers, baseurl = equations(), config()["html"]["baseurl"]
    shown = {number for _, number in numbers.values()}
    links = 0
    for kind, text in cells(folder, assignment):
        assert not BARE.findall(text), f"{folder}/{assignment}: a bare equation label: {text[:300]!r}"
        for number, page, label in LINK.findall(text):
            assert label in numbers, f"{folder}/{assignment}: the book has no equation {label}"
            expected_page, expected_number = numbers[label]
            assert page == f"{baseurl}{expected_page}.html", f"{label} is on {baseurl}{expected_page}.html, not {page}"
            assert number == expected_number, f"the book shows {label} as ({expected_number}), not ({number})"
            links += 1
        if kind == "code":
            for number in CITED.findall(text):
                assert number in shown, f"{folder}/{assignment}: the book has no equation ({number})"
        else:
            assert not CITED.findall(text), f"{folder}/{assignment}: link the equation in markdown: {text[:300]!r}"
    assert links, f"{folder}/{assignment} links no equation of the book"


def test_the_built_book_shows_the_same_numbers():
    html = REPO / "_build" / "html"
    if not (html / "book" / "em-in-practice.html").exists():
        pytest.skip("the book is not built (make book)")
    for label, (page, number) in equations().items():
        text = (html / f"{page}.html").read_text()
        match = re.search(rf'id="equation-{re.escape(label)}"[^>]*>\s*<span class="eqno">\(([\d.]+)\)', text)
        assert match, f"{page}.html has no numbered equation {label}"
        assert match.group(1) == number, f"{page}.html shows {label} as ({match.group(1)}), the sources give ({number})"


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_link_to_the_book_names_one_of_its_pages_and_sections(folder, assignment):
    """A problem set's links to the book's sections (``<baseurl>book/<page>.html#<section>``) reach a page that
    exists and, once the book is built, a section of that page: a renamed heading breaks the link silently."""
    baseurl = config()["html"]["baseurl"]
    html = REPO / "_build" / "html"
    built = (html / "book" / "em-in-practice.html").exists()
    for kind, text in cells(folder, assignment):
        for page, anchor in re.findall(rf"\]\({re.escape(baseurl)}(book/[a-z0-9-]+)\.html(?:#([A-Za-z0-9_-]+))?\)", text):
            assert (REPO / f"{page}.md").exists(), f"{folder}/{assignment} links {page}.html, which the book has not"
            if built and anchor:
                ids = set(re.findall(r'\bid="([^"]+)"', (html / f"{page}.html").read_text()))
                assert anchor in ids, f"{folder}/{assignment} links {page}.html#{anchor}, a section the page has not"
