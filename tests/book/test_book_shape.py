"""Every chapter has the same shape (CONTRIBUTING.md), and every citation has a bibliography entry."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = [
    "kmeans", "maximum-likelihood", "gaussian-mixtures", "responsibilities",
    "lower-bound", "em-derivation", "em-algorithm", "em-in-practice", "em-beyond",
]  # fmt: skip
SECTIONS = ["## Summary", "## Check your understanding", "## Practise it", "## References"]


def text(name):
    return (ROOT / "book" / f"{name}.md").read_text()


def test_the_chapter_list_matches_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    assert all(f"book/{name}" in toc for name in CHAPTERS)


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
