"""The lecture decks' sources, slides/<chapter>.md, read as tools/sphinx/slides.py reads them (no build needed).

The decks themselves, built and opened in Chromium, are checked by tests/deploy/browser/test_slides.py.
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "sphinx"))
import slides  # noqa: E402  (tools/sphinx/slides.py)

SOURCES = sorted((REPO / "slides").glob("*.md"))


def test_there_are_decks():
    assert SOURCES, "no slides/*.md"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_a_deck_is_a_title_slide_then_section_slides_each_with_notes(source):
    deck = slides.split_slides(source)
    assert deck[0].level == 1 and len(deck) >= 3
    without = [slide.title for slide in deck if not "".join(slide.notes).strip()]
    assert not without, f"{source.name}: slides without speaker notes: {without}"
    # which exercise to set: at least one {ref} to an exercise of the chapter's "Check your understanding"
    assert any("{ref}`ex-" in line for slide in deck for line in slide.notes), f"{source.name} sets no exercise"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_typed_decimals(source):
    typed = [line for line in source.read_text().splitlines() if slides.TYPED_DECIMAL.search(line)]
    assert not typed, f"{source.name}: numbers come from the chapter's figures and equations: {typed}"


@pytest.mark.parametrize("text, message", [
    ("Some words\n# Title\n", "slides/bad.md:1: text before the first heading"),
    ("# Title\n# A second title\n", "a deck is one '# title' slide, then '## section' slides"),
    ("## No title slide\n", "a deck is one '# title' slide, then '## section' slides"),
])
def test_a_malformed_deck_is_refused_with_its_file_and_line(tmp_path, text, message):
    bad = tmp_path / "bad.md"
    bad.write_text(text)
    with pytest.raises(slides.SlideError, match=message.replace("(", r"\(")):
        slides.split_slides(bad)


def test_a_typed_decimal_is_recognised_but_not_an_index_or_a_version():
    assert slides.TYPED_DECIMAL.search("a variance of 0.5")
    assert not slides.TYPED_DECIMAL.search("section 1.2.3, ps1-kmeans, x_1")
