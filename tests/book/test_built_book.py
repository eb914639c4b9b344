"""Checks over the HTML book that `make test` builds before running pytest."""

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

HTML = Path(__file__).resolve().parents[2] / "_build" / "html"
PAGES = sorted((HTML / "book").glob("*.html"))


def soup(page):
    return BeautifulSoup(page.read_text(), "html.parser")


def test_the_book_is_built():
    """Every page of the table of contents was built (make book)."""
    import yaml

    toc = yaml.safe_load((HTML.parents[1] / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    missing = [f for f in files if not (HTML / f"{f}.html").is_file()]
    assert not missing, f"build the book first (make book): no HTML for {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_api_reference_resolves(page):
    # Sphinx renders an unresolved {func}/{class} role as bare code, silently; a resolved one is a link.
    unresolved = [c.get_text() for c in soup(page).select("code.xref") if c.parent.name != "a"]
    assert not unresolved


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_no_unfinished_text(page):
    text = soup(page).select_one("main").get_text()
    for marker in ("TODO", "FIXME", "XXX", "left to the reader", "Traceback (most recent call last)"):
        assert marker not in text


ALL_PAGES = sorted(p for p in HTML.rglob("*.html") if not p.relative_to(HTML).parts[0].startswith("_"))


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: p.relative_to(HTML).as_posix())
def test_every_page_states_the_licence(page):
    if page.name == "index.html" and page.parent == HTML:
        pytest.skip("the root index.html only redirects to the first page")
    footers = soup(page).select("footer")
    assert footers, "page without a footer"
    links = {a.get("href") for footer in footers for a in footer.select("a[rel=license]")}
    assert "https://creativecommons.org/licenses/by/4.0/" in links
    assert any(href and href.endswith("/LICENSE") for href in links)
    text = " ".join(footer.get_text() for footer in footers)
    assert "CC BY 4.0" in text and "MIT" in text


@pytest.mark.parametrize("page", [p for p in ALL_PAGES if p.relative_to(HTML).parts[0] != "slides"],
                         ids=lambda p: p.relative_to(HTML).as_posix())
def test_every_page_links_the_pdf(page):
    """The footer links the PDF edition at the site's root, where `make pdf` copies it (tools/sphinx/book_html.py).
    The lecture decks (slides/) are not pages of the book: each has its own PDF handout beside it."""
    if page.name == "index.html" and page.parent == HTML:
        pytest.skip("the root index.html only redirects to the first page")
    links = [a["href"] for a in soup(page).select("footer .gmmlab-pdf-link a[href]")]
    assert len(links) == 1, links
    assert (page.parent / links[0]).resolve() == (HTML / "gmmlab-book.pdf").resolve(), links[0]
