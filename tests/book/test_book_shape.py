"""Every chapter has the same shape (CONTRIBUTING.md), and every citation has a bibliography entry."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
# the chapters are the pages of the numbered parts of the table of contents, the one list of them
CHAPTERS = [c["file"].removeprefix("book/") for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]]
SECTIONS = ["## Summary", "## Check your understanding", "## Practise it", "## References"]


def text(name):
    return (ROOT / "book" / f"{name}.md").read_text()


def test_contributing_lists_every_page_of_the_toc_in_order():
    """CONTRIBUTING's table of chapters is for reading; the toc is the list: they agree."""
    pages = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
    table = (ROOT / "CONTRIBUTING.md").read_text().split("| # | File | Title |", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"\| `(book/[a-z-]+)\.md` \|", table)
    assert listed == pages


@pytest.mark.parametrize("name", CHAPTERS)
def test_learning_objectives_come_first(name):
    body = text(name).split("\n# ", 1)[1].split("\n", 1)[1]
    first = next(line for line in body.splitlines() if line.strip() and not line.startswith("("))
    assert first == "```{admonition} Learning objectives"


@pytest.mark.parametrize("name", CHAPTERS)
def test_closing_sections_in_order(name):
    headings = [line for line in text(name).splitlines() if line.startswith("## ")]
    assert headings[-len(SECTIONS) :] == SECTIONS


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_title(name):
    untitled = re.findall(r"^```\{exercise\}\s*$", text(name), flags=re.M)
    assert not untitled


@pytest.mark.parametrize("name", CHAPTERS + ["intro"])
def test_no_chapter_bibliography_and_every_citation_resolves(name):
    source = text(name)
    assert "{bibliography}" not in source, "the entries belong on book/bibliography.md"
    keys = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text()))
    cited = {key.strip() for group in re.findall(r"\{cite:[tp]\}`([^`]+)`", source) for key in group.split(",")}
    assert cited <= keys, f"not in references.bib: {cited - keys}"
